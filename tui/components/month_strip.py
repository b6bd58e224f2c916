"""The month as a strip of days, each coloured (and marked) by its availability."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

from core.month import COVERAGE_THRESHOLD
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
    if cell.coverage is not None and cell.coverage < COVERAGE_THRESHOLD:
        return "░", palette.warn if a >= _FULL else palette.bad
    if a >= _FULL:
        return "█", palette.good
    if a >= _OK:
        return "▆", palette.warn
    if a >= _POOR:
        return "▄", palette.bad
    return "▂", f"bold {palette.bad}"


def down_label(minutes: int, width: int) -> str:
    """A day's downtime in at most ``width`` characters: ``25``, ``180``, ``16h``."""
    if minutes <= 0:
        return ""
    text = f"{minutes}"
    return text if len(text) <= width else f"{minutes // 60}h"


def day_legend(palette: Palette) -> Text:
    """What the day glyphs mean (the strip's and the main screen's grid)."""
    return Text.assemble(
        ("█", palette.good),
        " 100 %  ",
        ("▆", palette.warn),
        " ≥ 99.5 %  ",
        ("▄", palette.bad),
        " ≥ 95 %  ",
        ("▂", f"bold {palette.bad}"),
        " < 95 %  ",
        ("░", palette.warn),
        f" < {COVERAGE_THRESHOLD} % measured  ",
        ("·", palette.muted),
        " no data",
    )


class MonthStrip(Widget):
    """Day numbers over coloured blocks, each day's cell as wide as fits (2 to 5);
    from 4 wide, each day's minutes of downtime under its block."""

    DEFAULT_CSS = "MonthStrip { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._days: tuple[DayCell, ...] = ()

    def show(self, days: Sequence[DayCell]) -> None:
        if tuple(days) != self._days:
            self._days = tuple(days)
            self.refresh(layout=True)

    def render(self) -> Text:
        if not self._days:
            return Text("no data for this month")
        palette = Palette.from_theme(self.app.theme_variables)
        cell = self._cell(self.size.width)
        numbers, blocks, downs = Text(), Text(), Text()
        for day in self._days:
            label = str(day.day) if cell >= 3 or day.day % 5 == 1 else ""
            numbers.append(label.ljust(cell), style=palette.muted)
            glyph, style = day_mark(day, palette)
            blocks.append(glyph * (cell - 1) + " ", style=style)
            downs.append(down_label(day.downtime_minutes, cell - 1).ljust(cell), style=style)
        legend = day_legend(palette)
        if cell >= 4:
            legend.append("  ·  under each day: minutes down", style=palette.muted)
            return Text("\n").join([numbers, blocks, downs, legend])
        return Text("\n").join([numbers, blocks, legend])

    def _cell(self, width: int) -> int:
        return max(2, min(5, width // max(len(self._days), 1)))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if not self._days:
            return 1
        return 4 if self._cell(width) >= 4 else 3
