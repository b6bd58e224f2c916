"""The fleet agent's spool and forwarder against a real PostgreSQL, as the agent's own role."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from agent.forwarder import Forwarder
from agent.runner import Agent
from core.dburl import mask_url
from core.status import DOWN, UP
from slawatch.cli import main
from store import StoreUnavailable
from store.postgres import PostgresStore
from store.rows import MinuteRow
from store.sqlite import SqliteStore
from tests.conftest import RunCli
from tests.fleetkit import (
    agent_role,
    init_fleet,
    load_quick,
    spool_and_postgres,
    write_fleet_config,
)
from tests.loopback import QuietHandler, serve
from tests.pg import Cluster

T0 = datetime(2026, 10, 3, 12, 0, 30, tzinfo=UTC)
SERVICES = ["svc0", "svc1"]


class HalfDown(QuietHandler):
    def do_GET(self) -> None:
        self.answer(503 if self.path.endswith("/1") else 200)


@pytest.fixture
def target() -> Iterator[str]:
    with serve(HalfDown) as port:
        yield f"http://127.0.0.1:{port}"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


async def run_minutes(agent: Agent, clock: Clock, n: int) -> None:
    for _ in range(n):
        for name in sorted(agent.targets):
            await agent.probe_service(name)
        clock.now += timedelta(minutes=1)
        await agent.tick()


async def run_until_back(
    tmp_path: Path,
    url: str,
    target: str,
    caplog: pytest.LogCaptureFixture,
    open_postgres: Callable[[str], Awaitable[PostgresStore]],
    minutes: int,
) -> None:
    """An agent records ``minutes`` into its spool, then its forwarder runs (opening
    PostgreSQL with ``open_postgres``) until it logs that forwarding works again."""
    config = load_quick(write_fleet_config(tmp_path, url, target))
    clock = Clock()
    agent = Agent(config, clock=clock)
    forwarder = Forwarder(
        tmp_path / "spool.db", url, "paris-1", clock=clock, tick=0.05, open_postgres=open_postgres
    )
    stopping = asyncio.Event()
    try:
        await run_minutes(agent, clock, minutes)
        with caplog.at_level(logging.INFO, logger="slawatch.agent.forwarder"):
            task = asyncio.create_task(forwarder.run(stopping))
            for _ in range(200):
                if "works again" in caplog.text:
                    break
                await asyncio.sleep(0.05)
            stopping.set()
            await task
    finally:
        await forwarder.close()
        assert await agent.stop(within=3)


async def test_the_agent_role_forwards_its_spool_oldest_first_once(
    tmp_path: Path, target: str, pg_cluster: Cluster, pg_url: str
) -> None:
    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "paris-1")
    config = load_quick(write_fleet_config(tmp_path, url, target))
    clock = Clock()
    agent = Agent(config, clock=clock)
    assert agent.forwarder is not None
    try:
        await run_minutes(agent, clock, 3)
        assert await agent.forwarder.step() == 6  # 2 services x 3 minutes
        await run_minutes(agent, clock, 2)
        assert await agent.forwarder.step() == 4
        assert await agent.forwarder.step() == 0  # nothing left: nothing re-sent
    finally:
        assert await agent.stop(within=3)
    spool, shared = await spool_and_postgres(tmp_path / "spool.db", pg_url, SERVICES)
    assert len(spool) == 10 and shared == spool
    assert {v for (s, _src, _m), v in spool.items() if s == "svc1"} == {DOWN}
    async with await PostgresStore.open(pg_url, readonly=True) as pg:
        (health,) = await pg.agent_health()
        assert (health.source, health.backlog_minutes, health.spool_only_minutes) == (
            "paris-1", 0, 0,
        )  # fmt: skip
        assert health.version == "0.1.0"
        # The agent's clock is the hand-turned T0 + 5 min: the offset says how far off.
        assert health.clock_offset_seconds is not None
        assert health.clock_offset_seconds < -1e6  # years behind PostgreSQL's clock
        states = {(p.service, p.source) for p in await pg.probe_states()}
        assert states == {("svc0", "paris-1"), ("svc1", "paris-1")}
        errors = await pg.minute_errors("svc1", 0, 2**40)
        assert {e for _m, _s, e in errors} == {"status:503"}
        assert (await pg.check_chains()).breaks == ()
        # Each failing probe's corroboration reached PostgreSQL too, once (#15 item 6).
        seen = await pg.evidence_between("svc1", 0, 2**40)
        assert len(seen) == 5 and {e.source for e in seen} == {"paris-1"}
        assert {(e.seen.http_status, e.seen.server_ip) for e in seen} == {(503, "127.0.0.1")}
        assert await pg.evidence_between("svc0", 0, 2**40) == []


async def test_corroboration_written_late_is_forwarded_once(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow probe's row lands in the spool after a later one was forwarded: the
    look-back pass sends it; each is stored once."""
    from agent import forwarder as fw
    from core.corroboration import Corroboration
    from store.rows import ProbeEvidence

    monkeypatch.setattr(fw, "HEALTH_EVERY_S", 0.0)  # the look-back pass every round
    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "lyon-2")

    def row(seconds: int) -> ProbeEvidence:
        at = T0 + timedelta(seconds=seconds)
        return ProbeEvidence("svc0", "lyon-2", int(at.timestamp()) // 60, Corroboration(
            at, "timeout"))  # fmt: skip

    newest = row(60)
    failed = newest.seen.at + timedelta(seconds=65)
    late = newest._replace(
        minute=newest.minute + 1, seen=Corroboration(newest.seen.at, "timeout", failed_at=failed)
    )
    spool_path = tmp_path / "spool.db"
    async with await SqliteStore.open(spool_path) as spool:
        await spool.record_evidence([row(0), newest])
    forwarder = fw.Forwarder(spool_path, url, "lyon-2")
    try:
        await forwarder.step()
        async with await SqliteStore.open(spool_path) as spool:
            await spool.record_evidence([row(30)])  # sent before the newest, written after
            # The newest also kept under the next minute (it timed out there, the one
            # failure that minute saw: docs/probes.md), a row of the same instant.
            await spool.record_evidence([late])
        await forwarder.step()
        await forwarder.step()
    finally:
        await forwarder.close()
    async with await PostgresStore.open(pg_url, readonly=True) as pg:
        got = await pg.evidence_between("svc0", 0, 2**40)
    assert [(e.seen.at - T0).seconds for e in got] == [0, 30, 60, 60]
    assert {e.seen.error for e in got} == {"timeout"}
    assert got[-1] == late  # before: dropped, an instant already sent


