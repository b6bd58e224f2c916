"""The month pass recomputes only the services whose data changed, and gets the
same figures as a pass that recomputes everything."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from core.config import Config
from core.status import DOWN
from core.timeutil import to_minute
from store import MinuteRow
from store.sqlite import SqliteStore
from tests.tui.conftest import NOW
from tui.months import Recent, recent_changed
from tui.source import StoreSource


def test_recent_changed_sees_new_and_rewritten_minutes_only() -> None:
    old = Recent(100, 160, ((120, 40), (159, 41)))
    assert not recent_changed(old, Recent(101, 161, ((120, 40), (159, 41))))  # window slid
    assert not recent_changed(old, Recent(121, 181, ((159, 41),)))  # 120 slid out of view
    assert recent_changed(old, Recent(101, 161, ((120, 40), (159, 41), (160, 39))))  # new
    assert recent_changed(old, Recent(101, 161, ((120, None), (159, 41))))  # rewritten
    assert recent_changed(old, Recent(101, 161, ((120, 40), (130, None), (159, 41))))  # filled


async def _write_down_minute(config: Config, service: str) -> None:
    async with await SqliteStore.open(config.storage_path) as store:
        minute = to_minute(NOW) - 2
        await store.record_minutes([MinuteRow(service, "agent", minute, DOWN, None, "timeout")])


def test_incremental_pass_matches_a_full_one(dash_config: Config) -> None:
    kept = StoreSource(dash_config)
    kept.months(NOW)
    assert kept.recomputed == len(dash_config.services)
    later = NOW + timedelta(seconds=20)
    kept.months(later)
    assert kept.recomputed == 0  # nothing written: every figure kept

    asyncio.run(_write_down_minute(dash_config, "portal"))
    incremental = kept.months(later)
    assert kept.recomputed == 1
    full = StoreSource(dash_config).months(later, full=True)
    assert incremental == full
    portal = next(row for row in incremental.services if row.name == "portal")
    assert portal.latency_hour[-2] is None and portal.budget_minutes == 215  # one minute used
