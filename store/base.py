"""What every part of ``Store`` shares: the connection, write transactions, name ids."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import aiosqlite

_Table = Literal["services", "sources", "error_texts"]
_NAME_COLUMN: dict[_Table, str] = {"services": "name", "sources": "name", "error_texts": "text"}


def seconds(ts: datetime) -> int:
    """An aware instant as integer UTC epoch seconds (how times are stored)."""
    if ts.tzinfo is None:
        raise ValueError("naive datetime")
    return int(ts.timestamp())


def instant(stored: int | None) -> datetime | None:
    return None if stored is None else datetime.fromtimestamp(stored, tz=UTC)


class StoreBase:
    """The connection and the plumbing the record-keeping parts of ``Store`` build on."""

    def __init__(self, db: aiosqlite.Connection, path: Path, readonly: bool) -> None:
        self._db = db
        self.path = path
        self.readonly = readonly
        self._ids: dict[tuple[_Table, str], int] = {}
        self._pending: dict[tuple[_Table, str], int] = {}
        self._write_lock = asyncio.Lock()
        self._source_names: dict[int, str] = {}  # ids are never reused, so never stale
        self._name_reads: dict[_Table, asyncio.Task[dict[int, str]]] = {}

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[aiosqlite.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT, ROLLBACK on error)."""
        if self.readonly:
            raise RuntimeError("store opened read-only")
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            self._pending = {}
            try:
                yield self._db
                await self._db.execute("COMMIT")
            except BaseException:
                self._pending = {}  # ids made in this transaction are gone with it
                if self._db.in_transaction:
                    await self._db.execute("ROLLBACK")
                raise
            self._ids.update(self._pending)
            self._pending = {}

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        # One trip to aiosqlite's thread (execute + fetchall + close would be three).
        return list(await self._db.execute_fetchall(sql, params))

    async def _lookup(self, table: _Table, name: str) -> int | None:
        """The id of a name, or None when it was never stored.

        A miss reads the whole (small) table in the one query, so a reader that
        goes through every service makes one trip for all their ids.
        """
        key = (table, name)
        if key in self._ids:
            return self._ids[key]
        for found_id, found in (await self._shared_names(table)).items():
            if (table, found) not in self._pending:  # made by an open transaction: may roll back
                self._ids.setdefault((table, found), found_id)
        return self._ids.get(key)

    async def _ensure(self, table: _Table, name: str) -> int:
        """The id of a name, creating it; only call inside ``_write``."""
        key = (table, name)
        found = self._ids.get(key) or self._pending.get(key) or await self._lookup(table, name)
        if found is not None:
            return found
        async with self._db.execute(
            f"INSERT INTO {table} ({_NAME_COLUMN[table]}) VALUES (?)", (name,)
        ) as cur:
            new_id = cur.lastrowid
        assert new_id is not None
        self._pending[key] = new_id
        return new_id

    async def _shared_names(self, table: _Table) -> dict[int, str]:
        """``_names``, with one read in flight per table: a thousand concurrent
        lookups (``asyncio.gather`` over every service) that all miss the cache
        make one trip to the database, not a thousand."""
        task = self._name_reads.get(table)
        if task is None:
            task = asyncio.ensure_future(self._names(table))
            self._name_reads[table] = task
            task.add_done_callback(lambda done: self._name_read_done(table, done))
        # shield: one waiter cancelled must not cancel the read the others wait for
        return await asyncio.shield(task)

    def _name_read_done(self, table: _Table, task: asyncio.Task[dict[int, str]]) -> None:
        if self._name_reads.get(table) is task:
            del self._name_reads[table]  # the next miss reads afresh: names may have been added
        if not task.cancelled():
            task.exception()  # retrieved here, so an unawaited failure is never "lost"

    async def _names(self, table: _Table) -> dict[int, str]:
        rows = await self._fetchall(f"SELECT id, {_NAME_COLUMN[table]} FROM {table}")
        return {int(i): str(n) for i, n in rows}