async def test_a_batch_sent_again_after_a_crash_counts_once(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str
) -> None:
    """PostgreSQL committed, the agent died before deleting the batch from its
    outbox: the restarted forwarder sends it again and nothing changes."""
    from agent.forwarder import Forwarder

    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "lyon-2")
    rows = [
        MinuteRow("svc0", "lyon-2", 29_000_040 + i, UP if i % 3 else DOWN, 100 + i)
        for i in range(50)
    ]
    spool_path = tmp_path / "spool.db"
    async with await SqliteStore.open(spool_path) as spool:
        await spool.spool_minutes(rows)
        batch = await spool.outbox_batch(1000)
        assert batch is not None and batch.rows == tuple(rows)
    async with await PostgresStore.open(url) as pg:  # what the dead agent had committed
        await pg.record_minutes(rows[:30])
    forwarder = Forwarder(spool_path, url, "lyon-2", batch=20)
    try:
        assert await forwarder.step() == 50
        assert forwarder.backlog == 0
    finally:
        await forwarder.close()
    local, shared = await spool_and_postgres(spool_path, pg_url, ["svc0"])
    assert shared == local and len(local) == 50
    async with await PostgresStore.open(pg_url, readonly=True) as pg:
        assert [lat for _m, lat in await pg.latencies("svc0", 0, 2**40)] == [
            r.latency_ms for r in rows
        ]
        assert (await pg.check_chains()).breaks == ()


