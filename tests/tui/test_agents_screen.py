"""``a``: the agents screen's header says what each flag means, once."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from textual.pilot import Pilot

from core.config import Config
from store.health import AgentHealth
from store.sqlite import SqliteStore
from tests.tui.conftest import NOW
from tests.tui.test_actions import app_for, loaded, until
from tui.app import SlawatchApp
from tui.components.agents_screen import AgentsScreen
from tui.components.fact_line import FactLine
from tui.components.row_table import RowTable


async def _open_agents(pilot: Pilot[int], app: SlawatchApp) -> None:
    await loaded(pilot, app)
    await pilot.press("a")
    await until(
        pilot, lambda: isinstance(app.screen, AgentsScreen) and app.screen.fleet is not None
    )
    await pilot.pause()


async def _header(config: Config) -> str:
    """The agents screen's header line, at 160 columns."""
    app = app_for(config)
    async with app.run_test(size=(160, 45)) as pilot:
        await _open_agents(pilot, app)
        return app.screen.query_one("#detail-title", FactLine).plain


async def test_the_header_explains_each_flag_without_repeating_it(fleet_config: Config) -> None:
    said = await _header(fleet_config)
    assert "⚠ 2 flagged" in said, said
    assert "clock: more than 5 s off, so its minutes land in the wrong bucket" in said, said
    assert "backlog: holds minutes the database does not have yet" in said, said
    assert "clock: clock" not in said


async def test_a_silent_agent_is_not_counted_as_reporting(fleet_config: Config) -> None:
    """The header said '4 reporting' beside an agent flagged silent (its role set
    NOLOGIN, not heard from for minutes): it counts those that report."""
    async with await SqliteStore.open(fleet_config.storage_path) as store:
        at = NOW - timedelta(minutes=10)
        await store.record_health(AgentHealth("tokyo-1", at, 0, 0, version="0.4.0"))
    said = await _header(fleet_config)
    assert "3 of 4 reporting" in said, said
    assert "silent: not heard from" in said, said


async def test_the_dashboard_reads_again_once_postgresql_is_back(tmp_path: Path) -> None:
    """PostgreSQL restarted under a running dashboard: its long-lived reader kept failing
    ('the connection is closed') after the database was back, and the agents screen said
    'No agent has reported yet.' while nothing could be read. Its own cluster: this test
    stops it. The agents screen and an agent's screen then drop the rows read before:
    they stood frozen ('probe 0s', 'last seen 2s', flags 'ok' for minutes) under the
    line saying the database cannot be reached."""
    from core.configfile import load_config
    from store import ProbeState, open_store
    from tests import configs
    from tests.fleetkit import init_fleet
    from tests.pg import cluster, scratch
    from tui.components.agent_screen import NOT_READ as AGENT_NOT_READ
    from tui.components.agent_screen import AgentScreen
    from tui.components.agents_screen import NONE_YET, NOT_READ
    from tui.components.row_table import RowTable

    with cluster(scratch()) as cl:
        db = cl.new_database()
        await init_fleet(cl.url(db))
        path = tmp_path / "config.toml"
        path.write_text(
            configs.toml(url=cl.url(db), contracts=[configs.contract("std")],
                         services=[configs.service("portal")]),
            encoding="utf-8",
        )  # fmt: skip
        config = load_config(path)
        async with await open_store(config) as store:
            at = NOW - timedelta(seconds=5)
            await store.record_probe(ProbeState("portal", "paris-1", at, 1, 20))
            await store.record_health(AgentHealth("paris-1", at, 0, 0, version="0.4.0"))
        app = app_for(config)
        async with app.run_test(size=(120, 30)) as pilot:
            await loaded(pilot, app)
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, AgentsScreen))
            agents = app.screen
            table = agents.query_one("#agents", RowTable)
            await until(pilot, lambda: agents.fleet is not None)
            assert table.empty == NONE_YET and table.keys == ["paris-1"]
            await pilot.press("enter")
            await until(
                pilot, lambda: isinstance(app.screen, AgentScreen) and app.screen.fleet is not None
            )
            services = app.screen.query_one("#agent-services", RowTable)
            assert services.keys == ["portal"]
            cl.stop()
            await until(pilot, lambda: app._problem is not None, tries=300)
            await until(pilot, lambda: services.empty == AGENT_NOT_READ, tries=300)
            assert services.keys == []
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is agents)
            await until(pilot, lambda: table.empty == NOT_READ, tries=300)
            assert table.keys == []
            said = agents.query_one("#detail-title", FactLine).plain
            assert "⚠ " in said and "cannot reach the database" in said, said
            cl.start()
            await until(pilot, lambda: app._problem is None, tries=500)
            await until(pilot, lambda: table.empty == NONE_YET, tries=300)
            await until(pilot, lambda: table.keys == ["paris-1"], tries=300)


