"""The agent's minute on PostgreSQL without reading back its own hour (``store.chain.LiveMemo``).

A store remembers the blocks and seals its last minute write left; the next minute
into the same hour rewrites them only where they still hold just that. Anything
else (an edit behind slawatch's back, another writer of the same agent) sends the
write the reading way, so the chains and the tamper log come out as without it.
"""

from __future__ import annotations

from typing import Any

from core.status import DOWN, UP
from store.postgres import PostgresStore
from store.rows import MinuteRow

BASE = 29_619_360  # 2026-04-26T00:00Z, a whole hour


def minute(m: int, services: int = 3, source: str = "agent") -> list[MinuteRow]:
    return [
        MinuteRow(f"s{n}", source, BASE + m, DOWN if (m + n) % 4 == 0 else UP, 40 + m,
                  "timeout" if (m + n) % 4 == 0 else None)
        for n in range(services)
    ]  # fmt: skip


class Reads:
    """Counts the reads of stored blocks a store makes (``_load_blocks``)."""

    def __init__(self, store: PostgresStore) -> None:
        self.count = 0
        inner = store._load_blocks

        async def counted(keys: Any) -> Any:
            self.count += 1
            return await inner(keys)

        store._load_blocks = counted  # type: ignore[method-assign]


async def _clean(store: PostgresStore) -> None:
    assert await store.verify_chains() is None
    assert (await store.check_audit()).problems == ()
    assert [e for e in await store.audit_entries() if e.kind == "store.tamper"] == []


async def test_the_next_minute_of_the_hour_writes_without_reading_its_blocks(pg_url: str) -> None:
    async with await PostgresStore.open(pg_url, init=True) as store:
        reads = Reads(store)
        for m in range(4):
            await store.record_minutes(minute(m))
        assert reads.count == 1  # the hour's first minute only
        await store.record_minutes(minute(3))  # the same minute again: idempotent
        await store.record_minutes(minute(60))  # the turn of the hour: through the memo too
        await store.record_minutes(minute(61))
        assert reads.count == 1
        await _clean(store)
        assert await store.minutes("s1", BASE, BASE + 62) == {
            "agent": bytes(DOWN if m % 4 == 3 else UP for m in range(4)).ljust(60, b"\0")
            + bytes([UP, UP])
        }


async def test_agents_written_in_turn_by_one_store_each_turn_the_hour_by_its_memo(
    pg_url: str,
) -> None:
    """One store writing several agents' minutes in turn (the fleet benchmark's shared
    connections) keeps each one's memo: the first agent into a new hour does not make
    it forget the others' chains of the hour before."""
    async with await PostgresStore.open(pg_url, init=True) as store:
        reads = Reads(store)
        for m in (0, 1, 60, 61):
            for agent in ("a", "b", "c"):
                await store.record_minutes(minute(m, services=4, source=agent))
        assert reads.count == 3  # each agent's first minute only
        await _clean(store)
        assert await store.minutes("s3", BASE, BASE + 62) == {
            agent: bytes([UP, DOWN]).ljust(60, b"\0") + bytes([UP, DOWN]) for agent in "abc"
        }


async def test_another_writer_of_the_same_agent_sends_it_the_reading_way(pg_url: str) -> None:
    """A second process forwarding as the same agent (a restart while the old one
    still ran) changes the rows the memo describes: the next write finds that, rolls
    back and reads; nothing is lost, nothing is called tampered."""
    async with (
        await PostgresStore.open(pg_url, init=True) as first,
        await PostgresStore.open(pg_url) as second,
    ):
        reads = Reads(first)
        for m in (0, 1):
            await first.record_minutes(minute(m))
        await second.record_minutes(minute(2))
        await first.record_minutes(minute(3))
        assert reads.count == 2  # the first minute, and the write that found the change
        await first.record_minutes(minute(4))
        assert reads.count == 2
        await _clean(first)
        statuses = await first.minutes("s0", BASE, BASE + 5)
        assert statuses["agent"] == bytes([DOWN, UP, UP, UP, DOWN])


async def test_a_seal_edited_behind_its_back_is_logged_as_without_the_memo(pg_url: str) -> None:
    """Only the seal of the open hour changed (its block as the agent left it): the
    write through the memo cannot rewrite it, reads, and logs the edit (``store.tamper``)
    as the reading way always has; the hour is re-sealed from its blocks."""
    async with await PostgresStore.open(pg_url, init=True) as store:
        for m in (0, 1):
            await store.record_minutes(minute(m))
        forged = bytes(32)
        async with store._db.transaction():
            await store._db.execute(
                "UPDATE chain_seals SET digest = ? WHERE service_id ="
                " (SELECT id FROM services WHERE name = 's2') AND hour = ?",
                (forged, BASE // 60),
            )
        await store.record_minutes(minute(2))
        tamper = [e for e in await store.audit_entries() if e.kind == "store.tamper"]
        assert [e.service for e in tamper] == ["s2"]
        assert tamper[0].before["sealed"] == forged.hex()
        assert await store.verify_chains() is None  # re-sealed from the blocks, and on record


async def _turn_of_hours(store: PostgresStore) -> tuple[list[Any], list[Any]]:
    """Three hours of an agent's minutes (a service added in the second, one dropped
    in the third): the seal rows and what the trail logged of them."""
    for m in (0, 1, 2, 60, 61, 120):
        rows = minute(m, services=4 if m >= 60 else 3)
        await store.record_minutes(rows[1:] if m == 120 else rows)
    await _clean(store)
    seals = await store._fetchall(
        "SELECT s.name, hour, digest, link, logged FROM chain_seals JOIN services s"
        " ON s.id = service_id ORDER BY s.name, hour"
    )
    trail = [
        (e.kind, e.service, e.span, e.before, e.after)
        for e in await store.audit_entries(minutes=True)
    ]
    return [tuple(r) for r in seals], trail


async def test_the_turn_of_the_hour_in_one_step_is_the_general_way(pg_cluster: Any) -> None:
    """At an hour's first minute each chain's previous hour closes: it is logged and
    marked so in the one step per chain (``_reseal_hour``) as the general way
    (``_relinked``, ``_to_log``) would: the same seal rows, the same trail entries."""
    async with await PostgresStore.open(
        pg_cluster.url(pg_cluster.new_database()), init=True
    ) as store:
        one_step = await _turn_of_hours(store)
    async with await PostgresStore.open(
        pg_cluster.url(pg_cluster.new_database()), init=True
    ) as store:
        store._reseal_hour = lambda hour, chains, *rest: list(chains)  # type: ignore[method-assign]
        general = await _turn_of_hours(store)
    assert one_step == general
    seals, trail = one_step
    assert [r[4] for r in seals if r[1] == BASE // 60] == [1, 1, 1]  # the first hour closed
    digest = {(r[0], r[1]): r[2].hex() for r in seals}
    first = BASE // 60
    assert next(e[4]["hours"] for e in trail if e[0] == "minutes.seal") == [
        [f"s{n}", "agent", first, digest[(f"s{n}", first)]] for n in range(3)
    ]  # logged at the next hour's first minute, with the digest sealed
