"""Clock faults: the wall clock jumps an hour forward or back under a running agent,
and DST turns in the contract's time zone: no minute is recorded twice, none invented."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostile import Hostile
from rig import Clock, Rig, config_for

from agent.sink import StoreSink
from core.status import DOWN, UP
from core.timeutil import YearMonth, to_minute
from reads.reports import month_report
from store.rows import MinuteRow, StateSave
from store.sqlite import SqliteStore

HOUR = timedelta(hours=1)


class CountingSink(StoreSink):
    """The real sink, counting how often each (service, minute) is handed to the store."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.writes: Counter[tuple[str, int]] = Counter()

    async def record_minutes(
        self, rows: Sequence[MinuteRow], *, state: StateSave | None = None
    ) -> None:
        await super().record_minutes(rows, state=state)
        self.writes.update((r.service, r.minute) for r in rows)


@pytest.fixture
async def target() -> AsyncIterator[Hostile]:
    h = await Hostile().start()
    yield h
    await h.close()


async def stored(db: Path, lo: int, hi: int) -> dict[tuple[str, int], int]:
    async with await SqliteStore.open(db, readonly=True) as s:
        out: dict[tuple[str, int], int] = {}
        for name in ("svc0", "svc1"):
            data = (await s.minutes(name, lo, hi)).get("probe-1", b"")
            out.update({(name, lo + i): c for i, c in enumerate(data) if c})
        return out


async def test_clock_jumps_forward_an_hour(tmp_path: Path, target: Hostile) -> None:
    db = tmp_path / "slawatch.db"
    clock = Clock()
    start = to_minute(clock())
    sink = CountingSink(db)
    rig = Rig(config_for(tmp_path, db, target.url("/ok")), clock, sink)
    await rig.minutes(10)
    clock.advance(HOUR)  # NTP fixes a clock that was an hour slow, say
    await rig.minutes(10)
    assert await rig.close()
    got = await stored(db, start, start + 200)
    assert set(got) == set(rig.probed)  # the skipped hour stays unknown: nothing invented
    assert len(got) == 2 * 20 and max(sink.writes.values()) == 1


async def test_clock_jumps_back_an_hour(
    tmp_path: Path, target: Hostile, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "slawatch.db"
    clock = Clock()
    start = to_minute(clock())
    sink = CountingSink(db)
    rig = Rig(config_for(tmp_path, db, target.url("/ok")), clock, sink)
    await rig.minutes(70)  # 70 minutes, all up
    target.failing = True  # from now on the target fails...
    clock.advance(-HOUR)  # ...and the clock goes back over minutes already recorded
    with caplog.at_level(logging.WARNING, logger="slawatch"):
        await rig.minutes(70)  # back to where it was, then 10 new minutes
    assert await rig.close()
    got = await stored(db, start - 60, start + 200)
    assert max(sink.writes.values()) == 1, "a minute was recorded twice"
    first = {k: v for k, v in got.items() if k[1] < start + 70}
    assert set(first.values()) == {UP}  # the recorded hour was not overwritten with DOWN
    later = {k: v for k, v in got.items() if k[1] >= start + 70}
    assert set(later) == {(s, start + 70 + i) for s in ("svc0", "svc1") for i in range(10)}
    assert set(later.values()) == {DOWN}
    assert sum("clock went back" in r.getMessage() for r in caplog.records) == 1


async def test_a_clock_that_ran_ahead_and_is_set_right_records_what_it_skipped(
    tmp_path: Path, target: Hostile
) -> None:
    """A clock two hours ahead (an RTC kept in local time, NTP not yet synced at boot)
    records a few minutes two hours ahead, then NTP sets it back. The minutes it skipped
    were never recorded, so they are recorded as measured; before, the clock-back guard
    (the latest minute judged) dropped every probe for two hours: nothing recorded, read
    as available, an outage in those hours never seen."""
    db = tmp_path / "slawatch.db"
    clock = Clock()
    start = to_minute(clock())
    sink = CountingSink(db)
    rig = Rig(config_for(tmp_path, db, target.url("/ok")), clock, sink)
    await rig.minutes(5)  # start .. start+4, up
    clock.advance(2 * HOUR)  # ahead...
    await rig.minutes(3)  # start+125 .. start+127, up (at the wrong minutes)
    target.failing = True
    clock.advance(-2 * HOUR)  # ...set right: start+8
    await rig.minutes(10)  # start+8 .. start+17: never recorded, and the target is down
    assert await rig.close()
    got = await stored(db, start, start + 200)
    assert max(sink.writes.values()) == 1, "a minute was recorded twice"
    names = ("svc0", "svc1")
    assert {k: v for k, v in got.items() if start + 8 <= k[1] < start + 18} == {
        (s, start + 8 + i): DOWN for s in names for i in range(10)
    }
    assert {v for k, v in got.items() if not start + 8 <= k[1] < start + 18} == {UP}
    assert len(got) == 2 * 18


@pytest.mark.parametrize(
    ("month", "turn", "real_minutes"),
    [
        ("2026-10", datetime(2026, 10, 25, 0, 0, tzinfo=UTC), 31 * 1440 + 60),  # fall back
        ("2026-03", datetime(2026, 3, 29, 0, 0, tzinfo=UTC), 31 * 1440 - 60),  # spring forward
    ],
)
async def test_dst_turn_in_the_contract_zone(
    tmp_path: Path, target: Hostile, month: str, turn: datetime, real_minutes: int
) -> None:
    """Paris changes its clocks at 01:00 UTC; the agent records UTC minutes straight through."""
    db = tmp_path / "slawatch.db"
    config = config_for(tmp_path, db, target.url("/ok"), tz="Europe/Paris")
    clock = Clock(turn + timedelta(seconds=30))
    sink = CountingSink(db)
    rig = Rig(config, clock, sink)
    await rig.minutes(180)  # 00:00 to 03:00 UTC, across the turn
    assert await rig.close()
    assert max(sink.writes.values()) == 1 and len(sink.writes) == 2 * 180
    async with await SqliteStore.open(db, readonly=True) as s:
        report = await month_report(s, config, "svc0", YearMonth.parse(month, "month"))
    assert report.minutes_in_month == real_minutes
    assert report.unknown_minutes == real_minutes - 180  # 180 recorded: none twice, none made up
    assert report.downtime_minutes == 0