async def test_an_agent_forwarding_as_another_agents_role_is_refused(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str
) -> None:
    from agent.forwarder import Forwarder

    await init_fleet(pg_url)
    url_b = agent_role(pg_cluster, pg_url, "agent-b")
    spool_path = tmp_path / "spool.db"
    async with await SqliteStore.open(spool_path) as spool:
        await spool.spool_minutes([MinuteRow("svc0", "agent-a", 29_000_040, DOWN)])
    forwarder = Forwarder(spool_path, url_b, "agent-a")
    try:
        with pytest.raises(Exception, match="row-level security"):
            await forwarder.step()
    finally:
        await forwarder.close()
    async with await SqliteStore.open(spool_path, readonly=True) as spool:
        assert (await spool.outbox_counts()).backlog_minutes == 1  # kept, not lost
    async with await PostgresStore.open(pg_url, readonly=True) as pg:
        assert await pg.minutes("svc0", 29_000_040, 29_000_041) == {}


async def test_another_agents_minutes_in_the_spool_do_not_hold_up_its_own(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Found trying fleet mode: `slawatch agent --once --name tokyo-1` run on paris-1's
    server (its unit stopped, or on an older slawatch without the spool's lock) queued
    tokyo-1's minutes in paris-1's spool; paris-1's forwarder then sent them first, the
    database refused them (row-level security), and from then on not one of paris-1's
    own minutes reached PostgreSQL, retried for good. They are now left queued, said
    once, and its own minutes go on; the backlog it reports counts only its own."""
    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "lyon-2")
    other = [MinuteRow("svc0", "tokyo-1", 29_000_040 + i, DOWN) for i in range(3)]
    own = [MinuteRow("svc0", "lyon-2", 29_000_040 + i, UP, 90) for i in range(5)]
    spool_path = tmp_path / "spool.db"
    async with await SqliteStore.open(spool_path) as spool:
        await spool.spool_minutes(other)
        await spool.spool_minutes(own)
    forwarder = Forwarder(spool_path, url, "lyon-2", batch=2)
    try:
        with caplog.at_level(logging.WARNING, logger="slawatch.agent.forwarder"):
            assert await forwarder.step() == 5
            assert await forwarder.step() == 0
        assert forwarder.backlog == 0
    finally:
        await forwarder.close()
    said = [r.getMessage() for r in caplog.records if "tokyo-1" in r.getMessage()]
    assert len(said) == 1, said
    assert "3 queued minute record(s) of agent 'tokyo-1'" in said[0]
    async with await SqliteStore.open(spool_path, readonly=True) as spool:
        batch = await spool.outbox_batch(100)
        assert batch is not None and batch.rows == tuple(other)  # kept, not lost
    async with await PostgresStore.open(pg_url, readonly=True) as pg:
        stored = await pg.minutes("svc0", 29_000_040, 29_000_045)
    assert stored == {"lyon-2": bytes([UP] * 5)}


def test_agent_once_in_fleet_mode_spools_and_forwards(
    run_cli: RunCli, tmp_path: Path, target: str, pg_cluster: Cluster, pg_url: str
) -> None:
    import asyncio

    asyncio.run(init_fleet(pg_url))
    url = agent_role(pg_cluster, pg_url, "berlin-3")
    config = write_fleet_config(tmp_path, url, target, name="unused")
    done = run_cli("--config", config, "agent", "--once", "--name", "berlin-3")
    assert done.returncode == 0, done.stderr
    assert [line.split("\t")[:2] for line in done.stdout.splitlines()] == [
        ["svc0", "up"],
        ["svc1", "down"],
    ]
    local, shared = asyncio.run(spool_and_postgres(tmp_path / "spool.db", pg_url, SERVICES))
    assert len(local) == 2 and shared == local
    assert {src for _s, src, _m in shared} == {"berlin-3"}


def test_one_config_for_the_fleet_each_agent_logs_in_as_its_name(
    run_cli: RunCli, tmp_path: Path, target: str, pg_cluster: Cluster, pg_url: str
) -> None:
    """deploy/fleet.md: the config file is copied to every server as it is, only the
    name differs. Its URL names no role, so each agent logs in as its own name (a URL
    with a role, or $PGUSER, still wins)."""
    import asyncio
    import os

    from core.dburl import with_default_user

    asyncio.run(init_fleet(pg_url))
    for name in ("paris-1", "lyon-2"):
        agent_role(pg_cluster, pg_url, name)
    shared_url = pg_url.replace(f"{pg_url.split('//')[1].split('@')[0]}@", "")
    assert "@" not in shared_url
    config = write_fleet_config(tmp_path, shared_url, target, name="unused")
    env = {k: v for k, v in os.environ.items() if k != "PGUSER"}
    for name in ("paris-1", "lyon-2"):
        done = run_cli("--config", config, "agent", "--once", "--name", name, env=env)
        assert done.returncode == 0, done.stderr
    _local, shared = asyncio.run(spool_and_postgres(tmp_path / "spool.db", pg_url, SERVICES))
    assert {src for _s, src, _m in shared} == {"paris-1", "lyon-2"}
    # The rule itself: only a URL that names nobody is given the agent's name.
    base = "postgresql://db.internal:5432/slawatch?sslmode=verify-full"
    assert with_default_user(base, "paris-1", {}) == (
        "postgresql://paris-1@db.internal:5432/slawatch?sslmode=verify-full"
    )
    assert with_default_user(base, "paris-1", {"PGUSER": "ops"}) == base
    named = "postgresql://ops:s3cret@db.internal/slawatch"
    assert with_default_user(named, "paris-1", {}) == named
    assert with_default_user(base + "&user=ops", "paris-1", {}) == base + "&user=ops"
    assert with_default_user("host=db.internal dbname=slawatch", "paris-1", {}) == (
        "host=db.internal dbname=slawatch"
    )


async def test_an_outage_of_the_database_is_logged_once_each_way_in_plain_words(
    tmp_path: Path,
    target: str,
    pg_cluster: Cluster,
    pg_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The failure names the database once (not the URL twice), and the recovery says
    how much of the backlog it sent and how much is still queued (it logged '0
    minute(s) of backlog' after sending the whole backlog, as if there had been none)."""
    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "paris-1")
    refused: list[str] = []

    async def flaky(to: str) -> PostgresStore:
        if not refused:  # the first attempt: the database is down
            refused.append(to)
            raise StoreUnavailable(mask_url(to), "cannot reach the database: Connection refused")
        return await PostgresStore.open(to)

    await run_until_back(tmp_path, url, target, caplog, flaky, 3)
    (failed,) = [r.getMessage() for r in caplog.records if "cannot forward" in r.getMessage()]
    assert failed.count(mask_url(url)) == 1, failed
    assert "cannot reach the database: Connection refused" in failed
    (back,) = [r.getMessage() for r in caplog.records if "works again" in r.getMessage()]
    assert "6 minute record(s) of the backlog sent, 0 minute(s) still queued" in back, back


async def test_the_oldest_minute_still_to_forward_counts_spans_dropped_at_the_bound(
    tmp_path: Path,
) -> None:
    """A checkpoint signs only hours before the oldest minute still to reach PostgreSQL
    (its arrival changes that hour's link and every later one). Minutes dropped from the
    outbox at spool_max_minutes are sent later too: they count."""
    m0 = 29_000_000
    async with await SqliteStore.open(tmp_path / "spool.db") as spool:
        assert await spool.outbox_oldest() is None
        await spool.spool_minutes([MinuteRow("svc0", "paris-1", m0 + i, UP, 5) for i in range(30)])
        assert await spool.outbox_oldest() == m0
        assert await spool.trim_outbox(10) == 20  # minutes m0 .. m0+19 leave the outbox
        assert await spool.outbox_oldest() == m0  # ...and are still to be sent


class _Heads(QuietHandler):
    notes: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).notes.append(body.decode())
        self.answer(204, b"")


