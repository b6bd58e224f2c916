"""SVG snapshots of the main screen, the detail screen, the case screen and the case form.

Fixed database content and a pinned clock, at the two sizes the dashboard is
made for: readable at 80x24, comfortable at 160x45. Regenerate with
``uv run pytest tests/tui --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from core.config import Config
from tests.tui.conftest import pinned
from tui.app import SlawatchApp
from tui.components.agents_screen import AgentsScreen
from tui.components.case_form import CaseForm
from tui.components.case_screen import CaseScreen
from tui.components.cases_panel import CasesPanel
from tui.components.credits_panel import CreditsPanel
from tui.components.service_screen import ServiceScreen
from tui.components.status_table import StatusTable

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 45), id="160x45")]
SnapCompare = Callable[..., bool]


async def _settle(pilot: Pilot[int], ready: Callable[[], bool]) -> None:
    for _ in range(200):
        if ready():
            break
        await pilot.pause(0.02)
    else:
        raise AssertionError("the screen never finished loading")
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def _main(app: SlawatchApp) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        await _settle(pilot, lambda: app.month_passes >= 1 and app.refreshes >= 1)

    return run_before


def _detail(app: SlawatchApp) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        await _settle(pilot, lambda: app.month_passes >= 1 and app.refreshes >= 1)
        await pilot.press("down", "down", "enter")  # mail: an outage, maintenance, an exclusion
        await _settle(
            pilot, lambda: isinstance(app.screen, ServiceScreen) and app.screen.detail is not None
        )

    return run_before


def _case_form(app: SlawatchApp) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        await _settle(pilot, lambda: app.month_passes >= 1 and app.refreshes >= 1)
        app.screen.query_one(CreditsPanel).focus()
        await pilot.press("down", "c")  # the unreported mail outage
        await _settle(pilot, lambda: isinstance(app.screen, CaseForm))
        # A blinking cursor is on or off depending on when the frame is taken (a
        # busy machine flipped it): hold it still so the snapshot is one picture.
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: SnapCompare, dash_config: Config, size: tuple[int, int]) -> None:
    app = SlawatchApp(dash_config, now=pinned)
    assert snap_compare(app, terminal_size=size, run_before=_main(app))


@pytest.mark.parametrize("size", SIZES)
def test_detail_screen(
    snap_compare: SnapCompare, dash_config: Config, size: tuple[int, int]
) -> None:
    app = SlawatchApp(dash_config, now=pinned)
    assert snap_compare(app, terminal_size=size, run_before=_detail(app))


@pytest.mark.parametrize("size", SIZES)
def test_case_form(snap_compare: SnapCompare, dash_config: Config, size: tuple[int, int]) -> None:
    app = SlawatchApp(dash_config, now=pinned)
    assert snap_compare(app, terminal_size=size, run_before=_case_form(app))


def _case_screen(app: SlawatchApp) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        await _settle(pilot, lambda: app.month_passes >= 1 and app.refreshes >= 1)
        app.screen.query_one(CasesPanel).focus()
        await pilot.press("enter")  # the most urgent: search's breached SUP-4718
        await _settle(
            pilot, lambda: isinstance(app.screen, CaseScreen) and app.screen.detail is not None
        )

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_case_screen(snap_compare: SnapCompare, dash_config: Config, size: tuple[int, int]) -> None:
    app = SlawatchApp(dash_config, now=pinned)
    assert snap_compare(app, terminal_size=size, run_before=_case_screen(app))


def _case_whole(app: SlawatchApp) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        await _settle(pilot, lambda: app.month_passes >= 1 and app.refreshes >= 1)
        cases = app.screen.query_one(CasesPanel)
        cases.focus()
        await pilot.press("down")  # portal's SUP-4720, its title cut at 80 and 160 columns
        await _settle(pilot, lambda: cases.selected_key is not None and cases.cursor == 1)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_selected_case_whole(
    snap_compare: SnapCompare, dash_config: Config, size: tuple[int, int]
) -> None:
    """The selected case's title, cut in its column, is shown whole: wrapped within
    the column onto a line under the row, the rows below moved down."""
    app = SlawatchApp(dash_config, now=pinned)
    assert snap_compare(app, terminal_size=size, run_before=_case_whole(app))


def _search(app: SlawatchApp) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        await _settle(pilot, lambda: app.month_passes >= 1 and app.refreshes >= 1)
        await pilot.press("slash", *"sea")  # the search service, its outage and its case
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await _settle(pilot, lambda: len(app.screen.query_one(StatusTable).keys) == 1)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_search(snap_compare: SnapCompare, dash_config: Config, size: tuple[int, int]) -> None:
    """``/`` then ``sea``: every panel keeps what mentions it (search, its case)."""
    app = SlawatchApp(dash_config, now=pinned)
    assert snap_compare(app, terminal_size=size, run_before=_search(app))


def _fleet_detail(app: SlawatchApp) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        await _settle(pilot, lambda: app.month_passes >= 1 and app.refreshes >= 1)
        await pilot.press("down", "down", "down", "enter")  # search, billing, mail, portal
        await _settle(
            pilot, lambda: isinstance(app.screen, ServiceScreen) and app.screen.detail is not None
        )

    return run_before


def _agents(app: SlawatchApp) -> Callable[[Pilot[int]], Awaitable[None]]:
    async def run_before(pilot: Pilot[int]) -> None:
        await _settle(pilot, lambda: app.month_passes >= 1 and app.refreshes >= 1)
        await pilot.press("a")
        await _settle(
            pilot, lambda: isinstance(app.screen, AgentsScreen) and app.screen.fleet is not None
        )

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_fleet_main_screen(
    snap_compare: SnapCompare, fleet_config: Config, size: tuple[int, int]
) -> None:
    """Three vantage points; on portal virginia-1 disagrees and is outvoted (1/3 down, up)."""
    app = SlawatchApp(fleet_config, now=pinned)
    assert snap_compare(app, terminal_size=size, run_before=_main(app))


@pytest.mark.parametrize("size", SIZES)
def test_fleet_detail_screen(
    snap_compare: SnapCompare, fleet_config: Config, size: tuple[int, int]
) -> None:
    app = SlawatchApp(fleet_config, now=pinned)
    assert snap_compare(app, terminal_size=size, run_before=_fleet_detail(app))


@pytest.mark.parametrize("size", SIZES)
def test_fleet_agents_screen(
    snap_compare: SnapCompare, fleet_config: Config, size: tuple[int, int]
) -> None:
    app = SlawatchApp(fleet_config, now=pinned)
    assert snap_compare(app, terminal_size=size, run_before=_agents(app))


def test_every_stored_snapshot_belongs_to_a_test() -> None:
    """A snapshot no test takes any more would pass unnoticed: syrupy reports unused
    snapshots only in a single-process run, and the suite runs on xdist workers."""
    here = Path(__file__)
    taken = {
        f"{name}[{size.id}].svg"
        for name, test in inspect.getmembers(sys.modules[__name__], inspect.isfunction)
        if name.startswith("test_") and "snap_compare" in inspect.signature(test).parameters
        for size in SIZES
    }
    stored = {p.name for p in (here.parent / "__snapshots__" / here.stem).iterdir()}
    assert len(taken) == 18
    assert stored == taken