async def test_each_vantage_points_own_month_is_counted_as_the_services(
    fleet_config: Config,
) -> None:
    """'own month' was the up share of the minutes the agent recorded (virginia-1: 20 of
    120 down, 83.3333 %) beside a title counting the month by the contract (unrecorded
    minutes available): a vantage point that saw the same outage as the verdict showed
    a far lower figure than the service. Now the month by that agent's minutes alone."""
    from tests.tui.conftest import NOW
    from tui import fmt
    from tui.source import StoreSource

    source = StoreSource(fleet_config)
    try:
        month = source.month_of("portal", NOW)
        detail = await source.detail("portal", month, NOW)
    finally:
        await source.close()
    own = {a.agent: a.own_availability for a in detail.agents}
    down = {a.agent: a.down_minutes for a in detail.agents}
    assert down["virginia-1"] == 20 and own["virginia-1"] is not None
    minutes = 43_200  # the 30 days of NOW's month
    assert fmt.percent(own["virginia-1"]) == fmt.percent(Decimal(100 * (minutes - 20)) / minutes), (
        own
    )


async def test_at_80_columns_every_column_left_fits(fleet_config: Config) -> None:
    """Version and services make way below 100 columns: what an operator acts on (flags,
    last seen, backlog, clock, what each agent sees down and is outvoted on) is on
    screen, where the table ran past the edge."""
    app = app_for(fleet_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_agents(pilot, app)
        table = app.screen.query_one("#agents", RowTable)
        assert table.virtual_size.width <= table.size.width
        header = table.render_line(0).text.split()
        assert "version" not in header and header[-1] == "outvoted", header
        virginia = next(
            table.render_line(y).text
            for y in range(1, 4)
            if "virginia-1" in table.render_line(y).text
        )
        assert "backlog" in virginia and "portal, search" in virginia and "12 min" in virginia


async def test_notifications_an_agent_still_owes_are_shown(fleet_config: Config) -> None:
    """In a fleet the outage notifications still owed are in each agent's spool: the
    forwarder ships the count and the oldest's minute with its health row, and the
    agents screen shows them: the header says who owes how many, from when (at 80
    columns too), and a column says each agent's while any owes some (from 100)."""
    from datetime import timedelta

    from store.health import AgentHealth
    from store.sqlite import SqliteStore
    from tests.tui.conftest import NOW

    async with await SqliteStore.open(fleet_config.storage_path) as store:
        await store.record_health(
            AgentHealth("virginia-1", NOW - timedelta(seconds=15), 0, 0, backlog_minutes=12,
                        clock_offset_seconds=-0.3, version="0.4.0", notices_waiting=2,
                        notices_since=NOW - timedelta(minutes=25))
        )  # fmt: skip
    for size in ((160, 45), (80, 24)):
        app = app_for(fleet_config)
        async with app.run_test(size=size) as pilot:
            await _open_agents(pilot, app)
            said = app.screen.query_one("#detail-title", FactLine).plain
            table = app.screen.query_one("#agents", RowTable)
            header = table.render_line(0).text
            rows = {
                name: table.render_line(y).text
                for y in range(1, 4)
                for name in ("paris-1", "virginia-1")
                if name in table.render_line(y).text
            }
            assert table.virtual_size.width <= table.size.width, size
        assert "⚠ 2 notification(s) owed by virginia-1 (oldest 25m" in said, said
        if size[0] >= 100:
            assert "notices owed" in header, header
            assert "2 · 25m" in rows["virginia-1"] and "2 ·" not in rows["paris-1"], rows
        else:
            assert "notices" not in header and "backlog" in rows["virginia-1"], rows


async def test_enter_on_an_agent_shows_it_service_by_service(fleet_config: Config) -> None:
    """⏎ on the agents screen did nothing: an operator seeing 'virginia-1: outvoted on
    portal' had no view of that agent alone (what it sees of each service, its probe's
    age, latency and error). Now one screen per agent, with its backlog and clock."""
    from tui.components.agent_screen import AgentScreen

    app = app_for(fleet_config)
    async with app.run_test(size=(160, 45)) as pilot:
        await _open_agents(pilot, app)
        table = app.screen.query_one("#agents", RowTable)
        table.cursor = table.keys.index("virginia-1")
        await pilot.press("enter")
        await until(
            pilot, lambda: isinstance(app.screen, AgentScreen) and app.screen.fleet is not None
        )
        await pilot.pause()
        screen = app.screen
        said = screen.query_one("#detail-title", FactLine).plain
        services = screen.query_one("#agent-services", RowTable)
        rows = {key: [c.plain for c in services.row(key)] for key in services.keys}
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, AgentsScreen))
    assert "agent virginia-1" in said and "backlog 12 min" in said, said
    assert "clock -0.3 s" in said and "⚠ backlog: holds minutes" in said, said
    assert set(rows) == {"portal", "billing", "search", "mail"}, rows
    portal = rows["portal"]
    assert portal[1] == "✖ down" and portal[4] == "1/3 down", portal
    assert portal[5] == "outvoted: connect:refused", portal
    assert rows["search"][5] == "status:503", rows["search"]  # down with the others: not outvoted
    assert rows["mail"][1] == "◌ stale", rows["mail"]