async def test_a_fleet_agents_checkpoints_read_the_database_as_its_own_role(
    tmp_path: Path, target: str, pg_cluster: Cluster, pg_url: str
) -> None:
    """The forwarder logged in as the agent's name (the URL names no role, one config for
    the fleet), but the checkpointer opened the database as the OS user (root, or the
    unit's 'slawatch'): 'password authentication failed for user ...' at every interval,
    and no note was ever sent."""
    await init_fleet(pg_url)
    agent_role(pg_cluster, pg_url, "paris-1")
    url = f"postgresql://127.0.0.1:{pg_cluster.port}/{pg_url.rsplit('/', 1)[1]}"  # no role
    key = tmp_path / "keys" / "paris-1.key"
    assert main(["key", "init", "--out", str(key)]) == 0
    notes: list[str] = []
    handler = type("Heads", (_Heads,), {"notes": notes})
    with serve(handler) as port:
        checkpoint = f'[agent.checkpoint]\nwebhook = "http://127.0.0.1:{port}/h"\nkey = "{key}"'
        config = load_quick(write_fleet_config(tmp_path, url, target, agent=checkpoint))
        env = {k: v for k, v in os.environ.items() if k != "PGUSER"}
        clock = Clock()
        agent = Agent(config, clock=clock, env=env)
        assert agent.forwarder is not None and agent.checkpointer is not None
        try:
            await run_minutes(agent, clock, 2)
            assert await agent.forwarder.step() == 4
            clock.now += timedelta(hours=1)  # the hour is complete
            assert await agent.checkpointer.send_once()
        finally:
            assert await agent.stop(within=3)
    (note,) = notes
    assert note.startswith("slawatch/paris-1\n") and "\nchain svc0 paris-1 " in note


