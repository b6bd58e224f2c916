"""When each service is probed: APScheduler 3.11's ``AsyncIOScheduler``.

Choices, all deliberate:

* each service has its own interval job; services sharing an interval get
  start offsets spread evenly across it, so 1,000 services at 60 s fire about
  every 60 ms instead of all at once (the order is by name, so a restart gives
  each service the same slot);
* ``max_instances=1``: a target slower than its interval is never probed twice
  at once; the run that finds it still busy is skipped and counted;
* ``coalesce=True``: after a stall (a suspended laptop, a blocked loop) the
  backlog of missed runs becomes one run, not a burst;
* ``misfire_grace_time`` = half the interval: a run up to half an interval
  late still samples its own slot; later than that it would crowd the next
  run, so it is skipped and counted. A skipped run never invents a result:
  the minute simply has fewer probes (or none, so it stays unknown).

APScheduler's own per-run log lines are silenced (10,000 services would flood
the journal); skipped and missed runs are summed and reported by ``drain``.
"""

from __future__ import annotations

import asyncio
import logging
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


def quiet_apscheduler() -> None:
    """APScheduler logs every run at INFO and every miss at WARNING (a flood at
    10,000 services), and a run cancelled by a shutdown as an ERROR; this module
    counts and reports those itself, and ``_job`` logs real failures."""
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    logging.getLogger("apscheduler.executors").setLevel(logging.CRITICAL)


class ProbeScheduler:
    """One interval job per service, calling ``run(service_name)``."""

    def __init__(self, run: RunProbe, intervals: Mapping[str, timedelta]) -> None:
        self._run = run
        self._intervals = dict(intervals)
        self._scheduler: AsyncIOScheduler | None = None
        self._due: dict[str, datetime] = {}
        self.lateness: deque[float] = deque(maxlen=100_000)  # seconds, newest last
        self.skipped_busy = 0
        self.missed = 0
        self._reported = (0, 0)
        self._reported_at = -float("inf")

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
        ordered = sorted(start_offsets(self._intervals).items(), key=lambda item: item[1])
        for i, (name, offset) in enumerate(ordered):
            if i and i % chunk == 0:
                await asyncio.sleep(0)
                if self._scheduler is not scheduler:  # shut down meanwhile
                    return
            interval = self._intervals[name]
            scheduler.add_job(
                self._job,
                IntervalTrigger(
                    seconds=interval.total_seconds(), start_date=begin + offset, timezone=UTC
                ),
                args=(name,),
                id=name,
                name=name,
                next_run_time=begin + offset,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(interval.total_seconds() // 2)),
            )

    def shutdown(self) -> None:
        """Stop firing; runs already started are the caller's to await or cancel."""
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None

    async def _job(self, name: str) -> None:
        due = self._due.pop(name, None)
        if due is not None:
            self.lateness.append((datetime.now(UTC) - due).total_seconds())
        try:
            await self._run(name)
        except asyncio.CancelledError:
            return  # only a shutdown cancels a run: not an error
        except Exception:
            log.exception("probe run of %s failed", name)

    def _on_event(self, event: Any) -> None:
        if isinstance(event, JobSubmissionEvent) and event.code == EVENT_JOB_SUBMITTED:
            self._due[event.job_id] = event.scheduled_run_times[-1]
        elif isinstance(event, JobEvent):
            if event.code == EVENT_JOB_MAX_INSTANCES:
                self.skipped_busy += 1
            elif event.code == EVENT_JOB_MISSED:
                self.missed += 1

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
