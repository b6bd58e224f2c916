"""A strict reader for JSON a user hands us (a claim bundle): every value typed.

``View`` wraps one decoded JSON object with its path in the document, so a
mistake is reported as ``bundle.json: sources.agent.runs[3]: ...`` and raised as
InputError (one line, exit 2). ``decode`` turns raw bytes into JSON while
refusing what the json module would otherwise let through: NaN and Infinity,
duplicate keys, numbers too long to be real, nesting deep enough to exhaust
the stack, and text that is not UTF-8.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.errors import InputError
from core.kinds import kind_of

MAX_BYTES = 128 * 1024 * 1024  # a month of one source is a few hundred KiB
_DECIMAL_RE = re.compile(r"^-?[0-9]{1,15}(\.[0-9]{1,12})?\Z")  # ASCII digits only
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")
MAX_TEXT = 2000  # a case title, a reason: far longer is no claim
_HEX32_RE = re.compile(r"^[0-9a-f]{64}$")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _parse_float(text: str) -> float:
    if len(text) > 40:
        raise ValueError("number too long")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return value


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _parse_int(text: str) -> int:
    if len(text) > 20:
        raise ValueError("number too long")
    return int(text)


def decode(data: bytes, where: str) -> Any:
    """Decode a JSON document strictly; anything odd is an InputError at ``where``."""
    if len(data) > MAX_BYTES:
        raise InputError(where, f"larger than {MAX_BYTES // 2**20} MiB; not a claim bundle")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(where, f"not UTF-8 text (byte {exc.start}); not a claim bundle") from None
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
            parse_float=_parse_float,
            object_pairs_hook=_no_duplicates,
        )
    except json.JSONDecodeError as exc:
        raise InputError(
            where, f"not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None
    except RecursionError:
        raise InputError(where, "JSON nested too deeply; not a claim bundle") from None
    except ValueError as exc:
        raise InputError(where, f"not valid JSON ({exc})") from None
    # A "\\ud800" escape decodes to a lone surrogate: no text can hold it.
    if _SURROGATE_ESCAPE_RE.search(text) and _has_lone_surrogate(value):
        raise InputError(where, "a string holds a lone UTF-16 surrogate (\\ud800-\\udfff)")
    return value


def _kind(value: object) -> str:
    return kind_of(value, table="an object")


@dataclass(frozen=True)
class View:
    """One JSON object of a document, with its path for error messages."""

    data: dict[str, Any]
    file: str
    path: str

    @classmethod
    def root(cls, value: Any, file: str) -> View:
        if not isinstance(value, dict):
            raise InputError(file, f"expected a JSON object, got {_kind(value)}")
        return cls(value, file, "")

    def where(self, key: str | int | None = None) -> str:
        if key is None:
            full = self.path
        elif isinstance(key, int):
            full = f"{self.path}[{key}]"
        else:
            full = f"{self.path}.{key}" if self.path else key
        return f"{self.file}: {full}" if full else self.file

    def error(self, key: str | int | None, what: str) -> InputError:
        return InputError(self.where(key), what)

    def only(self, *allowed: str) -> None:
        for key in self.data:
            if key not in allowed:
                raise self.error(key, "unknown member")

    def raw(self, key: str) -> Any:
        if key not in self.data:
            raise self.error(key, "is missing")
        return self.data[key]

    def _typed(self, key: str, kind: type, expected: str) -> Any:
        value = self.raw(key)
        if isinstance(value, bool) and kind is not bool:
            raise self.error(key, f"must be {expected}, got a boolean")
        if not isinstance(value, kind):
            raise self.error(key, f"must be {expected}, got {_kind(value)}")
        return value

    def text(self, key: str) -> str:
        value: str = self._typed(key, str, "a string")
        if len(value) > MAX_TEXT:
            raise self.error(key, f"longer than {MAX_TEXT} characters")
        return value

    def opt_text(self, key: str) -> str | None:
        return None if self.data.get(key) is None else self.text(key)

    def flag(self, key: str) -> bool:
        value: bool = self._typed(key, bool, "true or false")
        return value

    def integer(self, key: str, minimum: int = 0) -> int:
        value: int = self._typed(key, int, "an integer")
        if value < minimum:
            raise self.error(key, f"must be at least {minimum}")
        return value

    def opt_integer(self, key: str, minimum: int = 0) -> int | None:
        return None if self.data.get(key) is None else self.integer(key, minimum)

    def decimal(self, key: str) -> Decimal:
        """A decimal written as text ("1000.00"), never a float."""
        value = self.text(key)
        if not _DECIMAL_RE.match(value):
            raise self.error(key, f'{value!r} is not a decimal number like "1000.00"')
        return Decimal(value)

    def opt_decimal(self, key: str) -> Decimal | None:
        return None if self.data.get(key) is None else self.decimal(key)

    def digest(self, key: str) -> bytes:
        value = self.text(key)
        if not _HEX32_RE.match(value):
            raise self.error(key, "must be 64 lower-case hex digits (a SHA-256)")
        return bytes.fromhex(value)

    def obj(self, key: str) -> View:
        value = self._typed(key, dict, "an object")
        return View(value, self.file, f"{self.path}.{key}" if self.path else key)

    def array(self, key: str) -> list[Any]:
        value: list[Any] = self._typed(key, list, "an array")
        return value

    def objects(self, key: str, limit: int = 100_000) -> Iterator[View]:
        base = f"{self.path}.{key}" if self.path else key
        items = self.array(key)
        if len(items) > limit:
            raise self.error(key, f"more than {limit:,} entries")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise InputError(
                    f"{self.file}: {base}[{i}]", f"must be an object, got {_kind(item)}"
                )
            yield View(item, self.file, f"{base}[{i}]")

    def members(self) -> Iterator[tuple[str, View]]:
        """Each member of this object, which must all be objects."""
        for key, value in self.data.items():
            if not isinstance(value, dict):
                raise self.error(key, f"must be an object, got {_kind(value)}")
            yield key, View(value, self.file, f"{self.path}.{key}" if self.path else key)
