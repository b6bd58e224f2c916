"""The writer: minute verdicts buffered in memory and stored in small transactions.

The agent must never lose a minute it measured. A verdict stays in the buffer
until ``record_minutes`` has returned for it (the store commits before
returning), so a locked database, a full disk or a removed file only delays
it: the writer logs the problem once, keeps everything and retries on the
next flush, then logs once more when writing works again. Rows go in batches
of ``batch`` so no transaction holds the write lock for long and readers (the
dashboard) never wait. The latest probe per service (live state) is kept too,
but only the newest one matters, so it is a dict, not a queue.

Nothing here invents a minute: only verdicts handed in are written, so a
minute nobody probed (the agent was stopped) stays without a record, unknown.

The buffer is bounded (``limit`` rows; the agent allows a week of minutes per
service, see ``agent.runner.BUFFER_MINUTES``): a database that stays broken
for longer must not grow the agent until the machine runs out of memory. Past
the bound the OLDEST rows are dropped (counted in ``dropped``, logged once per
episode): those minutes read as unknown, never as up or down, and the newest
evidence, the one an open outage needs, is kept. A buffered row costs about
215 bytes (measured in tests/faults/test_fault_storage.py).

Health: when the sink can record it (``record_health``), the writer stores
its own state after a successful flush when something changed (a problem
began or cleared, rows were dropped) and otherwise every ``health_every``
seconds, so ``slawatch status`` can show the agent's storage problems.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, cast

from agent.probe import agent_version
from agent.verdict import Verdict
from core.timeutil import utc_now
from store import StoreBusy
from store.health import AgentHealth
from store.rows import MinuteRow, ProbeEvidence, ProbeState, StateSave

log = logging.getLogger("slawatch.agent.writer")


class MinuteSink(Protocol):
    """What the writer needs from ``store.Store``."""

    async def record_minutes(self, rows: Sequence[MinuteRow]) -> Any: ...

    async def record_probe(self, state: ProbeState) -> Any: ...


class StateSink(MinuteSink, Protocol):
    """A sink that saves the agent's state with the minutes it follows from."""

    async def record_minutes(
        self, rows: Sequence[MinuteRow], *, state: StateSave | None = None
    ) -> Any: ...


