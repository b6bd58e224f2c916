"""Pending credits, and the outages that can still be reported to earn one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from core.outages import Outage
from tui import fmt
from tui.components.row_table import Cells, Fitted, RowTable
from tui.palette import Palette
from tui.view import CreditRow

COLUMNS = [
    ("service", "service"),
    ("month", "month"),
    ("measured credit", "measured"),
    ("claimable", "claimable"),
]


class CreditsPanel(RowTable):
    """Credit rows (``credit/SERVICE/MONTH``) above warning rows (``outage/ID``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Details", key_display="⏎"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, empty="No credit pending, no outage left to report.")
        self._credits: tuple[CreditRow, ...] = ()
        self._outages: tuple[Outage, ...] = ()

    @property
    def selected_credit(self) -> CreditRow | None:
        key = self.selected_key or ""
        return next((c for c in self._credits if f"credit/{c.service}/{c.month}" == key), None)

    @property
    def selected_outage(self) -> Outage | None:
        key = self.selected_key or ""
        return next((o for o in self._outages if f"outage/{o.id}" == key), None)

    @property
    def selected_service(self) -> str | None:
        row = self.selected_credit or self.selected_outage
        return None if row is None else row.service

    def show(self, credits: Sequence[CreditRow], outages: Sequence[Outage], now: datetime) -> None:
        self._credits, self._outages = tuple(credits), tuple(outages)
        palette = Palette.from_theme(self.app.theme_variables)
        rows = {
            f"credit/{c.service}/{c.month}": self._credit_cells(c, palette)
            for c in sorted(credits, key=lambda c: (c.month, c.service), reverse=True)
        }
        rows |= {
            f"outage/{o.id}": self._outage_cells(o, now, palette)
            for o in sorted(outages, key=lambda o: o.report_by)
        }
        self.show_rows(COLUMNS, list(rows), rows.__getitem__, flex="claimable")

    @staticmethod
    def _credit_cells(c: CreditRow, palette: Palette) -> Cells:
        claim_style = palette.good if c.claimable_amount else palette.muted
        return (
            Text(c.service, style="bold"),
            # A month not over owes a credit so far, not yet (status says "(running)").
            Text(f"{c.month} running", style=f"italic {palette.warn}")
            if c.running
            else Text(c.month),
            Text(
                f"{fmt.credit_band(c.credit_percent)}  {fmt.money(c.credit_amount, c.currency)}",
                justify="right",
            ),
            Text(fmt.money(c.claimable_amount, c.currency), style=claim_style),
        )

    @staticmethod
    def _outage_cells(o: Outage, now: datetime, palette: Palette) -> Cells:
        by, left = fmt.when(o.report_by), fmt.span((o.report_by - now).total_seconds())
        return (
            Text(f"⚠ {o.service}", style=f"bold {palette.warn}"),
            Text(fmt.when(o.start), style=palette.warn),
            Text(f"{o.minutes} min unreported", justify="right", style=f"bold {palette.warn}"),
            Fitted(
                f"report by {by}, {left} left",
                [f"report by {by} ({left})", f"report by {by}", f"by {by} ({left})", f"by {by}"],
                style=palette.warn,
            ),
        )
