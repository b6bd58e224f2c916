"""When each service is probed: APScheduler 3.11's ``AsyncIOScheduler``.

Choices, all deliberate:

* each service has its own interval job; services sharing an interval get
  start offsets spread evenly across it, so 1,000 services at 60 s fire about
  every 60 ms instead of all at once (the order is by name, and the offsets
  count from the epoch, so a restart gives each service the same slot, to the
  second: ``first_runs``);
* ``max_instances=1``: a target slower than its interval is never probed twice
  at once; the run that finds it still busy is skipped, counted and told to
  ``on_busy(service)``: the agent files that slot's minute from the attempts of
  the run still going (``Agent.overran``; docs/probes.md, "Runs that overrun");
* ``coalesce=True``: after a stall (a suspended laptop, a blocked loop) the
  backlog of missed runs becomes one run, not a burst;
* ``misfire_grace_time`` = half the interval: a run up to half an interval
  late still samples its own slot; later than that it would crowd the next
  run, so it is skipped and counted. A missed run never invents a result:
  the minute simply has fewer probes (or none, so it stays unknown).

APScheduler's own per-run log lines are silenced (10,000 services would flood
the journal); skipped and missed runs are summed and reported by ``drain``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger("slawatch.agent.scheduler")

RunProbe = Callable[[str], Awaitable[None]]


def start_offsets(intervals: Mapping[str, timedelta]) -> dict[str, timedelta]:
    """Each service's delay before its first run: even spacing within its interval group."""
    groups: dict[timedelta, list[str]] = {}
    for name, interval in intervals.items():
        groups.setdefault(interval, []).append(name)
    offsets: dict[str, timedelta] = {}
    for interval, names in groups.items():
        names.sort()
        for i, name in enumerate(names):
            offsets[name] = interval * i / len(names)
    return offsets


def first_runs(intervals: Mapping[str, timedelta], after: datetime) -> dict[str, datetime]:
    """Each service's first run at or after ``after``. A service's slot is a fixed
    phase of its interval counted from the Unix epoch (its ``start_offsets`` offset),
    not from the agent's start, so an agent restarted within a minute probes each
    service at the second it was probed before, and the minute of the restart keeps
    its probe: counted from the start, a restart at :50 moved a service slotted at :30
    into the next minute, and the minute in progress got no probe from either agent
    (unknown, read as available; an outage in progress split in two). What is lost is
    only what fell due while no agent ran."""
    out = {}
    at = after.timestamp()
    for name, offset in start_offsets(intervals).items():
        period, phase = intervals[name].total_seconds(), offset.total_seconds()
        turns = math.ceil((at - phase) / period)
        out[name] = datetime.fromtimestamp(turns * period + phase, UTC)
    return out


def quiet_apscheduler() -> None:
    """APScheduler logs every run at INFO and every miss at WARNING (a flood at
    10,000 services), and a run cancelled by a shutdown as an ERROR; this module
    counts and reports those itself, and ``fire`` logs real failures."""
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("apscheduler.executors").setLevel(logging.CRITICAL)


