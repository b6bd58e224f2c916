"""Fleet agents under PostgreSQL faults (issue 10): the server stopped while the agents
run, an agent SIGKILLed while forwarding, the network cut for the spool's bound.
Every minute a spool holds reaches PostgreSQL exactly once; nothing is invented."""

from __future__ import annotations

import asyncio
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tcpproxy import Proxy

from agent.forwarder import Forwarder
from agent.runner import Agent
from store.postgres import PostgresStore
from store.sqlite import SqliteStore
from tests.fleetkit import (
    agent_role,
    init_fleet,
    load_quick,
    spool_and_postgres,
    write_fleet_config,
)
from tests.loopback import OkHandler, serve
from tests.pg import Cluster, cluster, scratch

HERE = Path(__file__).parent
REPO = HERE.parents[1]
RATE = 120.0  # the agents' clock: a minute every half second
BASE = datetime(2026, 10, 3, 12, 0, 0, tzinfo=UTC).timestamp()
SERVICES = ["svc0", "svc1", "svc2"]


@pytest.fixture
def target() -> Iterator[str]:
    with serve(OkHandler) as port:
        yield f"http://127.0.0.1:{port}"


class Proc:
    """A fleet agent process (fleet_agent.py) and the lines it announces."""

    def __init__(self, config: Path, name: str, t0: float, hold: float = 0.0, **env: str):
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "fleet_agent.py"), str(config), name,
             str(BASE), str(t0), str(RATE), "0.1", str(hold)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO), **env},
        )  # fmt: skip
        self._buffer = b""

    def wait_for(self, word: str, timeout: float = 30) -> None:
        """Read announcements until one starts with ``word``."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                while b"\n" in self._buffer:
                    line, self._buffer = self._buffer.split(b"\n", 1)
                    if line.startswith(word.encode()) and line.endswith(b" ."):
                        return
                left = deadline - time.monotonic()
                assert left > 0, f"no {word} from the agent"
                if sel.select(left):
                    chunk = os.read(fd, 65536)
                    assert chunk, f"the agent exited: {self.stop_and_log()}"
                    self._buffer += chunk

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._close()

    def stop_and_log(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _out, err = self.proc.communicate(timeout=20)
        return err.decode()

    def _close(self) -> None:
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


def wait_until_caught_up(cl: Cluster, db: str, names: set[str], after_us: int) -> None:
    """Until every agent's health in PostgreSQL says: no backlog, reported after ``after_us``."""
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        out = cl.psql(
            "SELECT s.name FROM agent_health h JOIN sources s ON s.id = h.source_id"
            f" WHERE h.backlog_minutes = 0 AND h.at_us > {after_us}",
            db,
        )
        if set(out.split()) >= names:
            return
        time.sleep(0.2)
    raise AssertionError(f"agents {names} did not catch up")


def agent_now_us(t0: float) -> int:
    return round((BASE + (time.time() - t0) * RATE) * 1_000_000)


def assert_gapless(minutes: set[int]) -> None:
    """One agent ran without a pause: it recorded every minute from its first to its last."""
    assert minutes == set(range(min(minutes), max(minutes) + 1))


