"""Enter on a case: the case in detail (``reads.reports.case_facts``).

Its first-response deadline and why (the priority it is held to, when that
clock started), its priority and escalation history, the root-cause analysis,
the waits on the customer and whether they stop the clock, and the customer's
own obligation at its priority.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.view import CaseRow


def facts_table(case: CaseRow) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, text in case.facts:
        grid.add_row(label, text)
    return grid


class CaseScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close"),
    ]

    def __init__(self, case: CaseRow) -> None:
        super().__init__()
        self.case = case

    def compose(self) -> ComposeResult:
        c = self.case
        with VerticalScroll(id="case-detail") as box:
            box.border_title = f"case #{c.id} · {c.ref or 'no provider ref'} · {c.title}"
            box.border_subtitle = "esc to close"
            yield Static(facts_table(c))
