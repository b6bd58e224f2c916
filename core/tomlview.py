"""A typed view of one parsed TOML table that knows its own key path.

Every getter checks the value's type and, on a mistake, raises ConfigError
with ``where = 'file: contract "std".bands #2.min_availability'``, so the section
parsers in ``core.configfile`` never format an error location by hand. A
top-level ``[[calendar]]``, ``[[contract]]`` or ``[[service]]`` is named by its
``name`` (``service "erp"``), not by its place in the file. An item of a list is
numbered from 1, as a person counts (``bands #2`` is the second band, "band 2" of
the letter, the report and the dashboard; ``holidays #1`` the first date), and
written with ``#`` so nobody reads it as a 0-based index.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.errors import ConfigError
from core.kinds import kind_of

_MISSING: Any = object()


def named(kind: str, name: str) -> str:
    """How a key path names a top-level table: ``service "erp"``."""
    return f"{kind} {json.dumps(name, ensure_ascii=False)}"


def list_item(key: str, index: int) -> str:
    """How a key path names the item at (0-based) ``index`` of a list: ``bands #2``."""
    return f"{key} #{index + 1}"


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``options``, or ``""``."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


@dataclass(frozen=True)
class Table:
    data: Mapping[str, Any]
    file: str
    path: str = ""

    def where(self, key: str | None = None) -> str:
        full = self.path if key is None else (f"{self.path}.{key}" if self.path else key)
        return f"{self.file}: {full}" if full else self.file

    def error(self, key: str | None, what: str) -> ConfigError:
        return ConfigError(self.where(key), what)

    def check_keys(self, allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for key in self.data:
            if key not in allowed:
                hint = did_you_mean(key, allowed) or f" (expected one of: {', '.join(allowed)})"
                raise self.error(key, f"unknown key{hint}")

    def has(self, key: str) -> bool:
        return key in self.data

    def _get(self, key: str, default: Any, expected: str, ok: type | tuple[type, ...]) -> Any:
        if key not in self.data:
            if default is _MISSING:
                raise self.error(key, f"is required ({expected})")
            return default
        value = self.data[key]
        if isinstance(value, bool) and bool not in (ok if isinstance(ok, tuple) else (ok,)):
            raise self.error(key, f"must be {expected}, got {kind_of(value)}")
        if not isinstance(value, ok):
            raise self.error(key, f"must be {expected}, got {kind_of(value)}")
        return value

    def text(self, key: str, default: Any = _MISSING, *, nonempty: bool = True) -> Any:
        value = self._get(key, default, "a string", str)
        if nonempty and isinstance(value, str) and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def flag(self, key: str, default: Any = _MISSING) -> Any:
        return self._get(key, default, "true or false", bool)

    def integer(self, key: str, default: Any = _MISSING, *, minimum: int | None = None) -> Any:
        value = self._get(key, default, "an integer", int)
        if minimum is not None and isinstance(value, int) and value < minimum:
            raise self.error(key, f"must be at least {minimum}, got {value}")
        return value

    def number(self, key: str, default: Any = _MISSING) -> Any:
        """An integer or float as an exact Decimal (``99.4999`` stays ``99.4999``)."""
        value = self._get(key, default, "a number", (int, float))
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, f"must be a finite number, got {value}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return value

    def table(self, key: str) -> Table | None:
        value = self._get(key, None, "a table", dict)
        return None if value is None else self.child(key, value)

    def tables(self, key: str) -> list[Table]:
        """An array of tables (``[[service]]`` or ``bands = [{...}, ...]``)."""
        value = self._get(key, [], "an array of tables", list)
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(list_item(key, index), f"must be a table, got {kind_of(item)}")
            name = item.get("name")
            if not self.path and isinstance(name, str) and name.strip():
                out.append(Table(item, self.file, named(key, name)))
            else:
                out.append(self.child(list_item(key, index), item))
        return out

    def strings(self, key: str, default: Any = _MISSING) -> Any:
        value = self._get(key, default, "an array of strings", list)
        if isinstance(value, list):
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise self.error(
                        list_item(key, index), f"must be a string, got {kind_of(item)}"
                    )
        return value

    def raw(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def child(self, key: str, data: Mapping[str, Any]) -> Table:
        return Table(data, self.file, f"{self.path}.{key}" if self.path else key)
