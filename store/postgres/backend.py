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

import hashlib
from datetime import UTC, datetime
from typing import Any

import psycopg

from core.dburl import mask_url
from core.errors import SlawatchError
from store.postgres.conn import PostgresConn, translated
from store.postgres.holders import NameHolder, advisory_holder
from store.schema import LATEST, current_version, migrate
from store.store import Store

CONNECT_TIMEOUT_S = 10


def name_lock_key(name: str) -> int:
    """The advisory lock key of agent ``name`` (64 bits of SHA-256: no two names share one)."""
    digest = hashlib.sha256(b"slawatch agent name\0" + name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


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


async def login_role(url: str) -> tuple[str, bool]:
    """Log in at ``url`` (no schema needed): the role it logged in as, and whether that
    is a fleet agent's (a member of ``slawatch_agent``; False before ``store init``
    made that group). ``StoreUnavailable`` when it cannot log in."""
    conn = await connect(url)
    try:
        with translated(mask_url(url)):
            cur = await conn.execute(
                "SELECT session_user, CASE WHEN EXISTS (SELECT 1 FROM pg_roles"
                " WHERE rolname = 'slawatch_agent')"
                " THEN pg_has_role(session_user, 'slawatch_agent', 'MEMBER') ELSE false END"
            )
            row = await cur.fetchone()
    finally:
        await conn.close()
    assert row is not None
    return str(row[0]), bool(row[1])


async def _version_or_why(conn: PostgresConn, where: str) -> int:
    """The schema's version; a role that may not read it (in none of the fleet's
    roles: an agent whose role was made without ``IN ROLE slawatch_agent``) is told
    the GRANT to ask for, not only 'permission denied for table schema_version'."""
    try:
        return await current_version(conn)
    except SlawatchError as exc:
        if "permission denied" not in str(exc):
            raise
        rows = await conn.fetchall("SELECT session_user")
        role = '"' + str(rows[0][0]).replace('"', '""') + '"'
        raise SlawatchError(
            where,
            f"role {role} may not read slawatch's tables: it is in none of slawatch_agent,"
            " slawatch_reader, slawatch_operator (as the database's owner: GRANT"
            f" slawatch_agent TO {role} for an agent of that name, or GRANT slawatch_reader"
            f" TO {role})",
        ) from None


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
            version = await _version_or_why(conn, where)
            if version > LATEST and not readonly:
                # `store init` of a newer slawatch ran: this one's writes (and its
                # roles' policies, were it `store init`) no longer fit the schema.
                raise SlawatchError(
                    where,
                    f"the database schema is at version {version}, newer than this"
                    f" slawatch knows ({LATEST}): upgrade slawatch here",
                )
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

    async def claim_agent_name(self, name: str, label: str) -> NameHolder | None:
        """Hold agent ``name``'s lock (a session-level advisory lock) for as long as this
        connection lives: None when it does now, else the session that holds it.
        ``label`` becomes this session's ``application_name`` (``pg_stat_activity``):
        how another agent of the same name is told where this one runs. The lock goes
        with the session: the process ending, or its connection dropped, frees the
        name at once."""
        key = name_lock_key(name)
        await self._db.execute("SELECT set_config('application_name', ?, false)", (label,))
        rows = await self._fetchall("SELECT pg_try_advisory_lock(?)", (key,))
        if rows[0][0]:
            return None
        found = await advisory_holder(self._db, key)
        if found is None:  # let go between the two queries: free now
            rows = await self._fetchall("SELECT pg_try_advisory_lock(?)", (key,))
            return None if rows[0][0] else NameHolder(0, None, None, None)
        return found

    async def session(self) -> tuple[int, datetime]:
        """This connection's backend: its pid and when it started (together they name
        one session for good; a pid alone is used again)."""
        rows = await self._fetchall(
            "SELECT pid, extract(epoch FROM backend_start) FROM pg_stat_activity"
            " WHERE pid = pg_backend_pid()"
        )
        return int(rows[0][0]), datetime.fromtimestamp(float(rows[0][1]), tz=UTC)

    async def end_session(self, pid: int) -> bool:
        """Terminate backend ``pid`` (a session of this same role: a stale one of this
        agent's) and wait up to 5 s for it to be gone; True when it is."""
        rows = await self._fetchall("SELECT pg_terminate_backend(?, 5000)", (pid,))
        return bool(rows[0][0])
