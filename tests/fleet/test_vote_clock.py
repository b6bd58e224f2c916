"""Live votes are aged on the database's clock, not each agent's own (issue 10).

An agent stamps its probes by its own clock; its forwarder measures that clock
against PostgreSQL's (``clock_offset_seconds``). The votes were aged by the raw
stamp, so an agent 10 minutes behind never counted in the live vote (its fresh
probe read 10 minutes old), one 10 minutes ahead that stopped stayed fresh for
10 minutes more, and the dashboard showed an ahead agent's probe in the future
("0s"). Every live read (``status``, ``fleet status``, the dashboard's main and
detail screens) now reads the stamp less the offset. Real stores, both backends,
pinned time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.config import Config
from core.configfile import load_config
from core.status import DOWN, UP
from reads.fleet import fleet
from reads.reports import overview
from store import ProbeState, open_store
from store.health import AgentHealth
from tests import configs
from tests.fleetkit import init_fleet
from tui.source import StoreSource

NOW = datetime(2026, 11, 18, 9, 30, tzinfo=UTC)
TEN = 600.0  # seconds: the agents' clocks are 10 minutes off
INTERVAL = "30s"  # a vote is stale past 90 s


def _config(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> Config:
    where: dict[str, str] = {"storage": "votes.db"}
    if backend == "postgresql":
        where = {"url": request.getfixturevalue("pg_url")}
    path = tmp_path / "config.toml"
    probe = configs.probe("http://127.0.0.1:9/", interval=INTERVAL, timeout="5s")
    path.write_text(
        configs.toml(
            **where,
            contracts=[configs.contract()],
            services=[
                configs.service("portal", monthly_fee="100.00", probe=probe),
                configs.service("mail", monthly_fee="10.00", probe=probe),
            ],
        ),
        encoding="utf-8",
    )
    return load_config(path)


def _seen(agent: str, offset: float | None, db_ago: float) -> datetime:
    """What ``agent``'s clock read ``db_ago`` seconds before NOW by the database's."""
    return NOW - timedelta(seconds=db_ago) + timedelta(seconds=offset or 0.0)


# agent -> (its clock minus the database's, service, status, seconds ago by the database)
PROBES: dict[str, tuple[float | None, str, int, float]] = {
    "behind": (-TEN, "portal", DOWN, 10),  # running: fresh, though its stamp is 610 s old
    "stopped": (TEN, "portal", UP, 120),  # stopped 2 min ago: stale, its stamp is ahead
    "steady": (None, "portal", UP, 5),  # no offset measured: as stamped
    "ahead": (TEN, "mail", UP, 3),  # running: its stamp is 597 s in the future
}


async def _record(config: Config) -> None:
    if config.storage_url is not None:
        await init_fleet(config.storage_url)
    async with await open_store(config) as store:
        for agent, (offset, service, status, ago) in PROBES.items():
            at = _seen(agent, offset, ago)
            error = "status:503" if status == DOWN else None
            await store.record_probe(ProbeState(service, agent, at, status, 40, error))
            await store.record_health(AgentHealth(agent, at, 0, 0, clock_offset_seconds=offset))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_votes_and_probe_ages_are_on_the_databases_clock(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    config = _config(tmp_path, backend, request)
    await _record(config)
    expect = {"behind": "down", "stopped": "unknown", "steady": "up"}
    fresh = {a: NOW - timedelta(seconds=p[3]) for a, p in PROBES.items()}

    async with await open_store(config, readonly=True) as store:
        status = {s.name: s for s in (await overview(store, config, NOW)).services}
        seen = await fleet(store, config, NOW)
    portal = status["portal"].vantage
    assert {v.agent: v.state for v in portal.votes} == expect, portal
    assert portal.summary == "1/2 down"
    assert {v.agent: v.at for v in portal.votes} == {a: fresh[a] for a in expect}
    assert status["mail"].last_probe_at == fresh["ahead"]
    assert status["mail"].vantage.votes[0].state == "up"
    # fleet status: the same votes (what an agent sees down, where it is outvoted)
    assert {v.agent: v.state for v in seen.vantage["portal"].votes} == expect
    agents = {a.name: a for a in seen.agents}
    assert agents["behind"].down == ("portal",) and agents["behind"].services == 1
    assert {a: agents[a].last_seen for a in PROBES} == fresh

    # The dashboard: the main screen's row and the detail screen's vantage points.
    source = StoreSource(config)
    try:
        snap = await source.snapshot(NOW)
        assert snap is not None
        rows = {r.name: r for r in snap.services}
        detail = await source.detail("portal", source.month_of("portal", NOW), NOW)
    finally:
        await source.close()
    assert rows["mail"].last_probe_at == fresh["ahead"]  # 3 s ago, not 597 s ahead
    for row in rows.values():
        assert row.last_probe_at is not None and row.last_probe_at <= NOW, row
    assert {v.agent: v.state for v in rows["portal"].vantage(NOW).votes} == expect
    assert rows["portal"].live_state(NOW) == status["portal"].state
    assert {a.agent: a.at for a in detail.agents} == {a: fresh[a] for a in expect}
    # Stale on time: 91 s after its last probe by the database's clock, not 691 s.
    later = rows["mail"].vantage(fresh["ahead"] + timedelta(seconds=91))
    assert later.votes[0].stale
