"""A fleet agent told to stop while PostgreSQL hangs stops in time (issue: a SIGTERM
taking too long to act on; systemd kills the agent 15 s after it).

A PostgreSQL that stops answering (a frozen host, a half-open connection: here a
loopback relay that lets no byte through, ``Proxy.hang``) held the agent's exit:
psycopg answers a cancelled query by asking the server to cancel it and waiting
for that (5 + 5 s), so a SIGTERM while the forwarder waited on PostgreSQL took
13 s to exit, and one during the name's claim at start waited out the claim's
5 s and then started probing before it stopped. The agent is the real process
(``slawatch agent`` on a fast clock), PostgreSQL the tests' real cluster."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.runner import STOP_SECONDS
from store.sqlite import SqliteStore
from tests.faults.tcpproxy import Proxy
from tests.fleetkit import agent_role, init_fleet, spool_and_postgres, write_fleet_config
from tests.loopback import OkHandler, serve
from tests.pg import Cluster

ROOT = Path(__file__).resolve().parent.parent.parent
FAST_SLAWATCH = Path(__file__).with_name("fast_slawatch.py")
NAME = "paris-1"
SERVICES = ["svc0", "svc1"]


def _start(config: Path) -> subprocess.Popen[str]:
    """``slawatch agent`` with its clock 60 times faster and probes every 0.5 s: a
    minute to forward every second."""
    now = time.time()
    base = (now // 60) * 60 - 10 * 60
    return subprocess.Popen(
        [sys.executable, str(FAST_SLAWATCH), *map(str, (base, now, 60.0, 0.5)),
         "--config", str(config), "agent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


@pytest.fixture
def relay(pg_cluster: Cluster) -> Iterator[Proxy]:
    proxy = Proxy(pg_cluster.port)
    try:
        yield proxy
    finally:
        proxy.close()


def _fleet(tmp_path: Path, pg_cluster: Cluster, pg_url: str, relay: Proxy, port: int) -> Path:
    asyncio.run(init_fleet(pg_url))
    direct = agent_role(pg_cluster, pg_url, NAME)
    url = relay.url(direct.rsplit("/", 1)[1], NAME)
    return write_fleet_config(tmp_path, url, f"http://127.0.0.1:{port}", name=NAME)


def _wait(
    what: str, done: Callable[[], bool], proc: subprocess.Popen[str], seconds: float = 30
) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1]
        if done():
            return
        time.sleep(0.1)
    raise AssertionError(f"never {what}")


def _stop(proc: subprocess.Popen[str], sig: signal.Signals) -> tuple[str, float]:
    started = time.monotonic()
    proc.send_signal(sig)
    err = proc.communicate(timeout=30)[1]
    return err, time.monotonic() - started


@contextlib.contextmanager
def _agent(config: Path, relay: Proxy) -> Iterator[subprocess.Popen[str]]:
    """The agent running; afterwards the relay lets bytes through again and the
    agent, if it is still running, is killed."""
    proc = _start(config)
    try:
        yield proc
    finally:
        relay.flow()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def _queued(spool: Path) -> int:
    async with await SqliteStore.open(spool, readonly=True) as s:
        return (await s.outbox_counts(NAME)).backlog_minutes


def test_sigterm_while_postgresql_hangs_mid_forwarding_exits_in_time(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str, relay: Proxy
) -> None:
    with serve(OkHandler) as port:
        config = _fleet(tmp_path, pg_cluster, pg_url, relay, port)
        spool = tmp_path / "spool.db"
        with _agent(config, relay) as proc:
            _wait("forwarded", lambda: spool.exists() and _shared(spool, pg_url), proc)
            relay.hang()  # PostgreSQL stops answering: the forwarder waits on it
            time.sleep(1.5)  # a round or two: a minute is being sent as it hangs
            err, took = _stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    assert took < STOP_SECONDS, f"{took:.1f} s to exit:\n{err}"  # was 13 s
    lines = err.strip().splitlines()
    assert sum("received SIGTERM" in ln for ln in lines) == 1
    assert all(ln[:4].isdigit() for ln in lines), "one line per event, in the agent's format"
    # Every minute the agent judged is in PostgreSQL or still queued to be sent.
    local, shared = asyncio.run(spool_and_postgres(spool, pg_url, SERVICES))
    unsent = {m for (_s, _src, m) in local.keys() - shared.keys()}
    assert local and asyncio.run(_queued(spool)) >= len(unsent)


def _shared(spool: Path, url: str) -> bool:
    _local, shared = asyncio.run(spool_and_postgres(spool, url, SERVICES))
    return bool(shared)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_during_the_name_claim_exits_at_once_without_probing(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str, relay: Proxy, sig: signal.Signals
) -> None:
    with serve(OkHandler) as port:
        config = _fleet(tmp_path, pg_cluster, pg_url, relay, port)
        relay.hang()  # the claim's connection waits on PostgreSQL (up to 5 s)
        with _agent(config, relay) as proc:
            _wait("connected", lambda: relay.accepted > 0, proc)  # its handlers are in place
            err, took = _stop(proc, sig)
    assert proc.returncode == 0, err
    lines = err.strip().splitlines()
    assert lines == [lines[0]] and f"received {sig.name}, stopping" in lines[0], err
    assert took < 3, f"{took:.1f} s to exit"  # was the claim's 5 s, then a start and a stop
    assert not (tmp_path / "spool.db").exists() or not asyncio.run(_spooled(tmp_path))


async def _spooled(folder: Path) -> int:
    async with await SqliteStore.open(folder / "spool.db", readonly=True) as s:
        bounds = await s.data_bounds("svc0")
    return 0 if bounds is None else 1
