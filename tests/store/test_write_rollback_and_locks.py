"""Minute writes that roll back or race, on SQLite and PostgreSQL.

A write that rolls back must leave nothing keyed by the ids it made (SQLite gives
them to the next new names), and two agents of a fleet writing at once must not
deadlock on the audit trail's lock and each other's new names.
"""

from __future__ import annotations

from typing import Any

from core.status import UP
from store.rows import MinuteRow
from tests.conftest import OpenDb

T0 = 29_000_040  # a whole hour


async def _problems(store: Any) -> tuple[list[str], list[str]]:
    chains, audit = await store.check_chains(), await store.check_audit()
    return [b.describe() for b in chains.breaks], [p.describe() for p in audit.problems]


async def test_a_rolled_back_write_leaves_no_digest_for_the_next_new_name(
    open_db: OpenDb,
) -> None:
    store = await open_db()
    try:
        await store.record_minutes([MinuteRow("a", "agent", T0, UP, 5, None)])
        real = store._log_minutes

        async def disk_full(*args: object, **kw: object) -> None:
            raise OSError("disk full")

        store._log_minutes = disk_full  # fails late: the new service "x" is rolled back
        try:
            await store.record_minutes([MinuteRow("x", "agent", T0 + 1, UP, 5, None)])
        except OSError:
            pass
        else:
            raise AssertionError("the write was to fail")
        store._log_minutes = real
        await store.record_minutes([MinuteRow("y", "agent", T0 + 1, UP, 5, None)])
        names = [n for _, n in await store._fetchall("SELECT id, name FROM services")]
        assert sorted(names) == ["a", "y"]
        assert await _problems(store) == ([], [])
    finally:
        await store.close()
