"""Who holds a PostgreSQL advisory lock: the session, as ``pg_locks`` and
``pg_stat_activity`` tell it to any role (its ``application_name`` and the role it
logged in as; its address and start only to a role that may see them).

Any role may take any advisory lock, so a lock slawatch relies on (an agent's name,
the audit trail's) can be held by a session that is not slawatch's at all: the
error that says so names that session, for the operator to find and end it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from core.timeutil import iso_z
from store.db import Conn


@dataclass(frozen=True)
class NameHolder:
    """The PostgreSQL session holding an advisory lock (an agent name's, the trail's)."""

    pid: int  # its backend's process id (0: unknown)
    application_name: str | None  # what it calls itself (the other agent's session label)
    address: str | None
    since: datetime | None
    # The role it logged in as, and whether that is this session's own: a session of
    # another role (another agent's) cannot write this name's minutes, whatever it
    # calls itself; it merely took the lock (any role may take any advisory lock).
    role: str | None = None
    same_role: bool = True

    def describe(self) -> str:
        where = self.application_name or (
            f"PostgreSQL backend pid {self.pid}" if self.pid else "another session"
        )
        if self.address:
            where += f", connected from {self.address}"
        if self.since is not None:
            where += f" since {iso_z(self.since)}"
        return where


async def advisory_holder(conn: Conn, key: int) -> NameHolder | None:
    """The session holding the advisory lock ``key`` (a bigint key) in this PostgreSQL
    database now; None when none does."""
    found = await conn.fetchall(
        "SELECT l.pid, a.application_name, host(a.client_addr),"
        " extract(epoch FROM a.backend_start), a.usename, a.usename = session_user"
        " FROM pg_locks l"
        " LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
        " AND l.classid::bigint = ? AND l.objid::bigint = ?"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
    )
    if not found:
        return None
    pid, app, address, since, role, same = found[0]
    return NameHolder(
        int(pid),
        None if app is None else str(app),
        None if address is None else str(address),
        None if since is None else datetime.fromtimestamp(float(since), tz=UTC),
        None if role is None else str(role),
        same is not False,
    )
