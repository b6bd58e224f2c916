"""A small JSON path for health checks: ``status``, ``checks.db.status``, ``items[0].state``.

Enough for the health endpoints that answer 200 with ``{"status": "degraded"}``:
dotted object keys and ``[N]`` list indexes, an optional leading ``$.``. Pure:
``parse_json_path`` validates the text once (at config time), ``lookup`` walks
a decoded JSON document.
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import ConfigError

PathStep = str | int

_STEP_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]|(\.)")
MISSING = object()
"""What ``lookup`` returns when the path leads nowhere (absent key, index out of range)."""


def parse_json_path(text: str, where: str) -> tuple[PathStep, ...]:
    """``"checks.db.status"`` -> ``("checks", "db", "status")``; ``"a[0]"`` -> ``("a", 0)``."""
    raw = text.strip()
    if raw.startswith("$"):
        raw = raw[1:].lstrip(".")
    steps: list[PathStep] = []
    pos = 0
    expect_name = True  # at the start or after a dot, a key name must come
    while pos < len(raw):
        m = _STEP_RE.match(raw, pos)
        if m is None:
            break
        if m.group(1) is not None:
            if not expect_name:
                break
            steps.append(m.group(1))
            expect_name = False
        elif m.group(2) is not None:
            if expect_name and steps:
                break
            steps.append(int(m.group(2)))
            expect_name = False
        else:
            if expect_name:
                break
            expect_name = True
        pos = m.end()
    if not steps or pos != len(raw) or expect_name:
        raise ConfigError(
            where, f'expected a path like "status" or "checks.db.status", got {text!r}'
        )
    return tuple(steps)


def lookup(document: Any, path: tuple[PathStep, ...]) -> Any:
    """The value at ``path`` in ``document``, or ``MISSING``."""
    current = document
    for step in path:
        if isinstance(step, int):
            if not isinstance(current, list) or step >= len(current):
                return MISSING
            current = current[step]
        else:
            if not isinstance(current, dict) or step not in current:
                return MISSING
            current = current[step]
    return current


def matches(value: Any, expected: str | int | float | bool | None) -> bool:
    """Whether a JSON value found by ``lookup`` is the expected one.

    ``expected`` None: the value must be there and not null or false. A bool
    matches only a bool and a number only a number (``1`` is not ``true``); a
    string matches a string exactly, or the text of a number or bool
    (``"200"`` matches ``200``) since TOML users often quote everything.
    """
    if value is MISSING:
        return False
    if expected is None:
        return value is not None and value is not False
    if isinstance(expected, bool) or isinstance(value, bool):
        if isinstance(expected, str) and isinstance(value, bool):
            return expected.strip().lower() == ("true" if value else "false")
        return isinstance(expected, bool) and isinstance(value, bool) and expected == value
    if isinstance(expected, str):
        if isinstance(value, str):
            return value == expected
        if isinstance(value, int | float):
            try:
                return float(expected) == float(value)
            except ValueError:
                return False
        return False
    return isinstance(value, int | float) and float(value) == float(expected)
