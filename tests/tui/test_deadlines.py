"""A deadline an operator must act on (report an outage by ...) is never cut on screen:
a narrow column drops the words around it first (``Fitted``)."""

from __future__ import annotations

import pytest

from core.config import Config
from tests.tui.conftest import pinned
from tests.tui.test_actions import app_for, loaded
from tui import fmt
from tui.components.credits_panel import CreditsPanel
from tui.components.outages_panel import OutagesPanel
from tui.components.row_table import Fitted, RowTable


def test_a_fitted_cell_shows_the_longest_wording_that_fits() -> None:
    shorter = ["⚠ report by 12-08 19:38", "⚠ by 12-08"]
    cell = Fitted("⚠ report by 12-08 19:38 (1d 17h left)", shorter)
    assert cell.fitting(40).plain == cell.plain
    assert cell.fitting(30).plain == "⚠ report by 12-08 19:38"
    assert cell.fitting(20).plain == "⚠ by 12-08"
    assert cell.fitting(3).plain == "⚠ by 12-08"  # none fits: the shortest (the table scrolls)
    assert cell.least == len("⚠ by 12-08")


def _screen_lines(table: RowTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (130, 40), (140, 40), (160, 45)])
async def test_report_by_is_whole_in_every_panel_that_shows_it(
    dash_config: Config, size: tuple[int, int]
) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        await pilot.pause()
        credits = app.screen.query_one(CreditsPanel)
        outages = app.screen.query_one(OutagesPanel)
        unreported = [o for o in outages.row_outages() if not o.reported]
        assert unreported and all(o.report_by > pinned() for o in unreported)
        deadlines = [fmt.when(o.report_by) for o in unreported]
        panels = [credits] + ([outages] if outages.region.width else [])
        if size[0] >= 120:
            assert outages in panels  # the roomy layout shows the outages
        for table in panels:
            shown = "\n".join(_screen_lines(table))
            for deadline in deadlines:
                assert f"by {deadline}" in shown, (table.id, size, shown)


async def test_a_credit_of_the_running_month_says_so(dash_config: Config) -> None:
    """billing, November 2026 (pinned on the 22nd): 300 minutes down so far owe a credit
    that may still change; the panel marks the month running, as status does, and every
    deadline still fits at 160 columns."""
    from core.status import DOWN
    from core.timeutil import YearMonth, to_minute
    from store import MinuteRow
    from store.sqlite import SqliteStore

    start, _ = YearMonth(2026, 11).bounds(dash_config.contract_for("billing").timezone)
    rows = [  # two sources of three say down: down (rule 3)
        MinuteRow("billing", source, m, DOWN)
        for source in ("import-a", "import-b")
        for m in range(start + 60, start + 360)
    ]
    assert start + 360 < to_minute(pinned())
    async with await SqliteStore.open(dash_config.storage_path) as store:
        await store.import_minutes([rows])
    app = app_for(dash_config)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, app)
        credits = app.screen.query_one(CreditsPanel)
        shown = "\n".join(_screen_lines(credits))
        assert credits.virtual_size.width <= credits.size.width, shown
    (running,) = [line for line in shown.splitlines() if "billing" in line]
    assert "2026-11 running" in running, shown
    (done,) = [line for line in shown.splitlines() if "portal" in line]
    assert "2026-10 " in done and "running" not in done, shown


async def test_a_deadline_in_business_days_is_the_one_shown(dash_config: Config) -> None:
    """``report_within = "1bd"`` on a Paris calendar (Monday to Friday 09:00-17:30): every
    outage's "report by" is its start plus one business day of working time, and the
    panels show that deadline (pinned on Sunday 22 November: Monday's hours ahead)."""
    from dataclasses import replace
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    from core.calendar import report_by
    from core.config import BusinessWithin, Calendar, DayWindow
    from core.durations import Duration

    hours = {day: (DayWindow(time(9), time(17, 30)),) for day in range(5)}
    cal = Calendar("paris", ZoneInfo("Europe/Paris"), hours, timedelta(hours=8, minutes=30))
    within = BusinessWithin(Duration(0, 1), cal)
    config = replace(
        dash_config,
        calendars={**dash_config.calendars, "paris": cal},
        contracts={n: replace(c, report_within=within) for n, c in dash_config.contracts.items()},
    )
    app = app_for(config)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, app)
        await pilot.pause()
        outages = app.screen.query_one(OutagesPanel).row_outages()
        assert outages and all(o.report_by == report_by(within, o.start) for o in outages)
        ahead = [o for o in outages if not o.reported and o.report_by > pinned()]
        assert ahead, [(o.start, o.report_by) for o in outages]
        # Monday 23 November 2026, 09:00-17:30 in Paris (08:00-16:30 UTC): any outage
        # after Friday's close is due by Monday 16:30 UTC.
        assert all(o.report_by <= pinned() + timedelta(days=1, hours=7) for o in ahead)
        shown = "\n".join(_screen_lines(app.screen.query_one(CreditsPanel)))
        for o in ahead:
            assert f"by {fmt.when(o.report_by)}" in shown, shown
