"""The month read model (``reads.reports.month_inputs``) on a real SQLite store.

October 2026, UTC, one service with two sources. What each test writes is
spelled out in it; the figures are counted by hand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from core.config import Config
from core.configfile import load_config
from core.status import DOWN, UP
from core.timeutil import YearMonth, from_minute, to_minute
from reads.reports import MonthInputs, month_inputs, month_report
from store import MinuteRow, Store, open_store
from tests import configs
from tests.conftest import write_config

T = TypeVar("T")
OCT = YearMonth(2026, 10)
START = to_minute(datetime(2026, 10, 1, tzinfo=UTC))
END = to_minute(datetime(2026, 11, 1, tzinfo=UTC))
DAY = 1440

CONFIG = configs.toml(
    storage="reads.db", contracts=[configs.contract()], services=[configs.service()]
)


def _rows(source: str, lo: int, hi: int, status: int) -> list[MinuteRow]:
    return [MinuteRow("portal", source, m, status, None, None) for m in range(lo, hi)]


def _run(tmp_path: Path, fill: Callable[[Store], Awaitable[None]]) -> tuple[Config, MonthInputs]:
    config = load_config(write_config(tmp_path, CONFIG))

    async def go() -> MonthInputs:
        async with await open_store(config) as store:
            await fill(store)
        async with await open_store(config, readonly=True) as store:
            return await month_inputs(store, config, "portal", OCT)

    return config, asyncio.run(go())


def test_an_outage_starting_three_days_before_the_month(tmp_path: Path) -> None:
    began = START - 3 * DAY - 17  # 27 Sep 23:43

    async def fill(store: Store) -> None:
        await store.record_minutes(_rows("agent", began - 60, began, UP))
        await store.record_minutes(_rows("agent", began, START + 90, DOWN))
        await store.record_minutes(_rows("agent", START + 90, START + 200, UP))
        await store.open_case("portal", "high", "down", from_minute(began + 30))

    _, inputs = _run(tmp_path, fill)
    assert inputs.span[0] <= began < START and inputs.span[1] == END
    assert all(len(b) == inputs.span[1] - inputs.span[0] for b in inputs.sources.values())
    report = inputs.compute()
    (outage,) = report.outages
    assert outage.start == from_minute(began)  # its true start, days before the month
    assert outage.end == from_minute(START + 90)
    assert outage.minutes == 90  # only October's minutes count in October
    assert outage.reported and outage.case_id == 1  # the case came 30 min after it began
    assert report.downtime_minutes == 90
    days = inputs.days()
    assert [d.tally.downtime for d in days[:2]] == [90, 0]
    assert sum(d.tally.minutes for d in days) == report.minutes_in_month == 31 * DAY


def test_an_exclusion_across_the_month_end(tmp_path: Path) -> None:
    async def fill(store: Store) -> None:
        await store.record_minutes(_rows("agent", END - 30, END + 90, DOWN))
        await store.add_exclusion("portal", END - 10, END + 60, "upstream")

    _, inputs = _run(tmp_path, fill)
    assert [(w.start, w.end) for w in inputs.windows] == [(END - 10, END + 60)]
    assert inputs.windows_in(START, END) == inputs.windows  # it overlaps the month
    assert inputs.windows_in(END + 60, END + 120) == ()
    report = inputs.compute()
    assert report.excluded_minutes == 10  # the month's part of the window only
    assert report.downtime_minutes == 20
    (outage,) = report.outages
    assert (outage.start, outage.minutes) == (from_minute(END - 30), 20)
    # followed past the month and through the window, which neither ends it nor counts
    assert outage.end == from_minute(END + 90)
    assert inputs.span[1] >= END + 90
    assert inputs.days()[-1].tally.excluded == 10


def test_several_sources_at_the_edges(tmp_path: Path) -> None:
    """Rule 3 at both edges: two of three sources down is down, one of three is not."""

    async def fill(store: Store) -> None:
        for source in ("a", "b", "c"):
            await store.record_minutes(_rows(source, START - 120, START + 60, UP))
            await store.record_minutes(_rows(source, END - 60, END + 120, UP))
        for source in ("a", "b"):  # two of three: down across the month start
            await store.record_minutes(_rows(source, START - 45, START + 15, DOWN))
        await store.record_minutes(_rows("c", END - 20, END + 40, DOWN))  # one of three

    _, inputs = _run(tmp_path, fill)
    assert sorted(inputs.sources) == ["a", "b", "c"]
    assert inputs.span[0] <= START - 45
    assert inputs.span[1] == END  # nothing runs across the end: no reach past it
    report = inputs.compute()
    (outage,) = report.outages
    assert outage.start == from_minute(START - 45)
    assert (outage.minutes, report.downtime_minutes) == (15, 15)
    assert inputs.sources_in(START - 45, START - 44) == {"a": b"\x03", "b": b"\x03", "c": b"\x01"}


def test_month_report_is_the_inputs_computed(tmp_path: Path) -> None:
    async def fill(store: Store) -> None:
        await store.record_minutes(_rows("agent", START, START + DAY, UP))
        await store.record_minutes(_rows("agent", START + 600, START + 660, DOWN))

    config, inputs = _run(tmp_path, fill)

    async def report() -> object:
        async with await open_store(config, readonly=True) as store:
            return await month_report(store, config, "portal", OCT)

    assert asyncio.run(report()) == inputs.compute()
    assert inputs.compute().downtime_minutes == 60
    assert timedelta(minutes=inputs.bounds[1] - inputs.bounds[0]) == timedelta(days=31)


def test_a_failure_that_began_in_a_window_before_the_month(tmp_path: Path) -> None:
    """Rule 8 on the store: the run is followed back into the window it began in,
    across the month start, and a case opened during the excluded part reports it."""

    async def fill(store: Store) -> None:
        await store.record_minutes(_rows("agent", START - 120, START - 30, UP))
        await store.record_minutes(_rows("agent", START - 30, START + 60, DOWN))
        await store.record_minutes(_rows("agent", START + 60, START + 120, UP))
        await store.add_exclusion("portal", START - 60, START + 20, "upstream")
        await store.open_case("portal", "high", "down", from_minute(START - 10))

    _, inputs = _run(tmp_path, fill)
    assert inputs.span[0] <= START - 30
    report = inputs.compute()
    (outage,) = report.outages
    assert (outage.start, outage.end) == (from_minute(START - 30), from_minute(START + 60))
    assert (outage.minutes, report.downtime_minutes, report.excluded_minutes) == (40, 40, 20)
    assert outage.reported and outage.case_id == 1
