"""Live status at 80 columns: why a service is down (its last error) is on screen, not
beyond a sideways scroll; measured and band make way, and a month figure measured too
little is marked ``?`` instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from textual.pilot import Pilot

from core.config import Config
from core.status import UP
from core.timeutil import to_minute
from store import MinuteRow, open_store
from tests.tui.conftest import pinned
from tests.tui.test_actions import app_for, loaded, until
from tests.tui.test_certificates import _config as certificates_config
from tui.app import SlawatchApp
from tui.components.row_table import RowTable
from tui.components.service_screen import ServiceScreen
from tui.components.status_table import StatusTable


def _on_screen(table: StatusTable) -> dict[str, str]:
    """Each service's line as drawn (what fits in the panel, no scrolling)."""
    lines = [table.render_line(y).text for y in range(1, len(table.keys) + 1)]
    return {line.split()[0]: line for line in lines}


async def _open_mail(pilot: Pilot[int], app: SlawatchApp) -> None:
    """mail's month: an outage, maintenance, an exclusion."""
    await loaded(pilot, app)
    await pilot.press("down", "down", "enter")
    await until(
        pilot, lambda: isinstance(app.screen, ServiceScreen) and app.screen.detail is not None
    )
    await pilot.pause()


def _lines(table: RowTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


async def test_the_last_error_is_on_screen_at_80_columns(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        table = app.screen.query_one(StatusTable)
        assert table.compact
        assert table.virtual_size.width <= table.size.width  # nothing beyond the edge
        header = table.render_line(0).text.split()
        assert "measured" not in header and "band" not in header and "error" in header
        shown = _on_screen(table)
        assert "status:503" in shown["search"]
        assert "⚠ cert 5d left" in shown["mail"]  # the short wording: it fits whole
        assert "99.9722 %" in shown["search"] and "?" not in shown["search"]  # measured


async def test_a_figure_measured_too_little_is_marked_when_measured_is_left_out(
    tmp_path: Path,
) -> None:
    config = await certificates_config(tmp_path)  # probes, and no minute recorded yet
    async with await open_store(config) as store:  # ... but ten for shop: 0.0 % measured
        end = to_minute(pinned())
        await store.record_minutes(
            [MinuteRow("shop", "agent", m, UP) for m in range(end - 10, end)]
        )
    app = SlawatchApp(config, now=pinned, refresh_every=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        shown = _on_screen(app.screen.query_one(StatusTable))
        assert "? 100.0000 %" in shown["shop"], shown
        assert "tls:expired" in shown["old"], shown
        assert "? " not in shown["api"]  # nothing recorded at all: "-", nothing to doubt
    wide = SlawatchApp(config, now=pinned, refresh_every=0.2)
    async with wide.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, wide)
        shown = _on_screen(wide.screen.query_one(StatusTable))
        assert "? " not in shown["shop"] and "0.0 %" in shown["shop"]  # measured says it


async def test_a_fleet_fits_80_columns_too(fleet_config: Config) -> None:
    app = app_for(fleet_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        table = app.screen.query_one(StatusTable)
        assert table.fleet and table.virtual_size.width <= table.size.width
        shown = _on_screen(table)
        assert "3/3 down" in shown["search"] and "status:503" in shown["search"]


async def test_a_window_ends_as_a_bare_time_on_the_day_it_began(
    dash_config: Config,
) -> None:
    """A window's end on its start's day is a bare time (as an outage's), which leaves
    the reason six more columns at 80 (mail's exclusion's ticket number starts to show)."""
    app = app_for(dash_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open_mail(pilot, app)
        lines = _lines(app.screen.query_one("#windows", RowTable))
        (excluded,) = [line for line in lines if "exclusion" in line]
        assert "upstream DNS failure at our ISP (ticket IS" in excluded, lines
        assert re.search(r"\d\d-\d\d \d\d:\d\d  \d\d:\d\d  upstream", excluded), excluded


@pytest.mark.parametrize("width", [80, 100, 109, 110, 120, 129, 130, 135, 160])
async def test_live_status_never_runs_past_its_panel(dash_config: Config, width: int) -> None:
    """Between the narrow and the full layout (110 to 130 columns) the sparkline left no
    room for its own header: the table ran a column or two past the panel."""
    app = app_for(dash_config)
    async with app.run_test(size=(width, 40)) as pilot:
        await loaded(pilot, app)
        table = app.screen.query_one(StatusTable)
        assert table.virtual_size.width <= table.size.width, (width, table.virtual_size)
        assert "status:503" in _on_screen(table)["search"]


async def test_side_by_side_the_outages_take_what_they_need_and_windows_the_rest(
    dash_config: Config,
) -> None:
    """At 160 columns mail's outage and its exclusion's reason both read whole (the two
    panels split the screen in halves, which cut the reason)."""
    app = app_for(dash_config)
    async with app.run_test(size=(160, 45)) as pilot:
        await _open_mail(pilot, app)
        shown = {
            name: "\n".join(_lines(app.screen.query_one(f"#{name}", RowTable)))
            for name in ("outages", "windows")
        }
        assert "⚠ report by 11-24 03:30 (1d 18h left)" in shown["outages"], shown
        assert "upstream DNS failure at our ISP (ticket ISP-88121)" in shown["windows"], shown
