"""The dashboard started while its store cannot be read (PostgreSQL down, a fleet's
database out of reach): no panel may say there is nothing to show."""

from __future__ import annotations

from pathlib import Path

from core.configfile import load_config
from tests import configs
from tests.pg import free_port
from tests.tui.test_actions import app_for, until
from tui.components.main_screen import NOT_READ
from tui.components.row_table import RowTable
from tui.components.title_bar import TitleBar


async def test_panels_say_not_read_instead_of_none_when_the_store_is_out_of_reach(
    tmp_path: Path,
) -> None:
    """It said 'No services configured.' of a config with two services, and 'No open
    cases.', 'No credit pending', beside the error: what it could not know."""
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/slawatch"  # nothing listens there
    path = tmp_path / "config.toml"
    path.write_text(
        configs.toml(url=url, contracts=[configs.contract("std")],
                     services=[configs.service("portal"), configs.service("api")]),
        encoding="utf-8",
    )  # fmt: skip
    app = app_for(load_config(path))
    async with app.run_test(size=(160, 45)) as pilot:
        await until(pilot, lambda: app._problem is not None, tries=300)
        await pilot.pause()
        title = app.screen.query_one(TitleBar).plain
        empties = {t.id: t.empty for t in app.screen.query(RowTable)}
    assert "cannot reach the database" in title, title
    assert "no services configured" not in title and "not read yet" in title, title
    assert empties and set(empties.values()) == {NOT_READ}, empties
