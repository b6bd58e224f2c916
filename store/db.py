"""The one seam between the store's SQL and a database driver.

Every part of the store (minutes, cases, windows, chains...) is written once,
against :class:`Conn`, in SQL that SQLite and PostgreSQL both accept. A backend
(``store.sqlite``, ``store.postgres``) supplies a ``Conn`` for its driver and
deals with what really differs: opening, placeholders (the parts write ``?``;
the PostgreSQL connection turns them into ``%s``), schema types, and the
driver's own errors, which it turns into :class:`StoreBusy` or
``core.errors.SlawatchError`` so that nothing above the store matches a
driver's message text.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal

from core.errors import SlawatchError
from store.blocks import id_list

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any]


class StoreBusy(SlawatchError):
    """Another writer holds the database longer than the busy timeout: try again.

    Raised by the backends for SQLite's "database is locked" and PostgreSQL's
    lock timeouts and serialization failures alike.
    """


class StoreUnavailable(SlawatchError):
    """The database cannot be reached now (PostgreSQL down, the network cut).

    The agent's forwarder keeps its spool and tries again later; commands print it
    as one line and exit 2.
    """


class Conn(ABC):
    """An open connection, in autocommit mode between transactions."""

    dialect: Dialect

    @abstractmethod
    async def fetchall(
        self, sql: str, params: Params = (), *, binary: bool = False
    ) -> list[tuple[Any, ...]]:
        """The rows of a query. ``binary``: PostgreSQL sends them in its binary format
        (a ``bytea`` as its bytes, not twice as many hex digits to decode), for
        results of ``bigint``, ``bytea`` and arrays of them only; SQLite hands every
        value over as it is and ignores it."""

    @abstractmethod
    async def execute(self, sql: str, params: Params = ()) -> None: ...

    @abstractmethod
    async def executemany(self, sql: str, rows: Iterable[Params]) -> None: ...

    async def upsert(
        self,
        table: str,
        columns: Sequence[tuple[str, str]],
        key: Sequence[str],
        rows: Sequence[Params],
        *,
        where: str | None = None,
        stored: Callable[[Params], bool] | None = None,
    ) -> None:
        """Insert ``rows`` (values in ``columns`` order), updating the non-key
        columns of rows whose ``key`` already exists (unless ``where``, written
        over ``excluded`` and ``table``, says otherwise).

        ``columns`` are (name, SQL type) pairs; the type lets a backend ship a
        whole batch as typed arrays in one statement (PostgreSQL). The default
        is one prepared ``INSERT ... ON CONFLICT`` run for each row.

        ``stored``: true for a row whose key this transaction has read from the
        table, a hint a backend may use to update those rows in place rather than
        try to insert them first (PostgreSQL); the outcome is the same.
        """
        if rows:
            await self.executemany(upsert_sql(table, columns, key, where), rows)

    async def update_unchanged(
        self,
        table: str,
        columns: Sequence[tuple[str, str]],
        key: Sequence[str],
        check: Sequence[tuple[str, str]],
        rows: Sequence[Params],
    ) -> int:
        """``UPDATE`` the non-key ``columns`` of ``rows`` by their ``key``, each only
        where its ``check`` columns still hold the values that follow the row's
        ``columns`` values (what the caller wrote there last); returns how many rows
        were updated. An optimistic write: fewer than ``len(rows)`` means a row
        changed (or went) since, and the caller rolls back and reads.

        Only the PostgreSQL backend has it (``MinuteStore``'s memo of its last minute
        write spares its reads there; SQLite reads its own pages in-process)."""
        raise NotImplementedError(f"{self.dialect}: no conditional batch update")

    async def count_unchanged(
        self, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Params]
    ) -> int:
        """How many of ``rows`` (values of ``columns``, the table's key among them) are
        stored just so: a row found by its key holding every other column's value.
        Reads only: the proof, within the caller's transaction, that rows it does not
        rewrite still hold what it remembers (``update_unchanged`` proves the ones it
        rewrites). Only the PostgreSQL backend has it."""
        raise NotImplementedError(f"{self.dialect}: no batch check of unchanged rows")

    async def insert_new(
        self, table: str, columns: Sequence[tuple[str, str]], rows: Sequence[Params]
    ) -> int:
        """``INSERT`` the ``rows`` where their key is free (a row already there is left
        as it is); returns how many were inserted. With ``update_unchanged``, the
        memo's write of an hour's first minute: fewer than ``len(rows)`` means the
        hour holds rows the caller did not know of, and it rolls back and reads.
        Only the PostgreSQL backend has it."""
        raise NotImplementedError(f"{self.dialect}: no batch insert of new rows")

    async def commit_rows(self, sql: str, rows: Sequence[Params], *, lazy_sync: bool) -> None:
        """``rows`` through ``sql`` as one write transaction of their own (the caller
        holds its store's write lock). ``lazy_sync``: the commit survives this process
        being killed at once, an operating-system crash or power cut only from the next
        synchronous commit on (SQLite: ``synchronous = NORMAL`` for this transaction,
        the WAL's next fsync takes it along). The SQLite backend does it in one trip
        to its connection's thread; this default, in a transaction as usual."""
        async with self.transaction():
            await self.executemany(sql, rows)

    @abstractmethod
    async def insert_id(self, sql: str, params: Params = ()) -> int:
        """Run an ``INSERT`` into a table with an ``id`` key and return the new id."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[None]:
        """One write transaction: committed on exit, rolled back on an exception."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def has_table(self, name: str) -> bool: ...

    async def lock_schema(self) -> None:  # noqa: B027 (SQLite's BEGIN IMMEDIATE is the lock)
        """Inside a transaction: hold off other processes migrating the same database."""

    async def precheck_audit(self, entries: Sequence[tuple[str, str]]) -> None:  # noqa: B027
        """Inside a write transaction, before the trail's lock: let the database check
        the (before, after) JSON of the entries about to be appended (PostgreSQL's
        guard of agents' entries, ``store.postgres.trail``); nothing on SQLite."""

    def ddl(self, statement: str) -> str:
        """A schema statement (written for SQLite) in this backend's dialect."""
        return statement

    def among(self, column: str, ids: Iterable[int]) -> tuple[str, tuple[Any, ...]]:
        """SQL true when the integer ``column`` is one of ``ids``, and its parameters.
        SQLite: an ``IN`` list written out (``store.blocks.id_list``); PostgreSQL puts
        the ids in one array parameter, so the statement's text is the same whatever
        the ids and it is planned once per connection, not on every call."""
        return f"{column} IN ({id_list(ids)})", ()

    def joined_blocks(self, blob: str, key: str) -> str | None:
        """Select-list SQL turning a group of rows into two values: its ``key`` values
        as an array and its ``blob`` values joined, both in the one order the rows
        came in (the aggregation feeds each row to both, so the i-th blob is the i-th
        key's; the reader places each by its key, in whatever order they came).
        A reader then gets one row per group rather than one per row (PostgreSQL:
        a month of one service's source is one row, not 744, each a Python tuple
        made of a message on the wire). No ``ORDER BY`` in the aggregates: sorting
        the rows for it took half of PostgreSQL's time for a month. None where
        there is no such aggregate of blobs (SQLite: its rows cost no trip)."""
        if self.dialect == "postgresql":
            return f"array_agg({key}), string_agg({blob}, ''::bytea)"
        return None

    def contains_bytes(self, column: str) -> str:
        """SQL true when the blob ``column`` holds the one-byte blob bound to ``?``."""
        if self.dialect == "postgresql":
            return f"position(? in {column}) > 0"
        return f"instr({column}, ?) > 0"


def upsert_sql(
    table: str,
    columns: Sequence[tuple[str, str]],
    key: Sequence[str],
    where: str | None,
    source: str | None = None,
) -> str:
    """``INSERT INTO table ... ON CONFLICT (key) DO UPDATE`` of the other columns.

    ``source`` replaces the ``VALUES (?, ...)`` row (e.g. a ``SELECT`` of arrays).
    """
    names = [name for name, _ in columns]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n not in key)
    rows = source or f"VALUES ({', '.join('?' * len(names))})"
    action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
    sql = f"INSERT INTO {table} ({', '.join(names)}) {rows} ON CONFLICT ({', '.join(key)}) {action}"
    return f"{sql} WHERE {where}" if where and updates else sql
