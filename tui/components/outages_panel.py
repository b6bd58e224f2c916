"""This month's outages across every service: the ongoing first, then the newest."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from core.outages import Outage
from tui import fmt
from tui.components.row_table import Cells, Fitted, RowTable, SortKeys
from tui.palette import Palette

COLUMNS = [
    ("service", "service"),
    ("start", "start"),
    ("end", "end"),
    ("min", "minutes"),
    ("reported", "case"),
]


def outage_status(o: Outage, now: datetime, palette: Palette) -> Text:
    """Reported (with its case), still reportable (by when: the deadline is never cut,
    a narrow column drops the words around it first), or too late."""
    if o.reported:
        return Fitted(
            f"✓ reported (case #{o.case_id})" if o.case_id else "✓ reported",
            [f"✓ case #{o.case_id}"] if o.case_id else [],
            style=palette.good,
        )
    if o.report_by > now:
        by, left = fmt.when(o.report_by), fmt.span((o.report_by - now).total_seconds())
        return Fitted(
            f"⚠ report by {by} ({left} left)",
            [f"⚠ by {by} ({left} left)", f"⚠ by {by} ({left})", f"⚠ report by {by}", f"⚠ by {by}"],
            style=f"bold {palette.warn}",
        )
    return Fitted("✗ unreported, too late to claim", ["✗ too late to claim"], style=palette.bad)


def outage_cells(o: Outage, now: datetime, palette: Palette) -> Cells:
    """start, end (or ``ongoing``), minutes, status: the outage tables' shared columns."""
    return (
        Text(fmt.when(o.start)),
        Text("ongoing", style=f"bold {palette.bad}")
        if o.ongoing
        else Text(fmt.until(o.end, o.start)),
        Text(f"{o.minutes:,}", justify="right"),
        outage_status(o, now, palette),
    )


def outage_sort_keys(outages: Mapping[str, Outage]) -> SortKeys:
    """Sort values for the columns whose words do not sort: the start and end times
    (``end`` may be a bare ``20:03``; an ongoing outage ends last) and the status
    (by the deadline)."""
    return {
        "start": lambda key: outages[key].start,
        "end": lambda key: (outages[key].ongoing, outages[key].end),
        "case": lambda key: (outages[key].reported, outages[key].report_by),
    }


class OutagesPanel(RowTable):
    """Rows keyed by outage id; Enter opens the service's month, ``c`` reports one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Details", key_display="⏎"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, empty="No outages this month.")
        self._outages: dict[str, Outage] = {}

    @property
    def selected_outage(self) -> Outage | None:
        key = self.selected_key
        return None if key is None else self._outages.get(key)

    def row_outages(self) -> list[Outage]:
        """The outages shown, in their order."""
        return [self._outages[key] for key in self.keys]

    @property
    def selected_service(self) -> str | None:
        outage = self.selected_outage
        return None if outage is None else outage.service

    def show(self, outages: Sequence[Outage], now: datetime) -> None:
        self._outages = {o.id: o for o in outages}
        palette = Palette.from_theme(self.app.theme_variables)

        def cells(key: str) -> Cells:
            o = self._outages[key]
            style = f"bold {palette.bad}" if o.ongoing else "bold"
            return (Text(o.service, style=style), *outage_cells(o, now, palette))

        self.show_rows(
            COLUMNS,
            list(self._outages),
            cells,
            flex="case",
            sort_keys=outage_sort_keys(self._outages),
        )
