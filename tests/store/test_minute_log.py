"""Minute writes in the append-only audit trail (#15 item 4), on SQLite and PostgreSQL.

Each write of minutes (the agent's, an import) is a ``minutes.seal`` entry with
each hour's digest after it; the agent's newest hour is logged once its chain
moves on (in the agent's close minute of the next hour,
``store.chain.close_minute``). ``check_audit`` replays them against the stored
blocks: an hour edited, deleted or inserted behind slawatch's back, or every chain
re-sealed from genesis so that the chains hold again, is named.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from core.audit import BASELINE, SEAL
from core.status import DOWN, UP
from store.chain import close_minute
from store.rows import MinuteRow
from tests.conftest import OpenDb

BASE = 29_619_360  # 2026-04-26T00:00Z, a whole hour
H0 = BASE // 60


def rows(start: int, count: int, status: int = UP, source: str = "agent") -> list[MinuteRow]:
    return [MinuteRow("svc", source, start + i, status, 100 + i % 7) for i in range(count)]


class Undo(Exception):
    """Raised to roll an attack back after looking at it."""


Attack = list[tuple[str, tuple[object, ...]]]


async def _under_attack(
    store: object, sql: Attack, then: Callable[[], Awaitable[None]] | None = None
) -> list[str]:
    """The problems check_audit names with ``sql`` run behind slawatch's back (rolled back)."""
    found: list[str] = []
    db = store._db  # type: ignore[attr-defined]
    with pytest.raises(Undo):
        async with db.transaction():
            for statement, params in sql:
                await db.execute(statement, params)
            if then is not None:
                await then()
            assert await store.verify_chains() is None or then is None  # type: ignore[attr-defined]
            found = [p.describe() for p in (await store.check_audit()).problems]  # type: ignore[attr-defined]
            raise Undo
    return found


async def test_every_minute_write_is_logged_and_an_attack_on_closed_hours_is_named(
    open_db: OpenDb,
) -> None:
    async with await open_db() as store:
        await store.record_minutes(rows(BASE, 150))  # hours 0 and 1, and 2 still open
        [first] = await store.audit_entries(minutes=True)
        assert (first.kind, first.after["by"]) == (SEAL, "the agent")
        assert [h[2] for h in first.after["hours"]] == [H0, H0 + 1]  # UTC epoch hours
        await store.record_minutes(rows(BASE + 150, 5))  # still hour 2: nothing logged yet
        assert len(await store.audit_entries(minutes=True)) == 1
        # Hour 3 begins: hour 2 stays open (unlogged) until the agent's close minute.
        await store.record_minutes(rows(BASE + 180, close_minute("agent")))
        assert len(await store.audit_entries(minutes=True)) == 1
        assert (await store.check_audit()).problems == ()  # two open hours, both allowed
        await store.record_minutes(rows(BASE + 180 + close_minute("agent"), 1))  # closed now
        entries = await store.audit_entries(minutes=True)
        assert [h[2] for h in entries[-1].after["hours"]] == [H0 + 2]
        # A late write into a logged hour is a new entry saying what it changes.
        await store.import_minutes([[MinuteRow("svc", "agent", BASE + 70, DOWN, 5)]],
                                   replace=True, where="late.csv")  # fmt: skip
        late = (await store.audit_entries(minutes=True))[-1]
        assert late.after["by"] == "an import of late.csv"
        assert late.before["hours"][0][:3] == ["svc", "agent", H0 + 1]
        assert late.before["hours"][0][3] == first.after["hours"][1][3]
        assert late.after["hours"][0][3] != late.before["hours"][0][3]
        assert (await store.check_audit()).problems == ()

        sid, src = (await store._db.fetchall("SELECT service_id, source_id FROM chain_seals"))[0]
        edit = ("UPDATE minute_blocks SET status = ? WHERE hour = ?", (bytes([UP] * 60), H0 + 1))
        [edited] = await _under_attack(store, [edit])
        assert edited.endswith(
            "svc/agent hour 2026-04-26T01:00:00Z was edited outside slawatch"
            " (its minutes do not hash to the digest the trail logged)"
        )
        [deleted] = await _under_attack(store, [
            ("DELETE FROM minute_blocks WHERE hour = ?", (H0,)),
            ("DELETE FROM chain_seals WHERE hour = ?", (H0,)),
        ])  # fmt: skip
        assert deleted.endswith("svc/agent hour 2026-04-26T00:00:00Z is gone: deleted outside"
                                " slawatch")  # fmt: skip
        block = await store._db.fetchall(
            "SELECT status, latency FROM minute_blocks WHERE hour = ?", (H0,)
        )
        insert = ("INSERT INTO minute_blocks (service_id, hour, source_id, status, latency)"
                  " VALUES (?, ?, ?, ?, ?)", (sid, H0 - 5, src, *block[0]))  # fmt: skip
        [inserted] = await _under_attack(store, [insert])
        assert inserted == ("svc/agent hour 2026-04-25T19:00:00Z is in no audit entry:"
                            " written outside slawatch")  # fmt: skip

        # Wholesale: the outage erased and every seal recomputed from genesis, as a
        # script would. The chains hold again; the trail does not agree.
        async def reseal() -> None:
            every = [MinuteRow("svc", "agent", m, UP) for m in range(BASE, BASE + 181, 60)]
            await store._extend_chains(store._db, every)
            assert await store.verify_chains() is None

        [resealed] = await _under_attack(store, [edit], reseal)
        assert resealed == edited


