"""When each service is probed (``agent.scheduler``): slots that survive a restart."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from agent.scheduler import ProbeScheduler, start_offsets
from core.timeutil import to_minute

MINUTE = timedelta(minutes=1)


def _phase(at: datetime, period: timedelta, offset: timedelta) -> float:
    return (at.timestamp() - offset.total_seconds()) % period.total_seconds()


async def test_the_scheduler_puts_each_service_on_its_slot_counted_from_the_epoch() -> None:
    """The real scheduler's first run of each service is on its slot: a fixed phase of its
    interval from the epoch, whenever the agent starts. Before, slots counted from the
    start, so every restart moved every service to another second of the minute."""
    intervals = {f"svc{i:02}": MINUTE for i in range(12)} | {"slow": timedelta(minutes=5)}
    ran: list[str] = []

    async def run(name: str) -> None:
        ran.append(name)

    scheduler = ProbeScheduler(run, intervals)
    await scheduler.start()
    try:
        assert scheduler._scheduler is not None
        jobs = {job.id: job.next_run_time for job in scheduler._scheduler.get_jobs()}
        await asyncio.sleep(0.3)
    finally:
        scheduler.shutdown()
    assert "svc00" in ran  # a started agent still probes at once (a catch-up run)
    offsets = start_offsets(intervals)
    assert set(jobs) == set(intervals)
    for name, first in jobs.items():
        phase = _phase(first, intervals[name], offsets[name])
        assert min(phase, intervals[name].total_seconds() - phase) < 0.001, (name, phase)


def test_a_restart_within_a_minute_keeps_that_minutes_probe() -> None:
    """An agent killed at :40 of a minute and back at :42: every service is probed in that
    minute by one agent or the other, except those whose slot fell in the 2 s no agent ran
    (counted from the start, a service slotted before :40 by the old agent could be put
    after :60 by the new one: no probe, the minute unknown, an outage split in two)."""
    from agent.scheduler import first_runs

    intervals = {f"svc{i:02}": MINUTE for i in range(30)}
    began = datetime(2026, 11, 2, 8, 57, 13, 400_000, tzinfo=UTC)
    killed = datetime(2026, 11, 2, 9, 0, 40, tzinfo=UTC)
    back = killed + timedelta(seconds=2)
    minute = to_minute(killed)
    old = first_runs(intervals, began)
    new = first_runs(intervals, back)
    for name, period in intervals.items():
        old_runs = [old[name] + k * period for k in range(10)]
        assert any(abs((t - new[name]).total_seconds()) < 1e-3 for t in old_runs), name
        slot = next(t for t in old_runs if to_minute(t) == minute)
        probed = slot < killed or to_minute(new[name]) == minute
        assert probed or killed <= slot < back, name
        assert back <= new[name] < back + period


async def test_a_slot_that_finds_its_run_still_going_is_told_to_the_agent() -> None:
    """APScheduler's ``max_instances`` skips a slot while the run before it is still going;
    the skip reaches ``on_busy`` (the agent files that minute from the running run's
    attempts). Before, it was only counted."""
    busy: list[str] = []
    runs: list[float] = []
    release = asyncio.Event()

    async def run(name: str) -> None:
        runs.append(time.monotonic())
        if len(runs) > 1:  # the catch-up run is quick; the scheduled one outlasts 1 s
            await release.wait()

    scheduler = ProbeScheduler(run, {"web": timedelta(seconds=1)}, on_busy=busy.append)
    await scheduler.start()
    try:
        await asyncio.sleep(2.1)  # the job's first run, then its next slot while it runs
    finally:
        scheduler.shutdown()
        release.set()
    assert len(runs) == 2
    assert busy and set(busy) == {"web"}
    assert scheduler.skipped_busy == len(busy)
