"""Keys and first impressions: quitting, the first frame, and forms that keep what is typed."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input

from core.config import Config
from core.configfile import load_config
from store import open_store
from store.sqlite import SqliteStore
from tests.conftest import write_config
from tests.tui.conftest import pinned
from tests.tui.test_actions import app_for, loaded, row_text, until
from tests.tui.test_live_state import CONFIG
from tui.app import SlawatchApp
from tui.components.case_form import CaseForm
from tui.components.exclusion_form import ExclusionForm
from tui.components.status_table import StatusTable
from tui.components.title_bar import TitleBar

SIZE = (160, 45)


async def test_ctrl_c_quits_like_q(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("ctrl+c")
        await until(pilot, lambda: not app.is_running)
    assert app.return_code == 0


async def test_the_first_frame_is_waiting_not_stale(tmp_path: Path) -> None:
    """A store the agent has not written a probe to yet: nothing is stale, all is waiting."""
    config = load_config(write_config(tmp_path, CONFIG))
    async with await open_store(config):
        pass
    app = SlawatchApp(config, now=pinned, refresh_every=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.refreshes >= 1)
        await pilot.pause()
        table = app.screen.query_one(StatusTable)
        assert "… waiting" in row_text(table, "portal")
        assert "stale" not in row_text(table, "portal")
        title = app.screen.query_one(TitleBar).plain
        assert "1 waiting for first probe" in title and "stale" not in title


async def test_forms_focus_their_first_field_and_keep_every_key(dash_config: Config) -> None:
    """Keys that are commands on the dashboard (q, r, d, c, x, /, ?) are text in a form."""
    async with await SqliteStore.open(dash_config.storage_path, readonly=True) as store:
        before = len(await store.cases())
    app = app_for(dash_config)
    typed = "qrdcx/?e"
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CaseForm))
        ref = app.screen.query_one("#ref", Input)
        assert app.focused is ref  # the first field
        await pilot.press(*typed)
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, CaseForm)
        assert ref.value == typed
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CaseForm))
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ExclusionForm))
        reason = app.screen.query_one("#reason", Input)
        assert app.focused is reason
        await pilot.press(*typed)
        await pilot.pause()
        assert app.is_running and reason.value == typed
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ExclusionForm))
    async with await SqliteStore.open(dash_config.storage_path, readonly=True) as store:
        assert len(await store.cases()) == before
