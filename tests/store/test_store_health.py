"""The agent's health row, with the fleet fields (issue 10), on both backends."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from store.health import AgentHealth
from store.schema import LATEST, MIGRATIONS
from store.sqlite import SqliteStore
from tests.conftest import OpenDb

AT = datetime(2026, 10, 3, 12, 0, 30, 250_000, tzinfo=UTC)


async def test_fleet_fields_round_trip_and_the_latest_word_wins(open_db: OpenDb) -> None:
    store = await open_db()
    try:
        await store.record_health(AgentHealth("paris-1", AT, 0, 0))
        first = AgentHealth(
            "lyon-2",
            AT,
            3,
            1,
            backlog_minutes=1440,
            spool_only_minutes=7,
            clock_offset_seconds=-2.345,
            version="0.1.0",
        )
        await store.record_health(first)
        later = AgentHealth("lyon-2", AT.replace(minute=5), 0, 1, backlog_minutes=0)
        got = await store.agent_health()
        assert [h.source for h in got] == ["lyon-2", "paris-1"]
        assert got[0] == first
        assert got[0].last_seen == AT
        plain = got[1]
        assert (plain.backlog_minutes, plain.spool_only_minutes) == (0, 0)
        assert (plain.clock_offset_seconds, plain.version) == (None, None)
        await store.record_health(later)
        assert (await store.agent_health())[0] == later  # offset and version: None again
    finally:
        await store.close()


async def test_a_database_from_before_the_fleet_fields_keeps_its_health_rows(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    before = MIGRATIONS.index(
        next(m for m in MIGRATIONS if "agent_health ADD COLUMN" in " ".join(m.statements))
    )
    async with aiosqlite.connect(path) as db:
        await db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for migration in MIGRATIONS[:before]:
            for statement in migration.statements:
                await db.execute(statement)
        await db.execute("INSERT INTO schema_version VALUES (?)", (before,))
        await db.execute("INSERT INTO sources (id, name) VALUES (1, 'old-agent')")
        await db.execute(
            "INSERT INTO agent_health (source_id, at_us, pending, dropped) VALUES (1, ?, 2, 0)",
            (round(AT.timestamp() * 1_000_000),),
        )
        await db.commit()
    async with await SqliteStore.open(path) as store:
        (health,) = await store.agent_health()
    assert health == AgentHealth("old-agent", AT, 2, 0)
    async with (
        aiosqlite.connect(path) as db,
        db.execute("SELECT version FROM schema_version") as cur,
    ):
        assert [tuple(r) for r in await cur.fetchall()] == [(LATEST,)]
