"""``?``: what every key does and what the panels mean, on one screen at 80x24."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("⏎ enter", "a service's month (day strip, outages, windows), or a case's history"),
    ("c", "open a support case (linked to the selected outage, if any)"),
    ("r", "record the first response to the selected case (asks when: now, editable)"),
    ("d", "mark the selected case resolved (asks when: now, editable)"),
    ("x", "take minutes out: an exclusion (outside the provider's control) or maintenance"),
    ("e", "export the claim bundle for the selected credit or month"),
    ("a", "the agents (vantage points): last seen, backlog, clock offset, version; ⏎ one agent"),
    ("/", "filter every panel by a service, case ref, title or priority (esc clears)"),
    ("s  S", "sort the focused table by the next column / the other way (or click a header)"),
    ("tab  ↑ ↓", "move between panels / rows; the selected row shows a text cut with … whole"),
    ("[ ]", "previous / next month (details)"),
    ("esc", "back"),
    ("q ctrl+c", "quit"),
)

NOTES = (
    (
        "State",
        "is the last probe's verdict, as a word and a colour. A service whose last "
        "probe is older than three probe intervals (three of its longest runs, retries and "
        "all, when those are longer) is stale: the agent is not reporting, "
        "so slawatch does not claim it is up. With several agents, agents shows how many "
        "see what (2/3 down) and the state is their majority (rule 3).",
    ),
    (
        "Month so far",
        "(this month, on a narrow terminal) is the month's availability up to now; "
        "measured is the share of its minutes with a record. A figure marked ? is not "
        "to be trusted yet: its agent stopped recording, or (on a narrow terminal, where "
        "measured is left out) too little of the month was measured.",
    ),
    (
        "Budget",
        "is the downtime the month can still take before it falls into the next "
        "credit band; band is the band the month is in so far, numbered from 1 (the top "
        "band, no credit) as in report JSON and the claim letter, with the credit it earns.",
    ),
    (
        "BREACHED",
        "a first response that missed the contract's deadline, +how far past it (the "
        "JSON's response_breached); a later answer does not undo it.",
    ),
    (
        "Unreported",
        "outages earn no credit until reported through the support channel; "
        "each is listed with the time by which it must be reported.",
    ),
)


def help_text() -> Group:
    keys = Table.grid(padding=(0, 2))
    keys.add_column(style="bold", no_wrap=True)
    keys.add_column()
    for key, action in KEYS:
        keys.add_row(key, action)
    notes = [Text.assemble((word, "bold"), " ", text) for word, text in NOTES]
    return Group(Text("Keys", style="bold underline"), keys, Text(), *notes)


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close"),
        Binding("q", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as box:
            box.border_title = "slawatch dashboard · help"
            box.border_subtitle = "esc to close"
            yield Static(help_text())
