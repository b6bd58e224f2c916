"""Nothing a person wrote is out of reach on the dashboard: a cell cut short in its
column (a case title, a window's reason) is shown whole when its row is selected in
the focused table, wrapped within the column under the row (``RowTable``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Static

from tui.components.row_table import RowTable

Rows = Mapping[str, tuple[str, str, str]]
COLUMNS = [("ref", "ref"), ("title", "title"), ("due", "due")]
ROWS: Rows = {
    "1": ("SUP-1", "Search results stale in the EU region since the index rebuild", "in 5m"),
    "2": ("SUP-2", "Short", "in 9m"),
    "3": ("SUP-3", "Login intermittently fails with 503 for customers in Paris", "in 12m"),
}


class Tables(App[None]):
    CSS = "RowTable { height: 6; width: 40; } Static { height: 1; }"

    def __init__(self, rows: Rows) -> None:
        super().__init__()
        self.rows = rows
        self.chosen: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static("first", id="first")
        yield RowTable(id="table")

    def on_mount(self) -> None:
        rows = self.rows
        self.query_one(RowTable).show_rows(
            COLUMNS, list(rows), lambda key: tuple(Text(c) for c in rows[key]), flex="title"
        )

    def on_row_table_row_chosen(self, message: RowTable.RowChosen) -> None:
        self.chosen.append(message.key)


@asynccontextmanager
async def unfocused(rows: Rows) -> AsyncIterator[tuple[Tables, Pilot[None], RowTable]]:
    """The table of ``rows`` on a 40x8 screen, not focused (nothing selected)."""
    app = Tables(rows)
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(RowTable)
        app.set_focus(None)
        await pilot.pause()
        yield app, pilot, table


def _lines(table: RowTable) -> list[str]:
    return [table.render_line(y).text.rstrip() for y in range(table.size.height)]


async def test_the_selected_rows_cut_text_is_wrapped_whole_under_it() -> None:
    async with unfocused(ROWS) as (app, pilot, table):
        # Not focused: every row one line, the long titles cut.
        lines = _lines(table)
        assert lines[1] == " SUP-1  Search results stale i…  in 5m"
        assert lines[2].startswith(" SUP-2  Short")
        table.focus()
        await pilot.pause()
        lines = _lines(table)
        # Selected (the first row): its title whole, in its column, the rows below moved.
        assert lines[1] == " SUP-1  Search results stale in  in 5m"
        assert lines[2] == "        the EU region since the"
        assert lines[3] == "        index rebuild"
        assert lines[4].startswith(" SUP-2  Short")
        assert lines[5] == " SUP-3  Login intermittently f…  in 12m"
        # The cursor moves on: the first row closes, the second is whole already.
        await pilot.press("down")
        assert _lines(table)[1:4] == [
            " SUP-1  Search results stale i…  in 5m",
            " SUP-2  Short                    in 9m",
            " SUP-3  Login intermittently f…  in 12m",
        ]
        # The third opens; a click on its second line chooses that row, not one below.
        await pilot.press("down")
        lines = _lines(table)
        assert lines[3:6] == [
            " SUP-3  Login intermittently     in 12m",
            "        fails with 503 for",
            "        customers in Paris",
        ]
        await pilot.click(RowTable, offset=(10, 5), times=2)
        await pilot.pause()
        assert table.cursor == 2 and app.chosen == ["3"]


async def test_a_text_longer_than_the_panel_shows_what_fits_and_says_more() -> None:
    rows = {**ROWS, "1": ("SUP-1", " ".join(["word"] * 60), "in 5m")}
    async with unfocused(rows) as (_, pilot, table):
        table.focus()
        await pilot.pause()
        lines = _lines(table)
        # Six lines of panel: the header, then five of the selected row, the last
        # marked as going on.
        assert all(line.startswith("        word") for line in lines[2:6])
        assert lines[5].endswith("…")
        assert "word" in lines[1] and not lines[1].endswith("…")


async def test_a_line_break_typed_into_a_title_keeps_the_row_on_its_line() -> None:
    """``case open --title $'two\\nlines'`` is stored as given; the panel shows it on the
    row's one line (a break drawn as is pushed the rest past the panel's border)."""
    rows = {**ROWS, "2": ("SUP-2", "two\nlines\tand\x1b[31mred", "in 9m")}
    async with unfocused(rows) as (_, _, table):
        lines = _lines(table)
        assert lines[2] == " SUP-2  two lines and [31mred    in 9m"
        assert lines[3].startswith(" SUP-3  Login")


def test_help_says_where_a_cut_text_is_whole_and_what_breached_means() -> None:
    from rich.console import Console

    from tui.components.help_screen import help_text

    console = Console(width=78, record=True)
    console.print(help_text())
    said = " ".join(console.export_text().split())
    assert "the selected row shows a text cut with … whole" in said
    assert "BREACHED a first response that missed the contract's deadline" in said


async def test_more_rows_than_fit_take_no_horizontal_scrollbar() -> None:
    """A vertical scrollbar (more rows than the panel shows) takes its columns from the
    flex column: no horizontal scrollbar appears over the last row shown."""
    rows = {**ROWS, **{str(n): (f"SUP-{n}", "Short", "in 1m") for n in range(4, 9)}}
    async with unfocused(rows) as (_, pilot, table):
        await pilot.pause()
        assert table.show_vertical_scrollbar and not table.show_horizontal_scrollbar
        assert table.virtual_size.width == table.scrollable_content_region.width
        assert _lines(table)[1] == " SUP-1  Search results stale…  in 5m"  # 2 columns less
