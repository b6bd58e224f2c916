"""The audit trail on SQLite and PostgreSQL: imports that would rewrite evidence, the
append-only log and its Merkle tree, and an edit laundered by a later write."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core import merkle
from core.audit import TAMPER
from core.errors import SlawatchError
from core.status import DOWN, UP
from store import Store
from store.layout import Tally
from store.minutes import ImportConflict
from store.postgres import PostgresStore
from store.rows import MinuteRow
from tests.conftest import OpenDb
from tests.pg import Cluster

BASE = 29_619_360  # 2026-04-26T00:00Z, a whole hour
AT = datetime(2026, 5, 2, 9, 30, tzinfo=UTC)


def rows(start: int, count: int, status: int = UP, source: str = "csv") -> list[MinuteRow]:
    return [MinuteRow("svc", source, start + i, status, 100 + i % 7) for i in range(count)]


async def test_reimport_counts_and_a_conflict_is_refused_then_replaced(open_db: OpenDb) -> None:
    async with await open_db() as store:
        first = Tally()
        assert await store.import_minutes([rows(BASE, 90)], tally=first) == 90
        assert (first.new, first.unchanged, first.conflicts) == (90, 0, [])
        again = Tally()
        await store.import_minutes([rows(BASE, 90), rows(BASE, 100)[90:]], tally=again)
        assert (again.new, again.unchanged, len(again.conflicts)) == (10, 90, 0)

        changed = rows(BASE, 100)
        changed[61:64] = [r._replace(status=DOWN) for r in changed[61:64]]
        changed[70] = changed[70]._replace(latency_ms=5000)  # a latency is evidence too
        with pytest.raises(ImportConflict, match=r"4 of 100 records conflict.*96 unchanged"):
            await store.import_minutes([changed], where="f.csv")
        assert (await store.minutes("svc", BASE + 61, BASE + 64))["csv"] == bytes([UP] * 3)
        assert await store.audit_entries() == []  # no correction: the minute log has two writes
        assert [e.kind for e in await store.audit_entries(minutes=True)] == ["minutes.seal"] * 2

        tally = Tally()
        await store.import_minutes([changed], replace=True, tally=tally, where="f.csv", at=AT)
        assert (tally.new, tally.unchanged, len(tally.conflicts)) == (0, 96, 4)
        assert (await store.minutes("svc", BASE + 61, BASE + 64))["csv"] == bytes([DOWN] * 3)
        [entry] = await store.audit_entries(service="svc")
        assert (entry.seq, entry.kind, entry.at, entry.span) == (
            3, "minutes.replace", AT, (BASE + 61, BASE + 71)
        )  # fmt: skip
        assert entry.before["runs"] == [
            ["2026-04-26T01:01:00Z", "2026-04-26T01:04:00Z", "up", [105, 106, 100]],
            ["2026-04-26T01:10:00Z", "2026-04-26T01:11:00Z", "up", [100]],
        ]
        assert entry.after["runs"] == [
            ["2026-04-26T01:01:00Z", "2026-04-26T01:04:00Z", "down", [105, 106, 100]],
            ["2026-04-26T01:10:00Z", "2026-04-26T01:11:00Z", "up", [5000]],
        ]
        assert entry.after["from_file"] == "f.csv" and entry.before["minutes"] == 4
        assert entry.actor  # the OS user
        # The write itself is logged after it: the hour's digest before and after.
        seal = (await store.audit_entries(minutes=True))[-1]
        assert (seal.seq, seal.kind, seal.after["by"]) == (4, "minutes.seal", "an import of f.csv")
        assert [h[:3] for h in seal.after["hours"]] == [["svc", "csv", BASE // 60 + 1]]
        assert seal.before["hours"][0][3] != seal.after["hours"][0][3]
        summary = await store.check_audit()
        assert (summary.entries, summary.problems) == (4, ())
        assert summary.head == merkle.root(await store.audit_leaves())
        assert await store.verify_chains() is None


async def test_an_edited_or_removed_entry_is_named(open_db: OpenDb) -> None:
    async with await open_db() as store:
        for n in range(3):
            changed = [r._replace(status=DOWN if n % 2 == 0 else UP) for r in rows(BASE, 5)]
            await store.import_minutes([changed], replace=True)
        assert [e.seq for e in await store.audit_entries()] == [2, 4]  # 1, 3: minute writes
        await store.import_minutes([rows(BASE, 5, UP)], replace=True)  # the third entry
        heads = [bytes(r[0]) for r in await store._db.fetchall("SELECT head FROM audit_log")]
        assert heads[-1] == merkle.root(await store.audit_leaves())
        assert (await store.check_audit()).problems == ()
        async with store._db.transaction():
            await store._db.execute(
                "UPDATE audit_log SET actor = ? WHERE seq = ?", ("somebody-else", 2)
            )
        [problem] = (await store.check_audit()).problems
        assert problem.describe() == "audit entry #2: its content does not match its hash (edited)"
        async with store._db.transaction():
            await store._db.execute("DELETE FROM audit_log WHERE seq = ?", (2,))
        problems = (await store.check_audit()).problems
        assert problems[0].describe().startswith("audit entry #3: follows #1")


async def test_a_no_op_reimport_does_not_launder_a_direct_edit(open_db: OpenDb) -> None:
    async with await open_db() as store:
        await store.record_minutes(rows(BASE, 120, source="agent"))
        assert await store.verify_chains() is None
        hour = BASE // 60 + 1
        async with store._db.transaction():  # behind slawatch's back: an outage erased
            await store._db.execute(
                "UPDATE minute_blocks SET status = ? WHERE hour = ?", (bytes([DOWN] * 60), hour)
            )
        broken = await store.verify_chains()
        assert broken is not None and broken.hour == hour
        # One unchanged row into the same hour re-seals it: the chain holds again ...
        unchanged = MinuteRow("svc", "agent", BASE + 119, DOWN, 100 + 119 % 7)
        await store.import_minutes([[unchanged]])
        assert await store.verify_chains() is None
        # ... but the trail says what the re-seal found, and keeps saying it.
        [entry] = await store.audit_entries()
        assert (entry.kind, entry.service, entry.span) == (
            TAMPER,
            "svc",
            (hour * 60, hour * 60 + 60),
        )
        [problem] = (await store.check_audit()).problems
        assert problem.describe() == (
            "audit entry #2: svc/agent hour 2026-04-26T01:00:00Z was edited outside slawatch"
            " (found when an import of import re-sealed it)"
        )
        # An honest write into a sealed hour finds nothing.
        await store.record_minutes([MinuteRow("svc", "agent", BASE + 5, DOWN)])
        assert len(await store.audit_entries()) == 1


def _login(pg_cluster: Cluster, url: str, role: str, group: str) -> str:
    pg_cluster.psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}')"
        f' THEN CREATE ROLE "{role}" LOGIN IN ROLE {group}; END IF; END $$'
    )
    return pg_cluster.url(url.rsplit("/", 1)[1], role)


async def test_postgres_roles_append_to_the_trail_and_never_change_it(
    pg_cluster: Cluster, pg_url: str
) -> None:
    async with await PostgresStore.open(pg_url, init=True) as owner:
        assert await owner.apply_roles() == []
    operator = _login(pg_cluster, pg_url, "ops-1", "slawatch_operator")
    agent = _login(pg_cluster, pg_url, "agent-1", "slawatch_agent")
    async with await PostgresStore.open(operator) as ops:
        await ops.add_maintenance("svc", BASE, BASE + 60, "CR-1", at=AT)
        for sql in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(SlawatchError, match="permission denied"):
                async with ops._write() as db:
                    await db.execute(sql)
    async with await PostgresStore.open(agent) as a:
        await a.record_minutes(rows(BASE, 30, source="agent-1"))
    async with await PostgresStore.open(pg_url) as owner, owner._write() as db:
        await db.execute("UPDATE minute_blocks SET status = ?", (bytes([DOWN] * 30 + [0] * 30),))
    async with await PostgresStore.open(agent) as a:  # the agent's next minute finds it
        await a.record_minutes([MinuteRow("svc", "agent-1", BASE + 30, UP, 1)])
    async with await PostgresStore.open(pg_url, readonly=True) as reader:
        kinds = [e.kind for e in await reader.audit_entries()]
        assert kinds == ["maintenance.add", TAMPER]
        [problem] = (await reader.check_audit()).problems
        assert problem.seq == 2 and "svc/agent-1 hour 2026-04-26T00:00:00Z" in problem.reason


async def _append(store: Store, n: int) -> None:
    for i in range(n):
        await store.add_maintenance("svc", BASE + 60 * i, BASE + 60 * i + 30, f"CR-{i}", at=AT)


async def _kept(store: Store) -> tuple[int, int, list[bytes]]:
    [(seq, size, blob)] = await store._db.fetchall("SELECT seq, size, hashes FROM audit_frontier")
    blob = bytes(blob)
    return int(seq), int(size), [blob[i : i + 32] for i in range(0, len(blob), 32)]


async def _heads(store: Store) -> list[bytes]:
    return [
        bytes(r[0]) for r in await store._db.fetchall("SELECT head FROM audit_log ORDER BY seq")
    ]


async def test_each_append_keeps_the_trees_frontier_and_rebuilds_a_missing_one(
    open_db: OpenDb,
) -> None:
    async with await open_db() as store:
        await _append(store, 11)
        leaves = await store.audit_leaves()
        assert await _kept(store) == (11, 11, merkle.frontier(leaves))  # 11 = 8 + 2 + 1
        assert await _heads(store) == list(merkle.roots(leaves))
        assert await store.audit_head() == (11, merkle.root(leaves))  # what a checkpoint signs
        async with store._db.transaction():  # a leaf rewritten: not what slawatch appended
            await store._db.execute("UPDATE audit_log SET leaf = ? WHERE seq = 3", (bytes(32),))
        assert await store.audit_head() == (11, merkle.root(leaves))
        async with store._db.transaction():  # as a database from before the frontier
            await store._db.execute("UPDATE audit_log SET leaf = ? WHERE seq = 3", (leaves[2],))
            await store._db.execute("DELETE FROM audit_frontier")
        assert await store.audit_head() == (11, merkle.root(leaves))  # from every leaf
        await _append(store, 2)
        leaves = await store.audit_leaves()
        assert await _kept(store) == (13, 13, merkle.frontier(leaves))
        assert await _heads(store) == list(merkle.roots(leaves))
        assert (await store.check_audit()).problems == ()
    async with await open_db(readonly=True) as reader:
        assert await reader.audit_head() == (13, merkle.root(leaves))


async def test_a_frontier_edited_behind_slawatchs_back_cannot_make_a_wrong_head_pass(
    open_db: OpenDb,
) -> None:
    async with await open_db() as store:
        await _append(store, 6)
        seq, size, hashes = await _kept(store)
        # A tree of one leaf, that leaf the last head: it folds to the head, but it is
        # not the tree of six entries a checkpoint is to sign.
        async with store._db.transaction():
            await store._db.execute(
                "UPDATE audit_frontier SET size = 1, hashes = ?", ((await _heads(store))[-1],)
            )
        assert await store.audit_head() == (6, merkle.root(await store.audit_leaves()))
        forged = [merkle.leaf_hash(b"forged"), *hashes[1:]]  # 6 = 4 + 2: the first four
        for edit in (  # each is rebuilt from the leaves: the frontier does not end at the head
            ("UPDATE audit_frontier SET hashes = ?", (b"".join(forged),)),
            ("UPDATE audit_frontier SET seq = ?, size = ?", (seq - 1, size - 1)),
            ("UPDATE audit_frontier SET hashes = ?", (b"".join(hashes) + bytes(32),)),
            ("INSERT INTO audit_frontier (seq, size, hashes) VALUES (?, ?, ?)", (seq, size, b"")),
        ):
            async with store._db.transaction():
                await store._db.execute(*edit)
            await _append(store, 1)
            leaves = await store.audit_leaves()
            assert await _heads(store) == list(merkle.roots(leaves)), edit[0]
            assert (await store.check_audit()).problems == ()
            seq, size, hashes = await _kept(store)
            assert (seq, size, hashes) == (len(leaves), len(leaves), merkle.frontier(leaves))
        # The frontier and the last head forged together, so that they agree: the
        # appender builds on them, and the verifier, which reads only the leaves, says so.
        forged = [merkle.leaf_hash(b"forged"), *hashes[1:]]
        async with store._db.transaction():
            await store._db.execute("UPDATE audit_frontier SET hashes = ?", (b"".join(forged),))
            await store._db.execute(
                "UPDATE audit_log SET head = ? WHERE seq = ?", (merkle.frontier_root(forged), seq)
            )
        await _append(store, 2)
        assert (await _heads(store))[-1] == merkle.frontier_root(
            merkle.append(merkle.append(forged, size, (await store.audit_leaves())[-2]),
                          size + 1, (await store.audit_leaves())[-1])
        )  # fmt: skip
        problems = (await store.check_audit()).problems
        assert [p.describe() for p in problems] == [
            f"audit entry #{seq}: the tree head stored with it does not hold"
        ]


async def test_a_frontier_changed_after_every_append_is_said_once_and_costs_the_entries_since(
    open_db: OpenDb, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """An agent role may write ``audit_frontier``: a compromised agent changing it after
    every append made each append of every writer read the whole trail again, and
    nobody was told. Now it is said once (a warning naming the table), and a writer
    that appended before rebuilds it from its own last tree and the entries since."""
    import store.audit as audit

    monkeypatch.setattr(audit, "_told_frontier", False)
    async with await open_db() as store:
        await _append(store, 5)
        reads: list[int] = []
        fetchall = store._db.fetchall

        async def spy(
            sql: str, params: tuple[object, ...] = (), **kw: bool
        ) -> list[tuple[object, ...]]:
            if sql.startswith("SELECT leaf FROM audit_log WHERE seq > ?"):
                reads.append(int(str(params[0])))
            return await fetchall(sql, params, **kw)

        monkeypatch.setattr(store._db, "fetchall", spy)
        with caplog.at_level("WARNING", logger="slawatch.store"):
            for n in range(3):
                async with store._db.transaction():
                    await store._db.execute("UPDATE audit_frontier SET hashes = ?", (bytes(32),))
                await _append(store, 1)
                assert reads[-1] == 5 + n  # before: every leaf (and nothing said)
        leaves = await store.audit_leaves()
        assert await _heads(store) == list(merkle.roots(leaves))
        assert await _kept(store) == (8, 8, merkle.frontier(leaves))
        assert (await store.check_audit()).problems == ()
    told = [r.getMessage() for r in caplog.records if r.name == "slawatch.store"]
    assert len(told) == 1 and "audit_frontier" in told[0] and "#5" in told[0], told