def test_config_check_logs_in_as_the_agent_would(
    run_cli: RunCli, tmp_path: Path, target: str, pg_cluster: Cluster, pg_url: str
) -> None:
    """Found setting up a fleet: `SLAWATCH_AGENT_NAME=tokyo-1 slawatch config check`, the
    step deploy/fleet.md gives before starting an agent, said 'ok' for an agent whose
    role did not exist; the agent then probed and spooled, forwarding nothing, ever."""
    asyncio.run(init_fleet(pg_url))
    agent_role(pg_cluster, pg_url, "berlin-3")
    no_role = pg_cluster.url(pg_url.rsplit("/", 1)[1], "").replace("//@", "//")
    config = write_fleet_config(tmp_path, no_role, target, name="unused")
    env = {"PGUSER": ""}

    def check(name: str) -> subprocess.CompletedProcess[str]:
        return run_cli("--config", config, "config", "check",
                       env=env | {"SLAWATCH_AGENT_NAME": name})  # fmt: skip

    good = check("berlin-3")
    assert good.returncode == 0, good.stderr
    assert "berlin-3" in good.stdout and good.stderr == ""
    missing = check("tokyo-1")
    assert missing.returncode == 0  # a warning: PostgreSQL may only be away for now
    (line,) = missing.stderr.splitlines()
    assert "storage.url: warning: agent 'tokyo-1' cannot log in" in line
    assert 'role "tokyo-1" does not exist' in line
    assert 'CREATE ROLE "tokyo-1" LOGIN' in line
    pg_cluster.psql('CREATE ROLE "rome-1" LOGIN')  # a role, but not one of the agents
    outsider = check("rome-1")
    assert "is not a member of slawatch_agent" in outsider.stderr


