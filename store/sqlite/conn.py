"""``Conn`` over aiosqlite: what the SQLite backend's connection does differently."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from typing import Any

import aiosqlite

from core.errors import SlawatchError
from store.db import Conn, Params, StoreBusy


def is_busy(exc: BaseException) -> bool:
    """SQLite's way of saying another connection holds the lock."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


class SqliteError(SlawatchError):
    """SQLite refused a read for a reason other than a lock: the file is not a
    database, is damaged, or the disk failed under it."""


# Why FULL rather than the usual WAL + NORMAL: writes here are few and batched
# (the agent commits once a minute, an import is one transaction), so the one
# fsync per commit costs next to nothing, while what is committed is evidence:
# a minute of downtime or a case's opening time behind a credit claim. With
# NORMAL a power cut can silently drop commits the agent already reported as
# written; with FULL a commit that returned is on disk. The one exception is the
# agent's journal of probe results (``commit_rows(lazy_sync=True)``): a
# transaction per probe, durable against a kill at once, and on disk with the
# next minute write.
SYNCHRONOUS = "FULL"


def _commit_rows(
    db: aiosqlite.Connection, sql: str, rows: Sequence[Params], lazy_sync: bool
) -> None:
    """``SqliteConn.commit_rows``, run in the connection's thread."""
    conn = db._conn
    if lazy_sync:
        conn.execute("PRAGMA synchronous = NORMAL")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        if lazy_sync:
            conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")


class SqliteConn(Conn):
    dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection, where: str) -> None:
        self.db = db
        self.where = where

    async def fetchall(
        self, sql: str, params: Params = (), *, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """A read; SQLite's errors come out as the store's (``StoreBusy`` for a lock,
        ``SqliteError`` naming the file for the rest: not a database, I/O error),
        so a reader above the store (the dashboard, a command) catches one kind."""
        try:
            # One trip to aiosqlite's thread (execute + fetchall + close would be three).
            return [tuple(r) for r in await self.db.execute_fetchall(sql, params)]
        except sqlite3.Error as exc:
            if is_busy(exc):
                raise StoreBusy(self.where, str(exc)) from None
            raise SqliteError(self.where, str(exc) or type(exc).__name__) from None

    async def execute(self, sql: str, params: Params = ()) -> None:
        with self._busy():
            await self.db.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        with self._busy():
            await self.db.executemany(sql, rows)

    async def commit_rows(self, sql: str, rows: Sequence[Params], *, lazy_sync: bool) -> None:
        """One trip to aiosqlite's thread for the whole transaction (``BEGIN``, the
        rows, ``COMMIT``: three trips through ``transaction``). The agent journals
        each probe result this way (``store.agentstate``): the trips, and the fsync
        ``lazy_sync`` leaves to the next synchronous commit, were most of its cost."""
        with self._busy():
            await self.db._execute(_commit_rows, self.db, sql, rows, lazy_sync)  # type: ignore[no-untyped-call]

    async def insert_id(self, sql: str, params: Params = ()) -> int:
        with self._busy():
            async with self.db.execute(sql, params) as cur:
                new_id = cur.lastrowid
        assert new_id is not None
        return int(new_id)

    @contextmanager
    def _busy(self) -> Iterator[None]:
        """A lock held by another connection is ``StoreBusy``; other errors pass as they
        are (the agent's writer tells a full disk from a read-only folder by them)."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            if is_busy(exc):
                raise StoreBusy(self.where, str(exc)) from None
            raise

    def transaction(self) -> AbstractAsyncContextManager[None]:
        return self._transaction()

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[None]:
        try:
            await self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if is_busy(exc):
                raise StoreBusy(self.where, str(exc)) from None
            raise
        try:
            yield
            await self.db.execute("COMMIT")
        except BaseException as exc:
            if self.db.in_transaction:
                await self.db.execute("ROLLBACK")
            if is_busy(exc):
                raise StoreBusy(self.where, str(exc)) from None
            raise

    async def close(self) -> None:
        await self.db.close()

    async def has_table(self, name: str) -> bool:
        rows = await self.fetchall(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        )
        return bool(rows)
