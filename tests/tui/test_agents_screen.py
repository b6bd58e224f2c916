"""``a``: the agents screen's header says what each flag means, once."""

from __future__ import annotations

from core.config import Config
from tests.tui.test_actions import app_for, loaded, until
from tui.components.agents_screen import AgentsScreen
from tui.components.fact_line import FactLine


async def test_the_header_explains_each_flag_without_repeating_it(fleet_config: Config) -> None:
    app = app_for(fleet_config)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, app)
        await pilot.press("a")
        await until(
            pilot, lambda: isinstance(app.screen, AgentsScreen) and app.screen.fleet is not None
        )
        await pilot.pause()
        said = app.screen.query_one("#detail-title", FactLine).plain
    assert "⚠ 2 flagged" in said, said
    assert "clock: more than 5 s off, so its minutes land in the wrong bucket" in said, said
    assert "backlog: holds minutes the database does not have yet" in said, said
    assert "clock: clock" not in said
