"""Live status: one row per service, the most urgent first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.reactive import reactive

from core.status import DEGRADED, DOWN
from core.tls import left_text
from core.vantage import Vantage
from tui import fmt
from tui.components.row_table import Cells, Fitted, RowTable
from tui.palette import Palette, state_text
from tui.view import ServiceRow

_RANK = {"down": 0, "degraded": 1, "unknown": 3, "up": 4}
_BUDGET_LOW = 30  # minutes: below this the budget is shown as a warning


def urgency(row: ServiceRow, now: datetime) -> tuple[int, str]:
    """Down, then degraded, then stale, then unknown (and waiting), then up; by name."""
    if row.waiting:
        return (3, row.name)
    if fmt.is_stale(row.last_probe_at, row.probe_interval_s, now):
        return (2, row.name)
    return (_RANK[row.live_state(now)], row.name)


COMPACT_BELOW = 130  # columns of its own width: narrower drops the sparkline and contract
NARROW_BELOW = 110  # narrower still drops measured and band, so the last error has room
SPARK_MINUTES = 60  # the sparkline's full width: one cell per minute of the last hour


class StatusTable(RowTable):
    """The live status panel. The sparkline takes the width the other columns leave
    (up to a cell per minute of the last hour); ``compact`` drops it and the contract
    (the band reads ``2``, not ``2 (25 %)``); ``narrow`` drops the measured share too
    (a month figure measured too little reads ``? 100.0000 %``) and the band: the last
    error (why a service is down) always stays on screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Details", key_display="⏎"),
    ]
    compact: reactive[bool] = reactive(False, init=False)
    narrow: reactive[bool] = reactive(False, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, empty="No services configured.")
        self._static: dict[ServiceRow, Cells] = {}
        self._services: tuple[ServiceRow, ...] = ()
        self._now: datetime | None = None
        self.fleet = False  # several agents probe some service: the agents column shows

    def _columns(self) -> list[tuple[str, str]]:
        columns = [("service", "service"), ("state", "state")]
        if self.fleet:
            columns.append(("agents", "agents"))
        if not (self.fleet and self.narrow):  # narrow fleet: the agents before the latency
            columns.append(("latency", "latency"))
        if not self.compact:
            columns.append(("recent latency", "spark"))
        columns.append(("this month" if self.narrow else "month so far", "month"))
        if not self.narrow:  # narrow: a figure measured too little is marked ``?``
            columns.append(("measured", "measured"))
        columns.append(("budget", "budget"))
        if not self.narrow:  # narrow: the budget says how far the next band is
            columns.append(("band", "band"))
        columns += [("probe", "probe"), ("last error", "error")]
        if not self.compact:
            columns.append(("contract", "contract"))
        return columns

    def on_resize(self, event: Resize) -> None:
        self.narrow = event.size.width < NARROW_BELOW
        self.compact = event.size.width < COMPACT_BELOW

    def watch_narrow(self) -> None:
        self.watch_compact()

    def watch_compact(self) -> None:
        self._static = {}
        if self._now is not None:
            self.show(self._services, self._now)

    @property
    def selected_service(self) -> str | None:
        return self.selected_key

    def show(self, rows: Sequence[ServiceRow], now: datetime) -> None:
        """Show ``rows`` as of ``now``: only rows on screen are re-rendered when
        nothing but the clock moved, and each row's clock-free cells are reused."""
        self._services, self._now = tuple(rows), now
        self.fleet = any(len(r.votes) > 1 for r in rows)
        palette = Palette.from_theme(self.app.theme_variables)
        ordered = sorted(rows, key=lambda r: urgency(r, now))
        by_name = {r.name: r for r in ordered}
        cache, self._static = self._static, {}

        def cells(name: str) -> Cells:
            row = by_name[name]
            static = cache.get(row) or self._static_cells(row, palette)
            self._static[row] = static
            return self._cells(row, static, now, palette, self.compact, self.narrow, self.fleet)

        flex = "error" if self.compact else "spark"
        sort_keys = {"state": lambda name: urgency(by_name[name], now)}
        self.show_rows(self._columns(), list(by_name), cells, flex=flex, sort_keys=sort_keys)
        self._static.update((r, c) for r, c in cache.items() if by_name.get(r.name) == r)

    def _static_cells(self, row: ServiceRow, palette: Palette) -> Cells:
        """The cells that depend on the row alone (not on the clock)."""
        band_style = palette.good if not row.band_credit else palette.bad
        budget_style = ""
        if row.budget_minutes is not None and row.budget_minutes < _BUDGET_LOW:
            budget_style = palette.bad if row.budget_minutes == 0 else palette.warn
        down = row.state == "down"
        cells = [
            Text(row.name, style="bold"),
            Text(fmt.latency(row.latency_ms), justify="right", style=palette.muted if down else ""),
        ]
        if not self.compact:
            spark = fmt.sparkline(row.latency_hour, SPARK_MINUTES)
            cells.append(Text(spark, style=palette.calm, justify="right"))
        if self.narrow and row.coverage_low and row.availability is not None:
            month = Text(f"? {fmt.percent(row.availability)}", justify="right", style=palette.warn)
        else:
            month = Text(fmt.percent(row.availability), justify="right", style=band_style)
        cells.append(month)
        if not self.narrow:
            coverage_style = palette.warn if row.coverage_low else palette.muted
            cells.append(Text(fmt.coverage(row.coverage), justify="right", style=coverage_style))
        cells.append(Text(fmt.budget(row.budget_minutes), justify="right", style=budget_style))
        if not self.narrow:
            band = _band_text(row, self.compact)
            cells.append(Text(band, justify="right", style=band_style))
        error_style = palette.bad if down else palette.warn if row.state == "degraded" else ""
        cells.append(Text(row.error or "", style=error_style))
        if not self.compact:
            cells.append(Text(row.contract, style=palette.muted))
        return tuple(cells)

    @staticmethod
    def _cells(
        row: ServiceRow,
        static: Cells,
        now: datetime,
        palette: Palette,
        compact: bool,
        narrow: bool,
        fleet: bool,
    ) -> Cells:
        stale = fmt.is_stale(row.last_probe_at, row.probe_interval_s, now)
        probe_style = f"italic {palette.warn}" if stale and not row.waiting else palette.muted
        # name, latency, then spark, month, measured, budget, band (compact: no spark;
        # narrow: month, budget)
        fixed = 4 if narrow else 6 if compact else 7
        agents = (agents_text(row.vantage(now), palette),) if fleet else ()
        first = 2 if fleet and narrow else 1  # a narrow fleet table drops the latency
        last = static[fixed:]
        if row.error is None and row.tls_warning(now):  # the error column is free: say it there
            last = (certificate_text(row, now, palette), *last[1:])
        middle = static[first:fixed]
        if row.not_recording(now):  # the month's figure stopped with the agent's writes
            month = fixed - (2 if narrow else 4) - first  # the month's cell in ``middle``
            shown = f"? {fmt.percent(row.availability)}"
            flagged = Text(shown, justify="right", style=f"bold {palette.bad}")
            middle = (*middle[:month], flagged, *middle[month + 1 :])
        return (
            static[0],
            state_text(row.live_state(now), stale, palette, waiting=row.waiting),
            *agents,
            *middle,
            Text(
                "-" if row.waiting else fmt.age(row.last_probe_at, now),
                justify="right",
                style=probe_style,
            ),
            *last,
        )


