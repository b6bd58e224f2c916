"""Cases from the keyboard: Enter opens a case's history; ``r`` and ``d`` ask when."""

from __future__ import annotations

from datetime import timedelta

from textual.widgets import Input, Label

from core.config import Config
from store.sqlite import SqliteStore
from tests.tui.conftest import NOW
from tests.tui.test_actions import app_for, loaded, row_text, until
from tui.components.case_screen import CaseScreen
from tui.components.cases_panel import CasesPanel
from tui.components.main_screen import MainScreen
from tui.components.row_table import RowTable
from tui.components.time_form import TimeForm

SIZE = (160, 45)


def history(screen: CaseScreen) -> list[str]:
    table = screen.query_one("#history", RowTable)
    return [row_text(table, key) for key in table.keys]


async def test_enter_on_a_case_opens_its_history(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        cases = app.screen.query_one(CasesPanel)
        cases.focus()
        await pilot.press("down")  # portal's SUP-4720, awaiting its first response
        chosen = cases.selected_case
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CaseScreen))
        screen = app.screen
        assert isinstance(screen, CaseScreen) and screen.case_id == chosen
        await until(pilot, lambda: screen.detail is not None)
        lines = history(screen)
        assert "opened · high via" in lines[0]
        assert any("first response due (in" in line for line in lines)
        # r on the case screen: a time 20 minutes ago, typed over the default
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, TimeForm))
        field = app.screen.query_one("#at", Input)
        assert app.focused is field and field.value == "2026-11-22T09:30:00Z"
        field.value = ""
        at = NOW - timedelta(minutes=20)
        await pilot.press(*at.strftime("%Y-%m-%dT%H:%M:%SZ"), "enter")
        await until(pilot, lambda: app.screen is screen)
        await until(pilot, lambda: any("first response, in time" in x for x in history(screen)))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen))
    async with await SqliteStore.open(dash_config.storage_path, readonly=True) as store:
        case = await store.get_case(chosen or 0)
    assert case is not None and case.responded_at == at and case.resolved_at is None


async def test_a_time_in_the_future_is_refused(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        cases = app.screen.query_one(CasesPanel)
        cases.focus()
        chosen = cases.selected_case
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, TimeForm))
        app.screen.query_one("#at", Input).value = "2026-11-22T10:30:00Z"
        await pilot.press("enter")
        assert "in the future" in str(app.screen.query_one("#error", Label).content)
        await pilot.press("escape")  # cancelled: nothing written
        await until(pilot, lambda: not isinstance(app.screen, TimeForm))
    async with await SqliteStore.open(dash_config.storage_path, readonly=True) as store:
        case = await store.get_case(chosen or 0)
    assert case is not None and case.resolved_at is None


async def test_recording_a_response_says_whether_it_met_the_deadline(dash_config: Config) -> None:
    """``r`` says what the panel will show: in time, or BREACHED and by how much."""
    from tui.source import StoreSource

    async with await SqliteStore.open(dash_config.storage_path, readonly=True) as store:
        refs = {c.ref: c.id for c in await store.cases(open_only=True)}
    source = StoreSource(dash_config)
    try:
        # search's SUP-4718: critical, opened 47 min before NOW, due 30 min later.
        said = await source.respond(refs["SUP-4718"], NOW)
        assert said == (
            f"Case #{refs['SUP-4718']} (SUP-4718): first response recorded,"
            " ⚠ BREACHED by 17m 00s (due 11-22 09:13 UTC)."
        )
        # portal's SUP-4720: high, opened 38 min before NOW, due in an hour.
        said = await source.respond(refs["SUP-4720"], NOW)
        assert said.endswith("first response recorded, in time (due 11-22 09:52 UTC).")
    finally:
        await source.close()
