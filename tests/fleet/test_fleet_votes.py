"""End to end: three real agent processes, one target that fails only for agent "b".

The target answers 503 to the probe whose ``User-Agent`` names agent ``b``
(``slawatch-agent/VERSION (b)``) and 200 to the others. Each agent is the real
foreground agent (``tests/agent/agent_proc.py``: ``run_agent``'s server) on a
fast clock, a minute a second, so a few minutes pass in a few seconds. Rule 3
across the three sources: the month report counts every minute up, b's own
minutes are down, and ``status --json`` shows the service up with b down in
its ``vantage``.

Until the fleet agent's forwarder is on main the three agents share one
SQLite file (each writes its own source); with the forwarder they forward to
the PostgreSQL of the pg fixtures instead.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.status import DOWN, UP
from core.timeutil import from_minute
from store.sqlite import SqliteStore
from tests.cli.common import ok_json
from tests.loopback import QuietHandler, serve

if TYPE_CHECKING:
    from tests.conftest import RunCli

ROOT = Path(__file__).resolve().parent.parent.parent
AGENT_PROC = ROOT / "tests" / "agent" / "agent_proc.py"
AGENTS = ("a", "b", "c")
RATE = 60.0  # a minute of the agents' clock per real second
MINUTES = 4  # each agent records at least this many whole minutes


class FailsForB(QuietHandler):
    def do_GET(self) -> None:
        self.answer(503 if self.headers.get("User-Agent", "").endswith("(b)") else 200)


@pytest.fixture
def target() -> Iterator[int]:
    with serve(FailsForB) as port:
        yield port


def _config(folder: Path, db: Path, name: str, port: int) -> Path:
    folder.mkdir()
    path = folder / "config.toml"
    path.write_text(
        f'[storage]\npath = "{db}"\n[agent]\nname = "{name}"\n'
        '[[contract]]\nname = "c"\n'
        '[[service]]\nname = "portal"\ncontract = "c"\nmonthly_fee = "100.00"\n'
        f'[service.probe]\nurl = "http://127.0.0.1:{port}/health"\n'
        'interval = "300s"\ntimeout = "5s"\nretries = 0\n',
        encoding="utf-8",
    )
    return path


def _acks(proc: subprocess.Popen[str], out: dict[int, int], done: threading.Event) -> None:
    """Collect ``ACK service minute status`` lines until ``MINUTES`` whole minutes are in."""
    assert proc.stdout is not None
    for line in proc.stdout:
        word, *rest = line.split()
        if word == "ACK":
            out[int(rest[1])] = int(rest[2])
            if len(out) > MINUTES:  # the first minute may be a partial one
                done.set()
    done.set()


def test_three_vantage_points_one_disagreeing(tmp_path: Path, target: int, run_cli: RunCli) -> None:
    db = tmp_path / "fleet.db"
    configs = {n: _config(tmp_path / n, db, n, target) for n in AGENTS}
    now = time.time()
    base = (now // 60) * 60 - 10 * 60  # ten minutes ago at a whole minute: all of it is past
    acks: dict[str, dict[int, int]] = {n: {} for n in AGENTS}
    procs: dict[str, subprocess.Popen[str]] = {}
    readers = []
    try:
        for name in AGENTS:
            procs[name] = subprocess.Popen(
                [
                    sys.executable,
                    str(AGENT_PROC),
                    *map(str, (configs[name], base, now, RATE)),
                    "0.25",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            done = threading.Event()
            t = threading.Thread(target=_acks, args=(procs[name], acks[name], done), daemon=True)
            t.start()
            readers.append((t, done))
        for _, done in readers:
            assert done.wait(60), "an agent never recorded its minutes"
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            proc.wait(30)
        for t, _ in readers:
            t.join(10)
    assert [p.returncode for p in procs.values()] == [0, 0, 0]

    # What each agent saw, minute by minute: b down; a and c up (but for a probe
    # that timed out on a loaded machine, at most one minute each).
    assert set(acks["b"].values()) == {DOWN}
    for name in ("a", "c"):
        assert list(acks[name].values()).count(UP) >= len(acks[name]) - 1, acks[name]
    common = sorted(set(acks["a"]) & set(acks["b"]) & set(acks["c"]))
    assert len(common) >= MINUTES - 1

    async def stored() -> dict[str, bytes]:
        async with await SqliteStore.open(db, readonly=True) as store:
            return await store.minutes("portal", common[0], common[-1] + 1)

    sources = asyncio.run(stored())
    assert sorted(sources) == list(AGENTS)
    assert {sources["b"][m - common[0]] for m in common} == {DOWN}

    # The month report counts the quorum verdict: up, though b saw every minute down.
    # A minute is down only where a or c also saw it down (two of three).
    cfg = ("--config", configs["a"])
    month = from_minute(common[0]).strftime("%Y-%m")  # the contract's time zone is UTC
    in_month = [m for m in common if from_minute(m).strftime("%Y-%m") == month]
    both = {m for m in in_month if DOWN in (acks["a"][m], acks["c"][m])}
    report = ok_json(run_cli, *cfg, "report", "--month", month, "--service", "portal",
                     "--format", "json")  # fmt: skip
    assert report["downtime_minutes"] == len(both) <= 2
    assert report["measured_minutes"] >= len(in_month) >= MINUTES - 2

    status = ok_json(run_cli, *cfg, "status", "--json")
    (portal,) = status["services"]
    assert portal["state"] == "up"
    assert [(v["agent"], v["state"]) for v in portal["vantage"]] == [
        ("a", "up"), ("b", "down"), ("c", "up")]  # fmt: skip

    fleet = ok_json(run_cli, *cfg, "fleet", "status", "--json")
    agents = {a["name"]: a for a in fleet["agents"]}
    assert sorted(agents) == list(AGENTS)
    assert agents["b"]["down"] == ["portal"] and agents["b"]["dissents"] == ["portal"]
    assert agents["a"]["dissents"] == agents["c"]["dissents"] == []
