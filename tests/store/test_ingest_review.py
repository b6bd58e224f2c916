"""Adversarial review of the minute write path (#10): the in-place UPDATE of blocks
and seals (PostgreSQL), the links found in one query, the agents' row-level security.
Every scenario ends with the seals one import of the final minutes gives in a fresh
store, and with ``store verify`` (chains and audit trail) clean."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core import chain
from core.audit import AuditEntry
from core.errors import SlawatchError
from store import Store
from store.chain import CLOSE_SPREAD
from store.postgres import PostgresStore
from store.rows import MinuteRow
from store.sqlite import SqliteStore
from tests.conftest import OpenDb
from tests.fleetkit import agent_role, init_fleet
from tests.pg import Cluster

H = 29_619_360  # 2026-04-26T00:00Z, a whole hour


def _row(service: str, source: str, minute: int, status: int = 1) -> MinuteRow:
    error = "timeout" if status == 3 else None
    return MinuteRow(service, source, minute, status, None if status == 3 else 90 + minute % 7,
                     error)  # fmt: skip


async def _seals(store: Store) -> list[tuple[str, str, int, bytes]]:
    found = await store._db.fetchall(
        "SELECT v.name, s.name, c.hour, c.link FROM chain_seals c"
        " JOIN services v ON v.id = c.service_id JOIN sources s ON s.id = c.source_id"
    )
    return sorted((str(v), str(s), int(h), bytes(lk)) for v, s, h, lk in found)


async def _clean(store: Store) -> None:
    chains = await store.check_chains()
    audit = await store.check_audit()
    assert chains.breaks == () and audit.problems == (), (chains, audit)


async def _seal_log(store: Store) -> list[AuditEntry]:
    return [e for e in await store.audit_entries(minutes=True) if e.kind == "minutes.seal"]


async def _as_one_import(tmp_path: Path, final: dict[tuple[str, str, int], MinuteRow]) -> list:
    async with await SqliteStore.open(tmp_path / "once.db") as once:
        await once.import_minutes([sorted(final.values())])
        return await _seals(once)


async def test_mixed_batches_seal_as_one_import(open_db: OpenDb, tmp_path: Path) -> None:
    """Batches where some rows' blocks exist and others do not; a minute crossing an
    hour's end in one batch; a late minute into an hour sealed long ago; a new service
    and a new agent in the same batch; a re-send of a whole batch (a timeout)."""
    steps: list[list[MinuteRow]] = [
        [_row("s0", "a", H + m) for m in range(3)] + [_row("s1", "a", H + 1)],
        # s0's block exists, s2 is new, b is new, and s1 goes over the hour's end
        [_row("s0", "a", H + 3, 3), _row("s2", "a", H + 3), _row("s0", "b", H + 3, 2),
         _row("s1", "a", H + 59), _row("s1", "a", H + 60, 3)],
        [_row("s0", "a", H + 125), _row("s1", "a", H + 125)],  # two hours on
        [_row("s0", "a", H + 10, 3), _row("s3", "c", H + 126), _row("s1", "a", H + 126)],
    ]  # fmt: skip
    final: dict[tuple[str, str, int], MinuteRow] = {}
    async with await open_db() as store:
        for step in steps:
            await store.record_minutes(step)
            final.update({(r.service, r.source, r.minute): r for r in step})
            await _clean(store)
        seals = await _seals(store)
        logged = await _seal_log(store)
        await store.record_minutes(steps[-1])  # re-sent after a timeout
        await store.record_minutes(steps[1])  # and an older one
        assert await _seals(store) == seals
        assert await _seal_log(store) == logged  # nothing logged twice
        await _clean(store)
        got = await store.minutes("s0", H, H + 130)
        assert got["a"][3] == 3 and got["a"][10] == 3 and got["b"][3] == 2
    assert await _as_one_import(tmp_path, final) == seals
    # The late minute re-sealed an hour the trail had logged: its entry says what it was.
    assert logged[-1].before == {"hours": [["s0", "a", H // 60, logged[-2].after["hours"][0][3]]]}
    assert [h[:3] for h in logged[-1].after["hours"]] == [["s0", "a", H // 60]]


async def _two_agents(pg_cluster: Cluster, pg_url: str) -> tuple[str, str]:
    await init_fleet(pg_url)
    return agent_role(pg_cluster, pg_url, "ra"), agent_role(pg_cluster, pg_url, "rb")


async def test_agents_racing_into_the_same_new_hour_of_a_new_service(
    pg_cluster: Cluster, pg_url: str, tmp_path: Path
) -> None:
    """Two agents (own roles, row-level security) write the same new service's new
    hours at the same moment, minute after minute: no error, nothing lost."""
    url_a, url_b = await _two_agents(pg_cluster, pg_url)
    final: dict[tuple[str, str, int], MinuteRow] = {}
    async with await PostgresStore.open(url_a) as a, await PostgresStore.open(url_b) as b:
        for m in (58, 59, 60, 61, 185):
            rows_a = [_row(f"n{m}", "ra", H + m), _row("s", "ra", H + m, 3)]
            rows_b = [_row("s", "rb", H + m, 2), _row(f"n{m}", "rb", H + m)]
            await asyncio.gather(a.record_minutes(rows_a), b.record_minutes(rows_b))
            final.update({(r.service, r.source, r.minute): r for r in rows_a + rows_b})
    async with await PostgresStore.open(pg_url) as owner:
        await _clean(owner)
        seals = await _seals(owner)
        assert (await owner.minutes("s", H + 58, H + 62)) == {
            "ra": bytes([3] * 4), "rb": bytes([2] * 4)
        }  # fmt: skip
    assert await _as_one_import(tmp_path, final) == seals


async def test_an_agent_writes_as_itself_and_never_as_another(
    pg_cluster: Cluster, pg_url: str, tmp_path: Path
) -> None:
    """Under row-level security the in-place UPDATE path (blocks and seals that exist)
    works for the agent's own rows, a late minute too; a batch with one row of another
    agent whose block exists is refused whole."""
    url_a, url_b = await _two_agents(pg_cluster, pg_url)
    final: dict[tuple[str, str, int], MinuteRow] = {}

    async def write(store: Store, rows: list[MinuteRow]) -> None:
        await store.record_minutes(rows)
        final.update({(r.service, r.source, r.minute): r for r in rows})

    async with await PostgresStore.open(url_a) as a, await PostgresStore.open(url_b) as b:
        await write(b, [_row("s", "rb", H + 1), _row("t", "rb", H + 1)])
        for m in range(2, 5):
            await write(a, [_row("s", "ra", H + m), _row("t", "ra", H + m)])
        await write(a, [_row("s", "ra", H + 70), _row("t", "ra", H + 62)])
        await write(a, [_row("s", "ra", H + 3, 3), _row("u", "ra", H + 70)])  # late
        before = await _seals(a)
        for forged in (
            [_row("s", "ra", H + 71), _row("s", "rb", H + 1, 3)],  # b's block and seal exist
            [_row("s", "rb", H + 2, 3)],  # b's block exists, a new minute in it
            [_row("s", "rb", H + 130, 3)],  # a new hour of b's
        ):
            with pytest.raises(SlawatchError, match="row-level security"):
                await a.record_minutes(forged)
        assert await _seals(a) == before
        await write(a, [_row("s", "ra", H + 71)])
    async with await PostgresStore.open(pg_url) as owner:
        await _clean(owner)
        seals = await _seals(owner)
    assert await _as_one_import(tmp_path, final) == seals


async def test_an_agent_cannot_vote_as_its_group_by_set_role(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """An agent's role is a member of slawatch_agent, so it may ``SET ROLE slawatch_agent``;
    its rows are still only those of its own login's name: it cannot add a vantage point
    of the group's name (or any other) and write minutes as that."""
    url_a, _ = await _two_agents(pg_cluster, pg_url)
    async with await PostgresStore.open(url_a) as a:
        await a.record_minutes([_row("s", "ra", H)])
        await a._db.execute("SET ROLE slawatch_agent")
        with pytest.raises(SlawatchError, match="row-level security"):
            await a.record_minutes([_row("s", "slawatch_agent", H, 2)])
        await a.record_minutes([_row("s", "ra", H + 1)])  # itself, still
    async with await PostgresStore.open(pg_url) as owner:
        assert await owner.minutes("s", H, H + 2) == {"ra": bytes([1, 1])}