class ProbeScheduler:
    """One interval job per service, calling ``run(service_name)``."""

    def __init__(
        self,
        run: RunProbe,
        intervals: Mapping[str, timedelta],
        on_busy: Callable[[str], None] | None = None,
    ) -> None:
        self._run = run
        self._on_busy = on_busy
        self._intervals = dict(intervals)
        self._scheduler: AsyncIOScheduler | None = None
        self._due: dict[str, datetime] = {}
        self.lateness: deque[float] = deque(maxlen=100_000)  # seconds, newest last
        self.skipped_busy = 0
        self.missed = 0
        self._reported = (0, 0)
        self._reported_at = -float("inf")
        self._busy: set[str] = set()  # services being probed (by a job or a catch-up run)
        self._handles: list[asyncio.TimerHandle] = []  # catch-up runs not yet started
        self._tasks: set[asyncio.Task[None]] = set()  # catch-up runs started

    async def start(self, *, lead: float = 0.05, chunk: int = 200) -> None:
        """Start firing; call from the running event loop.

        Adding a job costs APScheduler about 0.1 ms, so 10,000 of them take a
        second: added all at once, every service due in that first second would
        start late. Instead the scheduler runs from the start and the jobs are
        added soonest-due first, ``chunk`` at a time, yielding to the loop in
        between, which keeps the adding well ahead of the first runs.
        """
        quiet_apscheduler()
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_listener(self._on_event, EVENT_JOB_SUBMITTED)
        scheduler.add_listener(self._on_event, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        scheduler.start()
        self._scheduler = scheduler
        begin = datetime.now(UTC) + timedelta(seconds=lead)
        firsts = first_runs(self._intervals, begin)
        self._catch_up(begin, firsts)
        ordered = sorted(firsts.items(), key=lambda item: item[1])
        for i, (name, first) in enumerate(ordered):
            if i and i % chunk == 0:
                await asyncio.sleep(0)
                if self._scheduler is not scheduler:  # shut down meanwhile
                    return
            interval = self._intervals[name]
            scheduler.add_job(
                self.fire,
                IntervalTrigger(seconds=interval.total_seconds(), start_date=first, timezone=UTC),
                args=(name,),
                id=name,
                name=name,
                next_run_time=first,
                coalesce=True,
                max_instances=1,  # a slot that finds its run busy: _on_event
                misfire_grace_time=max(1, int(interval.total_seconds() // 2)),
            )

    def _catch_up(self, begin: datetime, firsts: Mapping[str, datetime]) -> None:
        """One run of each service before its first slot, spread over its interval from
        ``begin`` as the slots are (the first at once): a started agent shows every
        service within one interval, and a restarted one probes again what fell due
        while no agent ran (its slot in the minute of the restart already passed)."""
        loop = asyncio.get_running_loop()
        wait = (begin - datetime.now(UTC)).total_seconds()
        for name, offset in start_offsets(self._intervals).items():
            if begin + offset < firsts[name]:
                delay = max(0.0, wait + offset.total_seconds())
                self._handles.append(loop.call_later(delay, self._spawn, name))

    def _spawn(self, name: str) -> None:
        if self._scheduler is None:
            return
        task = asyncio.get_running_loop().create_task(self.fire(name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def shutdown(self) -> None:
        """Stop firing; runs already started are the caller's to await or cancel."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        for handle in self._handles:
            handle.cancel()
        self._handles.clear()

    async def fire(self, name: str) -> None:
        """One slot of ``name`` falls due now: run it, or, while its previous run is
        still going, skip it (counted, and told to ``on_busy``)."""
        due = self._due.pop(name, None)
        if due is not None:
            self.lateness.append((datetime.now(UTC) - due).total_seconds())
        if name in self._busy:  # its catch-up run is still going (max_instances sees jobs)
            self._skipped(name)
            return
        self._busy.add(name)
        try:
            await self._run(name)
        except asyncio.CancelledError:
            return  # only a shutdown cancels a run: not an error
        except Exception:
            log.exception("probe run of %s failed", name)
        finally:
            self._busy.discard(name)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, JobSubmissionEvent) and event.code == EVENT_JOB_SUBMITTED:
            self._due[event.job_id] = event.scheduled_run_times[-1]
        elif isinstance(event, JobEvent):
            if event.code == EVENT_JOB_MAX_INSTANCES:
                self._skipped(event.job_id)
            elif event.code == EVENT_JOB_MISSED:
                self.missed += 1

    def _skipped(self, name: str) -> None:
        self.skipped_busy += 1
        if self._on_busy is not None:
            try:
                self._on_busy(name)
            except Exception:
                log.exception("filing the skipped run of %s failed", name)

    def drain(self, every: float = 60.0) -> None:
        """Log the runs skipped since the last report, at most once per ``every`` seconds."""
        busy, missed = self.skipped_busy - self._reported[0], self.missed - self._reported[1]
        now = time.monotonic()
        if not (busy or missed) or now - self._reported_at < every:
            return
        log.warning(
            "%d probe run(s) skipped (target still being probed), %d missed (ran too late)",
            busy,
            missed,
        )
        self._reported = (self.skipped_busy, self.missed)
        self._reported_at = now
