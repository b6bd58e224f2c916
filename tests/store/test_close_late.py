"""An agent closes its chains' previous hour late, in its close minute (#10: the turn of
the hour spread over a fleet's minutes), on SQLite and PostgreSQL.

At an hour's first minute the agent opens the new hour and leaves the one before
open (``logged = 0``, in no ``minutes.seal`` entry); in minute
``store.chain.close_minute(name)`` of the new hour (1 to ``CLOSE_SPREAD``) it closes
it. Meanwhile reads, ``store verify`` and claims see a store as sound as any, a
restart or a crash in between closes the hour as it stands, an agent that stops
before its close minute leaves a store that verifies, and ``store verify`` allows
the second open hour only where the writer's rule could have left it.
"""

from __future__ import annotations

import pytest

from core import chain
from core.audit import SEAL
from core.status import DOWN, UP
from store import Store
from store.chain import CLOSE_SPREAD, close_minute
from store.postgres import PostgresStore
from store.rows import MinuteRow
from tests.conftest import OpenDb
from tests.store.test_live_memo import Reads

BASE = 29_619_360  # 2026-04-26T00:00Z, a whole hour
H0 = BASE // 60
AGENT = "b"  # closes in minute 7: a few minutes of two open hours to look at
K = close_minute(AGENT)


def minute(m: int, source: str = AGENT, services: int = 3) -> list[MinuteRow]:
    return [
        MinuteRow(f"s{n}", source, BASE + m, DOWN if (m + n) % 5 == 0 else UP, 30 + m,
                  "status:503" if (m + n) % 5 == 0 else None)
        for n in range(services)
    ]  # fmt: skip


async def _logged(store: Store) -> list[list[int]]:
    """The hours each ``minutes.seal`` entry lists, entry by entry."""
    return [
        sorted({h[2] for h in e.after["hours"]})
        for e in await store.audit_entries(minutes=True)
        if e.kind == SEAL
    ]


async def _flags(store: Store) -> dict[int, set[int]]:
    """hour -> the ``logged`` flags of its seals."""
    out: dict[int, set[int]] = {}
    for hour, logged in await store._db.fetchall("SELECT hour, logged FROM chain_seals"):  # type: ignore[attr-defined]
        out.setdefault(int(hour), set()).add(int(logged))
    return out


async def _sound(store: Store) -> None:
    assert (await store.check_chains()).breaks == ()
    assert (await store.check_audit()).problems == ()


def test_close_minutes_are_stable_and_spread() -> None:
    assert [close_minute(n) for n in ("agent", "b", "agent0")] == [1, 7, 5]  # the same everywhere
    assert {close_minute(f"agent{a}") for a in range(100)} == set(range(1, CLOSE_SPREAD + 1))
    assert 3 <= K < CLOSE_SPREAD  # (the tests below look at minutes 1 to K - 1)


async def test_an_hour_closed_late_is_sound_while_open_and_logged_in_the_close_minute(
    open_db: OpenDb,
) -> None:
    async with await open_db() as store:
        for m in (0, 1, 58, 59):
            await store.record_minutes(minute(m))
        for m in range(60, 60 + K):  # minutes 0 to K - 1 of hour 1
            await store.record_minutes(minute(m))
            assert await _logged(store) == []  # hour 0 still open beside hour 1
            assert await _flags(store) == {H0: {0}, H0 + 1: {0}}
            await _sound(store)
        # Read as ever while it is open: every minute, and the chains' evidence.
        written = {0, 1, 58, 59, *range(60, 60 + K)}
        expected = bytes(0 if m not in written else DOWN if (m + 1) % 5 == 0 else UP
                         for m in range(60 + K))  # fmt: skip
        assert await store.minutes("s1", BASE, BASE + 60 + K) == {AGENT: expected}
        [source] = await store.evidence("s1", H0, H0 + 2)
        assert [h.hour for h in source.hours] == [s.hour for s in source.seals] == [H0, H0 + 1]
        await store.record_minutes(minute(60 + K))  # the close minute
        assert await _logged(store) == [[H0]]
        assert await _flags(store) == {H0: {1}, H0 + 1: {0}}
        await _sound(store)
        await store.record_minutes(minute(60 + K))  # the same minute again: nothing new
        await store.record_minutes(minute(61 + K))
        assert await _logged(store) == [[H0]]
        await _sound(store)