async def test_a_backlog_over_an_hours_end_then_minute_by_minute(
    open_db: OpenDb, tmp_path: Path
) -> None:
    """A forwarder's backlog (every service, minutes on both sides of an hour's end,
    in one batch), re-sent in part, then the agent's minute by minute into the next
    hour, one service stopping: the seals of one import, verify clean, each hour
    logged once it is behind its chain."""
    final: dict[tuple[str, str, int], MinuteRow] = {}
    backlog = [_row(f"s{k}", "a", H + m, 1 + (m + k) % 3) for m in range(50, 66) for k in range(3)]
    async with await open_db() as store:
        await store.record_minutes([_row(f"s{k}", "a", H + 49) for k in range(3)])
        await store.record_minutes(backlog)
        await store.record_minutes(backlog[-9:])  # the last three minutes again
        for m in range(66, 122):
            await store.record_minutes([_row(f"s{k}", "a", H + m) for k in range(2 + (m < 90))])
        for step in ([_row(f"s{k}", "a", H + 49) for k in range(3)], backlog):
            final.update({(r.service, r.source, r.minute): r for r in step})
        for m in range(66, 122):
            final.update(
                {(f"s{k}", "a", H + m): _row(f"s{k}", "a", H + m) for k in range(2 + (m < 90))}
            )
        await _clean(store)
        seals = await _seals(store)
        hours = sorted((h[0], h[2]) for e in await _seal_log(store) for h in e.after["hours"])
    assert await _as_one_import(tmp_path, final) == seals
    hour = H // 60
    # s2 stopped in the second hour: that hour is still open to it (logged when it moves on).
    assert hours == [("s0", hour), ("s0", hour + 1), ("s1", hour), ("s1", hour + 1), ("s2", hour)]


