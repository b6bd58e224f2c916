"""The main screen: live status on top; this month day by day beside the month's
outages when the terminal is tall enough; open cases and pending credits below."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import DescendantFocus, Key, Resize
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input

from tui.components.cases_panel import CasesPanel
from tui.components.credits_panel import CreditsPanel
from tui.components.month_grid import DayLegend, MonthGrid
from tui.components.outages_panel import OutagesPanel
from tui.components.panel import panel
from tui.components.row_table import RowTable
from tui.components.status_table import StatusTable
from tui.components.title_bar import TitleBar
from tui.search import filtered
from tui.view import Snapshot

COMPACT_BELOW = 120  # columns: narrower terminals stack the panels and drop sparklines
SIDE_BY_SIDE_FROM = 130  # columns: narrower terminals stack open cases over pending credits
CREDITS_WIDTH = 60  # columns pending credits may always take: a report-by deadline is never cut
TIMELINE_WIDTH = 56  # columns the outages beside the month grid always get, for the same reason
ROOMY_FROM = 34  # lines: shorter terminals leave out the month grid and the outage timeline


class MainScreen(Screen[None]):
    AUTO_FOCUS = "#status"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "app.details", "Details", key_display="⏎"),
        Binding("c", "app.open_case", "Case"),
        Binding("r", "app.respond", "Response"),
        Binding("d", "app.resolve", "Resolve"),
        Binding("x", "app.exclude", "Exclude"),
        Binding("e", "app.export", "Export"),
        Binding("a", "app.agents", "Agents", show=False),  # the title bar says so in a fleet
        Binding("slash", "search", "Filter", key_display="/", priority=True),
        Binding("escape", "clear_search", "Clear filter"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.query_text = ""  # the filter typed after ``/``
        self._last: tuple[Snapshot, datetime, str | None, bool] | None = None
        self._focus_pending = False  # ``/`` pressed, the filter not focused yet

    def compose(self) -> ComposeResult:
        yield TitleBar(id="title")
        search = Input(
            placeholder="a service, case ref, title or priority (⏎ keeps it, esc clears)",
            id="filter",
        )
        search.border_title = "Filter"
        yield search
        yield panel("status-box", "Live status", StatusTable(id="status"))
        with Horizontal(id="middle"):
            yield panel(
                "grid-box",
                "This month, day by day",
                MonthGrid(id="grid"),
                DayLegend(id="grid-legend"),
            )
            yield panel("timeline-box", "Outages this month", OutagesPanel(id="timeline"))
        with Horizontal(id="lower"):
            yield panel("cases-box", "Open cases", CasesPanel(id="cases"))
            yield panel("credits-box", "Pending credits", CreditsPanel(id="credits"))
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``esc`` clears a filter: shown (and bound) only while there is one."""
        if action == "clear_search":
            return bool(self.query_text or self.has_class("-searching"))
        return True

    def on_resize(self, event: Resize) -> None:
        self.query_one(Footer).compact = event.size.width < COMPACT_BELOW
        self.set_class(event.size.width < COMPACT_BELOW, "-compact")
        self.set_class(event.size.width < SIDE_BY_SIDE_FROM, "-stacked")
        credits = self.query_one("#credits-box")
        if event.size.width >= SIDE_BY_SIDE_FROM:  # side by side: the cases' titles give way
            credits.styles.max_width = max(CREDITS_WIDTH, event.size.width * 2 // 5)
        else:
            credits.styles.max_width = "100%"
        grid, width = self.query_one("#grid-box"), event.size.width
        if width >= COMPACT_BELOW:  # beside the outages: the grid gives way
            grid.styles.max_width = min(width * 3 // 5, width - TIMELINE_WIDTH)
        else:
            grid.styles.max_width = "100%"
        self.set_class(event.size.height < ROOMY_FROM, "-short")

    # -- search -------------------------------------------------------------------

    def action_search(self) -> None:
        self.add_class("-searching")
        self.refresh_bindings()
        field = self.query_one("#filter", Input)
        self._focus_pending = self.focused is not field
        field.focus()

    def action_clear_search(self) -> None:
        field = self.query_one("#filter", Input)
        if not (self.query_text or self.has_class("-searching")):
            return
        field.value = ""  # Input.Changed re-renders
        self._hide_filter()

    def _hide_filter(self) -> None:
        self.remove_class("-searching")
        self.refresh_bindings()
        self.query_one(StatusTable).focus()

    def on_key(self, event: Key) -> None:
        """Keys typed right after ``/`` (a fast typist, a paste, a busy machine) reach
        the screen before the filter is ready for them: they are the query's, not
        the dashboard's commands."""
        field = self.query_one("#filter", Input)
        typing = self._focus_pending or self.focused is field  # a key the field let by
        if typing and self.has_class("-searching") and event.is_printable and event.character:
            field.insert_text_at_cursor(event.character)
            event.stop()
            event.prevent_default()

    def on_descendant_focus(self, event: DescendantFocus) -> None:
        if event.widget is self.query_one("#filter", Input):
            self._focus_pending = False

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.query_text = event.value
        if self._last is not None:
            snapshot, now, problem, read = self._last
            self.show(snapshot, now, problem, read=read)

    @on(Input.Submitted, "#filter")
    def _filter_kept(self) -> None:
        if not self.query_text.strip():
            self._hide_filter()
        else:
            self.query_one(StatusTable).focus()

    # -- showing --------------------------------------------------------------------

    def show(
        self, snapshot: Snapshot, now: datetime, problem: str | None, *, read: bool = True
    ) -> None:
        """``read`` False: nothing could be read from the store yet (``snapshot`` is
        empty), so no panel may say there is nothing."""
        self._last = (snapshot, now, problem, read)
        self.query_one(TitleBar).show_state(snapshot.services, now, problem, read=read)
        everything = snapshot
        snapshot = filtered(snapshot, self.query_text)
        for table in self.query(RowTable):
            _say_when_empty(table, self.query_text.strip(), read)
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
        query = self.query_text.strip()
        shown = f"{len(snapshot.services)} of {len(everything.services)} match “{query}”"
        _subtitle(self.query_one("#status-box"), shown if query else "")

    @on(RowTable.RowChosen)
    async def _row_chosen(self, event: RowTable.RowChosen) -> None:
        """Enter on a table row (the table takes the key before the screen does):
        a case opens its own screen, anything else its service's month."""
        if isinstance(event.table, CasesPanel):
            await self.app.run_action("case_details")
        else:
            await self.app.run_action("details")


_EMPTY: dict[str, str] = {}  # each panel's own word for "empty", by id


NOT_READ = "Not read: the store cannot be read now (the reason is above)."


def _say_when_empty(table: RowTable, query: str, read: bool = True) -> None:
    """An empty panel says the filter hides its rows, not that there are none; nor
    that there are none when nothing could be read ('No services configured' of a
    config with three, the database out of reach)."""
    key = table.id or ""
    default = _EMPTY.setdefault(key, table.empty)
    wanted = f"Nothing here matches “{query}” (esc clears the filter)." if query else default
    if not read:
        wanted = NOT_READ
    if table.empty != wanted:
        table.empty = wanted
        table.refresh()


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n else ""


def _subtitle(box: Widget, text: str) -> None:
    """Only a real change repaints the panel (every second otherwise)."""
    if box.border_subtitle != text:
        box.border_subtitle = text