def test_postgres_stopped_while_two_agents_run_every_minute_arrives_once(
    tmp_path: Path, target: str
) -> None:
    with cluster(scratch()) as cl:  # its own: this test stops the server
        db = cl.new_database()
        asyncio.run(init_fleet(cl.url(db)))
        names = ("amsterdam-1", "boston-2")
        configs = {}
        for name in names:
            agent_role(cl, cl.url(db), name)
            (tmp_path / name).mkdir()
            url = f"postgresql://127.0.0.1:{cl.port}/{db}"  # the role comes from $PGUSER
            configs[name] = write_fleet_config(tmp_path / name, url, target, name="x", services=3)
        t0 = time.time()
        procs = {n: Proc(configs[n], n, t0, PGUSER=n) for n in names}
        try:
            wait_until_caught_up(cl, db, set(names), agent_now_us(t0))
            for p in procs.values():
                p.wait_for("COMMITTED")
            cl.stop()
            stopped_at = agent_now_us(t0)
            time.sleep(3)  # six minutes on the agents' clock without PostgreSQL
            restarted_at = agent_now_us(t0)
            cl.start()
            wait_until_caught_up(cl, db, set(names), restarted_at)
            logs = {n: p.stop_and_log() for n, p in procs.items()}
        finally:
            for p in procs.values():
                if p.proc.poll() is None:
                    p.kill()
        pg_url = cl.url(db)
        for name in names:
            assert procs[name].proc.returncode == 0, logs[name]
            spool, shared = asyncio.run(
                spool_and_postgres(tmp_path / name / "spool.db", pg_url, SERVICES)
            )
            mine = {k: v for k, v in shared.items() if k[1] == name}
            assert mine == spool and len(spool) >= 3 * 10
            for service in SERVICES:
                recorded = {m for s, _src, m in mine if s == service}
                # the minutes of the outage itself reached PostgreSQL afterwards
                during = range(stopped_at // 60_000_000 + 1, restarted_at // 60_000_000)
                assert len(recorded.intersection(during)) >= 3, (sorted(recorded), during)
            log = logs[name]
            assert log.count("cannot forward") == 1, log  # once per episode
            assert log.count("works again") == 1, log

        async def chains() -> None:
            async with await PostgresStore.open(pg_url, readonly=True) as pg:
                summary = await pg.check_chains()
                assert summary.breaks == () and summary.chains == 6

        asyncio.run(chains())


def test_an_agent_killed_while_forwarding_loses_and_doubles_nothing(
    tmp_path: Path, target: str, pg_cluster: Cluster, pg_url: str
) -> None:
    asyncio.run(init_fleet(pg_url))
    url = agent_role(pg_cluster, pg_url, "kill-1")
    config = write_fleet_config(tmp_path, url, target, name="kill-1", services=3)
    spool_path = tmp_path / "spool.db"
    t0 = time.time()
    exercised = 0
    # Killed after PostgreSQL committed a batch but before the outbox forgot it,
    # then inside a transaction, then in the commit window again.
    for word in ("COMMITTED", "BEGIN", "COMMITTED"):
        p = Proc(config, "kill-1", t0, hold=0.5)
        try:
            p.wait_for(word)
            if word == "COMMITTED":
                p.wait_for("COMMITTED")  # a batch of minutes, not the first burst of startup
        finally:
            p.kill()
        if word == "COMMITTED":
            # The window was hit: PostgreSQL holds rows the outbox still has queued.
            queued = asyncio.run(_queued(spool_path))
            spool, shared = asyncio.run(spool_and_postgres(spool_path, pg_url, SERVICES))
            assert queued and queued <= set(shared)
            exercised += 1
    last = Proc(config, "kill-1", t0)
    try:
        last.wait_for("COMMITTED")
        time.sleep(1)
    finally:
        log = last.stop_and_log()
    assert last.proc.returncode == 0, log
    assert exercised == 2
    spool, shared = asyncio.run(spool_and_postgres(spool_path, pg_url, SERVICES))
    assert shared == spool and len(spool) >= 3 * 3
    assert asyncio.run(_queued(spool_path)) == set()

    async def chains() -> None:
        async with await PostgresStore.open(pg_url, readonly=True) as pg:
            assert (await pg.check_chains()).breaks == ()

    asyncio.run(chains())


async def _queued(spool_path: Path) -> set[tuple[str, str, int]]:
    async with await SqliteStore.open(spool_path, readonly=True) as spool:
        batch = await spool.outbox_batch(100_000)
    return set() if batch is None else {(r.service, r.source, r.minute) for r in batch.rows}


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 10, 3, 12, 0, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def _attempt(forwarder: Forwarder) -> int | None:
    """One round as the forwarder's task runs it: a failure is reported, not raised."""
    try:
        return await forwarder.step()
    except Exception as exc:
        await forwarder._failed(exc)
        return None


async def test_network_cut_for_the_spool_bound_keeps_every_minute_in_the_spool(
    tmp_path: Path, target: str, pg_cluster: Cluster, pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Documented (docs/fleet-agent.md): the outbox keeps the newest
    ``spool_max_minutes``; older minutes stay in the spool only, are counted as
    ``spool_only_minutes`` and are forwarded once the backlog has drained."""
    caplog.set_level(logging.INFO, logger="slawatch.agent")
    await init_fleet(pg_url)
    agent_role(pg_cluster, pg_url, "oslo-4")
    proxy = Proxy(pg_cluster.port)
    url = proxy.url(pg_url.rsplit("/", 1)[1], "oslo-4")
    config = load_quick(
        write_fleet_config(tmp_path, url, target, name="oslo-4", agent="spool_max_minutes = 10")
    )
    clock = Clock()
    assert config.spool_path is not None
    forwarder = Forwarder(config.spool_path, url, "oslo-4", clock=clock, batch=4, budget=0)
    agent = Agent(config, clock=clock, forwarder=forwarder)

    async def minutes(n: int, forward: bool = True) -> None:
        for _ in range(n):
            for name in sorted(agent.targets):
                await agent.probe_service(name)
            clock.now += timedelta(minutes=1)
            await agent.tick()
            if forward:
                await _attempt(forwarder)

    async def health() -> tuple[int, int, datetime]:
        async with await PostgresStore.open(pg_url, readonly=True) as pg:
            (h,) = await pg.agent_health()
        return h.backlog_minutes, h.spool_only_minutes, h.at

    try:
        await minutes(5)
        assert (await health())[:2] == (0, 0)
        proxy.cut()  # the network is gone, the open connection with it
        await minutes(25)  # 2.5 bounds without PostgreSQL
        assert forwarder.problem is not None and "cannot reach" in forwarder.problem
        async with await SqliteStore.open(config.spool_path, readonly=True) as spool:
            counts = await spool.outbox_counts()
        assert (counts.backlog_minutes, counts.spool_only_minutes) == (10, 15)
        assert (await health())[2] < clock.now - timedelta(minutes=20)  # silent meanwhile
        proxy.restore()
        assert await _attempt(forwarder) == 4  # one small batch: the backlog is visible
        assert (await health())[:2] == (8, 15)
        for _ in range(100):
            if not await _attempt(forwarder):
                break
        assert (await health())[:2] == (0, 0)
    finally:
        await agent.stop(within=3)
        proxy.close()
    spool, shared = await spool_and_postgres(config.spool_path, pg_url, ["svc0", "svc1"])
    assert shared == spool and len(spool) == 2 * 30
    for service in ("svc0", "svc1"):
        assert_gapless({m for s, _src, m in shared if s == service})
    text = caplog.text
    assert text.count("spool_max_minutes") == 1, text  # the bound reached: said once
    assert text.count("cannot forward") == 1 and text.count("works again") == 1, text
