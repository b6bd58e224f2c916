"""One support case (Enter on a case): what it is held to (``reads.reports.case_facts``,
the same facts as ``case show``), its history on one time line, the outages it
reported and the other cases of its service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from core.cases import Case, case_status
from core.errors import SlawatchError
from tui import fmt
from tui.components.fact_line import FactLine
from tui.components.outages_panel import COLUMNS as OUTAGE_COLUMNS
from tui.components.outages_panel import outage_cells, outage_sort_keys
from tui.components.panel import panel
from tui.components.row_table import Cells, RowTable
from tui.palette import Palette
from tui.view import CaseDetail

SIDE_BY_SIDE_FROM = 120  # columns: narrower screens stack the facts over the history
HISTORY_COLUMNS = [("when (UTC)", "when"), ("what", "what")]
SERVICE_CASE_COLUMNS = [
    ("case", "id"),
    ("ref", "ref"),
    ("prio", "priority"),
    ("opened (UTC)", "opened"),
    ("status", "status"),
    ("title", "title"),
]

Fetch = Callable[[int], Awaitable[CaseDetail | None]]


class CaseLoaded(Message):
    def __init__(self, detail: CaseDetail | None) -> None:
        super().__init__()
        self.detail = detail


class CaseScreen(Screen[None]):
    """``r`` and ``d`` act on this case; the screen follows the store like the others."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("r", "app.respond", "Response"),
        Binding("d", "app.resolve", "Resolve"),
    ]

    def __init__(self, case_id: int, fetch: Fetch, now: Callable[[], datetime]) -> None:
        super().__init__()
        self.case_id = case_id
        self._fetch = fetch
        self._now = now
        self.detail: CaseDetail | None = None
        self.loads = 0  # completed loads (tests wait on it)

    def compose(self) -> ComposeResult:
        yield FactLine(Text(f"case #{self.case_id}", style="bold"), id="detail-title")
        with Horizontal(id="case-top"):
            facts = Static("Loading…", id="case-facts")
            yield panel("case-facts-box", "The case", facts, scroll=True)
            yield panel("history-box", "History", RowTable(id="history", empty="Loading…"))
        outages = RowTable(id="case-outages", empty="No outage linked to this case.")
        yield panel("case-outages-box", "Outages it reported", outages)
        others = RowTable(id="service-cases", empty="No other case.")
        yield panel("service-cases-box", "Cases of this service", others)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < SIDE_BY_SIDE_FROM, "-narrow")

    @work(exclusive=True, group="case", exit_on_error=False)
    async def reload(self) -> None:
        """Read the case again (after an action, or when the store changed)."""
        try:
            detail = await self._fetch(self.case_id)
        except (SlawatchError, OSError, ValueError) as exc:
            self.notify(str(exc), title=f"Cannot read case #{self.case_id}", severity="error")
        else:
            self.post_message(CaseLoaded(detail))

    @on(CaseLoaded)
    def _show(self, message: CaseLoaded) -> None:
        self.loads += 1
        d = message.detail
        if d is None:
            self.query_one("#detail-title", FactLine).show(
                [Text(f"case #{self.case_id}", style="bold"), "no such case"]
            )
            return
        self.detail = d
        now = self._now()
        palette = Palette.from_theme(self.app.theme_variables)
        self.query_one("#detail-title", FactLine).show(_facts(d, now, palette))
        self.query_one("#case-facts", Static).update(facts_table(d.facts))
        tones = {"good": palette.good, "warn": palette.warn, "bad": f"bold {palette.bad}"}
        events = {str(i): e for i, e in enumerate(d.events)}
        self.query_one("#history", RowTable).show_rows(
            HISTORY_COLUMNS,
            list(events),
            lambda key: (
                Text(fmt.stamp(events[key].at), style=palette.muted),
                Text(events[key].what, style=tones.get(events[key].tone, "")),
            ),
            flex="what",
        )
        outages = {o.id: o for o in d.outages}
        self.query_one("#case-outages", RowTable).show_rows(
            OUTAGE_COLUMNS[1:],
            list(outages),
            lambda key: outage_cells(outages[key], now, palette),
            flex="case",
            sort_keys=outage_sort_keys(outages),
        )
        self.query_one("#service-cases-box").border_title = f"Cases of {d.case.service}"
        others = {str(c.id): c for c in d.service_cases}
        self.query_one("#service-cases", RowTable).show_rows(
            SERVICE_CASE_COLUMNS,
            list(others),
            lambda key: _case_cells(others[key], d.case.id, palette),
            flex="title",
        )

    @on(RowTable.RowChosen, "#service-cases")
    def _other_case(self, event: RowTable.RowChosen) -> None:
        """Enter on another case of the service: this screen shows that one."""
        case_id = int(event.key)
        if case_id != self.case_id:
            self.case_id = case_id
            self.detail = None
            self.reload()


def facts_table(facts: Sequence[tuple[str, str]]) -> Table:
    """(label, text) rows; a row without a label continues the one above (a history)."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, text in facts:
        grid.add_row(label, text)
    return grid


def _facts(d: CaseDetail, now: datetime, palette: Palette) -> list[Text]:
    c = d.case
    status = case_status(c)
    if d.breached:
        verdict = Text("⚠ response BREACHED", style=f"bold {palette.bad}")
    elif c.responded_at is not None:
        verdict = Text("✓ answered in time", style=palette.good)
    elif d.response_due is None:
        verdict = Text("no response target", style=palette.muted)
    else:
        verdict = Text(f"response {fmt.countdown(d.response_due, now)}", style=palette.warn)
    return [
        Text(f"case #{c.id}", style="bold"),
        Text(c.ref or "no ref", style=palette.calm),
        Text(c.service, style="bold"),
        Text(c.priority),
        Text(status, style=palette.good if status == "resolved" else ""),
        verdict,
        Text(c.title),
    ]


def _case_cells(c: Case, shown: int, palette: Palette) -> Cells:
    status = case_status(c)
    mark = "▸ " if c.id == shown else "  "
    return (
        Text(f"{mark}#{c.id}", style="bold" if c.id == shown else ""),
        Text(c.ref or "-", style=palette.calm),
        Text(c.priority),
        Text(fmt.stamp(c.opened_at), style=palette.muted),
        Text(status, style=palette.muted if status == "resolved" else ""),
        Text(c.title),
    )