def _band_text(row: ServiceRow, compact: bool) -> str:
    """The band, numbered from 1 as in JSON and the letter, its credit after it when
    there is room: ``2 (25 %)``; ``2`` on a compact table."""
    if row.band is None or compact:
        return fmt.band(row.band)
    return f"{fmt.band(row.band)} ({fmt.credit_band(row.band_credit)})"


def certificate_text(row: ServiceRow, now: datetime, palette: Palette) -> Text:
    """``⚠ cert: 5 days left`` (yellow), ``⚠ cert: expired`` (red), for a row that warns."""
    assert row.tls_expires_at is not None
    left = left_text(row.tls_expires_at, now)
    short = left.replace(" days", "d").replace(" day", "d").replace(" h", "h")  # 5d left
    style = palette.bad if left == "expired" else palette.warn
    return Fitted(f"⚠ cert: {left}", [f"⚠ cert {short}"], style=style)


def agents_text(votes: Vantage, palette: Palette) -> Text:
    """``2/3 down`` in the colour of what the agents see: red when any sees it down."""
    summary = votes.summary
    if summary is None:
        return Text("-", style=palette.muted, justify="right")
    if votes.count(DOWN):
        style = palette.bad if votes.code == DOWN else palette.warn
    elif votes.count(DEGRADED):
        style = palette.warn
    elif votes.voting:
        style = palette.good
    else:
        style = palette.muted
    return Text(summary, style=style, justify="right")
