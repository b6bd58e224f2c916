"""Notifications still owed, in a fleet (#10): an agent's outage notifications that some
notifier has not had yet (a webhook down, retried) sit in its spool; its forwarder
ships how many, and the minute the oldest reports, with its health row, so ``fleet
status`` (and ``--json``: ``notifications_waiting``, as ``status --json`` says it on a
single machine) shows them, not only the agent's log."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from agent.forwarder import Forwarder
from core.timeutil import from_minute, iso_z
from store.health import AgentHealth
from store.postgres import PostgresStore
from store.rows import Notice
from store.sqlite import SqliteStore
from tests import configs
from tests.conftest import RunCli
from tests.fleetkit import agent_role, init_fleet
from tests.pg import Cluster

M0 = 29_000_040  # an epoch minute
AT = datetime(2025, 2, 20, 12, 0, tzinfo=UTC)
FLEET_KEYS = {"name", "last_seen", "backlog_minutes", "clock_offset_seconds", "version"}


def _notice(minute: int, event: str) -> Notice:
    return Notice(f"oslo-1/web/{minute}/{event}", 2 * minute + (event == "end"), "{}")


async def _pg_owed(url: str) -> tuple[int, datetime | None]:
    async with await PostgresStore.open(url, readonly=True) as pg:
        [h] = [h for h in await pg.agent_health() if h.source == "oslo-1"]
        return h.notices_waiting, h.notices_since


async def test_the_forwarder_ships_the_notifications_owed(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str, run_cli: RunCli
) -> None:
    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "oslo-1")
    spool_path = tmp_path / "spool.db"
    owed = [_notice(M0, "start"), _notice(M0, "end"), _notice(M0 + 30, "start")]
    async with await SqliteStore.open(spool_path) as spool:
        await spool.record_health(AgentHealth("oslo-1", AT, 0, 0))
        await spool.save_agent_state("oslo-1", M0, [], owed)
    forwarder = Forwarder(spool_path, url, "oslo-1")
    try:
        await forwarder.step()
        assert await _pg_owed(pg_url) == (3, from_minute(M0))

        # What fleet status says of it, read from PostgreSQL by a reader role.
        pg_cluster.psql(  # roles are the cluster's: another test may have made it
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'owed-reader')"
            ' THEN CREATE ROLE "owed-reader" LOGIN IN ROLE slawatch_reader; END IF; END $$'
        )
        config = tmp_path / "reader.toml"
        config.write_text(
            configs.toml(url=pg_cluster.url(pg_url.rsplit("/", 1)[1], "owed-reader"),
                         contracts=[configs.contract("c")],
                         services=[configs.service("web", "c")]),
            encoding="utf-8",
        )  # fmt: skip
        done = await asyncio.to_thread(run_cli, "--config", config, "fleet", "status", "--json")
        assert done.returncode == 0, done.stderr
        [agent] = json.loads(done.stdout)["agents"]
        assert set(agent) >= FLEET_KEYS
        assert (agent["notifications_waiting"], agent["notifications_waiting_since"]) == (
            3,
            iso_z(from_minute(M0)),
        )
        text = await asyncio.to_thread(run_cli, "--config", config, "fleet", "status")
        assert "agent oslo-1: 3 outage notification(s) not yet delivered to every notifier" in (
            " ".join(text.stdout.split())
        ), text.stdout

        # Delivered at last: the next round says so at once (not after 30 s).
        async with await SqliteStore.open(spool_path) as spool:
            await spool.forget_notices("oslo-1", [n.id for n in owed[:2]])
        await forwarder.step()
        assert await _pg_owed(pg_url) == (1, from_minute(M0 + 30))
        async with await SqliteStore.open(spool_path) as spool:
            await spool.forget_notices("oslo-1", [owed[2].id])
        await forwarder.step()
        assert await _pg_owed(pg_url) == (0, None)
        done = await asyncio.to_thread(run_cli, "--config", config, "fleet", "status", "--json")
        [agent] = json.loads(done.stdout)["agents"]
        assert (agent["notifications_waiting"], agent["notifications_waiting_since"]) == (0, None)
    finally:
        await forwarder.close()


async def test_notices_copied_by_store_migrate_do_not_outvote_the_agent(
    tmp_path: Path, pg_url: str
) -> None:
    """Moving up (``store migrate``) while a webhook was down copies the single machine's
    saved notifications into PostgreSQL, where no agent ever forgets them (a fleet
    agent keeps its own in its spool). The agent of that name, now forwarding, says it
    owes none: its word is what fleet status shows, not the copied ones for good."""
    from store.copy import copy_store

    single = tmp_path / "slawatch.db"
    async with await SqliteStore.open(single) as src:
        await src.record_health(AgentHealth("oslo-1", AT, 0, 0))
        await src.save_agent_state("oslo-1", M0, [], [_notice(M0, "start")])
        async with await PostgresStore.open(pg_url, init=True) as dst:
            await copy_store(src, dst)
    async with await PostgresStore.open(pg_url, readonly=True) as pg:
        assert await pg._fetchall("SELECT count(*) FROM agent_notices") == [(1,)]  # copied
    spool_path = tmp_path / "spool.db"
    async with await SqliteStore.open(spool_path) as spool:
        await spool.record_health(AgentHealth("oslo-1", AT, 0, 0))
    forwarder = Forwarder(spool_path, pg_url, "oslo-1")
    try:
        await forwarder.step()
    finally:
        await forwarder.close()
    assert await _pg_owed(pg_url) == (0, None)
