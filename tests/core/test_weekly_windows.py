"""Weekly maintenance expanded into real minutes, and window masks."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from core.config import WeeklyMaintenance
from core.timeutil import to_minute
from core.windows import EXCLUDED, Window, apply_windows, excluded_mask, weekly_windows

LA = ZoneInfo("America/Los_Angeles")


def minute(*args: int, tz: ZoneInfo | None = None) -> int:
    return to_minute(datetime(*args, tzinfo=tz or UTC))  # type: ignore[arg-type,misc]


def test_window_on_a_dst_night_has_its_real_length() -> None:
    # Los Angeles springs forward at 02:00 on Sunday 8 March 2026.
    sunday = WeeklyMaintenance(day=6, start=time(1), end=time(4), reason="patching")
    spans = weekly_windows([sunday], LA, minute(2026, 3, 1, tz=LA), minute(2026, 3, 15, tz=LA))
    assert [w.minutes for w in spans] == [180, 120]
    assert spans[1].start == minute(2026, 3, 8, 9)  # 01:00 PST
    assert spans[1].reason == "patching" and spans[1].kind == "maintenance"


def test_window_past_midnight_and_clipping() -> None:
    saturday = WeeklyMaintenance(day=5, start=time(22), end=time(4))
    # The span starts on Sunday 1 Nov 2026 at 00:00 UTC: Saturday's window is cut.
    start = minute(2026, 11, 1)
    spans = weekly_windows([saturday], ZoneInfo("UTC"), start, start + 8 * 1440)
    assert [(w.start - start, w.minutes) for w in spans] == [(0, 240), (6 * 1440 + 1320, 360)]


def test_whole_day_window() -> None:
    day = WeeklyMaintenance(day=0, start=time(0), end=time(0))
    start = minute(2026, 11, 16)
    assert [w.minutes for w in weekly_windows([day], ZoneInfo("UTC"), start, start + 7 * 1440)] == [
        1440
    ]


def test_masks() -> None:
    windows = [Window(10, 15, "exclusion", "x"), Window(12, 30, "maintenance", "y"), Window(0, 2)]
    mask = excluded_mask(windows, 5, 20)
    assert mask == bytes(5) + b"\x01" * 15
    statuses = bytearray(b"\x01" * 20)
    apply_windows(statuses, windows, 5)
    assert statuses.count(EXCLUDED) == 15
    with pytest.raises(ValueError):
        Window(5, 4)
