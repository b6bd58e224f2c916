"""The agent's way into the store: opened on demand, reopened after a failure.

The agent starts probing even when the database cannot be opened yet (a
read-only folder, a full disk, a file another process holds): its writer keeps
the verdicts and retries, and each retry opens the store afresh. After any
failed write the connection is dropped, so a database file that was removed
or replaced is picked up again instead of writing into a stale handle.

A database file removed or replaced while open is the SQLite backend's to
notice (``store.sqlite.SqliteStore.check_file``, before and after every
write): the write then counts as failed (the writer keeps the rows) and the
next attempt opens whatever the path names now, a new database if none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from agent.tasks import open_once
from store import Store, StoreBusy
from store.health import AgentHealth
from store.rows import (
    AgentState,
    MinuteRow,
    Notice,
    OpenOutage,
    ProbeEvidence,
    ProbeRecord,
    ProbeState,
    StateSave,
)
from store.sqlite import DatabaseReplaced, SqliteStore

__all__ = ["DatabaseReplaced", "SpoolSink", "StoreSink"]

log = logging.getLogger("slawatch.agent.spool")
T = TypeVar("T")


class StoreSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None
        self._opening = asyncio.Lock()

    async def _get(self) -> Store:
        # One open at a time: two callers opening at once (the ticker and the journal
        # after a failure dropped the store) kept one connection, and the other's
        # thread then held the process at its exit (``open_once``).
        store, opened = await open_once(self._opening, lambda: self._store, self._open)
        if not opened:
            await self._same_file()
        return store

    async def _open(self) -> Store:
        self._store = await SqliteStore.open(self.path)
        return self._store

    async def _same_file(self) -> None:
        if self._store is None:
            return
        try:
            await self._store.check_file()
        except DatabaseReplaced:
            await self.close()
            raise

    async def _use(self, action: Callable[[Store], Awaitable[T]]) -> T:
        """``action`` on the store, opened if need be. After a failure other than a busy
        lock the connection is dropped: the next call opens the path afresh."""
        store = await self._get()
        try:
            return await action(store)
        except Exception as exc:
            await self._drop_unless_busy(exc)
            raise

    async def record_minutes(
        self, rows: Sequence[MinuteRow], *, state: StateSave | None = None
    ) -> None:
        """The minutes, and with ``state`` the agent's state that follows from them, in
        one transaction (``store.agentstate``)."""
        await self._use(lambda store: self._write_minutes(store, rows, state))
        await self._same_file()  # committed into the file the path still names?

    async def _write_minutes(
        self, store: Store, rows: Sequence[MinuteRow], state: StateSave | None
    ) -> None:
        await store.record_minutes(rows, state=state)

    async def record_probe(self, state: ProbeState) -> None:
        await self.record_probes([state])

    async def record_probes(self, states: Sequence[ProbeState]) -> None:
        """Many live states in one transaction."""
        await self._use(lambda store: store.record_probes(states))

    async def record_evidence(self, rows: Sequence[ProbeEvidence]) -> None:
        """Failing probes' corroboration (``store.evidence``)."""
        await self._use(lambda store: store.record_evidence(rows))

    async def record_health(self, health: AgentHealth) -> None:
        await self._use(lambda store: store.record_health(health))

    # -- the agent's own state across restarts (store.agentstate, issue 16) --

    async def record_probe_results(self, records: Sequence[ProbeRecord]) -> None:
        await self._use(lambda store: store.record_probe_results(records))

    async def save_agent_state(
        self,
        source: str,
        judged_upto: int,
        outages: Sequence[OpenOutage],
        notices: Sequence[Notice] = (),
    ) -> None:
        await self._use(lambda store: store.save_agent_state(source, judged_upto, outages, notices))

    async def forget_notices(self, source: str, ids: Sequence[str]) -> None:
        await self._use(lambda store: store.forget_notices(source, ids))

    async def mark_notice(self, source: str, notice_id: str, notifier: str) -> None:
        await self._use(lambda store: store.mark_notice(source, notice_id, notifier))

    async def agent_state(self, source: str) -> AgentState:
        return await self._use(lambda store: store.agent_state(source))

    async def _drop_unless_busy(self, exc: Exception) -> None:
        """A lock held by someone else passes; anything else may mean a stale handle."""
        if not isinstance(exc, StoreBusy):
            await self.close()

    async def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            with contextlib.suppress(Exception):
                await store.close()


class SpoolSink(StoreSink):
    """Fleet mode: the agent's local SQLite spool, whose every minute write also
    queues the rows for the forwarder (``store.outbox``), in the same transaction.

    After each write the outbox is held within ``max_minutes`` of the newest
    minute (``[agent] spool_max_minutes``): older entries leave the outbox, not
    the spool, and the forwarder sends them again once it has caught up.
    """

    def __init__(self, path: Path, max_minutes: int) -> None:
        super().__init__(path)
        self.max_minutes = max_minutes
        self.trimmed = 0  # minutes dropped from the outbox at its bound, since start
        self._trimming = False  # an episode at the bound is under way (logged once)

    async def _write_minutes(
        self, store: Store, rows: Sequence[MinuteRow], state: StateSave | None
    ) -> None:
        await store.spool_minutes(rows, state=state)

    async def record_minutes(
        self, rows: Sequence[MinuteRow], *, state: StateSave | None = None
    ) -> None:
        await super().record_minutes(rows, state=state)
        store = self._store  # still open: the write and the file check both passed
        if store is None:
            return
        try:  # the rows are spooled and queued: a failure here only delays the bound
            dropped = await store.trim_outbox(self.max_minutes)
        except Exception as exc:
            log.debug("could not hold the outbox to its bound yet: %s", exc)
            return
        if not dropped:
            self._trimming = False
            return
        self.trimmed += dropped
        if not self._trimming:
            self._trimming = True
            log.error(
                "the spool's outbox holds %d minutes not yet forwarded (spool_max_minutes):"
                " the oldest stay in the spool only and are forwarded once PostgreSQL has"
                " caught up",
                self.max_minutes,
            )