class Writer:
    def __init__(
        self,
        sink: MinuteSink,
        source: str,
        *,
        batch: int = 200,
        limit: int | None = None,
        clock: Callable[[], datetime] = utc_now,
        health_every: float = 60.0,
    ) -> None:
        self._sink = sink
        self._source = source
        self._batch = batch
        self.limit = limit  # at most this many rows buffered (None: unbounded)
        self._clock = clock
        self._health_every = health_every
        self._rows: deque[MinuteRow] = deque()
        self._probes: dict[str, ProbeState] = {}
        self._evidence: list[ProbeEvidence] = []  # failing probes' corroboration, unwritten
        self._lock = asyncio.Lock()
        self._failing: str | None = None  # the problem logged once, until it clears
        self._failing_since: datetime | None = None
        self.problem_since_monotonic: float | None = None  # when the problem began
        self._last_problem: tuple[str, datetime, datetime] | None = None  # (what, since, cleared)
        self._health_due = True  # record health at the next successful flush
        self._health_at = -float("inf")
        self._dropping = False  # an overflow episode is under way (logged once)
        self._version = agent_version()  # what fleet status and status --json show
        self.dropped = 0  # rows dropped because the buffer was full
        self.written = 0  # rows stored since start
        self.last_written: MinuteRow | None = None
        # The agent's state that follows from every row handed in so far (None:
        # nothing new to save), written with the batch that empties the buffer, in
        # its transaction; ``state_saved`` is told once that committed. Set by the
        # agent when its sink is a ``StateSink``.
        self.state: Callable[[], StateSave | None] | None = None
        self.state_saved: Callable[[StateSave], None] | None = None

    @property
    def pending(self) -> int:
        """Minute rows waiting to be written."""
        return len(self._rows)

    @property
    def oldest_pending(self) -> int | None:
        """The oldest minute among the rows waiting to be written (None: none)."""
        return min((r.minute for r in self._rows), default=None)

    @property
    def problem(self) -> str | None:
        """The current write problem (for status displays), None when writing works."""
        return self._failing

    @property
    def problem_since(self) -> datetime | None:
        return self._failing_since

    def adopt(self, other: Writer) -> None:
        """Take over what ``other`` (a stopped writer of this agent, a SIGHUP reload)
        could not write, ahead of this one's rows, and its open problem."""
        self._rows.extendleft(reversed(other._rows))
        other._rows.clear()
        for service, state in other._probes.items():
            self._probes.setdefault(service, state)
        self._evidence[:0] = other._evidence
        other._evidence = []
        if self._failing is None and other._failing is not None:
            self._failing, self._failing_since = other._failing, other._failing_since
            self.problem_since_monotonic = other.problem_since_monotonic
        self.dropped += other.dropped
        self._bound()

    def add(self, verdicts: Iterable[Verdict]) -> None:
        for v in verdicts:
            self._rows.append(
                MinuteRow(v.service, self._source, v.minute, v.status, v.latency_ms, v.error)
            )
        self._bound()

    def _bound(self) -> None:
        """Drop the oldest rows past ``limit`` (they stay unknown); log once per episode."""
        if self.limit is None:
            return
        excess = len(self._rows) - self.limit
        if excess <= 0:
            return
        first = self._rows[0]
        for _ in range(excess):
            self._rows.popleft()
        self.dropped += excess
        self._health_due = True
        if not self._dropping:
            self._dropping = True
            log.error(
                "the unwritten-minute buffer is full (%d minutes): dropping the oldest, from %s;"
                " they will read as unknown",
                self.limit,
                _describe(first),
            )

    def note_probe(self, state: ProbeState) -> None:
        """Remember the latest probe of a service; only the newest is ever written."""
        self._probes[state.service] = state

    def note_evidence(self, row: ProbeEvidence) -> None:
        """Keep a failing probe's corroboration until it is written (the newest
        ``limit`` kept while the store is broken, like the minutes)."""
        self._evidence.append(row)
        if self.limit is not None and len(self._evidence) > self.limit:
            del self._evidence[: len(self._evidence) - self.limit]

    async def flush(self, budget: float | None = None) -> bool:
        """Write what is buffered; True when the buffer is empty afterwards.

        With ``budget`` (seconds), stop starting new batches once that much time
        has gone: the store's work runs partly on the event loop, and 10,000 rows
        written in one burst at the turn of the minute would make every probe
        due meanwhile late. Paced over a few ticks, the loop stays responsive.
        """
        async with self._lock:  # one flush at a time: a batch leaves the queue once
            return await self._flush(budget)

    async def _flush(self, budget: float | None) -> bool:
        stop_at = None if budget is None else time.monotonic() + budget
        try:
            while self._rows:
                if stop_at is not None and time.monotonic() >= stop_at:
                    break
                batch = [self._rows[i] for i in range(min(self._batch, len(self._rows)))]
                # The last batch carries the state: it follows from every row, now all
                # written. Taken here, with no await between it and the write.
                state = self.state() if self.state and len(batch) == len(self._rows) else None
                if state is None:
                    await self._sink.record_minutes(batch)
                else:
                    await cast(StateSink, self._sink).record_minutes(batch, state=state)
                for _ in batch:
                    self._rows.popleft()
                if state is not None and self.state_saved is not None:
                    self.state_saved(state)
                self.written += len(batch)
                self.last_written = batch[-1]
                log.debug("wrote %d minute(s), up to %s", len(batch), _describe(batch[-1]))
            await self._flush_probes()
            await self._flush_evidence()
            if self._rows:
                return False
        except Exception as exc:  # locked, full, read-only, removed...: keep and retry
            # Deliberately broad: whatever the store raises, the buffer is kept.
            self._report(exc)
            return False
        if self._failing is not None:
            log.info("writing works again; the buffered minutes are stored")
            assert self._failing_since is not None
            self._last_problem = (self._failing, self._failing_since, self._clock())
            self._failing = None
            self._failing_since = None
            self.problem_since_monotonic = None
            self._dropping = False
            self._health_due = True
        await self._record_health()
        return True

    def health(self) -> AgentHealth:
        """The writer's state as the store records it."""
        problem, since, cleared = (
            (self._failing, self._failing_since, None)
            if self._failing is not None
            else self._last_problem or (None, None, None)
        )
        return AgentHealth(
            self._source, self._clock(), len(self._rows), self.dropped, problem, since, cleared,
            version=self._version,
        )  # fmt: skip

    async def _record_health(self) -> None:
        """Store the health when it changed or the last word is ``health_every`` old.
        Never fails the flush: the minutes are what matters."""
        record = getattr(self._sink, "record_health", None)
        if record is None:
            return
        now = time.monotonic()
        if not self._health_due and now - self._health_at < self._health_every:
            return
        try:
            await record(self.health())
        except Exception as exc:
            log.debug("could not record the agent's health: %s", _one_line(exc))
            return
        self._health_due = False
        self._health_at = now

    async def _flush_probes(self) -> None:
        states, self._probes = self._probes, {}
        try:
            batch = getattr(self._sink, "record_probes", None)
            if batch is not None:
                await batch(list(states.values()))
                states = {}
            else:
                while states:
                    service, state = next(iter(states.items()))
                    await self._sink.record_probe(state)
                    del states[service]
        finally:
            # Put back what was not written, unless a newer probe arrived meanwhile.
            for service, state in states.items():
                self._probes.setdefault(service, state)

    async def _flush_evidence(self) -> None:
        record = getattr(self._sink, "record_evidence", None)
        if record is None or not self._evidence:
            return
        batch, self._evidence = self._evidence, []
        try:
            await record(batch)
        except BaseException:
            self._evidence[:0] = batch  # kept for the next flush
            raise

    def _report(self, exc: BaseException) -> None:
        """Log the first failure of an episode only; later ones just update ``problem``."""
        problem = _one_line(exc)
        if self._failing is None:
            log.error(
                "cannot write to the database: %s; keeping %d minute(s) in memory and retrying",
                problem,
                len(self._rows),
            )
            self._failing_since = self._clock()
            self.problem_since_monotonic = time.monotonic()
            self._health_due = True
        self._failing = problem


def _describe(row: MinuteRow) -> str:
    return f"{row.service}@{row.minute}"


def _one_line(exc: BaseException) -> str:
    # The store names its database in ``where``; the agent's log and health say
    # only what went wrong (the admin knows which database the agent writes).
    text = (exc.what if isinstance(exc, StoreBusy) else str(exc)) or type(exc).__name__
    return " ".join(text.split())
