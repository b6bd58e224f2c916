"""``Store.change_marks``: what another command changes moves it; the agent's current
hour does not (the dashboard's cue to recompute its months at once), on both backends."""

from __future__ import annotations

from core.timeutil import from_minute
from store import MinuteRow
from tests.conftest import OpenDb

HOUR = 29_000_000  # an epoch hour (2003); the "current" hour of these checks
NOW_MIN = HOUR * 60 + 30


async def test_marks_move_for_other_commands_only(open_db: OpenDb) -> None:
    store = await open_db()
    try:
        await store.record_minutes(
            [MinuteRow("portal", "agent", NOW_MIN - 90 + i, 1) for i in range(90)]
        )
        before = await store.change_marks(HOUR)
        assert await store.change_marks(HOUR) == before  # reading changes nothing
        # the agent writes the current hour: no change to what other commands change
        await store.record_minutes([MinuteRow("portal", "agent", NOW_MIN + 1, 3)])
        assert await store.change_marks(HOUR) == before
        # an import rewrites a minute two hours back (a new source's chain as well)
        await store.import_minutes([[MinuteRow("portal", "agent", NOW_MIN - 80, 3)]], replace=True)
        after_import = await store.change_marks(HOUR)
        assert after_import != before
        await store.import_minutes([[MinuteRow("portal", "kuma", NOW_MIN - 200, 1)]])
        after_kuma = await store.change_marks(HOUR)
        assert after_kuma != after_import
        await store.add_maintenance("portal", NOW_MIN - 10, NOW_MIN, "upgrade")
        after_window = await store.change_marks(HOUR)
        assert after_window != after_kuma
        case = await store.open_case("portal", "high", "slow", from_minute(NOW_MIN))
        after_case = await store.change_marks(HOUR)
        assert after_case != after_window
        await store.link_case(case.id, NOW_MIN - 80, NOW_MIN - 79)
        after_link = await store.change_marks(HOUR)
        assert after_link != after_case
        await store.settle_credit("portal", "2003-01")
        after_settle = await store.change_marks(HOUR)
        assert after_settle != after_link
        (stored,) = await store.stored_windows("maintenance")
        await store.remove_window("maintenance", stored.id)
        assert await store.change_marks(HOUR) != after_settle
    finally:
        await store.close()
