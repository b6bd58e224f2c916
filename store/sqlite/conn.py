"""``Conn`` over aiosqlite: what the SQLite backend's connection does differently."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import aiosqlite

from store.db import Conn, Params, StoreBusy


def is_busy(exc: BaseException) -> bool:
    """SQLite's way of saying another connection holds the lock."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "locked" in str(exc) or "busy" in str(exc)
    )


class SqliteConn(Conn):
    dialect = "sqlite"

    def __init__(self, db: aiosqlite.Connection, where: str) -> None:
        self.db = db
        self.where = where

    async def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        # One trip to aiosqlite's thread (execute + fetchall + close would be three).
        return [tuple(r) for r in await self.db.execute_fetchall(sql, params)]

    async def execute(self, sql: str, params: Params = ()) -> None:
        await self.db.execute(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        await self.db.executemany(sql, rows)

    async def insert_id(self, sql: str, params: Params = ()) -> int:
        async with self.db.execute(sql, params) as cur:
            new_id = cur.lastrowid
        assert new_id is not None
        return int(new_id)

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
