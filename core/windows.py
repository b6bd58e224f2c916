"""Maintenance windows and exclusions as half-open spans of UTC epoch minutes.

Weekly maintenance is written in the contract's time zone (``sat 22:00-04:00``)
and expanded here into real spans, so a window on a DST night is an hour
longer or shorter in real minutes, as the wall clock says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from core.config import WeeklyMaintenance
from core.timeutil import from_minute, to_minute

WindowKind = Literal["maintenance", "exclusion"]
EXCLUDED = 4  # the code of an excluded minute in an effective-status array
# Window codes (``window_codes``) keep the measured status under the EXCLUDED bit;
# this table turns them into effective statuses (every excluded minute EXCLUDED).
EFFECTIVE: bytes = bytes(range(4)) + bytes([EXCLUDED] * 4) + bytes(248)


@dataclass(frozen=True, order=True)
class Window:
    """Minutes [start, end) removed from a month: scheduled maintenance or an
    interruption outside the provider's control."""

    start: int
    end: int
    kind: WindowKind = "maintenance"
    reason: str = ""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"window ends before it starts: [{self.start}, {self.end})")

    @property
    def minutes(self) -> int:
        return self.end - self.start

    def overlaps(self, start: int, end: int) -> bool:
        return self.start < end and start < self.end


def weekly_windows(
    maintenance: Sequence[WeeklyMaintenance], tz: ZoneInfo, start: int, end: int
) -> list[Window]:
    """Every occurrence of the weekly windows that overlaps [start, end), clipped to it.

    A window whose end is at or before its start runs past midnight into the next
    day (``to`` equal to ``from`` is a whole day). Wall-clock times are resolved in
    ``tz`` on each date, so DST changes move the real span as they should.
    """
    if not maintenance or end <= start:
        return []
    first = from_minute(start).astimezone(tz).date() - timedelta(days=1)
    last = from_minute(end).astimezone(tz).date()
    out: list[Window] = []
    day = first
    while day <= last:
        for m in maintenance:
            if day.weekday() != m.day:
                continue
            a = to_minute(datetime.combine(day, m.start, tzinfo=tz))
            end_day = day + timedelta(days=1) if m.end <= m.start else day
            b = to_minute(datetime.combine(end_day, m.end, tzinfo=tz))
            a, b = max(a, start), min(b, end)
            if a < b:
                out.append(Window(a, b, "maintenance", m.reason))
        day += timedelta(days=1)
    out.sort()
    return out


def excluded_mask(windows: Iterable[Window], start: int, length: int) -> bytearray:
    """One byte per minute from ``start``: 1 inside any window, else 0 (C-speed slices)."""
    mask = bytearray(length)
    for w in windows:
        a, b = max(w.start - start, 0), min(w.end - start, length)
        if a < b:
            mask[a:b] = b"\x01" * (b - a)
    return mask


def window_codes(statuses: bytes, windows: Iterable[Window], start: int) -> bytes:
    """Each status from ``start`` with ``EXCLUDED`` or-ed in inside any window.

    Codes 0-3 are minutes outside every window, 4-7 the same statuses inside
    one: the month's tally reads them through ``EFFECTIVE`` (rule 2), the
    outage scan reads the measured status under the bit (rule 8). Done as one
    big-integer OR: each mask byte 1 shifted left by 2 is 4, inside its own byte.
    """
    length = len(statuses)
    mask = excluded_mask(windows, start, length)
    if 1 not in mask:
        return bytes(statuses)
    value = int.from_bytes(statuses, "big") | (int.from_bytes(mask, "big") << 2)
    return value.to_bytes(length, "big")


def apply_windows(statuses: bytearray, windows: Iterable[Window], start: int) -> None:
    """Overwrite every minute inside a window with ``EXCLUDED`` (in place)."""
    length = len(statuses)
    for w in windows:
        a, b = max(w.start - start, 0), min(w.end - start, length)
        if a < b:
            statuses[a:b] = bytes((EXCLUDED,)) * (b - a)
