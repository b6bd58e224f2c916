"""The main screen: live status on top; this month day by day beside the month's
outages when the terminal is tall enough; open cases and pending credits below."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from tui.components.cases_panel import CasesPanel
from tui.components.credits_panel import CreditsPanel
from tui.components.month_grid import DayLegend, MonthGrid
from tui.components.outages_panel import OutagesPanel
from tui.components.row_table import RowTable
from tui.components.status_table import StatusTable
from tui.components.title_bar import TitleBar
from tui.view import Snapshot

COMPACT_BELOW = 120  # columns: narrower terminals stack the panels and drop sparklines
ROOMY_FROM = 34  # lines: shorter terminals leave out the month grid and the outage timeline


class MainScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "app.details", "Details", key_display="⏎"),
        Binding("c", "app.open_case", "Case"),
        Binding("r", "app.respond", "Responded"),
        Binding("d", "app.resolve", "Resolved"),
        Binding("x", "app.exclude", "Exclude"),
        Binding("e", "app.export", "Export"),
        Binding("a", "app.agents", "Agents", show=False),  # the title bar says so in a fleet
    ]

    def compose(self) -> ComposeResult:
        yield TitleBar(id="title")
        with Vertical(id="status-box", classes="panel") as status_box:
            status_box.border_title = "Live status"
            yield StatusTable(id="status")
        with Horizontal(id="middle"):
            with Vertical(id="grid-box", classes="panel") as grid_box:
                grid_box.border_title = "This month, day by day"
                yield MonthGrid(id="grid")
                yield DayLegend(id="grid-legend")
            with Vertical(id="timeline-box", classes="panel") as timeline_box:
                timeline_box.border_title = "Outages this month"
                yield OutagesPanel(id="timeline")
        with Horizontal(id="lower"):
            with Vertical(id="cases-box", classes="panel") as cases_box:
                cases_box.border_title = "Open cases"
                yield CasesPanel(id="cases")
            with Vertical(id="credits-box", classes="panel") as credits_box:
                credits_box.border_title = "Pending credits"
                yield CreditsPanel(id="credits")
        yield Footer()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < COMPACT_BELOW, "-compact")
        self.set_class(event.size.height < ROOMY_FROM, "-short")

    def show(self, snapshot: Snapshot, now: datetime, problem: str | None) -> None:
        self.query_one(TitleBar).show_state(snapshot.services, now, problem)
        self.query_one(StatusTable).show(snapshot.services, now)
        self.query_one(CasesPanel).show(snapshot.cases, now)
        reportable = snapshot.reportable(now)
        self.query_one(CreditsPanel).show(snapshot.credits, reportable, now)
        self.query_one(MonthGrid).show(snapshot.services)
        self.query_one(OutagesPanel).show(snapshot.outages, now)
        _subtitle(self.query_one("#cases-box"), _count(len(snapshot.cases), "open"))
        _subtitle(self.query_one("#credits-box"), _count(len(reportable), "to report"))
        month = next((r.month for r in snapshot.services if r.month), "")
        grid_title = f"{month}, day by day" if month else "This month, day by day"
        if self.query_one("#grid-box").border_title != grid_title:
            self.query_one("#grid-box").border_title = grid_title
        ongoing = sum(o.ongoing for o in snapshot.outages)
        _subtitle(self.query_one("#timeline-box"), _count(ongoing, "ongoing"))

    @on(RowTable.RowChosen)
    async def _row_chosen(self, event: RowTable.RowChosen) -> None:
        """Enter on a table row (the table takes the key before the screen does):
        a case opens its own screen, anything else its service's month."""
        if isinstance(event.table, CasesPanel):
            await self.app.run_action("case_details")
        else:
            await self.app.run_action("details")


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n else ""


def _subtitle(box: Widget, text: str) -> None:
    """Only a real change repaints the panel (every second otherwise)."""
    if box.border_subtitle != text:
        box.border_subtitle = text
