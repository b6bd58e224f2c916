"""``PostgresStore``: the fleet's shared store in one PostgreSQL database (psycopg 3).

One connection per open store, in autocommit mode between the store's own
short transactions: each slawatch process (an agent's forwarder, a report,
the dashboard) holds one store and uses it from one task at a time, so a pool
would only keep idle connections open; ``psycopg_pool`` is not used.

Opening never creates the schema behind a reader's back: a writer that may
(the owner, ``slawatch store init``) migrates; an agent or reader role finding
the schema older than this code is told to run ``store init``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from core.dburl import mask_url
from core.errors import SlawatchError
from store.postgres.conn import PostgresConn, translated
from store.schema import LATEST, current_version, migrate
from store.store import Store

CONNECT_TIMEOUT_S = 10


async def connect(url: str) -> psycopg.AsyncConnection[Any]:
    """An autocommit connection, or ``StoreUnavailable`` naming the masked URL."""
    where = mask_url(url)
    with translated(where):
        try:
            return await psycopg.AsyncConnection.connect(
                url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        except psycopg.ProgrammingError as exc:  # a malformed URL or option
            raise SlawatchError(where, f"not a usable PostgreSQL URL: {exc}") from None


class PostgresStore(Store):
    """An open PostgreSQL database. Create with ``await PostgresStore.open(url)``."""

    url: str

    @classmethod
    async def open(cls, url: str, *, readonly: bool = False, init: bool = False) -> PostgresStore:
        """Connect and check the schema. ``init`` creates or upgrades it (the
        database owner's ``store init``); otherwise an outdated schema is an error.
        ``readonly`` connections refuse every write at the server too."""
        where = mask_url(url)
        conn = PostgresConn(await connect(url), where)
        try:
            if readonly:
                await conn.execute("SET default_transaction_read_only = on")
            version = await current_version(conn)
            if init:
                await migrate(conn)
            elif version < LATEST:
                raise SlawatchError(
                    where,
                    f"the database schema is at version {version}, this slawatch needs"
                    f" {LATEST}: run `slawatch store init` as the database's owner",
                )
        except BaseException:
            await conn.close()
            raise
        store = cls(conn, where, readonly)
        store.url = url
        return store

    async def apply_roles(self) -> list[str]:
        """The fleet's roles, grants and row-level security (``store.postgres.roles``)."""
        from store.postgres.roles import apply_roles

        assert isinstance(self._db, PostgresConn)
        return await apply_roles(self._db)

    async def server_now(self) -> datetime:
        """PostgreSQL's own clock (``clock_timestamp()``, the instant the query runs):
        what an agent's forwarder measures its clock offset against."""
        rows = await self._fetchall("SELECT extract(epoch FROM clock_timestamp())")
        return datetime.fromtimestamp(float(rows[0][0]), tz=UTC)

    async def data_version(self) -> int:
        """The server's WAL position: it moves with every commit anywhere in the
        cluster, so a poller never misses a write (and sometimes refreshes for
        another database's)."""
        rows = await self._fetchall("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(rows[0][0])
