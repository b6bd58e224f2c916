"""End to end (issue 10's Show): a real PostgreSQL, three real agent processes,
one target that fails only for agent "b".

Each agent is ``slawatch --config DIR/config.toml agent --name NAME`` in a
subprocess of its own: its config has ``[storage] url`` (logging in as the
agent's own role, row-level security on) and its own ``spool``, so every minute
goes to the spool first and the forwarder ships it to PostgreSQL. The only
test-only difference is the fast clock of tests/fleet/fast_slawatch.py (a minute
a second). The target answers 503 to the probe whose ``User-Agent`` names agent
``b`` (``slawatch-agent/VERSION (b)``) and 200 to the others. Rule 3 across the
three sources: the month report counts the minutes up though b saw them down,
and ``status --json`` (read by a reader role) shows the service up with b down
in its ``vantage``.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.status import DOWN, UP
from core.timeutil import from_minute
from store.postgres import PostgresStore
from tests import configs
from tests.cli.common import ok_json
from tests.fleetkit import agent_role, init_fleet, spool_and_postgres
from tests.loopback import QuietHandler, serve

if TYPE_CHECKING:
    from tests.conftest import RunCli
    from tests.pg import Cluster

ROOT = Path(__file__).resolve().parent.parent.parent
FAST_SLAWATCH = Path(__file__).with_name("fast_slawatch.py")
AGENTS = ("a", "b", "c")
RATE = 120.0  # a minute of the agents' clock every half second
MINUTES = 4  # each agent records at least this many whole minutes in PostgreSQL
SEEN: list[str] = []  # every User-Agent the target was probed with


class FailsForB(QuietHandler):
    def do_GET(self) -> None:
        agent = self.headers.get("User-Agent", "")
        SEEN.append(agent)
        self.answer(503 if agent.endswith("(b)") else 200)


@pytest.fixture
def target() -> Iterator[int]:
    SEEN.clear()
    with serve(FailsForB) as port:
        yield port


def _config(folder: Path, url: str, port: int) -> Path:
    """A fleet config: the database URL (with the role to log in as), a spool of its own."""
    folder.mkdir()
    path = folder / "config.toml"
    health = configs.probe(
        f"http://127.0.0.1:{port}/health", interval="300s", timeout="5s", retries=0
    )
    path.write_text(
        configs.toml(
            url=url,
            spool="spool.db",
            contracts=[configs.contract("c")],
            services=[configs.service("portal", "c", "100.00", probe=health)],
        ),
        encoding="utf-8",
    )
    return path


async def _minutes(url: str) -> dict[str, dict[int, int]]:
    """What PostgreSQL holds of ``portal``: source -> {minute: status}."""
    async with await PostgresStore.open(url, readonly=True) as store:
        bounds = await store.data_bounds("portal")
        if bounds is None:
            return {}
        blocks = await store.minutes("portal", *bounds)
    return {
        source: {bounds[0] + i: s for i, s in enumerate(data) if s}
        for source, data in blocks.items()
    }


def _wait_for_minutes(url: str, procs: dict[str, subprocess.Popen[str]]) -> None:
    """Until PostgreSQL holds ``MINUTES`` whole minutes of every agent (the first may be
    a partial one), or fail naming an agent that died."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            assert proc.poll() is None, f"agent {name} exited: {proc.communicate()[1]}"
        held = asyncio.run(_minutes(url))
        if all(len(held.get(n, {})) > MINUTES for n in AGENTS):
            return
        time.sleep(0.3)
    raise AssertionError(f"the agents' minutes never reached PostgreSQL: {held}")


def test_three_agents_into_postgres_one_disagreeing(
    tmp_path: Path, target: int, run_cli: RunCli, pg_cluster: Cluster, pg_url: str
) -> None:
    asyncio.run(init_fleet(pg_url))  # `store init` as the owner: schema, roles, RLS
    database = pg_url.rsplit("/", 1)[1]
    configs = {n: _config(tmp_path / n, agent_role(pg_cluster, pg_url, n), target) for n in AGENTS}
    pg_cluster.psql("CREATE ROLE dash LOGIN IN ROLE slawatch_reader")
    reader = _config(tmp_path / "reader", pg_cluster.url(database, "dash"), target)

    now = time.time()
    base = (now // 60) * 60 - 20 * 60  # twenty minutes ago at a whole minute: all of it is past
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        for name in AGENTS:
            procs[name] = subprocess.Popen(
                [sys.executable, str(FAST_SLAWATCH), *map(str, (base, now, RATE, 0.15)),
                 "--config", str(configs[name]), "agent", "--name", name],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
        _wait_for_minutes(pg_url, procs)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        logs = {n: p.communicate(timeout=30)[1] for n, p in procs.items()}
    assert [p.returncode for p in procs.values()] == [0, 0, 0], logs

    # Every probe named its agent; every spooled minute reached PostgreSQL, once.
    assert {re.sub(r"/\S+ ", "/V ", ua) for ua in SEEN} == {
        f"slawatch-agent/V ({n})" for n in AGENTS
    }
    held = asyncio.run(_minutes(pg_url))
    for name in AGENTS:
        spooled, shared = asyncio.run(
            spool_and_postgres(tmp_path / name / "spool.db", pg_url, ["portal"])
        )
        assert {k for k in spooled if k[1] == name} == {k for k in shared if k[1] == name}
        assert {k[1] for k in spooled} == {name}  # a spool holds its own agent's minutes only

    # What each agent saw, minute by minute: b down; a and c up (but for a probe
    # that timed out on a loaded machine, at most one minute each).
    assert set(held["b"].values()) == {DOWN}
    for name in ("a", "c"):
        assert list(held[name].values()).count(UP) >= len(held[name]) - 1, held[name]
    common = sorted(set(held["a"]) & set(held["b"]) & set(held["c"]))
    assert len(common) >= MINUTES - 1

    # The month report counts the quorum verdict: up, though b saw every minute down.
    # Where all three recorded a minute it is down only where a or c also saw it down
    # (two of three); at the edges, where an agent had not started yet or had stopped
    # already, rule 3 weighs the agents that did record it.
    cfg = ("--config", reader)
    month = from_minute(common[0]).strftime("%Y-%m")  # the contract's time zone is UTC
    votes: dict[int, list[int]] = {}
    for name in AGENTS:
        for m, s in held[name].items():
            if from_minute(m).strftime("%Y-%m") == month:
                votes.setdefault(m, []).append(s)
    quorum_down = {m for m, v in votes.items() if 2 * v.count(DOWN) > len(v)}
    both = {m for m in common if DOWN in (held["a"][m], held["c"][m])}
    assert quorum_down & set(common) == both and len(both) <= 2
    report = ok_json(run_cli, *cfg, "report", "--month", month, "--service", "portal",
                     "--format", "json")  # fmt: skip
    assert report["downtime_minutes"] == len(quorum_down)

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
    for a in agents.values():  # the forwarder's health row: drained, measured, versioned
        assert a["backlog_minutes"] == 0 and a["version"], fleet
        offset = a["clock_offset_seconds"]  # the fast clock is minutes off PostgreSQL's
        assert offset is not None and ("clock" in a["flags"]) == (abs(offset) > 5), fleet
