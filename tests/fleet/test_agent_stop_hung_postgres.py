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
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.runner import STOP_SECONDS
from slawatch.signing import generate
from store.sqlite import SqliteStore
from tests.faults.tcpproxy import Proxy
from tests.fleetkit import agent_role, init_fleet, spool_and_postgres, write_fleet_config
from tests.loopback import OkHandler, QuietHandler, serve
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


def _fleet(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str, relay: Proxy, port: int, agent: str = ""
) -> Path:
    asyncio.run(init_fleet(pg_url))
    direct = agent_role(pg_cluster, pg_url, NAME)
    url = relay.url(direct.rsplit("/", 1)[1], NAME)
    return write_fleet_config(tmp_path, url, f"http://127.0.0.1:{port}", name=NAME, agent=agent)


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
    err = proc.communicate(timeout=STOP_SECONDS + 5)[1]
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
    assert took < STOP_SECONDS, f"{took:.1f} s to exit:\n{err}"  # was 13 s
    _stopped_keeping_everything(proc, err, spool, pg_url)


def _stopped_keeping_everything(
    proc: subprocess.Popen[str], err: str, spool: Path, pg_url: str
) -> None:
    """Exit 0, one line for the signal, every line in the agent's format, and every
    minute the agent judged in PostgreSQL or still queued in the spool to be sent."""
    assert proc.returncode == 0, err
    lines = err.strip().splitlines()
    assert sum("received SIGTERM, stopping" in ln for ln in lines) == 1, err
    assert all(ln[:4].isdigit() for ln in lines), f"one line per event, as the agent logs:\n{err}"
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


class _Down(QuietHandler):
    def do_GET(self) -> None:
        self.answer(503)


class _Refusing(QuietHandler):
    """A webhook receiver that fails every notification (the agent retries)."""

    posts = 0

    def do_POST(self) -> None:
        type(self).posts += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.answer(503)


def _silent_port(stack: contextlib.ExitStack) -> int:
    """A port that takes connections and never answers (a hanging provider)."""
    listener = stack.enter_context(socket.create_server(("127.0.0.1", 0)))
    return int(listener.getsockname()[1])


PHASES = ["probe hangs", "postgresql refuses", "backlog draining", "reload under way",
          "notifications retried", "checkpoint being sent"]  # fmt: skip


@pytest.mark.parametrize("phase", PHASES)
def test_sigterm_in_each_phase_exits_in_time_keeping_every_minute(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str, relay: Proxy, phase: str
) -> None:
    spool = tmp_path / "spool.db"
    with contextlib.ExitStack() as stack:
        agent = ""
        if phase == "probe hangs":
            port = _silent_port(stack)
        elif phase == "notifications retried":
            port = stack.enter_context(serve(_Down))
            hook = stack.enter_context(serve(_Refusing))
            agent = f'[[agent.notifier]]\nwebhook = "http://127.0.0.1:{hook}/"\ntimeout = "1s"'
        else:
            port = stack.enter_context(serve(OkHandler))
        if phase == "checkpoint being sent":
            # Its first note at start, to a webhook that never answers. The note read
            # the spool's outbox as the forwarder's first round opened it: the two opened
            # it twice, one connection's thread was left, and the process, its agent
            # stopped, never exited (a second SIGTERM killed it).
            key = tmp_path / "keys" / f"{NAME}.key"
            generate(key)
            hook = _silent_port(stack)
            agent = (
                f'[agent.checkpoint]\nwebhook = "http://127.0.0.1:{hook}/h"\n'
                f'interval = "1m"\ntimeout = "30s"\nkey = "{key}"'
            )
        config = _fleet(tmp_path, pg_cluster, pg_url, relay, port, agent)
        if phase == "probe hangs":  # each probe gives up after 1 s: its minute is judged
            config.write_text(config.read_text().replace('"10s"', '"1s"'))
        proc = stack.enter_context(_agent(config, relay))
        _wait("forwarded", lambda: spool.exists() and _shared(spool, pg_url), proc)
        if phase == "postgresql refuses":
            relay.cut()  # connections reset, new ones dropped
            time.sleep(1.5)
        elif phase == "backlog draining":
            relay.cut()
            time.sleep(3)  # three minutes of the fast clock queue up
            before = relay.accepted
            relay.restore()
            _wait("reconnected", lambda: relay.accepted > before, proc)
        elif phase == "reload under way":
            proc.send_signal(signal.SIGHUP)
            time.sleep(0.2)
        elif phase == "notifications retried":
            _wait("refused", lambda: _Refusing.posts >= 1, proc)  # owed, to be retried
            time.sleep(0.3)
        err, took = _stop(proc, signal.SIGTERM)
    assert took < STOP_SECONDS, f"{took:.1f} s to exit:\n{err}"
    _stopped_keeping_everything(proc, err, spool, pg_url)


def test_a_sighup_during_the_name_claim_reloads_as_soon_as_the_agent_runs(
    tmp_path: Path, pg_cluster: Cluster, pg_url: str, relay: Proxy
) -> None:
    """Not at the main loop's next beat (5 s; under systemd half of WatchdogSec, 30 s)."""
    lines: list[tuple[float, str]] = []
    with serve(OkHandler) as port:
        config = _fleet(tmp_path, pg_cluster, pg_url, relay, port)
        relay.hang()
        with _agent(config, relay) as proc:
            assert proc.stderr is not None
            reader = threading.Thread(
                target=lambda: lines.extend((time.monotonic(), ln) for ln in proc.stderr or ())
            )
            reader.start()
            _wait("connected", lambda: relay.accepted > 0, proc)
            proc.send_signal(signal.SIGHUP)
            sent = time.monotonic()
            relay.flow()  # the claim goes through, the agent starts
            _wait("reloaded", lambda: any("config reloaded" in ln for _t, ln in lines), proc, 10)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            reader.join()
    assert proc.returncode == 0, "".join(ln for _t, ln in lines)
    [reloaded] = [t for t, ln in lines if "config reloaded" in ln]
    assert reloaded - sent < 3, f"reloaded {reloaded - sent:.1f} s after the SIGHUP"
