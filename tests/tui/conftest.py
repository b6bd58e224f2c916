"""A dashboard database with fixed content and a pinned clock.

The content is the demo's own seeded history (``slawatch.demo.seed``) written
once per session at ``NOW``, plus a live probe state per service: ``search``
down, ``billing`` degraded, ``portal`` up, ``mail`` stale (its certificate expiring
in 5 days). Each test gets its own copy of the folder, so tests that write cannot
disturb one another.

``fleet_config``: the same history seen by three vantage points instead of
one agent. All three see ``search`` down, ``billing`` degraded and ``mail``
stale; on ``portal`` virginia-1 sees down where paris-1 and frankfurt-1 see
up (outvoted: the state is up), and virginia-1's clock is 8.3 s ahead.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.config import Config
from core.configfile import load_config
from core.status import DEGRADED, DOWN, UP
from core.timeutil import to_minute
from slawatch.demo import seed, write_config
from store import MinuteRow, ProbeState
from store.health import AgentHealth
from store.sqlite import SqliteStore

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)  # a Sunday
BASE_URL = "http://127.0.0.1:9"  # never probed in these tests


# mail's certificate expires in 5 days (within tls_warn_days = 14: the main screen
# and its detail screen warn); portal's in 200 days (quiet).
CERTIFICATES = {"mail": NOW + timedelta(days=5), "portal": NOW + timedelta(days=200)}


def pinned() -> datetime:
    return NOW


async def _build(folder: Path) -> None:
    config = load_config(write_config(folder, BASE_URL))
    async with await SqliteStore.open(config.storage_path) as store:
        await seed(store, NOW)
        for service, status, seconds, latency in (
            ("portal", UP, 3, 48),
            ("billing", DEGRADED, 2, 1320),
            ("search", DOWN, 4, 12),
            ("mail", UP, 600, 14),  # ten minutes ago at a 5 s interval: stale
        ):
            at = NOW - timedelta(seconds=seconds)
            error = "status:503" if status == DOWN else None
            expiry = CERTIFICATES.get(service)
            await store.record_probe(
                ProbeState(service, "agent", at, status, latency, error, tls_expires_at=expiry)
            )
        await store.checkpoint()


FLEET = ("paris-1", "frankfurt-1", "virginia-1")
FLEET_PROBES = (  # service, agent, status, seconds ago, latency, error
    ("portal", "paris-1", UP, 3, 48, None),
    ("portal", "frankfurt-1", UP, 4, 61, None),
    ("portal", "virginia-1", DOWN, 2, None, "connect:refused"),
    *((("billing", a, DEGRADED, 2, 1320 + 40 * i, "slow") for i, a in enumerate(FLEET))),
    *(("search", a, DOWN, 4, 12, "status:503") for a in FLEET),
    *((("mail", a, UP, 600 + i, 14, None) for i, a in enumerate(FLEET))),
)


async def _build_fleet(folder: Path) -> None:
    config = load_config(write_config(folder, BASE_URL))
    async with await SqliteStore.open(config.storage_path) as store:
        await seed(store, NOW)
        # The last two hours of portal as each agent recorded them: virginia-1
        # saw the 20 minutes before now down, the others up.
        end = to_minute(NOW)
        rows = [
            MinuteRow("portal", agent, m, DOWN if agent == "virginia-1" and m >= end - 20 else UP)
            for agent in FLEET
            for m in range(end - 120, end)
        ]
        await store.record_minutes(rows)
        for service, agent, status, seconds, latency, error in FLEET_PROBES:
            at = NOW - timedelta(seconds=seconds)
            await store.record_probe(ProbeState(service, agent, at, status, latency, error))
        # What each forwarder last said: frankfurt-1's clock is 7.4 s ahead (flagged:
        # its minutes land in the wrong bucket), virginia-1 has a backlog to send.
        for agent, seconds, backlog, offset in (("paris-1", 20, 0, 0.02),
                                                ("frankfurt-1", 35, 0, 7.4),
                                                ("virginia-1", 15, 12, -0.3)):  # fmt: skip
            await store.record_health(
                AgentHealth(agent, NOW - timedelta(seconds=seconds), 0, 0,
                            backlog_minutes=backlog, clock_offset_seconds=offset,
                            version="0.4.0")
            )  # fmt: skip
        await store.checkpoint()


@pytest.fixture(scope="session")
def fleet_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dashboard-fleet")
    asyncio.run(_build_fleet(folder))
    return folder


@pytest.fixture
def fleet_config(fleet_folder: Path, tmp_path: Path) -> Config:
    """A private copy of the fleet folder; returns its parsed config."""
    folder = tmp_path / "fleet"
    shutil.copytree(fleet_folder, folder)
    return load_config(folder / "config.toml")


@pytest.fixture(scope="session")
def seeded_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("dashboard-seed")
    asyncio.run(_build(folder))
    return folder


@pytest.fixture
def dash_config(seeded_folder: Path, tmp_path: Path) -> Config:
    """A private copy of the seeded folder; returns its parsed config."""
    folder = tmp_path / "dash"
    shutil.copytree(seeded_folder, folder)
    return load_config(folder / "config.toml")
