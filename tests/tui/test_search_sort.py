"""``/`` filters every panel of the main screen; ``s``, ``S`` and a header click sort a table."""

from __future__ import annotations

from textual import events
from textual.widgets import Input

from core.config import Config
from tests.tui.test_actions import app_for, loaded, row_text, until
from tui.components.cases_panel import CasesPanel
from tui.components.credits_panel import CreditsPanel
from tui.components.main_screen import MainScreen
from tui.components.month_grid import MonthGrid
from tui.components.outages_panel import OutagesPanel
from tui.components.row_table import natural
from tui.components.status_table import StatusTable

SIZE = (160, 45)


async def test_slash_filters_every_panel_and_esc_clears(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        status = app.screen.query_one(StatusTable)
        cases = app.screen.query_one(CasesPanel)
        # The footer names the key as the box it opens is titled (it said "Search").
        said = {b.binding.key: b.binding.description for b in app.screen.active_bindings.values()}
        await pilot.press("slash")
        field = app.screen.query_one("#filter", Input)
        assert app.focused is field
        assert said["slash"] == field.border_title == "Filter"
        await pilot.press(*"mail")  # "m" and "a" are keys of the dashboard: here, text
        await until(pilot, lambda: status.keys == ["mail"])
        assert app.screen.query_one(MonthGrid).keys == ["mail"]
        assert {o.service for o in app.screen.query_one(OutagesPanel).row_outages()} == {"mail"}
        assert cases.keys == []  # no open case of mail
        assert [k for k in app.screen.query_one(CreditsPanel).keys if "portal" in k] == []
        await pilot.press("enter")  # keeps the filter, back to the table
        assert app.focused is status and status.keys == ["mail"]
        await pilot.press("escape")
        await until(pilot, lambda: len(status.keys) == 4)
        assert not field.display
        # several words: each must match (a ref and a priority)
        await pilot.press("slash", *"sup-47 crit")
        await until(pilot, lambda: len(cases.keys) == 1)
        assert "SUP-4718" in row_text(cases, cases.keys[0])


async def test_s_sorts_by_the_next_column_and_shift_s_reverses(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        status = app.screen.query_one(StatusTable)
        assert status.keys == ["search", "billing", "mail", "portal"]  # the most urgent first
        status.focus()
        await pilot.press("s")  # by service name
        assert status.keys == ["billing", "mail", "portal", "search"]
        await pilot.press("S")
        assert status.keys == ["search", "portal", "mail", "billing"]
        status.sort = ("latency", False)
        await pilot.pause()
        assert status.keys == ["search", "mail", "portal", "billing"]  # 12, 14, 48, 1320 ms
        await pilot.click(StatusTable, offset=(2, 0))  # the header of the service column
        assert status.keys == ["billing", "mail", "portal", "search"]
        await pilot.click(StatusTable, offset=(2, 0))
        assert status.keys == ["search", "portal", "mail", "billing"]


def test_natural_order_reads_numbers_and_durations() -> None:
    cells = ["1,320 ms", "48 ms", "-", "12 ms"]
    assert sorted(cells, key=natural) == ["12 ms", "48 ms", "1,320 ms", "-"]
    assert sorted(["5h 00m", "47m 00s", "2d 04h", "9s"], key=natural) == [
        "9s",
        "47m 00s",
        "5h 00m",
        "2d 04h",
    ]
    assert natural("99.972 %") < natural("100.000 %")


async def test_keys_typed_right_after_the_slash_are_the_query(dash_config: Config) -> None:
    """A fast typist (or a terminal delivering '/por' in one read): the keys come
    before the filter has the focus, and still land in it, never as commands
    (``r`` would ask for a first response)."""
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        for key, character in (("slash", "/"), ("p", "p"), ("o", "o"), ("r", "r")):
            app.post_message(events.Key(key, character))
        field = app.screen.query_one("#filter", Input)
        await until(pilot, lambda: field.value == "por")
        status = app.screen.query_one(StatusTable)
        await until(pilot, lambda: status.keys == ["portal"])
        assert isinstance(app.screen, MainScreen)
