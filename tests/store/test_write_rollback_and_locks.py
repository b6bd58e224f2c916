"""Minute writes that roll back or race, on SQLite and PostgreSQL.

A write that rolls back must leave nothing keyed by the ids it made (SQLite gives
them to the next new names), and two agents of a fleet writing at once must not
deadlock on the audit trail's lock and each other's new names.
"""

from __future__ import annotations

import asyncio
from typing import Any

from core.status import DOWN, UP
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


async def test_an_agent_logging_a_tampered_hour_does_not_deadlock_on_a_new_error_class(
    open_db: OpenDb,
) -> None:
    """Agent a finds its open hour edited behind slawatch's back (``store.tamper``) and
    records a new error class that agent b has inserted, uncommitted, before b appends
    to the trail: before the trail's lock was taken at commit, a held it and waited on
    b's insert while b waited for the lock (PostgreSQL: 'deadlock detected')."""
    a, b = await open_db(), await open_db()
    try:
        await a.record_minutes([MinuteRow("p", "a1", T0, UP, 5, None)])
        await b.record_minutes([MinuteRow("p", "b1", T0, UP, 5, None)])
        async with a._write() as db:
            await db.execute(
                "UPDATE minute_blocks SET latency = ?"
                " WHERE source_id = (SELECT id FROM sources WHERE name = 'a1')",
                (b"\x07\x00" * 60,),
            )
        real = b._log_minutes
        inserted = asyncio.Event()

        async def held(*args: Any, **kw: Any) -> None:
            inserted.set()  # b's new error class is in, uncommitted
            await asyncio.sleep(0.5)  # a meanwhile finds the tamper and adds the same class
            await real(*args, **kw)

        b._log_minutes = held

        async def write_a() -> None:
            await inserted.wait()
            await a.record_minutes([MinuteRow("p", "a1", T0 + 1, DOWN, None, "conn-reset")])

        # b's chain moves on to the next hour (an entry to append) with a new error class
        write_b = b.record_minutes([MinuteRow("p", "b1", T0 + 60, DOWN, None, "conn-reset")])
        got = await asyncio.gather(write_b, write_a(), return_exceptions=True)
        assert [g for g in got if isinstance(g, BaseException)] == []
        kinds = [e.kind for e in await a.audit_entries(minutes=True)]
        assert "store.tamper" in kinds
        assert await a.minute_errors("p", T0, T0 + 61) == [
            (T0 + 1, "a1", "conn-reset"),
            (T0 + 60, "b1", "conn-reset"),
        ]
    finally:
        await a.close()
        await b.close()
