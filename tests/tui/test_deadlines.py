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
