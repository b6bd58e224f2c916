"""The main screen: live status on top, open cases and pending credits below."""

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
from tui.components.row_table import RowTable
from tui.components.status_table import StatusTable
from tui.components.title_bar import TitleBar
from tui.view import Snapshot

COMPACT_BELOW = 120  # columns: narrower terminals stack the panels and drop sparklines


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

    def show(self, snapshot: Snapshot, now: datetime, problem: str | None) -> None:
        self.query_one(TitleBar).show_state(snapshot.services, now, problem)
        self.query_one(StatusTable).show(snapshot.services, now)
        self.query_one(CasesPanel).show(snapshot.cases, now)
        reportable = snapshot.reportable(now)
        self.query_one(CreditsPanel).show(snapshot.credits, reportable, now)
        _subtitle(self.query_one("#cases-box"), _count(len(snapshot.cases), "open"))
        _subtitle(self.query_one("#credits-box"), _count(len(reportable), "to report"))

    @on(RowTable.RowChosen)
    async def _row_chosen(self, event: RowTable.RowChosen) -> None:
        """Enter on a table row (the table takes the key before the screen does): a
        case's own detail, or its service's."""
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
