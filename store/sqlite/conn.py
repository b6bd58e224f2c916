"""``Conn`` over aiosqlite: what the SQLite backend's connection does differently."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator
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


class SqliteConn(Conn):
    dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection, where: str) -> None:
        self.db = db
        self.where = where

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
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
