"""Open support cases: response deadlines counting down, breaches marked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.reactive import reactive

from core.cases import urgency as case_urgency
from tui import fmt
from tui.components.row_table import Cells, RowTable
from tui.palette import Palette
from tui.view import CaseRow

_SOON = 15 * 60  # seconds: a first response due sooner than this is shown as a warning


def urgency(case: CaseRow, now: datetime) -> tuple[int, float, int]:
    """Breached first (most overdue first), then awaiting a response by due time,
    then cases already answered, oldest first (``core.cases.urgency``, as ``status``)."""
    responded = case.responded_at is not None
    return case_urgency(case.id, case.opened_at, case.response_due, responded, case.breached(now))


COMPACT_BELOW = 90  # columns of its own width: narrower drops the age column


class CasesPanel(RowTable):
    """Rows keyed by case id; the title column takes the width the panel has left.
    Enter opens the case's own screen (its history)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Details", key_display="⏎"),
    ]
    compact: reactive[bool] = reactive(False, init=False)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, empty="No open cases.")
        self._cases: tuple[CaseRow, ...] = ()
        self._now: datetime | None = None

    def _columns(self) -> list[tuple[str, str]]:
        columns = [("prio", "priority"), ("ref", "ref"), ("service", "service"), ("title", "title")]
        if not self.compact:
            columns.append(("age", "age"))
        return [*columns, ("first response", "due")]

    def on_resize(self, event: Resize) -> None:
        self.compact = event.size.width < COMPACT_BELOW

    def watch_compact(self) -> None:
        if self._now is not None:
            self.show(self._cases, self._now)

    @property
    def selected_case(self) -> int | None:
        key = self.selected_key
        return None if key is None else int(key)

    def case(self, case_id: int) -> CaseRow | None:
        return next((c for c in self._cases if c.id == case_id), None)

    def show(self, rows: Sequence[CaseRow], now: datetime) -> None:
        self._cases, self._now = tuple(rows), now
        palette = Palette.from_theme(self.app.theme_variables)
        ordered = sorted(rows, key=lambda c: urgency(c, now))
        by_key = {str(c.id): c for c in ordered}
        self.show_rows(
            self._columns(),
            list(by_key),
            lambda key: self._cells(by_key[key], now, palette),
            flex="title",
            sort_keys={
                "due": lambda key: urgency(by_key[key], now),
                "age": lambda key: -by_key[key].opened_at.timestamp(),
            },
        )

    def _cells(self, case: CaseRow, now: datetime, palette: Palette) -> Cells:
        cells = [
            Text(case.priority_label, style="bold" if case.priority in ("critical", "1") else ""),
            Text(case.ref or f"#{case.id}", style=palette.calm),
            Text(case.service, style="bold"),
            Text(case.title),
        ]
        if not self.compact:
            cells.append(Text(fmt.age(case.opened_at, now), justify="right", style=palette.muted))
        cells.append(self._due(case, now, palette))
        return tuple(cells)

    @staticmethod
    def _due(case: CaseRow, now: datetime, palette: Palette) -> Text:
        if case.breached(now):
            if case.responded_at is not None:  # by how much: its history (Enter)
                return Text("⚠ BREACHED, answered", style=f"bold {palette.bad}")
            over = fmt.span((now - (case.response_due or now)).total_seconds())
            return Text(f"⚠ BREACHED +{over}", style=f"bold {palette.bad}")
        if case.responded_at is not None:
            return Text(f"✓ answered {fmt.when(case.responded_at)}", style=palette.good)
        if case.response_due is None:
            return Text("no target", style=palette.muted)
        left = (case.response_due - now).total_seconds()
        style = palette.warn if left < _SOON else ""
        return Text(f"due in {fmt.span(left)}", style=style)