async def test_a_restart_between_the_turn_and_the_close_minute(open_db: OpenDb) -> None:
    """The agent's process ends after the hour's first minute (no memo any more): the
    next one keeps the hour open until the close minute as well, and one that comes
    back in a later hour closes both hours at once (the general way)."""
    async with await open_db() as store:
        for m in (58, 59, 60):
            await store.record_minutes(minute(m))
    async with await open_db() as store:
        await store.record_minutes(minute(61))  # the reading way, still before minute K
        assert await _logged(store) == []
        await _sound(store)
        await store.record_minutes(minute(60 + K))
        assert await _logged(store) == [[H0]]
        await _sound(store)
    async with await open_db() as store:
        for m in (120, 121):
            await store.record_minutes(minute(m))  # hour 2: hour 1 open beside it
        assert await _logged(store) == [[H0]]
    async with await open_db() as store:
        await store.record_minutes(minute(242))  # back in hour 4, minute 2: before K
        assert await _logged(store) == [[H0], [H0 + 1, H0 + 2]]  # not next to hour 4
        assert (await _flags(store))[H0 + 4] == {0}
        await _sound(store)


async def test_an_agent_stopped_before_its_close_minute_leaves_a_store_that_verifies(
    open_db: OpenDb,
) -> None:
    async with await open_db() as store:
        for m in (-1, CLOSE_SPREAD, 59, 60, 61):  # the hour before hour 0 closed and logged
            await store.record_minutes(minute(m))
    async with await open_db() as store:
        await _sound(store)  # two open hours, both allowed, for as long as it stays stopped
        assert await _logged(store) == [[H0 - 1]]
        assert await _flags(store) == {H0 - 1: {1}, H0: {0}, H0 + 1: {0}}
        # Only where the writer could have left it so: a newest hour holding a minute
        # from the close minute on would have closed the hour before (an edit adds one).
        db = store._db  # type: ignore[attr-defined]
        sid = (await db.fetchall("SELECT id FROM services WHERE name = 's1'"))[0][0]
        [(status,)] = await db.fetchall(
            "SELECT status FROM minute_blocks WHERE service_id = ? AND hour = ?", (sid, H0 + 1)
        )
        edited = bytes(status)[:CLOSE_SPREAD] + bytes([UP]) + bytes(status)[CLOSE_SPREAD + 1 :]
        await db.execute(
            "UPDATE minute_blocks SET status = ? WHERE service_id = ? AND hour = ?",
            (edited, sid, H0 + 1),
        )
        problems = [p.describe() for p in (await store.check_audit()).problems]
        assert any("s1/b hour 2026-04-26T00:00:00Z is in no audit entry" in p for p in problems), (
            problems
        )
        assert not any("s0/b" in p for p in problems)  # the other chains: as they were


async def test_the_memo_keeps_the_hour_open_and_closes_it_without_reading(pg_url: str) -> None:
    """PostgreSQL: the turn and the close minute both go through the agent's memo."""
    names = ["agent", "late", AGENT]  # closing in minutes 1, 2 and 7
    async with await PostgresStore.open(pg_url, init=True) as store:
        reads = Reads(store)  # several agents on one store (each its own memo)
        for m in (0, 1, *range(60, 62 + K)):
            for name in names:
                await store.record_minutes(minute(m, name))
            if m >= 60:
                closed = {e.after["hours"][0][1] for e in await store.audit_entries(minutes=True)
                          if e.kind == SEAL and e.after["hours"][0][2] == H0}  # fmt: skip
                assert closed == {n for n in names if close_minute(n) <= m - 60}, m
        assert reads.count == len(names)  # each agent's first minute only
        assert await _flags(store) == {H0: {1}, H0 + 1: {0}}
        await _sound(store)


