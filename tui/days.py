"""The detail screen's day-by-day strip: each day of the month counted like a month.

The days come from ``core.month.month_days`` (the claim letter's table counts
them the same way), so a day's colour never disagrees with the month report.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from core.month import MonthDay
from tui.view import DayCell


def day_cells(days: Sequence[MonthDay]) -> tuple[DayCell, ...]:
    """One cell per local day; days (and the part of today) after ``until`` are blank."""
    return tuple(_cell(number, day) for number, day in enumerate(days, start=1))


def _cell(number: int, day: MonthDay) -> DayCell:
    if day.end <= day.start:
        return DayCell(number, None, 0)
    counted = day.tally
    down, measured, coverage = counted.downtime, counted.measured, counted.coverage_percent
    if measured <= 0 or counted.recorded == 0:  # no record: not "available", whatever rule 4 says
        return DayCell(number, None, down, coverage)
    return DayCell(number, Decimal(measured - down) * 100 / Decimal(measured), down, coverage)
