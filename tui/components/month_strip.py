"""The month as a strip of days, each coloured (and marked) by its availability."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich.text import Text
from textual.widget import Widget

from tui.palette import Palette
from tui.view import DayCell

_FULL = Decimal(100)
_OK = Decimal("99.5")
_POOR = Decimal(95)


def day_mark(cell: DayCell, palette: Palette) -> tuple[str, str]:
    """(glyph, style) for one day: full, minor downtime, poor, bad, or not yet measured."""
    a = cell.availability
    if a is None:
        return "·", palette.muted
    if a >= _FULL:
        return "█", palette.good
    if a >= _OK:
        return "▆", palette.warn
    if a >= _POOR:
        return "▄", palette.bad
    return "▂", f"bold {palette.bad}"


class MonthStrip(Widget):
    """Day numbers over coloured blocks; each day's cell is as wide as fits (2 to 4)."""

    DEFAULT_CSS = "MonthStrip { height: 3; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._days: tuple[DayCell, ...] = ()

    def show(self, days: Sequence[DayCell]) -> None:
        self._days = tuple(days)
        self.refresh()

    def render(self) -> Text:
        if not self._days:
            return Text("no data for this month")
        palette = Palette.from_theme(self.app.theme_variables)
        cell = max(2, min(4, self.size.width // len(self._days)))
        numbers, blocks = Text(), Text()
        for day in self._days:
            label = str(day.day) if cell >= 3 or day.day % 5 == 1 else ""
            numbers.append(label.ljust(cell), style=palette.muted)
            glyph, style = day_mark(day, palette)
            blocks.append(glyph * (cell - 1) + " ", style=style)
        legend = Text.assemble(
            ("█", palette.good),
            " 100 %  ",
            ("▆", palette.warn),
            " ≥ 99.5 %  ",
            ("▄", palette.bad),
            " ≥ 95 %  ",
            ("▂", f"bold {palette.bad}"),
            " < 95 %  ",
            ("·", palette.muted),
            " not yet",
        )
        return Text("\n").join([numbers, blocks, legend])