async def test_a_database_from_before_the_minute_log_gets_a_baseline(open_db: OpenDb) -> None:
    """Upgraded: its hours are not in any entry. The first write logs the chains' heads
    as they stand; an old hour edited afterwards no longer chains to that head."""
    async with await open_db() as store:
        await store.import_minutes([rows(BASE, 120, source="csv")])
        async with store._db.transaction():  # as before the trail logged minute writes
            await store._db.execute("DELETE FROM audit_log")
            await store._db.execute("UPDATE chain_seals SET logged = 1")
    async with await open_db() as store:
        assert (await store.check_audit()).problems == ()
        await store.record_minutes(rows(BASE + 300, 3))
        kinds = [e.kind for e in await store.audit_entries(minutes=True)]
        assert kinds == [BASELINE]  # the agent's own hour is still open
        [base] = await store.audit_entries(minutes=True)
        assert base.after["chains"][0][:3] == ["svc", "csv", H0 + 1]
        assert (await store.check_audit()).problems == ()
        edit = ("UPDATE minute_blocks SET status = ? WHERE hour = ?", (bytes([DOWN] * 60), H0))
        [problem] = await _under_attack(store, [edit])
        assert problem == (
            "audit entry #1: svc/csv: its hours up to 2026-04-26T01:00:00Z no longer chain to"
            " the head the trail recorded when it began logging minute writes: edited, deleted"
            " or inserted outside slawatch"
        )


async def test_the_agents_memo_of_error_classes_never_outlives_another_write(
    tmp_path: Path,
) -> None:
    """The agent's next minute reuses the error classes its last one left, unless another
    connection committed since (or this store imported): the seals stay true."""
    from store.sqlite import SqliteStore

    def minute(m: int, error: str | None) -> list[MinuteRow]:
        return [MinuteRow("svc", "agent", BASE + m, DOWN if error else UP, 9, error)]

    async with await SqliteStore.open(tmp_path / "s.db") as agent:
        await agent.record_minutes(minute(0, "status:503"))
        await agent.record_minutes(minute(1, "timeout"))  # from the memo
        async with await SqliteStore.open(tmp_path / "s.db") as other:  # another process
            await other.import_minutes([minute(0, "tls")], replace=True)
        await agent.record_minutes(minute(2, None))  # must read minute 0's class afresh
        await agent.import_minutes([minute(1, "dns")], replace=True)
        await agent.record_minutes(minute(3, "status:500"))
        assert await agent.verify_chains() is None
        assert await agent.minute_errors("svc", BASE, BASE + 60) == [
            (BASE, "agent", "tls"), (BASE + 1, "agent", "dns"), (BASE + 3, "agent", "status:500")
        ]  # fmt: skip
        assert (await agent.check_audit()).problems == ()


