"""The hash chains in a real SQLite file: kept by every write, broken by any edit behind them."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from core import chain
from store import Store
from store.rows import MinuteRow
from store.sqlite import SqliteStore
from tests.claims.conftest import World
from tests.conftest import OpenDb, run_cli

BASE = 29_619_360  # 2026-04-26T00:00Z, a whole hour


def rows(start: int, count: int, status: int = 1, source: str = "agent") -> list[MinuteRow]:
    return [MinuteRow("svc", source, start + i, status, 100 + i % 50, None) for i in range(count)]


async def test_writes_keep_every_chain_whole(open_db: OpenDb) -> None:
    async with await open_db() as store:
        await store.record_minutes(rows(BASE, 180))
        await store.record_minutes(rows(BASE + 180, 30, status=3, source="other"))
        summary = await store.check_chains()
        assert (summary.chains, summary.hours, summary.breaks) == (2, 4, ())
        # A back-fill into the first hour re-seals it and re-links the two after it.
        await store.record_minutes([MinuteRow("svc", "agent", BASE + 5, 3, None, "timeout")])
        assert await store.verify_chains() is None
        # Re-recording the same minutes changes no seal.
        before = await _seals(store)
        await store.import_minutes([rows(BASE, 180)[60:]])
        assert await _seals(store) == before


async def test_minute_by_minute_writes_seal_as_one_write_of_the_end_state(
    open_db: OpenDb, tmp_path: Path
) -> None:
    """The minute write seals from what it wrote (no read-back): errors added, changed
    and cleared minute by minute, over three services, give the seals that one import
    of the end state gives in a fresh store."""
    steps = [
        [MinuteRow(f"s{k}", "a", BASE + m, 1 + (m + k) % 3, 90 + m, None if m % 4 else "timeout")
         for k in range(3)]
        for m in range(70)
    ]  # fmt: skip
    steps.append([MinuteRow("s1", "a", BASE + 8, 1, 80, None)])  # an error cleared
    steps.append([MinuteRow("s2", "a", BASE + 9, 3, None, "status:503")])  # one changed
    steps.append([MinuteRow("s0", "a", BASE + 12, 3, None, "reset")])  # and one replaced
    final: dict[tuple[str, int], MinuteRow] = {}
    for step in steps:
        final.update({(r.service, r.minute): r for r in step})
    async with await open_db() as store:
        for step in steps:
            await store.record_minutes(step)
        assert await store.verify_chains() is None
        stepwise = await _seals(store)
        errors = await store.minute_errors("s0", BASE, BASE + 70)
    async with await SqliteStore.open(tmp_path / "once.db") as once:
        await once.import_minutes([sorted(final.values())])
        assert await _seals(once) == stepwise
        assert await once.minute_errors("s0", BASE, BASE + 70) == errors
    assert (BASE + 12, "a", "reset") in errors and len(stepwise) == 6


async def test_chains_pick_up_from_their_last_seal_hours_back(
    open_db: OpenDb, tmp_path: Path
) -> None:
    """A minute write hours after its chains' last seals (older than the seals read
    with the write) links each chain from its own last seal, a new chain from its
    genesis, all found in one query: the seals are those of one import of every row."""
    first = [MinuteRow(f"s{k}", "a", BASE + 10 + k, 1, 100 + k, None) for k in range(3)]
    first.append(MinuteRow("s0", "a", BASE + 70, 2, 400, None))  # s0 also an hour later
    later = [MinuteRow(f"s{k}", "a", BASE + 5 * 60 + 3, 3, None, "timeout") for k in range(4)]
    async with await open_db() as store:
        await store.record_minutes(first)
        await store.record_minutes(later)  # s3 is new: its chain starts here
        assert await store.verify_chains() is None
        got = await _seals(store)
    async with await SqliteStore.open(tmp_path / "once.db") as once:
        await once.import_minutes([sorted(first + later)])
        assert await _seals(once) == got
    assert len(got) == 3 + 1 + 4  # s0..s2 first hour, s0 second hour, s0..s3 five hours on


async def _seals(store: Store) -> list[tuple[int, bytes]]:
    found = await store._db.fetchall("SELECT hour, link FROM chain_seals ORDER BY service_id, hour")
    return [(int(h), bytes(lk)) for h, lk in found]


@pytest.mark.parametrize(
    ("sql", "params", "reason"),
    [
        (
            "UPDATE minute_blocks SET status = ? WHERE hour = ?",
            (bytes([1] * 30 + [3] * 30), BASE // 60 + 1),
            "records do not match the hour's seal",
        ),
        (
            "DELETE FROM minute_blocks WHERE hour = ?",
            (BASE // 60 + 1,),
            "sealed hour has no records (deleted)",
        ),
        (
            "INSERT INTO minute_blocks SELECT service_id, hour + 5, source_id, status, latency"
            " FROM minute_blocks WHERE hour = ?",
            (BASE // 60 + 1,),
            "records in an hour that was never sealed",
        ),
        (
            "UPDATE chain_seals SET link = zeroblob(32) WHERE hour = ?",
            (BASE // 60 + 1,),
            "link does not follow from the previous one",
        ),
        (
            "UPDATE minute_errors SET error_id = (SELECT MAX(id) FROM error_texts)",
            (),
            "records do not match the hour's seal",
        ),
    ],
    ids=["edit-status", "delete-hour", "insert-hour", "edit-link", "edit-error"],
)
async def test_edits_behind_the_store_are_caught(
    tmp_path: Path, sql: str, params: tuple[object, ...], reason: str
) -> None:
    path = tmp_path / "s.db"
    async with await SqliteStore.open(path) as store:
        await store.record_minutes(rows(BASE, 180))
        await store.record_minutes(
            [MinuteRow("svc", "agent", BASE + 70, 3, None, "timeout"),
             MinuteRow("svc", "agent", BASE + 71, 3, None, "dns")]
        )  # fmt: skip
        assert await store.verify_chains() is None
    db = sqlite3.connect(path)
    db.execute(sql, params)
    db.commit()
    db.close()
    async with await SqliteStore.open(path, readonly=True) as store:
        found = await store.verify_chains()
    assert found is not None
    assert (found.service, found.source, found.reason) == ("svc", "agent", reason)
    hour = BASE // 60 + (6 if "never sealed" in reason else 1)
    assert found.hour == hour


def test_store_verify_command_catches_a_direct_edit(world: World, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(world.config.read_text(), encoding="utf-8")
    (tmp_path / "data").mkdir()
    db_copy = tmp_path / "data" / "slawatch.db"
    shutil.copy(world.db, db_copy)
    ok = run_cli("--config", config, "store", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "1 chains" in ok.stdout and "OK" in ok.stdout
    hour = 29_853_120 // 60  # 2026-10-05T08:00Z
    db = sqlite3.connect(db_copy)
    (status,) = db.execute("SELECT status FROM minute_blocks WHERE hour = ?", (hour,)).fetchone()
    edited = bytes(status[:17]) + b"\x01" + bytes(status[18:])
    assert edited == status  # the minute was up: make it down instead
    db.execute(
        "UPDATE minute_blocks SET status = ? WHERE hour = ?",
        (bytes(status[:17]) + b"\x03" + bytes(status[18:]), hour),
    )
    db.commit()
    db.close()
    broken = run_cli("--config", config, "store", "verify")
    assert broken.returncode == 1
    assert (
        "first broken link: chain portal/agent hour 2026-10-05T08:00:00Z: "
        "records do not match the hour's seal" in broken.stdout
    )


def test_pure_chain_finds_the_first_break() -> None:
    status = bytes([1] * 60)
    latency = b"\xff" * 120
    digests = [(h, chain.hour_digest("s", "a", h, status, latency, ())) for h in (10, 11, 13)]
    seals = chain.relink(chain.genesis("s", "a"), digests)
    gen = chain.genesis("s", "a")
    assert chain.first_break("s", "a", gen, seals, digests) is None
    # Another chain's genesis does not fit.
    assert chain.first_break("s", "b", chain.genesis("s", "b"), seals, digests) is not None
    changed = [digests[0], (11, chain.hour_digest("s", "a", 11, status, latency, ((5, "x"),)))]
    found = chain.first_break("s", "a", gen, seals, [*changed, digests[2]])
    assert found is not None and found.hour == 11
    with pytest.raises(ValueError, match="ascend"):
        chain.verdict_digest(status, ((5, "a"), (5, "b")))


async def test_extend_with_known_blocks_seals_like_the_row_scan(open_db: OpenDb) -> None:
    """A writer may name the touched blocks by id instead of handing over rows to scan."""
    async with await open_db() as store:
        await store.record_minutes(rows(BASE, 120))
        before = await _seals(store)
        hour = BASE // 60 + 1
        async with store._write() as db:
            await db.execute(
                "UPDATE minute_blocks SET status = ? WHERE hour = ?", (bytes([3] * 60), hour)
            )
            await store._extend_chains(db, rows(BASE + 60, 60, status=3), blocks=[(1, hour, 1)])
        after = await _seals(store)
        assert after[0] == before[0] and after[1] != before[1]
        assert await store.verify_chains() is None


async def test_chain_heads_and_links_for_checkpoints(open_db: OpenDb) -> None:
    """Each chain's latest seal (what a checkpoint vouches for), on both backends."""
    async with await open_db() as store:
        assert await store.chain_heads() == []
        await store.record_minutes(rows(BASE, 150))  # hours 0, 1, 2 of "agent"
        await store.record_minutes(rows(BASE, 30, source="other"))  # hour 0 of "other"
        seals = dict(await _seals_of(store))
        heads = await store.chain_heads()
        assert [(s, src, h) for s, src, h, _ in heads] == [
            ("svc", "agent", BASE // 60 + 2),
            ("svc", "other", BASE // 60),
        ]
        assert heads[0][3] == seals[("agent", BASE // 60 + 2)]
        assert await store.chain_heads("other") == [heads[1]]
        # Complete hours only (a checkpoint's): the latest seal before the hour given.
        before = await store.chain_heads("agent", before_hour=BASE // 60 + 2)
        assert [(h, lk) for _s, _src, h, lk in before] == [
            (BASE // 60 + 1, seals[("agent", BASE // 60 + 1)])
        ]
        assert await store.chain_heads(before_hour=BASE // 60) == []
        wanted = [("svc", "agent", BASE // 60 + 1), ("svc", "agent", BASE // 60 + 9),
                  ("nope", "agent", BASE // 60)]  # fmt: skip
        links = await store.chain_links(wanted)
        assert links == {("svc", "agent", BASE // 60 + 1): seals[("agent", BASE // 60 + 1)]}
        # Every head in one query of chain_seals (beside the two name tables), however many
        hours = range(BASE // 60, BASE // 60 + 3)
        asked = [("svc", src, h) for src in ("agent", "other") for h in hours]
        queries: list[str] = []
        fetchall = store._db.fetchall

        async def counted(
            sql: str, params: Sequence[Any] = (), *, binary: bool = False
        ) -> list[tuple[Any, ...]]:
            queries.append(sql)
            return await fetchall(sql, params, binary=binary)

        store._db.fetchall = counted  # type: ignore[method-assign]
        links = await store.chain_links(asked)
        assert links == {("svc", src, h): seals[(src, h)] for (src, h) in seals}
        assert sum("chain_seals" in q for q in queries) == 1, queries


async def _seals_of(store: Store) -> list[tuple[tuple[str, int], bytes]]:
    found = await store._db.fetchall(
        "SELECT s.name, c.hour, c.link FROM chain_seals c JOIN sources s ON s.id = c.source_id"
    )
    return [((str(n), int(h)), bytes(lk)) for n, h, lk in found]


@pytest.mark.parametrize(
    ("sql", "params"),
    [
        ("UPDATE minute_blocks SET status = ?", (bytes([2] * 60),)),  # the verdicts
        ("UPDATE minute_blocks SET latency = ?", (bytes(120),)),  # only the latencies
        ("UPDATE minute_errors SET error_id = (SELECT id FROM error_texts WHERE text = ?)",
         ("dns",)),  # only an error class
    ],
    ids=["status", "latency", "error"],
)  # fmt: skip
async def test_an_agent_writing_on_finds_an_edit_made_since_its_last_minute(
    open_db: OpenDb, sql: str, params: tuple[object, ...]
) -> None:
    """The writer remembers the digests of the blocks it wrote (so that its next
    minute need not hash them again): an edit behind its back between two of its
    minutes is still found and kept in the audit trail, on both backends."""
    minute = [MinuteRow(f"s{k}", "agent", BASE + 1, 1, 90, "timeout") for k in range(3)]
    async with await open_db() as writer, await open_db() as other:
        await writer.record_minutes([r._replace(minute=BASE) for r in minute])
        await writer.record_minutes(minute)
        await other.record_minutes([MinuteRow("x", "agent", BASE + 9, 3, None, "dns")])
        edit = " AND service_id = (SELECT id FROM services WHERE name = 's1')"
        await other._db.execute(f"{sql} WHERE source_id > 0{edit}", params)
        await writer.record_minutes([r._replace(minute=BASE + 2) for r in minute])
        tamper = [e for e in await writer.audit_entries() if e.kind == "store.tamper"]
        assert [e.service for e in tamper] == ["s1"]
        assert tamper[0].before["sealed"] and tamper[0].after["found"] != tamper[0].before["sealed"]
        assert await writer.verify_chains() is None  # the edit is re-sealed, and on record
