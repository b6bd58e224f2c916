"""One running agent per name in a fleet (#10): a second agent started with the same
``--name`` (another server by mistake, or twice on one) would overwrite the first's
minutes. It refuses to run (one line naming the name and where the other runs, exit
code 2); once the first has stopped, the name is free again."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from agent.forwarder import Forwarder, NameInUse, session_label
from core.status import DOWN
from store.postgres import PostgresStore
from store.postgres.backend import name_lock_key
from store.rows import MinuteRow
from store.sqlite import SqliteStore
from tests.fleetkit import agent_role, init_fleet, write_fleet_config
from tests.loopback import OkHandler, serve
from tests.pg import Cluster, free_port

ROOT = Path(__file__).resolve().parent.parent.parent
FAST_SLAWATCH = Path(__file__).with_name("fast_slawatch.py")


def _start(config: Path, name: str, *more: str) -> subprocess.Popen[str]:
    now = time.time()
    base = (now // 60) * 60 - 10 * 60
    return subprocess.Popen(
        [sys.executable, str(FAST_SLAWATCH), *map(str, (base, now, 60.0, 0.5)),
         "--config", str(config), "agent", "--name", name, *more],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


async def _seen(url: str, name: str) -> bool:
    async with await PostgresStore.open(url, readonly=True) as pg:
        return any(h.source == name for h in await pg.agent_health())


def _wait_seen(url: str, name: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        if asyncio.run(_seen(url, name)):
            return
        time.sleep(0.2)
    raise AssertionError("the agent never reported to PostgreSQL")


def _stop(proc: subprocess.Popen[str]) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=30)[1]


def test_a_second_agent_of_one_name_refuses_to_run(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str
) -> None:
    asyncio.run(init_fleet(pg_url))
    url = agent_role(pg_cluster, pg_url, "twin")
    with serve(OkHandler) as port:
        configs = []
        for side in ("one", "two"):  # two servers: a config and a spool each
            (tmp_path / side).mkdir()
            configs.append(write_fleet_config(tmp_path / side, url, f"http://127.0.0.1:{port}"))
        first = _start(configs[0], "twin")
        second: subprocess.Popen[str] | None = None
        try:
            _wait_seen(pg_url, "twin", first)
            second = _start(configs[1], "twin")
            err = second.communicate(timeout=20)[1]
            assert second.returncode == 2, err
            [line] = err.strip().splitlines()
            assert line.startswith("slawatch: agent 'twin': another agent of this name is running")
            assert f"slawatch agent twin on {socket.gethostname()} pid {first.pid}" in line
            assert "connected from 127.0.0.1" in line and "--name" in line
            assert not (tmp_path / "two" / "spool.db").exists()  # refused before probing
            assert first.poll() is None  # the first goes on
            first_err = _stop(first)
            assert first.returncode == 0, first_err
            # The first gone, its session ended: the name is free.
            second = _start(configs[1], "twin")
            assert _wait_spooled(tmp_path / "two" / "spool.db", second)
            assert _stop(second) is not None and second.returncode == 0
        finally:
            for proc in (first, second):
                if proc is not None:
                    _stop(proc)


def _wait_spooled(spool: Path, proc: subprocess.Popen[str]) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        if spool.exists() and spool.stat().st_size > 0:
            return True
        time.sleep(0.2)
    return False


async def test_a_forwarder_finding_its_name_taken_stops(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str
) -> None:
    """PostgreSQL out of reach at the start, the other agent took the name meanwhile:
    the forwarder's first connection is refused, it stops (the agent then exits 2),
    and its spooled minutes stay where they are."""
    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "twin")
    spool_path = tmp_path / "spool.db"
    async with await SqliteStore.open(spool_path) as spool:
        await spool.spool_minutes([MinuteRow("svc0", "twin", 29_000_040, DOWN)])
    with psycopg.connect(url, autocommit=True, application_name="the other twin") as other:
        other.execute("SELECT pg_advisory_lock(%s)", (name_lock_key("twin"),))
        refused: list[NameInUse] = []
        forwarder = Forwarder(spool_path, url, "twin", tick=0.05, on_refused=refused.append)
        try:
            async with asyncio.timeout(10):
                await forwarder.run(asyncio.Event())  # returns: it does not retry
            assert not await forwarder.final(1.0)
        finally:
            await forwarder.close()
        [exc] = refused
        assert "'twin'" in str(exc) and "(the other twin, connected from 127.0.0.1" in str(exc)
    async with await SqliteStore.open(spool_path, readonly=True) as spool:
        assert (await spool.outbox_counts()).backlog_minutes == 1
    async with await PostgresStore.open(pg_url, readonly=True) as pg:
        assert await pg.minutes("svc0", 29_000_040, 29_000_041) == {}
    # The other gone, the name is free: the same forwarder's next start forwards.
    forwarder = Forwarder(spool_path, url, "twin")
    try:
        await forwarder.claim()
        assert await forwarder.step() == 1
    finally:
        await forwarder.close()


async def test_a_stale_session_of_its_own_is_taken_over(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str
) -> None:
    """A session this agent left behind holds the name: its own forwarder's earlier
    connection (lost half-open: PostgreSQL still holds it), or the one the previous
    agent of this spool noted (killed while cut off). Ended and taken over, not a
    reason to stop."""
    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "twin")
    spool = tmp_path / "spool.db"
    forwarder = Forwarder(spool, url, "twin")
    killed = Forwarder(spool, url, "twin")
    try:
        await forwarder.claim()
        forwarder._pg = None  # its connection lost, the session still open on the server
        await forwarder.claim()
        assert forwarder.refused is None
        await forwarder.step()
        await forwarder.close()
        await killed.claim()  # then killed: its session left open, noted beside the spool
        killed._pg = None
        forwarder = Forwarder(spool, url, "twin")  # the next agent of this spool
        await forwarder.claim()
        assert forwarder.refused is None
        await forwarder.step()
    finally:
        await forwarder.close()


async def test_an_agent_of_the_same_name_and_pid_elsewhere_is_not_ended(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str
) -> None:
    """Two containers that share a host name (host networking) run their agents at the
    same pid: the other's session calls itself exactly as this one's would. It is not
    this agent's to end: the second refuses (it ended the first and both ran)."""
    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "twin")
    gone = await asyncio.create_subprocess_exec("true")
    await gone.wait()
    for pid in (os.getpid(), gone.pid):
        label = session_label("twin", pid)
        with psycopg.connect(url, autocommit=True, application_name=label) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (name_lock_key("twin"),))
            forwarder = Forwarder(tmp_path / f"spool{pid}.db", url, "twin")
            try:
                with pytest.raises(NameInUse, match="another agent of this name is running"):
                    await forwarder.claim()
            finally:
                await forwarder.close()
            assert other.execute("SELECT 1").fetchall() == [(1,)]  # still connected


