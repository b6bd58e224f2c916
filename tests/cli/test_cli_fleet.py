"""``status --json`` gains ``vantage``; ``fleet status [--json]`` lists the agents (issue 10)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core.status import DOWN, UP
from core.timeutil import iso_z, utc_now
from store import ProbeState
from store.health import AgentHealth
from store.sqlite import SqliteStore
from tests import configs
from tests.cli.common import ok_json, storage

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

CONFIG = storage("db/slawatch.db") + configs.toml(
    contracts=[configs.contract()],
    services=[
        configs.service(probe=configs.probe("http://127.0.0.1:9/health", interval="30s")),
        configs.service(
            "mail",
            monthly_fee="10.00",
            probe=configs.probe("http://127.0.0.1:9/mail", interval="30s"),
        ),
    ],
)
FLEET_KEYS = {"name", "last_seen", "backlog_minutes", "clock_offset_seconds", "version"}


def test_status_and_fleet_status_show_each_vantage_point(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, CONFIG))
    now = utc_now()
    at = {"a": now - timedelta(seconds=4), "b": now - timedelta(seconds=6),
          "c": now - timedelta(seconds=5)}  # fmt: skip
    gone = now - timedelta(minutes=10)  # c stopped probing mail ten minutes ago

    async def record() -> None:
        async with await SqliteStore.open(tmp_path / "db" / "slawatch.db") as store:
            await store.record_probes(
                [
                    ProbeState("portal", "a", at["a"], UP, 40, None),
                    ProbeState("portal", "b", at["b"], DOWN, None, "status:503"),
                    ProbeState("portal", "c", at["c"], UP, 60, None),
                    ProbeState("mail", "a", at["a"], UP, 10, None),
                    ProbeState("mail", "b", at["b"], DOWN, None, "timeout"),
                    ProbeState("mail", "c", gone, UP, 12, None),
                ]
            )
            await store.record_health(
                AgentHealth("a", now - timedelta(seconds=20), 0, 0, clock_offset_seconds=7.25,
                            version="1.2.3")
            )  # fmt: skip
            await store.record_health(
                AgentHealth("b", now - timedelta(seconds=30), 1, 0, backlog_minutes=2,
                            clock_offset_seconds=-0.4, version="1.2.3")
            )  # fmt: skip

    asyncio.run(record())

    status = ok_json(run_cli, *cfg, "status", "--json")
    services = {s["name"]: s for s in status["services"]}
    portal, mail = services["portal"], services["mail"]
    assert portal["state"] == "up"  # b is outvoted by a and c (rule 3)
    # Each probe's time on the database's clock: a's 7.25 s ahead, b's 0.4 s behind.
    seen = {"a": at["a"] - timedelta(seconds=7.25), "b": at["b"] + timedelta(seconds=0.4)}
    assert portal["vantage"] == [
        {"agent": "a", "state": "up", "last_probe_at": iso_z(seen["a"])},
        {"agent": "b", "state": "down", "last_probe_at": iso_z(seen["b"])},
        {"agent": "c", "state": "up", "last_probe_at": iso_z(at["c"])},
    ]
    # On mail c's vote is stale: a (up) and b (down) tie, and a tie is not a majority.
    assert [(v["agent"], v["state"]) for v in mail["vantage"]] == [
        ("a", "up"), ("b", "down"), ("c", "unknown")]  # fmt: skip
    assert (mail["state"], mail["stale"]) == ("up", False)

    text = run_cli(*cfg, "status").stdout
    assert "AGENTS" in text
    assert "1/3 down" in text and "1/2 down" in text
    assert "portal: agent b sees down, outvoted (up)" in text

    fleet = ok_json(run_cli, *cfg, "fleet", "status", "--json")
    agents = {a["name"]: a for a in fleet["agents"]}
    assert list(agents) == ["a", "b", "c"]
    for agent in agents.values():
        assert set(agent) >= FLEET_KEYS
    # a's clock is 7.25 s ahead: when it was last seen, by the database's clock.
    assert agents["a"] == agents["a"] | {
        "last_seen": iso_z(at["a"] - timedelta(seconds=7.25)), "backlog_minutes": 0,
        "clock_offset_seconds": 7.25,
        "version": "1.2.3", "services": 2, "down": [], "flags": ["clock"]}  # fmt: skip
    assert agents["b"] == agents["b"] | {
        "last_seen": iso_z(seen["b"]), "backlog_minutes": 3, "clock_offset_seconds": -0.4,
        "down": ["mail", "portal"],
        "dissents": ["mail", "portal"], "flags": ["backlog"]}  # fmt: skip
    # c has written no health row; its newest probe (portal, 5 s ago) is when it was seen.
    assert agents["c"] == agents["c"] | {
        "last_seen": iso_z(at["c"]), "backlog_minutes": 0, "clock_offset_seconds": None,
        "flags": []}  # fmt: skip

    table = run_cli(*cfg, "fleet", "status").stdout.splitlines()
    assert table[0].split() == [
        "AGENT", "LAST", "SEEN", "BACKLOG", "CLOCK", "VERSION", "SERVICES", "SEES", "DOWN",
        "FLAGS"]  # fmt: skip
    assert table[2].split()[0] == "b" and table[2].split()[-1] == "backlog"
    assert "+7.2 s" in table[1] and "1.2.3" in table[1] and table[1].split()[-1] == "clock"
    assert "agent a: clock off by +7.2 s" in "\n".join(table)
    assert "agent b: outvoted on mail, portal" in table


def test_fleet_status_flags_a_silent_agent_and_says_when_nobody_reported(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, CONFIG))
    assert ok_json(run_cli, *cfg, "fleet", "status", "--json")["agents"] == []
    assert run_cli(*cfg, "fleet", "status").stdout.strip() == "No agents have reported yet."
    then = utc_now() - timedelta(minutes=5)

    async def record() -> None:
        async with await SqliteStore.open(tmp_path / "db" / "slawatch.db") as store:
            await store.record_health(AgentHealth("paris-1", then, 0, 0))

    asyncio.run(record())
    (agent,) = ok_json(run_cli, *cfg, "fleet", "status", "--json")["agents"]
    assert (agent["name"], agent["flags"], agent["services"]) == ("paris-1", ["silent"], 0)
    assert "agent paris-1: silent since" in run_cli(*cfg, "fleet", "status").stdout


def test_a_failing_probes_retries_do_not_make_its_vote_stale(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """Every 5 s with 2 retries 5 s apart: a failing run takes 10-16 s, the scheduler skips
    the runs it overlaps, and its verdict is stamped with its start, so the agent that sees
    the service down writes a vote every 15-20 s, already 10 s old. Three intervals (15 s)
    made that vote stale most of the time: '2/2 up' where one of three agents saw it down."""
    quick = configs.probe(
        "http://127.0.0.1:9/health", interval="5s", timeout="2s", retries=2, retry_delay="5s"
    )
    config = configs.toml(
        contracts=[configs.contract()],
        services=[configs.service(probe=quick), configs.service("mail", probe=quick)],
    )
    cfg = ("--config", write_config(tmp_path, storage("db/slawatch.db") + config))
    now = utc_now()

    async def record() -> None:
        async with await SqliteStore.open(tmp_path / "db" / "slawatch.db") as store:
            await store.record_probes(
                [
                    ProbeState("portal", "a", now - timedelta(seconds=2), UP, 40, None),
                    ProbeState("portal", "b", now - timedelta(seconds=25), DOWN, 5, "status:503"),
                    ProbeState("portal", "c", now - timedelta(seconds=3), UP, 60, None),
                    ProbeState("mail", "b", now - timedelta(seconds=50), DOWN, 5, "status:503"),
                ]
            )

    asyncio.run(record())
    services = {s["name"]: s for s in ok_json(run_cli, *cfg, "status", "--json")["services"]}
    assert [(v["agent"], v["state"]) for v in services["portal"]["vantage"]] == [
        ("a", "up"), ("b", "down"), ("c", "up")]  # fmt: skip
    assert "1/3 down" in run_cli(*cfg, "status").stdout
    # Past three of its longest runs (48 s) the vote is stale, as before.
    assert services["mail"]["vantage"][0]["state"] == "unknown"


def test_an_agent_whose_clock_is_ahead_goes_silent_when_it_stops(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """An agent 10 minutes ahead stamps its probes and health 10 minutes ahead: stopped
    5 minutes ago, it read 'last seen' 5 minutes in the future and was not flagged
    silent until 13 minutes after it stopped; one behind was silent while it ran."""
    cfg = ("--config", write_config(tmp_path, CONFIG))
    now = utc_now()
    ahead, behind = timedelta(minutes=10), timedelta(minutes=-10)

    async def record() -> None:
        async with await SqliteStore.open(tmp_path / "db" / "slawatch.db") as store:
            stopped = now - timedelta(minutes=5) + ahead
            await store.record_probes([ProbeState("portal", "fast", stopped, UP, 40, None)])
            await store.record_health(
                AgentHealth("fast", stopped, 0, 0, clock_offset_seconds=ahead.total_seconds())
            )
            running = now - timedelta(seconds=10) + behind
            await store.record_probes([ProbeState("portal", "slow", running, UP, 40, None)])
            await store.record_health(
                AgentHealth("slow", running, 0, 0, clock_offset_seconds=behind.total_seconds())
            )

    asyncio.run(record())
    agents = {a["name"]: a for a in ok_json(run_cli, *cfg, "fleet", "status", "--json")["agents"]}
    assert set(agents["fast"]["flags"]) == {"silent", "clock"}, agents["fast"]
    assert agents["fast"]["last_seen"] == iso_z(now - timedelta(minutes=5))
    assert agents["slow"]["flags"] == ["clock"], agents["slow"]


def test_status_counts_the_fresh_vote_of_an_agent_whose_clock_is_behind(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """An agent 10 minutes behind stamps its probe 10 minutes back: aged by that stamp its
    fresh vote read stale (``unknown``) and never counted; one 10 minutes ahead that
    stopped stayed fresh. Both aged on the database's clock now (tests/fleet/test_vote_clock)."""
    cfg = ("--config", write_config(tmp_path, CONFIG))
    now = utc_now()
    ten = timedelta(minutes=10)

    async def record() -> None:
        async with await SqliteStore.open(tmp_path / "db" / "slawatch.db") as store:
            for agent, status, at, offset in (
                ("behind", DOWN, now - timedelta(seconds=5) - ten, -ten),
                ("stopped", UP, now - timedelta(minutes=3) + ten, ten),
            ):
                await store.record_probes([ProbeState("portal", agent, at, status, 40, None)])
                await store.record_health(
                    AgentHealth(agent, at, 0, 0, clock_offset_seconds=offset.total_seconds())
                )

    asyncio.run(record())
    (portal,) = (s for s in ok_json(run_cli, *cfg, "status", "--json")["services"]
                 if s["name"] == "portal")  # fmt: skip
    votes = {v["agent"]: v for v in portal["vantage"]}
    assert votes["behind"]["state"] == "down" and votes["stopped"]["state"] == "unknown", votes
    assert portal["state"] == "down"
    assert votes["behind"]["last_probe_at"] <= iso_z(now)
