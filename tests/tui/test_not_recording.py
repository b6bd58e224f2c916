"""An agent that stops writing shows on the dashboard, not as a clean month.

Real minutes and probe states in a real SQLite store, the real app through
``run_test()`` on a pinned clock: ``portal``'s minutes stop 30 minutes before
now (its agent cannot write, or stopped), ``api``'s run to now. The month cell
of portal says the figure is not current and the title bar counts it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from core.configfile import load_config
from core.status import UP
from core.timeutil import to_minute
from store import MinuteRow, ProbeState, open_store
from store.health import AgentHealth
from tests.conftest import write_config
from tests.tui.conftest import NOW, pinned
from tests.tui.test_actions import loaded, row_text
from tui.app import SlawatchApp
from tui.components.status_table import StatusTable
from tui.components.title_bar import TitleBar

CONFIG = """
[storage]
path = "silent.db"

[[contract]]
name = "std"
""" + "".join(
    f"""
[[service]]
name = "{name}"
contract = "std"
monthly_fee = "100.00"
[service.probe]
url = "http://127.0.0.1:9/"
"""
    for name in ("portal", "api")
)


async def test_a_service_whose_minutes_stopped_is_flagged(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, CONFIG))
    end = to_minute(NOW)
    async with await open_store(config) as store:
        for name, stop in (("portal", end - 30), ("api", end - 1)):
            await store.record_minutes(
                [MinuteRow(name, "agent", m, UP, 20) for m in range(end - 120, stop)]
            )
            at = NOW - timedelta(minutes=end - stop)
            await store.record_probe(ProbeState(name, "agent", at, UP, 20))
        await store.record_health(AgentHealth("agent", NOW - timedelta(minutes=1), 0, 0))
    app = SlawatchApp(config, now=pinned, refresh_every=0.2)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, app)
        table = app.screen.query_one(StatusTable)
        assert "? 100.0000 %" in row_text(table, "portal")
        assert "?" not in row_text(table, "api") and "100.0000 %" in row_text(table, "api")
        assert "⚠ 1 not recording" in app.screen.query_one(TitleBar).plain
