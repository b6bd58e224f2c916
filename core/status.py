"""Minute status codes shared by every part of slawatch.

A minute's status is stored and passed around as one small integer so that a
month of minutes is a compact ``bytes`` object (one byte per minute) rather
than 44,640 Python objects. Code 0 means "no verdict": either nothing was
recorded or the recorder itself could not tell (the agent's canary failed).
"""

from __future__ import annotations

from typing import Final, Literal

UNKNOWN: Final = 0
UP: Final = 1
DEGRADED: Final = 2
DOWN: Final = 3

StatusName = Literal["unknown", "up", "degraded", "down"]

NAMES: Final[dict[int, StatusName]] = {
    UNKNOWN: "unknown",
    UP: "up",
    DEGRADED: "degraded",
    DOWN: "down",
}
CODES: Final[dict[str, int]] = {name: code for code, name in NAMES.items()}


def name_of(code: int) -> StatusName:
    """The word for a status code (``KeyError`` for a code that is not one)."""
    return NAMES[code]
