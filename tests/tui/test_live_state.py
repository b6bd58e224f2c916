"""``status`` and the dashboard show one live state: the sources' latest probes by rule 3.

Before, the dashboard showed the newest probe of any source while ``status``
folded every source's latest by rule 3, so with two sources they could say
different things. Each case here writes real probe states into a real SQLite
store and reads them back both ways.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.configfile import load_config
from core.status import DEGRADED, DOWN, UP
from reads.reports import overview
from store import ProbeState, open_store
from tests import configs
from tests.conftest import write_config
from tui.source import StoreSource

NOW = datetime(2026, 10, 14, 12, 0, tzinfo=UTC)

CONFIG = configs.toml(
    storage="live.db",
    contracts=[configs.contract()],
    services=[
        configs.service(
            "portal",
            monthly_fee="100.00",
            probe=configs.probe("http://127.0.0.1:9/", interval="10s", timeout="5s"),
        )
    ],
)


def _probe(source: str, seconds_ago: int, status: int, latency: int | None) -> ProbeState:
    error = "status:503" if status == DOWN else None
    at = NOW - timedelta(seconds=seconds_ago)
    return ProbeState("portal", source, at, status, latency, error)


CASES = [
    # newest says down, two others up: rule 3 says up (1 of 3), newest-wins said down
    pytest.param(
        [_probe("a", 1, DOWN, None), _probe("b", 4, UP, 40), _probe("c", 6, UP, 60)],
        "up",
        50,
        id="one-of-three-down",
    ),
    # two of three down, the newest up: rule 3 says down, newest-wins said up
    pytest.param(
        [_probe("a", 1, UP, 30), _probe("b", 4, DOWN, None), _probe("c", 6, DOWN, None)],
        "down",
        30,
        id="two-of-three-down",
    ),
    pytest.param(
        [_probe("a", 2, DEGRADED, 900), _probe("b", 3, DOWN, None)],
        "degraded",
        900,
        id="degraded-or-down-by-half",
    ),
]


@pytest.mark.parametrize(("probes", "state", "latency"), CASES)
def test_status_and_dashboard_fold_alike(
    tmp_path: Path, probes: list[ProbeState], state: str, latency: int
) -> None:
    config = load_config(write_config(tmp_path, CONFIG))

    async def go() -> tuple[str, int | None, str, int | None]:
        async with await open_store(config) as store:
            for p in probes:
                await store.record_probe(p)
        async with await open_store(config, readonly=True) as store:
            (status,) = (await overview(store, config, NOW)).services
        source = StoreSource(config)
        try:
            snap = await source.snapshot(NOW)
        finally:
            await source.close()
        assert snap is not None
        (row,) = snap.services
        return status.state, status.latency_ms, row.state, row.latency_ms

    status_state, _, row_state, _ = asyncio.run(go())
    assert (status_state, row_state) == (state, state)


def test_a_store_failing_under_the_dashboard_is_a_slawatch_error(tmp_path: Path) -> None:
    """A read SQLite refuses once the dashboard is running (here: a table gone) reaches
    the dashboard as a ``SlawatchError`` naming the file, which its refresh and
    detail screen report, rather than a raw ``sqlite3`` error they let through."""
    import sqlite3

    from core.errors import SlawatchError

    config = load_config(write_config(tmp_path, CONFIG))

    async def go() -> str:
        async with await open_store(config) as store:
            await store.record_probe(_probe("a", 1, UP, 10))
        source = StoreSource(config)
        try:
            assert await source.snapshot(NOW) is not None
            with sqlite3.connect(config.storage_path) as db:
                db.execute("ALTER TABLE probe_states RENAME TO gone")
            with pytest.raises(SlawatchError) as caught:
                await source.snapshot(NOW)
            return str(caught.value)
        finally:
            await source.close()

    message = asyncio.run(go())
    assert str(config.storage_path) in message and "probe_states" in message
