"""A dashboard database with fixed content and a pinned clock.

The content is the demo's own seeded history (``slawatch.demo.seed``) written
once per session at ``NOW``, plus a live probe state per service: ``search``
down, ``billing`` degraded, ``portal`` up, ``mail`` stale. Each test gets its
own copy of the folder, so tests that write cannot disturb one another.
"""

from __future__ import annotations

import asyncio
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.config import Config, load_config
from core.status import DEGRADED, DOWN, UP
from slawatch.demo import seed, write_config
from store import ProbeState
from store.sqlite import SqliteStore

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)  # a Sunday
BASE_URL = "http://127.0.0.1:9"  # never probed in these tests


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
            await store.record_probe(ProbeState(service, "agent", at, status, latency, error))
        await store.checkpoint()


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
