"""The store against real SQLite files in tmp_path and a real PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import pytest

from core.errors import InputError, SlawatchError
from core.status import DEGRADED, DOWN, UP
from core.timeutil import YearMonth
from store import MinuteRow, ProbeState
from store.schema import LATEST, MIGRATIONS
from store.sqlite import SqliteStore
from tests.conftest import OpenDb

T0 = 29_000_040  # an epoch minute on an hour boundary


async def test_open_creates_private_wal_file_and_migrates(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "slawatch.db"
    async with await SqliteStore.open(path) as store:
        assert store.path == path
        await store.record_minutes([MinuteRow("portal", "agent", T0, UP)])
        wal = path.with_name(path.name + "-wal")
        assert stat.S_IMODE(os.stat(wal).st_mode) == 0o600  # SQLite copies the file's mode
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    async with aiosqlite.connect(path) as db:
        async with db.execute("PRAGMA journal_mode") as cur:
            assert (await cur.fetchone()) == ("wal",)
        async with db.execute("SELECT version FROM schema_version") as cur:
            assert [tuple(r) for r in await cur.fetchall()] == [(LATEST,)]
    assert len(MIGRATIONS) == LATEST
    # Reopening runs nothing twice.
    async with await SqliteStore.open(path):
        pass


async def test_readonly_missing_file_reads_empty_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    async with await SqliteStore.open(path, readonly=True) as store:
        assert await store.minutes("portal", T0, T0 + 10) == {}
        assert await store.cases() == []
    assert not path.exists()


async def test_not_a_database_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(SlawatchError, match=r"junk\.db"):
        await SqliteStore.open(path)


async def test_minutes_round_trip_idempotent_across_hours_and_sources(open_db: OpenDb) -> None:
    rows = [
        MinuteRow("portal", "a", T0 + 58, UP, 120),
        MinuteRow("portal", "a", T0 + 59, DOWN, None, "timeout"),
        MinuteRow("portal", "a", T0 + 61, DEGRADED, 70_000),
        MinuteRow("portal", "b", T0 + 59, UP, 80),
        MinuteRow("other", "a", T0 + 59, DOWN),
    ]
    async with await open_db() as store:
        await store.record_minutes(rows)
        await store.record_minutes(rows)
        got = await store.minutes("portal", T0 + 57, T0 + 63)
        assert got == {"a": bytes([0, UP, DOWN, 0, DEGRADED, 0]), "b": bytes([0, 0, UP, 0, 0, 0])}
        assert await store.latencies("portal", T0 + 57, T0 + 63) == [
            (T0 + 58, 120),
            (T0 + 59, 80),
            (T0 + 61, 0xFFFE),
        ]
        assert await store.minute_errors("portal", T0, T0 + 120) == [(T0 + 59, "a", "timeout")]
        # Re-recording a minute replaces it, error included.
        await store.record_minutes([MinuteRow("portal", "a", T0 + 59, UP, 90)])
        assert (await store.minutes("portal", T0 + 59, T0 + 60))["a"] == bytes([UP])
        assert await store.minute_errors("portal", T0, T0 + 120) == []
        assert await store.data_bounds("portal") == (T0, T0 + 120)
        assert await store.minutes("nobody", T0, T0 + 5) == {}
        # The newest minute of any source: a's T0+61 (b's T0+59 is older).
        until = await store.recorded_until_of(["portal", "other", "nobody"])
        assert until == {"portal": T0 + 62, "other": T0 + 60}


async def test_import_rolls_back_everything_when_a_batch_fails(open_db: OpenDb) -> None:
    def batches() -> Iterator[list[MinuteRow]]:
        yield [MinuteRow("portal", "csv", T0, DOWN)]
        raise InputError("f.csv: line 3", "bad")

    async with await open_db() as store:
        with pytest.raises(InputError):
            await store.import_minutes(batches())
        assert await store.minutes("portal", T0, T0 + 1) == {}
        # The ids created inside the failed transaction are not reused by mistake.
        assert await store.import_minutes([[MinuteRow("portal", "csv", T0, UP)]]) == 1
        assert await store.minutes("portal", T0, T0 + 1) == {"csv": bytes([UP])}


async def test_probe_states_keep_the_newest(open_db: OpenDb) -> None:
    t1 = datetime(2026, 10, 3, 14, 5, 7, 250_000, tzinfo=UTC)
    t0 = datetime(2026, 10, 3, 14, 4, tzinfo=UTC)
    async with await open_db() as store:
        await store.record_probe(ProbeState("portal", "agent", t1, DOWN, None, "timeout"))
        await store.record_probe(ProbeState("portal", "agent", t0, UP, 40, None))
        await store.record_probe(ProbeState("api", "agent", t0, UP, 40, None))
        states = await store.probe_states()
    assert states == [
        ProbeState("api", "agent", t0, UP, 40, None),
        ProbeState("portal", "agent", t1, DOWN, None, "timeout"),
    ]


async def test_cases_lifecycle_and_links(open_db: OpenDb) -> None:
    opened = datetime(2026, 10, 3, 14, 5, tzinfo=UTC)
    async with await open_db() as store:
        case = await store.open_case("portal", "critical", "down", opened, ref="P-1")
        assert case.id == 1 and case.ref == "P-1" and case.links == ()
        with pytest.raises(InputError, match="before"):
            await store.respond_case(case.id, opened.replace(hour=13))
        case = await store.respond_case(case.id, opened.replace(minute=20))
        with pytest.raises(InputError, match="already"):
            await store.respond_case(case.id, opened.replace(minute=25))
        case = await store.link_case(case.id, 100, 160)
        case = await store.link_case(case.id, 10, 20)
        assert case.links == ((10, 20), (100, 160))
        other = await store.open_case("api", "low", "slow", opened.replace(hour=15))
        assert [c.id for c in await store.cases()] == [1, 2]
        await store.resolve_case(case.id, opened.replace(hour=16))
        assert [c.id for c in await store.cases(open_only=True)] == [other.id]
        assert [c.id for c in await store.cases(service="portal")] == [1]
        with pytest.raises(InputError, match="no case with id 9"):
            await store.respond_case(9, opened)
        assert await store.get_case(9) is None


async def test_case_events_kept_in_order_and_refused_changes_write_nothing(
    open_db: OpenDb,
) -> None:
    opened = datetime(2026, 10, 3, 14, 0, tzinfo=UTC)
    at = opened.replace
    async with await open_db() as store:
        case = await store.open_case("portal", "B", "slow", opened)
        await store.change_priority(case.id, "A", at(hour=15), "customer re-rated")
        await store.escalate_case(case.id, 2, at(hour=15, minute=30))
        await store.request_rca(case.id, at(hour=16))
        await store.add_wait(case.id, at(hour=16, minute=10), None, "logs")
        await store.add_wait(case.id, at(hour=16, minute=10), at(hour=17), "logs sent")
        await store.change_priority(case.id, "B", at(hour=18), None)
        await store.deliver_rca(case.id, at(hour=19))
        for refused in (
            store.change_priority(case.id, "A", at(hour=17), None),  # before the last change
            store.change_priority(case.id, "B", at(hour=20), None),  # already B
            store.escalate_case(case.id, 2, at(hour=20)),  # already level 2
            store.escalate_case(case.id, 5, at(hour=20)),
            store.request_rca(case.id, at(hour=20)),  # already requested
            store.add_wait(case.id, at(hour=16, minute=30), None, "x"),  # overlaps
        ):
            with pytest.raises(InputError):
                await refused
        await store.resolve_case(case.id, at(hour=21))
        with pytest.raises(InputError, match="already resolved"):
            await store.resolve_case(case.id, at(hour=21))
        with pytest.raises(InputError, match="resolved at"):
            await store.escalate_case(case.id, 3, at(hour=22))
    async with await open_db(readonly=True) as store:
        got = await store.get_case(case.id)
    assert got is not None
    assert [(p.priority, p.at.hour, p.reason) for p in got.priority_history] == [
        ("B", 14, None),
        ("A", 15, "customer re-rated"),
        ("B", 18, None),
    ]
    assert got.priority == "B" and got.escalation_level == 2
    assert [(e.level, e.at.minute) for e in got.escalation_history()] == [(1, 0), (2, 30)]
    assert (got.rca_requested_at, got.rca_delivered_at) == (at(hour=16), at(hour=19))
    assert [(w.start, w.end, w.reason) for w in got.waits] == [
        (at(hour=16, minute=10), at(hour=17), "logs sent")
    ]
    assert got.resolved_at == at(hour=21)


async def test_windows_and_settled_credits(open_db: OpenDb) -> None:
    async with await open_db() as store:
        await store.add_maintenance("portal", 100, 200, "upgrade")
        await store.add_exclusion("portal", 300, 310, "upstream")
        with pytest.raises(InputError):
            await store.add_exclusion("portal", 310, 300, "backwards")
        got = await store.windows("portal", 150, 305)
        assert [(w.start, w.end, w.kind, w.reason) for w in got] == [
            (100, 200, "maintenance", "upgrade"),
            (300, 310, "exclusion", "upstream"),
        ]
        assert await store.windows("portal", 200, 300) == []
        now = datetime(2026, 11, 2, tzinfo=UTC)
        await store.settle_credit("portal", YearMonth(2026, 10), now)
        await store.settle_credit("portal", YearMonth(2026, 10), now)
        assert [(s.service, s.month) for s in await store.settlements()] == [("portal", "2026-10")]
        assert await store.settlements("api") == []


async def test_reader_sees_committed_writes_of_another_connection(open_db: OpenDb) -> None:
    async with (
        await open_db() as writer,
        await open_db(readonly=True) as reader,
    ):
        await writer.record_minutes([MinuteRow("portal", "agent", T0, DOWN)])
        assert await reader.minutes("portal", T0, T0 + 1) == {"agent": bytes([DOWN])}
        with pytest.raises(RuntimeError):
            await reader.record_minutes([MinuteRow("portal", "agent", T0, UP)])


async def test_an_older_file_is_migrated_even_by_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        await db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for statement in MIGRATIONS[0].statements:
            await db.execute(statement)
        await db.execute("INSERT INTO schema_version (version) VALUES (1)")
        await db.execute("INSERT INTO services (name) VALUES ('portal')")
    assert LATEST > 1  # the hash chain's migration follows the initial schema
    async with await SqliteStore.open(path, readonly=True) as store:
        assert await store.minutes("portal", T0, T0 + 1) == {}
    async with (
        aiosqlite.connect(path) as db,
        db.execute("SELECT version FROM schema_version") as cur,
    ):
        assert [tuple(r) for r in await cur.fetchall()] == [(LATEST,)]


async def test_a_database_that_cannot_be_created_is_a_user_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(SlawatchError, match="cannot create database"):
        await SqliteStore.open(blocker / "slawatch.db")


async def test_concurrent_lookups_share_one_read_of_the_names(open_db: OpenDb) -> None:
    """Every service's figures are gathered at once; their id lookups must not each
    read the whole services table (the dashboard's month pass depended on this)."""
    async with await open_db() as store:
        await store.record_minutes(
            [MinuteRow(f"svc{i}", "agent", 29_000_000, 1) for i in range(200)]
        )
    async with await open_db(readonly=True) as store:
        reads = 0
        names = store._names

        async def counting(table: str) -> dict[int, str]:
            nonlocal reads
            reads += 1
            return await names(table)

        store._names = counting  # type: ignore[method-assign]
        got = await asyncio.gather(
            *(store.minutes(f"svc{i}", 29_000_000, 29_000_001) for i in range(200))
        )
    assert all(g == {"agent": b"\x01"} for g in got)
    assert reads <= 2  # services and sources, each read once


async def test_batch_upsert_keeps_every_value_as_sent(open_db: OpenDb) -> None:
    """``Conn.upsert`` ships whole columns at once (PostgreSQL: packed binary arrays):
    extreme integers, empty and odd-length blobs, nulls and text arrive unchanged, and
    a second batch updates what the first inserted."""
    columns = (("service_id", "bigint"), ("source_id", "bigint"), ("at_us", "bigint"))
    extra = (("status", "bigint"), ("latency_ms", "bigint"), ("error", "text"))
    first = [
        (1, 1, -(2**63), 1, None, None),
        (2, 1, 2**63 - 1, 3, 7, "status:503"),
        (3, 2, 0, 2, 0, ""),
    ]
    second = [(2, 1, 5, 1, None, "ok"), (4, 2, -1, 1, 2**40, "new")]
    async with await open_db() as store:
        async with store._write() as db:
            for batch in (first, second):
                await db.upsert("probe_states", columns + extra, ("service_id", "source_id"), batch)
            await db.upsert(
                "chain_seals",
                (*columns[:2], ("hour", "bigint"), ("digest", "bytea"), ("link", "bytea")),
                ("service_id", "source_id", "hour"),
                [(1, 1, 7, b"", b"\x00" * 33), (1, 1, 8, b"\xff\x00\x01", bytes(range(256)))],
            )
        got = await store._db.fetchall(
            "SELECT service_id, source_id, at_us, status, latency_ms, error FROM probe_states"
            " ORDER BY service_id"
        )
        seals = await store._db.fetchall("SELECT hour, digest, link FROM chain_seals ORDER BY hour")
    assert [tuple(r) for r in got] == [first[0], second[0], first[2], second[1]]
    assert [(h, bytes(d), bytes(lk)) for h, d, lk in seals] == [
        (7, b"", b"\x00" * 33),
        (8, b"\xff\x00\x01", bytes(range(256))),
    ]


async def test_rows_said_to_be_stored_arrive_even_when_one_was_not(open_db: OpenDb) -> None:
    """``stored`` is a hint (PostgreSQL updates those rows in place first): a row said to
    be stored that is not (deleted meanwhile) is inserted all the same, and the others
    hold what was sent."""
    columns = (
        ("service_id", "bigint"),
        ("hour", "bigint"),
        ("source_id", "bigint"),
        ("status", "bytea"),
        ("latency", "bytea"),
    )
    key = ("service_id", "hour", "source_id")
    async with await open_db() as store:
        async with store._write() as db:
            await db.upsert("minute_blocks", columns, key, [(1, 7, 1, b"a", b"b")])
            for second in ([(1, 7, 1, b"c", b"d")], [(1, 7, 1, b"e", b"f"), (2, 7, 1, b"g", b"h")]):
                await db.upsert("minute_blocks", columns, key, second, stored=lambda row: True)
            await db.upsert(
                "minute_blocks", columns, key, [(3, 7, 1, b"i", b"j"), (1, 7, 1, b"k", b"l")],
                stored=lambda row: row[0] == 1,
            )  # fmt: skip
        got = await store._db.fetchall(
            "SELECT service_id, status, latency FROM minute_blocks ORDER BY service_id"
        )
    assert [(s, bytes(a), bytes(b)) for s, a, b in got] == [
        (1, b"k", b"l"), (2, b"g", b"h"), (3, b"i", b"j")
    ]  # fmt: skip


async def test_postgresql_leaves_room_for_the_hour_being_rewritten(pg_url: str) -> None:
    """The current hour's block and seal are rewritten every minute: PostgreSQL keeps
    room on their pages so that each rewrite is a HOT update (no index entry)."""
    from store.postgres import PostgresStore

    async with await PostgresStore.open(pg_url, init=True) as store:
        for minute in range(T0, T0 + 30):  # 50 blocks: two full pages and a bit
            await store.record_minutes([MinuteRow(f"s{k}", "a", minute, UP, 90) for k in range(50)])
        options = await store._db.fetchall(
            "SELECT relname, reloptions FROM pg_class"
            " WHERE relname IN ('minute_blocks', 'chain_seals') ORDER BY relname"
        )
        assert [tuple(r) for r in options] == [
            ("chain_seals", ["fillfactor=50"]),
            ("minute_blocks", ["fillfactor=70"]),
        ]
        await store._db.execute("SELECT pg_stat_force_next_flush()")
        counts = await store._db.fetchall(
            "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
            " WHERE relname IN ('minute_blocks', 'chain_seals') ORDER BY relname"
        )
    (_, seals, seals_hot), (_, blocks, blocks_hot) = counts
    assert blocks == 29 * 50 and blocks_hot > 0.5 * blocks  # without the room: next to none
    assert seals == 29 * 50 and seals_hot > 0.9 * seals  # half-full: nearly all


async def test_new_names_are_not_each_a_read_of_the_whole_table(open_db: OpenDb) -> None:
    """An agent starting with 10,000 new services: the table is read whole once, then
    each new name is added alone (reading it again per name was 50 million rows read
    in the first minute). A name another writer added meanwhile gets its one id."""
    async with await open_db() as store:
        await store.record_minutes([MinuteRow("old", "agent", T0, UP)])
    async with await open_db() as store, await open_db() as other:
        reads: list[str] = []
        names = store._names

        async def counting(table: str) -> dict[int, str]:
            reads.append(table)
            return await names(table)  # type: ignore[arg-type]

        store._names = counting  # type: ignore[method-assign,assignment]
        await store.record_minutes([MinuteRow("new0", "agent", T0, UP)])
        first = sorted(reads)  # the first write reads both tables (a few times at most)
        assert first and len(first) <= 4
        for i in range(1, 30):
            await store.record_minutes([MinuteRow(f"new{i}", "agent", T0, UP)])
        await other.record_minutes([MinuteRow("late", "other", T0, DOWN)])
        await store.record_minutes([MinuteRow("late", "agent", T0, UP)])
        assert sorted(reads) == first  # 30 new names later: not read again
    async with await open_db(readonly=True) as store:
        assert await store.minutes("late", T0, T0 + 1) == {
            "agent": bytes([UP]),
            "other": bytes([DOWN]),
        }
        assert await store.minutes("new29", T0, T0 + 1) == {"agent": bytes([UP])}


async def test_new_names_are_added_in_sorted_order_whatever_the_rows_order(
    open_db: OpenDb,
) -> None:
    """Two agents of a fleet adding the same new services in one transaction each, in
    different orders (a set's order differs between processes; rows come as probes
    finish), each waited on the other's uncommitted insert: a PostgreSQL deadlock, seen
    in the fleet fault test. Every batch write adds new names in sorted order, so the
    ids a fresh database gives are in name order however the rows came."""
    names = [f"svc{i:02d}" for i in range(40)]
    t0 = datetime(2026, 10, 3, 14, 0, tzinfo=UTC)
    async with await open_db() as store:
        await store.record_probes(
            [ProbeState(n, "z-agent", t0, UP, 5) for n in reversed(names[:10])]
        )
        await store.record_minutes(
            [
                MinuteRow(n, src, T0, DOWN, None, f"error {n}")
                for n in reversed(names[10:])
                for src in ("y-agent", "b-agent")
            ]
        )
        services = await store._db.fetchall("SELECT name FROM services ORDER BY id")
        sources = await store._db.fetchall("SELECT name FROM sources ORDER BY id")
        texts = await store._db.fetchall("SELECT text FROM error_texts ORDER BY id")
    assert [r[0] for r in services] == names
    assert [r[0] for r in sources] == ["z-agent", "b-agent", "y-agent"]
    assert [r[0] for r in texts] == [f"error {n}" for n in names[10:]]


async def test_a_request_is_kept_under_each_minute_judged_from_it(
    open_db: OpenDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An overrunning run's minute down by a request sent in the minute before, which
    timed out in it, keeps that request too, with the instant it failed (docs/probes.md);
    rows kept before this (the schema two versions back, one key per request) stay.
    Before, the second row was dropped: one row per request."""
    import store.postgres.backend as pg_backend
    import store.schema as schema
    import store.sqlite.backend as sqlite_backend
    from core.corroboration import Corroboration
    from store.rows import ProbeEvidence

    sent = datetime(2026, 11, 2, 9, 5, 25, tzinfo=UTC)
    minute = int(sent.timestamp()) // 60
    first = ProbeEvidence("web", "probe-1", minute, Corroboration(sent, "timeout"))
    with monkeypatch.context() as older:
        for module in (schema, pg_backend, sqlite_backend):
            older.setattr(module, "LATEST", LATEST - 2)
        async with await open_db() as store, store._write() as db:  # as slawatch wrote it
            await store._ensure_pairs([("web", "probe-1")])
            await db.execute(
                "INSERT INTO probe_evidence (service_id, source_id, at_us, minute, error)"
                " VALUES (?, ?, ?, ?, 'timeout')",
                (*await store._id_pair("web", "probe-1"), int(sent.timestamp()) * 10**6, minute),
            )
    failed = datetime(2026, 11, 2, 9, 6, 20, tzinfo=UTC)
    late = first._replace(minute=minute + 1, seen=Corroboration(sent, "timeout", failed_at=failed))
    async with await open_db() as store:
        assert await store.evidence_between("web", minute, minute + 2) == [first]
        await store.record_evidence([late])
        await store.record_evidence([first, late])  # again: nothing changes
        assert await store.evidence_between("web", minute, minute + 2) == [first, late]
        assert await store.evidence_after("probe-1", 0, 10) == [first, late]
