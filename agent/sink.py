"""The agent's way into the store: opened on demand, reopened after a failure.

The agent starts probing even when the database cannot be opened yet (a
read-only folder, a full disk, a file another process holds): its writer keeps
the verdicts and retries, and each retry opens the store afresh. After any
failed write the connection is dropped, so a database file that was removed
or replaced is picked up again instead of writing into a stale handle.

A removed or replaced file raises no error by itself: SQLite keeps writing
into the old, unlinked file, and everything written there would vanish when
the connection closes. So the sink remembers which file it opened (device and
inode) and looks again before and after every write; when the path no longer
names that file, the write counts as failed (the writer keeps the rows) and
the next attempt opens whatever the path names now, a new database if none.
Before letting go of the old file its WAL is checkpointed empty, since the
``-wal`` file goes by the path and would otherwise be replayed onto the new one.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from store import Store
from store.health import AgentHealth
from store.rows import AgentState, MinuteRow, OpenOutage, ProbeRecord, ProbeState


class DatabaseReplaced(OSError):
    """The database file was removed or replaced while the agent had it open."""


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class StoreSink:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._store: Store | None = None
        self._file: tuple[int, int] | None = None

    async def _get(self) -> Store:
        if self._store is None:
            self._store = await Store.open(self.path)
            self._file = _identity(self.path)
        else:
            await self._same_file()
        return self._store

    async def _same_file(self) -> None:
        if _identity(self.path) != self._file:
            # Empty the old file's WAL first: the -wal file lives at the path, and
            # SQLite would replay what is left in it onto whatever file is there now.
            if self._store is not None:
                with contextlib.suppress(Exception):
                    await self._store.checkpoint()
            await self.close()
            raise DatabaseReplaced(
                f"the database file {self.path} was removed or replaced while open;"
                " reopening it and writing again"
            )

    async def record_minutes(self, rows: Sequence[MinuteRow]) -> None:
        store = await self._get()
        try:
            await store.record_minutes(rows)
        except Exception as exc:
            await self._drop_unless_busy(exc)
            raise
        await self._same_file()  # committed into the file the path still names?

    async def record_probe(self, state: ProbeState) -> None:
        await self.record_probes([state])

    async def record_probes(self, states: Sequence[ProbeState]) -> None:
        """Many live states in one transaction."""
        store = await self._get()
        try:
            await store.record_probes(states)
        except Exception as exc:
            await self._drop_unless_busy(exc)
            raise

    async def record_health(self, health: AgentHealth) -> None:
        store = await self._get()
        try:
            await store.record_health(health)
        except Exception as exc:
            await self._drop_unless_busy(exc)
            raise

    # -- the agent's own state across restarts (store.agentstate, issue 16) --

    async def record_probe_results(self, records: Sequence[ProbeRecord]) -> None:
        store = await self._get()
        try:
            await store.record_probe_results(records)
        except Exception as exc:
            await self._drop_unless_busy(exc)
            raise

    async def save_agent_state(
        self, source: str, judged_upto: int, outages: Sequence[OpenOutage]
    ) -> None:
        store = await self._get()
        try:
            await store.save_agent_state(source, judged_upto, outages)
        except Exception as exc:
            await self._drop_unless_busy(exc)
            raise

    async def agent_state(self, source: str) -> AgentState:
        store = await self._get()
        try:
            return await store.agent_state(source)
        except Exception as exc:
            await self._drop_unless_busy(exc)
            raise

    async def _drop_unless_busy(self, exc: Exception) -> None:
        """A lock held by someone else passes; anything else may mean a stale handle."""
        if not (isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)):
            await self.close()

    async def close(self) -> None:
        store, self._store = self._store, None
        self._file = None
        if store is not None:
            with contextlib.suppress(Exception):
                await store.close()