def test_config_check_says_a_refused_password_may_be_a_missing_role(
    run_cli: RunCli, tmp_path: Path, target: str, pg_cluster: Cluster, pg_url: str
) -> None:
    """With passwords (scram-sha-256, as deploy/fleet.md's pg_hba.conf), PostgreSQL
    answers a role that does not exist as it answers a wrong password, so config check
    named no CREATE ROLE for an agent whose role was never made: it says both now."""
    asyncio.run(init_fleet(pg_url))
    agent_role(pg_cluster, pg_url, "berlin-3")
    pg_cluster.psql("ALTER ROLE \"berlin-3\" PASSWORD 'right'")
    db = pg_url.rsplit("/", 1)[1]
    hba = pg_cluster.data / "pg_hba.conf"
    before = hba.read_text()
    hba.write_text(f"host {db} all 127.0.0.1/32 scram-sha-256\n{before}")  # this database only
    pg_cluster.psql("SELECT pg_reload_conf()")
    try:
        no_role = pg_cluster.url(db, "").replace("//@", "//")
        config = write_fleet_config(tmp_path, no_role, target, name="unused")
        env_file = tmp_path / "agent.env"
        env_file.write_text("PGPASSWORD=wrong\n")

        def check(name: str, **shell: str) -> subprocess.CompletedProcess[str]:
            return run_cli("--config", config, "config", "check", "--env-file", env_file,
                           env={"PGUSER": "", "SLAWATCH_AGENT_NAME": name, **shell})  # fmt: skip

        for name in ("tokyo-1", "berlin-3"):  # no role; a wrong password
            said = check(name)
            assert said.returncode == 0, said.stderr  # a warning: the agent still spools
            (line,) = said.stderr.splitlines()
            assert f"warning: agent {name!r} cannot log in" in line, line
            assert "password authentication failed" in line, line
            assert "or no such role" in line and f'CREATE ROLE "{name}" LOGIN' in line, line
        env_file.write_text("PGPASSWORD=right\n")
        good = check("berlin-3")
        assert good.returncode == 0 and good.stderr == "", good.stderr
        # The file's password wins over one left in the shell (the owner's, say), as
        # under systemd: the shell's was used and the check said the agent cannot log in.
        shell = check("berlin-3", PGPASSWORD="owners")
        assert shell.returncode == 0 and shell.stderr == "", shell.stderr
    finally:
        hba.write_text(before)
        pg_cluster.psql("SELECT pg_reload_conf()")


async def test_another_reason_while_forwarding_fails_is_logged_once_each(
    tmp_path: Path,
    target: str,
    pg_cluster: Cluster,
    pg_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database stopped, then this agent's role could no longer log in: the log
    said only 'terminating connection due to administrator command' for the whole
    episode, so nobody learnt that an administrator had to act (found on a fleet
    whose role was set NOLOGIN). Each new reason is logged once, the same one never
    twice."""
    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "paris-1")
    reasons = [
        "cannot reach the database: terminating connection due to administrator command",
        'cannot log in to the database: FATAL: role "paris-1" is not permitted to log in',
        'cannot log in to the database: FATAL: role "paris-1" is not permitted to log in',
        "cannot reach the database: terminating connection due to administrator command",
    ]

    async def flaky(to: str) -> PostgresStore:
        if reasons:
            raise StoreUnavailable(mask_url(to), reasons.pop(0))
        return await PostgresStore.open(to)

    await run_until_back(tmp_path, url, target, caplog, flaky, 2)
    said = [r.getMessage() for r in caplog.records]
    assert sum("cannot forward" in line for line in said) == 1, said
    (now,) = [line for line in said if "still fails, now:" in line]
    assert 'role "paris-1" is not permitted to log in' in now, now
    assert sum("works again" in line for line in said) == 1, said


def test_an_agent_stopping_cut_off_says_how_many_minutes_its_spool_keeps(
    run_cli: RunCli, tmp_path: Path, target: str
) -> None:
    """`agent --once` (or a stop) with PostgreSQL out of reach said '0 minute(s) not
    yet forwarded stay in the spool' while the spool held every minute it had just
    recorded: the count was the last successful round's. Only loopback, nothing
    listening on the database's port."""
    from tests.pg import free_port

    url = f"postgresql://berlin-3@127.0.0.1:{free_port()}/slawatch"
    config = write_fleet_config(tmp_path, url, target)
    done = run_cli("--config", config, "agent", "--once", "--name", "berlin-3")
    assert done.returncode == 0, done.stderr
    assert "cannot reach the database" in done.stderr, done.stderr
    assert "1 minute(s) not yet forwarded stay in the spool" in done.stderr, done.stderr
