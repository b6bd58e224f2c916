"""One service, one month: the day strip, its outages, maintenance and exclusions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.events import Resize
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from core.errors import SlawatchError
from core.outages import Outage
from core.timeutil import YearMonth
from core.tls import left_text, warns
from tui import fmt
from tui.components.fact_line import FactLine
from tui.components.month_strip import MonthStrip
from tui.components.outages_panel import outage_cells, outage_sort_keys
from tui.components.panel import panel
from tui.components.row_table import Cells, RowTable
from tui.components.vantage_table import VantageTable
from tui.palette import Palette
from tui.view import ServiceDetail, WindowRow

OUTAGE_COLUMNS = [("start", "start"), ("end", "end"), ("minutes", "minutes"), ("case", "case")]
WINDOW_COLUMNS = [("kind", "kind"), ("from", "from"), ("to", "to"), ("reason", "why")]
SIDE_BY_SIDE_FROM = 120  # columns: wider screens put outages and windows side by side
_MONTH = Binding.Group("Month", compact=True)

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
        Binding("left_square_bracket", "month(-1)", "Previous month", group=_MONTH),
        Binding("right_square_bracket", "month(1)", "Next month", group=_MONTH),
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

    def compose(self) -> ComposeResult:
        yield FactLine(Text(self.service, style="bold"), str(self.month), id="detail-title")
        yield panel("strip-box", "Day by day", MonthStrip(id="strip"))
        yield panel("vantage-box", "Vantage points", VantageTable(id="vantage"))
        with Horizontal(id="lists"):
            outages = RowTable(id="outages", empty="No outages this month.")
            yield panel("outages-box", "Outages", outages)
            windows = RowTable(id="windows", empty="No maintenance or exclusions this month.")
            yield panel("windows-box", "Maintenance and exclusions", windows)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width >= SIDE_BY_SIDE_FROM, "-wide")
        self._share()

    def _share(self) -> None:
        """Side by side, the outages take what their rows need (a third to a half of the
        screen) and the windows the rest: a window's reason is cut only if it must be."""
        box = self.query_one("#outages-box")
        if not self.has_class("-wide"):
            box.styles.width = None
            return
        width = self.size.width
        needed = self.query_one("#outages", RowTable).natural_width + 2  # and its border
        box.styles.width = max(width // 3, min(needed, width // 2))

    @property
    def selected_outage(self) -> Outage | None:
        if self.detail is None:
            return None
        key = self.query_one("#outages", RowTable).selected_key
        return next((o for o in self.detail.outages if str(o.id) == key), None)

    def action_month(self, step: int) -> None:
        shown = self.detail
        if step > 0 and shown is not None and shown.provisional and shown.month == str(self.month):
            # The running month: the next one has not begun, and would read 100 % available.
            self.notify(f"{self.month} is the running month; no later month yet.")
            return
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
        self.query_one("#detail-title", FactLine).show(_facts(d, now, palette))
        self.query_one(MonthStrip).show(d.days)
        fleet = len(d.agents) > 1  # one agent: the screen a single machine always had
        vantage_box = self.query_one("#vantage-box")
        vantage_box.display = fleet
        if fleet:
            outvoted, n = self.query_one(VantageTable).show(
                d.agents, d.probe_interval_s, now, palette
            )
            _subtitle(vantage_box, f"{outvoted} of {n} outvoted" if outvoted else "")
        by_key = {str(o.id): o for o in d.outages}
        outages = {key: outage_cells(o, now, palette) for key, o in by_key.items()}
        self.query_one("#outages", RowTable).show_rows(
            OUTAGE_COLUMNS,
            list(outages),
            outages.__getitem__,
            flex="case",
            sort_keys=outage_sort_keys(by_key),
        )
        by_window = {f"{w.kind}/{w.start.isoformat()}": w for w in d.windows}
        windows = {key: _window_cells(w) for key, w in by_window.items()}
        self.query_one("#windows", RowTable).show_rows(
            WINDOW_COLUMNS,
            list(windows),
            windows.__getitem__,
            flex="why",
            sort_keys={  # "to" may be a bare time: sort by the instants
                "from": lambda key: by_window[key].start,
                "to": lambda key: by_window[key].end,
            },
        )
        self._share()
        unreported = sum(not o.reported for o in d.outages)
        _subtitle(self.query_one("#outages-box"), f"{unreported} unreported" if unreported else "")


def _facts(d: ServiceDetail, now: datetime, palette: Palette) -> list[Text]:
    """The header's facts, each kept whole when the line wraps."""
    band_style = f"bold {palette.bad}" if d.credit_percent else palette.good
    claim_style = palette.good if d.claimable_amount else ""
    return [
        Text(d.service, style="bold"),
        Text(f"{d.month} ({d.timezone})" + (" provisional" if d.provisional else "")),
        Text.assemble(
            "availability ",
            (fmt.percent(d.availability), "bold"),
            (f" ({fmt.coverage(d.coverage)} measured)", palette.warn if d.coverage_low else ""),
        ),
        Text(f"{d.downtime_minutes:,} min down"),
        Text.assemble(
            "band ",
            (fmt.band(d.band), band_style),
            f" ({fmt.credit_band(d.credit_percent)})",
        ),
        Text(f"credit {fmt.money(d.credit_amount, d.currency)}"),
        Text.assemble("claimable ", (fmt.money(d.claimable_amount, d.currency), claim_style)),
        *_certificate(d, now, palette),
    ]


def _certificate(d: ServiceDetail, now: datetime, palette: Palette) -> list[Text]:
    """The certificate's expiry (HTTPS probes): muted, or a warning within ``tls_warn_days``."""
    if d.tls_expires_at is None:
        return []
    left = left_text(d.tls_expires_at, now)
    at = fmt.when(d.tls_expires_at)
    if left == "expired":
        return [Text(f"⚠ certificate expired {at}", style=f"bold {palette.bad}")]
    text = f"certificate expires {at} ({left})"
    if not warns(d.tls_expires_at, now, d.tls_warn_days):
        return [Text(text, style=palette.muted)]
    return [Text(f"⚠ {text}", style=f"bold {palette.warn}")]


def _subtitle(box: Widget, text: str) -> None:
    if box.border_subtitle != text:
        box.border_subtitle = text


def _window_cells(w: WindowRow) -> Cells:
    """kind, from, to (a bare time on the day it began), reason."""
    return (
        Text(w.kind),
        Text(fmt.when(w.start)),
        Text(fmt.until(w.end, w.start)),
        Text(w.reason or "-"),
    )
