"""The detail screen's day-by-day strip: each day of the month counted like a month.

Uses the core rules' own pieces (source quorum, windows, the unknown and
degraded policies), so a day's colour never disagrees with the month report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal

from core.config import Contract, Service
from core.month import combine_sources, effective_minutes, tally
from core.timeutil import YearMonth, to_minute
from core.windows import Window
from tui.view import DayCell


def day_cells(
    service: Service,
    contract: Contract,
    month: YearMonth,
    sources: Mapping[str, bytes],
    windows: Sequence[Window],
    now_minute: int,
) -> tuple[DayCell, ...]:
    """One cell per local day; days (and the part of today) after ``now`` are not counted."""
    tz = contract.timezone
    start, end = month.bounds(tz)
    combined = bytearray(combine_sources(sources.values()).ljust(end - start, b"\0"))
    effective = effective_minutes(service, contract, start, combined, windows)
    cells = []
    day = month.start(tz)
    number = 1
    while to_minute(day) < end:
        nxt = day + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
        a, b = to_minute(day) - start, min(to_minute(nxt), now_minute) - start
        cells.append(_cell(number, bytes(effective[a:b]) if b > a else b"", contract))
        day = nxt
        number += 1
    return tuple(cells)


def _cell(number: int, minutes: bytes, contract: Contract) -> DayCell:
    if not minutes:
        return DayCell(number, None, 0)
    counted = tally(minutes, contract)
    down, measured, coverage = counted.downtime, counted.measured, counted.coverage_percent
    if measured <= 0 or counted.recorded == 0:  # no record: not "available", whatever rule 4 says
        return DayCell(number, None, down, coverage)
    return DayCell(number, Decimal(measured - down) * 100 / Decimal(measured), down, coverage)