async def test_the_memo_turn_proves_the_hour_it_keeps_open(pg_url: str) -> None:
    """PostgreSQL: between the agent's last minute of an hour and its first of the next,
    an operator backfills a minute of that hour (``import minutes --source b``, another
    connection). The agent's turn through its memo keeps that hour open and seals the
    new one from the link it remembers: it linked from the hour as it was before the
    backfill, and the chain was broken until the close minute (``store verify``:
    "link does not follow"; for good if the agent stopped first). Now the turn finds
    the hour changed and goes the reading way."""
    async with await PostgresStore.open(pg_url, init=True) as store:
        reads = Reads(store)
        for m in (58, 59):
            await store.record_minutes(minute(m))
        async with await PostgresStore.open(pg_url) as operator:
            await operator.import_minutes([minute(30)], where="backfill.csv")
        await store.record_minutes(minute(60))
        assert reads.count == 2  # the turn read: the memo no longer held
        await _sound(store)
        assert await _flags(store) == {H0: {1}, H0 + 1: {0}}  # the backfill logged hour 0
        for m in range(61, 62 + K):
            await store.record_minutes(minute(m))
        assert reads.count == 2
        await _sound(store)


async def _forge_hour(store: Store, service: str, hour: int) -> None:
    """Behind slawatch's back: an hour of minutes (all up) the agent never wrote, put in
    before the chain's newest hour, sealed and the newest re-linked so that the chain
    holds (only the audit trail can tell)."""
    db = store._db  # type: ignore[attr-defined]
    [(sid,)] = await db.fetchall("SELECT id FROM services WHERE name = ?", (service,))
    [(src,)] = await db.fetchall("SELECT id FROM sources WHERE name = ?", (AGENT,))
    status, latency = bytes([UP]) * 60, (30).to_bytes(2, "little") * 60
    await db.execute(
        "INSERT INTO minute_blocks (service_id, hour, source_id, status, latency)"
        " VALUES (?, ?, ?, ?, ?)",
        (sid, hour, src, status, latency),
    )
    [(prev,)] = await db.fetchall(
        "SELECT link FROM chain_seals WHERE service_id = ? AND source_id = ? AND hour < ?"
        " ORDER BY hour DESC LIMIT 1",
        (sid, src, hour),
    )
    digest = chain.hour_digest(service, AGENT, hour, status, latency, ())
    link = chain.link(bytes(prev), hour, digest)
    await db.execute(
        "INSERT INTO chain_seals (service_id, source_id, hour, digest, link, logged)"
        " VALUES (?, ?, ?, ?, ?, 0)",
        (sid, src, hour, digest, link),
    )
    [(newest, digest_after)] = await db.fetchall(
        "SELECT hour, digest FROM chain_seals WHERE service_id = ? AND source_id = ? AND hour > ?",
        (sid, src, hour),
    )
    await db.execute(
        "UPDATE chain_seals SET link = ? WHERE service_id = ? AND source_id = ? AND hour = ?",
        (chain.link(link, int(newest), bytes(digest_after)), sid, src, newest),
    )


@pytest.mark.parametrize("later", ["up", "unknown"])
async def test_a_forged_hour_before_the_open_one_is_named_once_past_the_close_minute(
    open_db: OpenDb, later: str
) -> None:
    """The agent was down for all of hour 1; in hour 2 it wrote minutes 0 to 9 (up from
    its close minute on, or unknown: its canary failing, a minute stored as an error
    class with status 0). An hour 1 forged behind its back, the chain re-sealed to
    hold, is in no audit entry: ``store verify`` named it only while hour 2 held no
    status from minute 10 on (unknown minutes not counted at all), though this
    agent's writer leaves the hour before open only until its close minute."""
    async with await open_db() as store:
        await store.record_minutes(minute(30))  # hour 0
        for m in range(120, 130):
            rows = minute(m)
            if later == "unknown" and m - 120 >= K:
                rows = [r._replace(status=0, latency_ms=None, error="canary") for r in rows]
            await store.record_minutes(rows)
        await _sound(store)
        await _forge_hour(store, "s1", H0 + 1)
        assert (await store.check_chains()).breaks == ()  # the chain holds: a good forgery
        problems = [p.describe() for p in (await store.check_audit()).problems]
        assert (
            len(problems) == 1
            and "s1/b hour 2026-04-26T01:00:00Z is in no audit entry" in (problems[0])
        ), problems