async def test_the_agents_minutes_across_hours_and_gaps_seal_as_a_fresh_relink_would(
    open_db: OpenDb,
) -> None:
    """An agent's minute of several services, written through the turn of an hour, a
    service it stopped probing, a gap longer than the seals read back with each
    write, and an open hour edited behind slawatch's back: every seal is what the
    chain's blocks give recomputed from genesis, each closed hour is logged once, and
    the edit is named (``store.tamper``) rather than laundered."""
    from core import chain

    def minute(m: int, services: int = 3) -> list[MinuteRow]:
        return [
            MinuteRow(f"s{n}", "agent", BASE + m, DOWN if (m + n) % 5 == 0 else UP, 50 + m,
                      "timeout" if (m + n) % 5 == 0 else None)
            for n in range(services)
        ]  # fmt: skip

    async with await open_db() as store:
        for m in (0, 1, 2, 59, 60, 61):  # hour 0, then the turn into hour 1
            await store.record_minutes(minute(m))
        await store.record_minutes(minute(62, services=2))  # s2 stops: its hour 1 left open
        edit = "UPDATE minute_blocks SET status = ? WHERE service_id = ? AND hour = ?"
        [(sid,)] = await store._db.fetchall("SELECT id FROM services WHERE name = 's0'")
        async with store._db.transaction():
            await store._db.execute(edit, (bytes([DOWN] * 60), sid, H0 + 1))
        for m in (63, 300, 301, 302):  # the edited hour, then back after a gap to hour 5
            await store.record_minutes(minute(m, services=2))
        assert await store.verify_chains() is None
        for n in range(3):
            stored = {}
            for h, status, latency in await store._db.fetchall(
                "SELECT b.hour, b.status, b.latency FROM minute_blocks b"
                " JOIN services v ON v.id = b.service_id WHERE v.name = ? ORDER BY hour",
                (f"s{n}",),
            ):
                errors = await store.minute_errors(f"s{n}", h * 60, h * 60 + 60)
                found = tuple((mm % 60, text) for mm, _, text in errors)
                stored[int(h)] = chain.hour_digest(
                    f"s{n}", "agent", int(h), bytes(status), bytes(latency), found
                )
            want = chain.relink(chain.genesis(f"s{n}", "agent"), sorted(stored.items()))
            got = await store._db.fetchall(
                "SELECT c.hour, c.digest, c.link FROM chain_seals c JOIN services v"
                " ON v.id = c.service_id WHERE v.name = ? ORDER BY hour",
                (f"s{n}",),
            )
            assert [(int(h), bytes(d), bytes(lk)) for h, d, lk in got] == [
                (s.hour, s.digest, s.link) for s in want
            ]
        seals = [e for e in await store.audit_entries(minutes=True) if e.kind == SEAL]
        logged = [tuple(h[:3]) for e in seals for h in e.after["hours"]]
        assert sorted(logged) == sorted(
            [(f"s{n}", "agent", H0) for n in range(3)]
            + [("s0", "agent", H0 + 1), ("s1", "agent", H0 + 1), ("s2", "agent", H0 + 1)]
        )  # hour 5 still open; s2's hour 1 is over (the agent is past it) though s2 stopped
        [problem] = (await store.check_audit()).problems
        assert problem.reason == (
            "s0/agent hour 2026-04-26T01:00:00Z was edited outside slawatch"
            " (found when a write re-sealed it)"
        )
        tampered = [e for e in await store.audit_entries() if e.kind == "store.tamper"]
        assert [e.service for e in tampered] == ["s0"]
