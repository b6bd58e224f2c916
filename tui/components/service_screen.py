"""One service, one month: the day strip, its outages, maintenance and exclusions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from core.errors import SlawatchError
from core.timeutil import YearMonth
from tui import fmt
from tui.components.month_strip import MonthStrip
from tui.components.table_sync import Cells, Shown, selected_key, sync_rows
from tui.palette import Palette
from tui.view import OutageRow, ServiceDetail, WindowRow

OUTAGE_COLUMNS = [("start", "start"), ("end", "end"), ("minutes", "minutes"), ("case", "case")]
WINDOW_COLUMNS = [("kind", "kind"), ("from", "from"), ("to", "to"), ("reason", "why")]

Fetch = Callable[[str, YearMonth], Awaitable[ServiceDetail]]


class DetailLoaded(Message):
    def __init__(self, detail: ServiceDetail) -> None:
        super().__init__()
        self.detail = detail


class ServiceScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "app.open_case", "Case"),
        Binding("x", "app.exclude", "Exclude"),
        Binding("e", "app.export", "Export"),
        Binding("left_square_bracket", "month(-1)", "Prev month"),
        Binding("right_square_bracket", "month(1)", "Next month"),
    ]

    def __init__(
        self, service: str, month: YearMonth, fetch: Fetch, now: Callable[[], datetime]
    ) -> None:
        super().__init__()
        self.service = service
        self.month = month
        self._fetch = fetch
        self._now = now
        self.detail: ServiceDetail | None = None
        self._outages = Shown()
        self._windows = Shown()

    def compose(self) -> ComposeResult:
        yield Static(f"[b]{self.service}[/b]  ·  {self.month}", id="detail-title")
        with Vertical(id="strip-box", classes="panel") as box:
            box.border_title = "Day by day"
            yield MonthStrip(id="strip")
        with Vertical(id="outages-box", classes="panel") as box:
            box.border_title = "Outages"
            yield DataTable[Text](
                id="outages",
                cursor_type="row",
                zebra_stripes=True,
                cursor_foreground_priority="renderable",
            )
        with Vertical(id="windows-box", classes="panel") as box:
            box.border_title = "Maintenance and exclusions"
            yield DataTable[Text](id="windows", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    @property
    def selected_outage(self) -> OutageRow | None:
        if self.detail is None:
            return None
        key = selected_key(self.query_one("#outages", DataTable))
        return next((o for o in self.detail.outages if str(o.id) == key), None)

    def action_month(self, step: int) -> None:
        self.month = self.month.next() if step > 0 else self.month.prev()
        self.reload()

    @work(exclusive=True, group="detail", exit_on_error=False)
    async def reload(self) -> None:
        """Read the month again (after an action, or when the store changed)."""
        try:
            detail = await self._fetch(self.service, self.month)
        except (SlawatchError, OSError, ValueError) as exc:
            self.notify(str(exc), title=f"Cannot read {self.service}", severity="error")
        else:
            self.post_message(DetailLoaded(detail))

    @on(DetailLoaded)
    def _show(self, message: DetailLoaded) -> None:
        d = message.detail
        self.detail = d
        now = self._now()
        palette = Palette.from_theme(self.app.theme_variables)
        self.query_one("#detail-title", Static).update(
            f"[b]{d.service}[/b]  ·  {d.month} ({d.timezone})  ·  "
            f"availability [b]{fmt.percent(d.availability)}[/b]  ·  "
            f"{d.downtime_minutes:,} min down  ·  band {fmt.credit_band(d.credit_percent)}  ·  "
            f"credit {fmt.money(d.credit_amount, d.currency)}, "
            f"claimable {fmt.money(d.claimable_amount, d.currency)}"
        )
        self.query_one(MonthStrip).show(d.days)
        self._outages = sync_rows(
            self.query_one("#outages", DataTable),
            OUTAGE_COLUMNS,
            [(str(o.id), _outage_cells(o, now, palette)) for o in d.outages],
            self._outages,
        )
        self._windows = sync_rows(
            self.query_one("#windows", DataTable),
            WINDOW_COLUMNS,
            [(f"{w.kind}/{w.start.isoformat()}", _window_cells(w)) for w in d.windows],
            self._windows,
        )
        self.query_one(
            "#outages-box"
        ).border_subtitle = (
            f"{sum(not o.reported for o in d.outages)} unreported of {len(d.outages)}"
        )


def _outage_cells(o: OutageRow, now: datetime, palette: Palette) -> Cells:
    if o.reported:
        status = Text(
            f"✓ reported (case #{o.case_id})" if o.case_id else "✓ reported", style=palette.good
        )
    elif o.report_by > now:
        status = Text(
            f"⚠ report by {fmt.when(o.report_by)}"
            f" ({fmt.span((o.report_by - now).total_seconds())} left)",
            style=f"bold {palette.warn}",
        )
    else:
        status = Text("✗ unreported, too late to claim", style=palette.bad)
    return (
        Text(fmt.when(o.start)),
        Text(fmt.when(o.end)),
        Text(f"{o.minutes:,}", justify="right"),
        status,
    )


def _window_cells(w: WindowRow) -> Cells:
    return (Text(w.kind), Text(fmt.when(w.start)), Text(fmt.when(w.end)), Text(w.reason or "-"))
