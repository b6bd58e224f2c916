"""What every part of the store shares: the connection, write transactions, name ids."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from itertools import repeat
from typing import Any, Literal, cast

from store.db import Conn
from store.rows import StateSave

_Table = Literal["services", "sources", "error_texts"]
_NAME_COLUMN: dict[_Table, str] = {"services": "name", "sources": "name", "error_texts": "text"}


def seconds(ts: datetime) -> int:
    """An aware instant as integer UTC epoch seconds (how times are stored)."""
    if ts.tzinfo is None:
        raise ValueError("naive datetime")
    return int(ts.timestamp())


def instant(stored: int | None) -> datetime | None:
    return None if stored is None else datetime.fromtimestamp(stored, tz=UTC)


def micros(ts: datetime) -> int:
    """An aware instant as integer UTC epoch microseconds (how probe times are stored)."""
    if ts.tzinfo is None:
        raise ValueError("naive datetime")
    return round(ts.timestamp() * 1_000_000)


def from_micros(stored: int) -> datetime:
    """``micros`` read back: an aware UTC instant."""
    return datetime.fromtimestamp(stored / 1_000_000, tz=UTC)


class StoreBase:
    """The connection and the plumbing the record-keeping parts of the store build on.

    ``where`` names the database in messages (a file path, or a URL with its
    password masked).
    """

    def __init__(self, conn: Conn, where: str, readonly: bool) -> None:
        self._db = conn
        self.where = where
        self.readonly = readonly
        self._ids: dict[tuple[_Table, str], int] = {}
        self._pending: dict[tuple[_Table, str], int] = {}
        self._write_lock = asyncio.Lock()
        # source id -> name as read; SQLite gives a rolled-back name's id to the next
        # new name, so it is forgotten with a rolled-back write (``_rolled_back``)
        self._source_names: dict[int, str] = {}
        self._minute_log_begun = False  # the trail logs minute writes (store.chain)
        self._name_reads: dict[_Table, asyncio.Task[dict[int, str]]] = {}
        self._read_whole: set[_Table] = set()  # tables read whole into _ids at least once

    @property
    def dialect(self) -> str:
        return self._db.dialect

    @asynccontextmanager
    async def _write(self) -> AsyncIterator[Conn]:
        """One write transaction (committed on exit, rolled back on an error)."""
        if self.readonly:
            raise RuntimeError("store opened read-only")
        async with self._write_lock:
            self._pending = {}
            try:
                async with self._db.transaction():
                    yield self._db
                    await self._before_commit(self._db)
            except BaseException:
                self._rolled_back()
                raise
            self._ids.update(self._pending)
            self._pending = {}

    async def _save_agent_state_in(self, db: Conn, state: StateSave) -> None:
        """Save an agent's state inside the open write transaction (``store.agentstate``)."""
        raise NotImplementedError

    async def _before_commit(self, db: Conn) -> None:
        """The last statements of a write transaction that is about to commit
        (``AuditStore``: the entries it queued for the audit trail)."""

    def _rolled_back(self) -> None:
        """Forget what a write transaction that rolled back made: its new names' ids
        are gone with it, and SQLite gives the same ids to the next new names, so
        nothing keyed by them may outlive it (subclasses forget theirs too)."""
        self._pending = {}
        self._source_names = {}

    async def _fetchall(
        self, sql: str, params: Sequence[Any] = (), *, binary: bool = False
    ) -> list[Any]:
        return await self._db.fetchall(sql, params, binary=binary)

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
        self._read_whole.add(table)
        return self._ids.get(key)

    async def _lookup_many(self, table: _Table, names: Iterable[str]) -> dict[int, str]:
        """id -> name of those of ``names`` ever stored, reading the table at most once
        (``_lookup`` reads it again at each miss: names never stored would cost a
        query each)."""
        wanted = set(names)
        missing = [name for name in wanted if (table, name) not in self._ids]
        if missing:
            await self._lookup(table, missing[0])  # a miss reads the whole table
        found = ((self._ids.get((table, name)), name) for name in wanted)
        return {i: name for i, name in found if i is not None}

    async def _ensure(self, table: _Table, name: str) -> int:
        """The id of a name, creating it; only call inside ``_write``.

        A miss reads the whole table once (``_lookup``: after a restart, one trip for
        every known name); later misses are new names, asked for one by one: reading
        the table again for each would cost 10,000 services starting afresh 50
        million rows read in their first minute."""
        key = (table, name)
        found = self._ids.get(key) or self._pending.get(key)
        if found is None and table not in self._read_whole:
            found = await self._lookup(table, name)
        if found is not None:
            return found
        # ON CONFLICT: another writer (a second agent of a fleet) may add the same
        # name at the same moment; both then read the one id the database kept.
        column = _NAME_COLUMN[table]
        await self._db.execute(
            f"INSERT INTO {table} ({column}) VALUES (?) ON CONFLICT ({column}) DO NOTHING", (name,)
        )
        rows = await self._db.fetchall(f"SELECT id FROM {table} WHERE {column} = ?", (name,))
        new_id = int(rows[0][0])
        self._pending[key] = new_id
        return new_id

    async def _ensure_sorted(self, table: _Table, names: Iterable[str]) -> dict[str, int]:
        """The ids of ``names``, new ones created in sorted order; only call inside
        ``_write``. Two writers adding the same new names in different orders (two
        agents of a fleet: a set's order differs between processes, rows come in the
        order probes finished) would each wait on the other's uncommitted insert, a
        deadlock PostgreSQL breaks by failing one of them."""
        distinct = set(names)
        # Every name known already (an agent's every minute): no await, nor sort, each.
        ids = list(map(self._ids.get, zip(repeat(table), distinct)))
        if None not in ids:
            return dict(zip(distinct, cast(list[int], ids), strict=True))
        return {name: await self._ensure(table, name) for name in sorted(distinct)}

    async def _ensure_pairs(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Every (service, source) of a batch known, services then sources, each in
        sorted order (``_ensure_sorted``); ``_id_pair`` then finds them cached."""
        pairs = list(pairs)
        await self._ensure_sorted("services", (service for service, _ in pairs))
        await self._ensure_sorted("sources", (source for _, source in pairs))

    async def _id_pair(self, service: str, source: str) -> tuple[int, int]:
        """The ids of a service and a source, creating them; only call inside ``_write``."""
        return await self._ensure("services", service), await self._ensure("sources", source)

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
