"""The running dashboard follows what other commands write, at its next refresh.

The clock is pinned, so the month pass's own timers (every 15 s when the agent
wrote, everything every 5 minutes) never fire: a change can only show because
the dashboard noticed another command's write (``Store.change_marks``) and ran
the month pass for it at once. Each change is shown by the first month pass
that starts after it, or the one after when a pass was already running.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from textual.pilot import Pilot

from core.config import Config
from core.timeutil import parse_instant, to_minute
from store.sqlite import SqliteStore
from tests.tui.test_actions import app_for, loaded, row_text, until
from tui.app import SlawatchApp
from tui.components.credits_panel import CreditsPanel
from tui.components.month_grid import MonthGrid
from tui.components.outages_panel import OutagesPanel
from tui.components.status_table import StatusTable

SIZE = (160, 45)
ROOT = Path(__file__).resolve().parents[2]


async def shown_by_the_next_pass(pilot: Pilot[int], app: SlawatchApp, check: object) -> None:
    """``check()`` holds within two month passes from now (the next one to start)."""
    assert callable(check)
    first = app.month_passes
    await until(pilot, lambda: bool(check()) or app.month_passes > first + 2, tries=1500)
    assert check(), "the dashboard did not show the change"
    assert app.month_passes <= first + 2


async def test_an_import_by_another_process_shows_at_once(
    dash_config: Config, tmp_path: Path
) -> None:
    csv = tmp_path / "portal.csv"
    rows = [f"portal,2026-11-10T10:{m:02d}:00Z,down" for m in range(60)]
    csv.write_text("service,minute,status\n" + "\n".join(rows) + "\n")
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        grid = app.screen.query_one(MonthGrid)
        assert "100.0000 %" in row_text(grid, "portal")
        importer = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "slawatch",
            "--config",
            str(dash_config.path),
            "import",
            "minutes",
            str(csv),
            "--source",
            "agent",
            "--replace",
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output = (await asyncio.wait_for(importer.communicate(), 60))[0].decode()
        assert importer.returncode == 0, output
        await shown_by_the_next_pass(pilot, app, lambda: "60 min" in row_text(grid, "portal"))
        assert "99.8611 %" in row_text(grid, "portal")  # 60 of 43,200 minutes down


async def test_a_maintenance_window_written_elsewhere_shows_at_once(dash_config: Config) -> None:
    """A window over mail's unreported outage takes it out of the month and the warnings."""
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        timeline = app.screen.query_one(OutagesPanel)
        credits = app.screen.query_one(CreditsPanel)
        (outage,) = [o for o in (timeline.row_outages()) if o.service == "mail"]
        assert f"outage/{outage.id}" in credits.keys
        async with await SqliteStore.open(dash_config.storage_path) as store:
            await store.add_maintenance(
                "mail",
                to_minute(parse_instant("2026-11-21T03:00:00Z")),
                to_minute(parse_instant("2026-11-21T04:30:00Z")),
                "provider's announced upgrade",
                down_minutes=outage.minutes,
            )
        await shown_by_the_next_pass(pilot, app, lambda: f"outage/{outage.id}" not in credits.keys)
        assert all(o.service != "mail" for o in timeline.row_outages())


async def test_a_credit_settled_elsewhere_leaves_the_pending_credits(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        credits = app.screen.query_one(CreditsPanel)
        assert "credit/portal/2026-10" in credits.keys
        async with await SqliteStore.open(dash_config.storage_path) as store:
            await store.settle_credit("portal", "2026-10")
        await shown_by_the_next_pass(
            pilot, app, lambda: "credit/portal/2026-10" not in credits.keys
        )


CRM = """
[[service]]
name = "crm"
contract = "demo-saas"
monthly_fee = "90.00"
currency = "EUR"
"""


async def test_an_edited_config_is_read_again_and_a_broken_one_refused(
    dash_config: Config,
) -> None:
    """Found running a fleet: a service added to the config (and the agents told with
    SIGHUP) never showed on a dashboard left running all day; only a restart read it."""
    app = app_for(dash_config)
    path = dash_config.path
    text = path.read_text(encoding="utf-8")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        table = app.screen.query_one(StatusTable)
        assert "crm" not in table.keys
        path.write_text(text + CRM, encoding="utf-8")
        await until(pilot, lambda: "crm" in table.keys, tries=1500)
        assert app.config_reloads == 1 and "crm" in app.config.services
        assert app.config.storage_path == dash_config.storage_path
        kept = app.config
        path.write_text(text + CRM + 'monthly_fee = "abc"\n', encoding="utf-8")
        await until(pilot, lambda: _notified(app, "Config not reloaded"), tries=1500)
        assert app.config is kept and app.config_reloads == 1
        assert "crm" in table.keys and "portal" in table.keys


def _notified(app: SlawatchApp, title: str) -> bool:
    return any(n.title == title for n in app._notifications)