async def test_another_role_holding_the_name_does_not_stop_the_agent(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str
) -> None:
    """Any role may take any advisory lock: another agent's role (compromised) taking
    this name's lock, even calling itself this agent's left-behind session, would stop
    this vantage point at every start (exit 2, systemd does not retry) or keep it from
    ever forwarding (it may not end another role's session). That session cannot write
    this agent's minutes: the agent forwards without the lock, and says so."""
    await init_fleet(pg_url)
    url = agent_role(pg_cluster, pg_url, "twin")
    other_url = agent_role(pg_cluster, pg_url, "rogue")
    gone = await asyncio.create_subprocess_exec("true")
    await gone.wait()
    spool_path = tmp_path / "spool.db"
    async with await SqliteStore.open(spool_path) as spool:
        await spool.spool_minutes([MinuteRow("svc0", "twin", 29_000_040, DOWN)])
    for label in ("the rogue", session_label("twin", gone.pid)):
        with psycopg.connect(other_url, autocommit=True, application_name=label) as rogue:
            rogue.execute("SELECT pg_advisory_lock(%s)", (name_lock_key("twin"),))
            forwarder = Forwarder(spool_path, url, "twin")
            try:
                await forwarder.claim()
                assert forwarder.refused is None
                await forwarder.step()
            finally:
                await forwarder.close()
    async with await PostgresStore.open(pg_url, readonly=True) as pg:
        assert await pg.minutes("svc0", 29_000_040, 29_000_041) == {"twin": bytes([DOWN])}


def test_twice_on_one_machine_with_postgresql_out_of_reach(tmp_path: Path) -> None:
    """The same config started twice here while PostgreSQL cannot be reached (so the
    name's lock cannot be checked): the second would write the first's spool. It
    refuses, naming the spool and the first's pid, exit code 2."""
    with serve(OkHandler) as port:
        nowhere = f"postgresql://twin@127.0.0.1:{free_port()}/slawatch"  # nothing listens
        config = write_fleet_config(tmp_path, nowhere, f"http://127.0.0.1:{port}")
        first = _start(config, "twin")
        try:
            lock = tmp_path / "spool.db.lock"
            deadline = time.monotonic() + 30
            while not (lock.exists() and lock.read_text() == str(first.pid)):
                assert first.poll() is None and time.monotonic() < deadline, first.stderr
                time.sleep(0.1)
            second = _start(config, "twin")
            err = second.communicate(timeout=20)[1]
            assert second.returncode == 2, err
            assert err.strip().splitlines() == [
                f"slawatch: agent 'twin': another agent is running on this machine with the"
                f" spool {tmp_path / 'spool.db'} (pid {first.pid}): stop it, or give this one"
                " a name and a spool of its own (--name NAME --spool FILE)"
            ]
            # As it says: the same config, another name and its own spool, runs beside it.
            own = tmp_path / "other" / "spool.db"
            own.parent.mkdir()
            third = _start(config, "other", "--spool", str(own))
            try:
                held = own.with_name("spool.db.lock")
                deadline = time.monotonic() + 30
                while not (held.exists() and held.read_text() == str(third.pid)):
                    assert third.poll() is None, third.communicate()[1]
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            finally:
                err = _stop(third)
            assert third.returncode == 0, err
            assert first.poll() is None
        finally:
            err = _stop(first)
        assert first.returncode == 0, err