async def test_an_agent_cannot_log_another_agents_hours_in_the_trail(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """Agent A appending a ``minutes.seal`` entry (or a ``store.tamper``) about an hour
    of agent B's is refused: else ``store verify`` named B's honest hour as edited."""
    url_a, url_b = await _two_agents(pg_cluster, pg_url)
    async with await PostgresStore.open(url_b) as b:
        for m in (0, 1, 60 + CLOSE_SPREAD):  # (its hour closed in its close minute)
            await b.record_minutes([_row("s", "rb", H + m)])
    async with await PostgresStore.open(url_a) as a:
        await a.record_minutes([_row("s", "ra", H)])
        forged = [
            ("minutes.seal", None, {"by": "the agent", "hours": [["s", "rb", H // 60, "00" * 32]]}),
            ("minutes.seal", {"hours": [["s", "rb", H // 60, "00" * 32]]},
             {"by": "the agent", "hours": [["s", "ra", H // 60, "00" * 32]]}),
            ("store.tamper", {"source": "rb", "hour": "x", "sealed": None},
             {"source": "rb", "hour": "x", "found": "00", "by": "the agent"}),
            ("minutes.baseline", None, {"chains": [["s", "rb", H // 60, "00" * 32]]}),
            ("window.add", None, {"source": "ra"}),
        ]  # fmt: skip
        for kind, before, after in forged:
            with pytest.raises(SlawatchError, match="row-level security"):
                async with a._write() as db:
                    await a._audit(db, kind, "s", (H, H + 60), before, after)
        for m in (1, 61, 60 + CLOSE_SPREAD):  # its own minutes are logged as ever
            await a.record_minutes([_row("s", "ra", H + m)])
    async with await PostgresStore.open(pg_url) as owner:
        await _clean(owner)
        logged = [h[1] for e in await _seal_log(owner) for h in e.after["hours"]]
        assert sorted(logged) == ["ra", "rb"]
        # A block of its own edited behind its back: the agent logs store.tamper as ever.
        await owner._db.execute(
            "UPDATE minute_blocks SET status = ? WHERE hour = ? AND source_id ="
            " (SELECT id FROM sources WHERE name = 'ra')",
            (bytes([2] * 60), H // 60 + 1),
        )
    async with await PostgresStore.open(url_a) as a:
        await a.record_minutes([_row("s", "ra", H + 63)])
    async with await PostgresStore.open(pg_url) as owner:
        tampered = [e for e in await owner.audit_entries() if e.kind == "store.tamper"]
        assert [e.after["source"] for e in tampered] == ["ra"]


async def test_minute_by_minute_then_migrated_then_an_agent_goes_on(
    pg_cluster: Cluster, pg_url: str, tmp_path: Path
) -> None:
    """An agent's minutes written one by one into SQLite (its open hour unlogged), moved
    to PostgreSQL (``store migrate``'s copy), then the same agent goes on there under its
    role (the in-place UPDATE of the copied open hour): verify clean on both, the seals
    of one import, the minutes alike."""
    from store.copy import copy_store

    final: dict[tuple[str, str, int], MinuteRow] = {}
    async with await SqliteStore.open(tmp_path / "s.db") as lite:
        for m in range(55, 70):
            step = [_row(f"s{k}", "ra", H + m, 1 + (m * k) % 3) for k in range(3)]
            await lite.record_minutes(step)
            final.update({(r.service, r.source, r.minute): r for r in step})
        async with await PostgresStore.open(pg_url, init=True) as owner:
            assert await owner.apply_roles() == []
            await copy_store(lite, owner)
            await _clean(owner)
        await _clean(lite)
    url_a = agent_role(pg_cluster, pg_url, "ra")
    async with await PostgresStore.open(url_a) as a:
        for m in (70, 71, 125):
            step = [_row(f"s{k}", "ra", H + m, 1 + (m * k) % 3) for k in range(3)]
            await a.record_minutes(step)
            final.update({(r.service, r.source, r.minute): r for r in step})
    async with await PostgresStore.open(pg_url) as owner:
        await _clean(owner)
        seals = await _seals(owner)
        got = await owner.minutes("s1", H, H + 130)
    assert await _as_one_import(tmp_path, final) == seals
    assert got["ra"][55:72] == bytes(1 + (m % 3) for m in range(55, 72))


async def test_the_last_hour_of_a_service_no_longer_probed_is_logged(open_db: OpenDb) -> None:
    """An agent stops probing a service mid-hour and goes on with the others: that
    hour is logged once the agent is past it (it was never: store verify lets a chain's
    newest hour go unlogged, so the hour edited and re-sealed behind slawatch's back
    passed verify)."""
    async with await open_db() as store:
        for m in range(5):
            await store.record_minutes([_row("s0", "a", H + m), _row("s1", "a", H + m)])
        for m in range(5, 300, 7):
            await store.record_minutes([_row("s0", "a", H + m)])
        await _clean(store)
        hours = [(h[0], h[2] - H // 60) for e in await _seal_log(store) for h in e.after["hours"]]
        assert sorted(hours) == [("s0", 0), ("s0", 1), ("s0", 2), ("s0", 3), ("s1", 0)]
        # s1's hour rewritten and re-sealed from its genesis, as slawatch would seal it.
        status, latency = bytes([3] * 5 + [0] * 55), bytes(120)
        digest = chain.hour_digest("s1", "a", H // 60, status, latency, ())
        sid = (await store._db.fetchall("SELECT id FROM services WHERE name = 's1'"))[0][0]
        async with store._write() as db:
            await db.execute(
                "UPDATE minute_blocks SET status = ?, latency = ? WHERE service_id = ?",
                (status, latency, sid),
            )
            await db.execute(
                "UPDATE chain_seals SET digest = ?, link = ? WHERE service_id = ?",
                (digest, chain.link(chain.genesis("s1", "a"), H // 60, digest), sid),
            )
        assert (await store.check_chains()).breaks == ()
        problems = [p.reason for p in (await store.check_audit()).problems]
        assert problems and "s1/a hour" in problems[0], problems
