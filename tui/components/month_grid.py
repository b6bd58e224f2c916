"""This month, day by day, for every service: one coloured cell per day.

The detail screen's strip for one service (``MonthStrip``), folded to one row
per service so the whole estate's month reads at a glance: the glyphs and
colours are the strip's (``day_mark``), a day is counted like the month.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.reactive import reactive
from textual.widgets import Static

from tui import fmt
from tui.components.month_strip import day_legend, day_mark
from tui.components.row_table import Cells, RowTable
from tui.palette import Palette
from tui.view import DayCell, ServiceRow

COMPACT_BELOW = 84  # columns of its own width: narrower draws a day in one cell, not two


def day_header(days: int, cell: int) -> str:
    """Day numbers over the cells: every day when cells are wide, else 1, 6, 11..."""
    out = ""
    for day in range(1, days + 1):
        label = str(day) if cell >= 3 or day % 5 == 1 else ""
        out += label.ljust(cell)
    return out[: days * cell].rstrip() or "days"


def day_line(days: Sequence[DayCell], cell: int, palette: Palette) -> Text:
    text = Text()
    for day in days:
        glyph, style = day_mark(day, palette)
        text.append(glyph * max(cell - 1, 1) + (" " if cell > 1 else ""), style=style)
    return text


class MonthGrid(RowTable):
    """Rows keyed by service name, alphabetical; Enter opens the service's month."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Details", key_display="⏎"),
    ]
    compact: reactive[bool] = reactive(False, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, empty="No services configured.")
        self._services: tuple[ServiceRow, ...] = ()
        self._shown: dict[str, ServiceRow] = {}

    def on_resize(self, event: Resize) -> None:
        self.compact = event.size.width < COMPACT_BELOW

    def watch_compact(self) -> None:
        self.show(self._services)

    @property
    def selected_service(self) -> str | None:
        return self.selected_key

    def show(self, rows: Sequence[ServiceRow]) -> None:
        self._services = tuple(rows)
        self._shown = {r.name: r for r in sorted(rows, key=lambda r: r.name)}
        palette = Palette.from_theme(self.app.theme_variables)
        cell = 1 if self.compact else 2
        longest = max((len(r.days) for r in rows), default=0)
        columns = [
            ("service", "service"),
            (day_header(longest, cell), "days"),
            ("month", "month"),
            ("down", "down"),
        ]

        def cells(key: str) -> Cells:
            row = self._shown[key]
            down = sum(d.downtime_minutes for d in row.days)
            return (
                Text(row.name, style="bold"),
                day_line(row.days, cell, palette),
                Text(fmt.percent(row.availability), justify="right"),
                Text(f"{down:,} min" if down else "-", justify="right", style=palette.muted),
            )

        self.show_rows(columns, list(self._shown), cells)


class DayLegend(Static):
    """The grid's key, one line under it."""

    def on_mount(self) -> None:
        self.update(day_legend(Palette.from_theme(self.app.theme_variables)))
