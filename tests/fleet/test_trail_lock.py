"""The audit trail's lock held by a session that is not slawatch's (any role may take
any advisory lock: a compromised agent's). Before, every append waited on it for as
long as it was held: an operator's ``case open`` hung, every agent's first minute of
an hour was stuck at the head of its outbox (each forwarding round cut by its 60 s
bound, the connection dropped, nothing sent: ``fleet status`` saw them all silent).
Now the wait is bounded (``TRAIL_LOCK_WAIT_S``, cut here to 0.5 s): the command fails
in one line naming the session, the agents' minutes wait in their spools while their
health still reaches PostgreSQL, and all of it goes once the lock is let go.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

import store.postgres.conn as pgconn
from agent.forwarder import Forwarder
from core.status import DOWN, UP
from slawatch.cli import main
from store import StoreBusy
from store.chain import CLOSE_SPREAD
from store.postgres import PostgresStore
from store.rows import MinuteRow
from store.sqlite import SqliteStore
from tests.fleetkit import agent_role, init_fleet, write_fleet_config
from tests.pg import Cluster

T0 = datetime(2026, 10, 3, 12, 58, tzinfo=UTC)
M0 = int(T0.timestamp()) // 60


@pytest.fixture
async def rogue(pg_cluster: Cluster, pg_url: str) -> AsyncIterator[psycopg.Connection[object]]:
    """A fleet's database (``store init``) and a session of another agent role holding
    the trail's lock, as it may."""
    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "rogue-9")
    with psycopg.connect(url, autocommit=True, application_name="rogue tool") as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (pgconn._SCHEMA_LOCK,))
        yield conn


@pytest.fixture(autouse=True)
def short_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgconn, "TRAIL_LOCK_WAIT_S", 0.5)


async def test_an_operator_command_fails_in_one_line_naming_the_holder(
    pg_url: str,
    tmp_path: Path,
    rogue: psycopg.Connection[object],
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = write_fleet_config(tmp_path, pg_url, "http://127.0.0.1:9")
    started = time.monotonic()
    argv = ["--config", str(config), "case", "open", "--service", "svc0", "--priority", "high",
            "--title", "portal down"]  # fmt: skip
    code = await asyncio.wait_for(asyncio.to_thread(main, argv), 20)  # before: hung
    took = time.monotonic() - started
    err = capsys.readouterr().err
    assert code == 2 and took < 10, (code, took)  # before: it waited as long as the holder
    assert len(err.strip().splitlines()) == 1, err
    assert "the audit trail's lock has been held for over 0.5 s by rogue tool" in err
    assert "role rogue-9" in err and "nothing was written" in err
    async with await PostgresStore.open(pg_url, readonly=True) as store:
        assert await store.cases() == []
    rogue.execute("SELECT pg_advisory_unlock_all()")
    assert await asyncio.to_thread(main, argv) == 0


async def test_agents_keep_spooling_and_reporting_then_forward_everything(
    pg_cluster: Cluster, pg_url: str, tmp_path: Path, rogue: psycopg.Connection[object]
) -> None:
    url = agent_role(pg_cluster, pg_url, "lyon-2")
    spool_path = tmp_path / "spool.db"
    forwarder = Forwarder(spool_path, url, "lyon-2")
    # 12:58, 12:59, 13:00 and 13:10: by then the agent has closed 12:00 (its close minute,
    # ``store.chain.close_minute``, is at most CLOSE_SPREAD), appending its seal.
    at = (0, 1, 2, 2 + CLOSE_SPREAD)
    rows = [MinuteRow("svc0", "lyon-2", M0 + i, DOWN if i == 2 else UP) for i in at]
    span = (M0, M0 + at[-1] + 1)
    gap = bytes(CLOSE_SPREAD - 1)
    try:
        async with await SqliteStore.open(spool_path) as spool:
            await spool.spool_minutes(rows[:2])
        assert await forwarder.step() == 2  # the hour's last minutes: nothing to append
        async with await SqliteStore.open(spool_path) as spool:
            await spool.spool_minutes(rows[2:])  # 13:00-13:10: the hour before is logged
        started = time.monotonic()
        with pytest.raises(StoreBusy, match=r"held for over 0\.5 s by rogue tool, role rogue-9"):
            await asyncio.wait_for(forwarder.step(), 20)  # before: hung (cut at 60 s, resent)
        assert time.monotonic() - started < 10
        async with await PostgresStore.open(pg_url, readonly=True) as pg:
            assert (await pg.minutes("svc0", *span))["lyon-2"] == bytes([UP, UP, 0, *gap, 0])
            (health,) = await pg.agent_health()  # the agent is seen, its backlog with it
            assert health.source == "lyon-2" and health.backlog_minutes == 2
        rogue.execute("SELECT pg_advisory_unlock_all()")
        assert await forwarder.step() == 2
    finally:
        await forwarder.close()
    async with await PostgresStore.open(pg_url, readonly=True) as pg:
        assert (await pg.minutes("svc0", *span))["lyon-2"] == bytes([UP, UP, DOWN, *gap, UP])
        assert (await pg.check_chains()).breaks == ()
        audit = await pg.check_audit()
        assert audit.problems == () and audit.entries >= 1  # the hour's seal, once
