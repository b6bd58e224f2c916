"""``?``: what every key does and what the panels mean."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# slawatch dashboard

| key | action |
|---|---|
| `enter` | details of the selected service: day strip, outages, windows |
| `c` | open a support case (linked to the selected outage, if one is selected) |
| `r` | record the first response to the selected case |
| `d` | mark the selected case resolved |
| `x` | add an exclusion (interruption outside the provider's control) |
| `e` | export the claim bundle for the selected credit or month |
| `tab` | move between panels |
| `[` `]` | previous / next month (details) |
| `escape` | back |
| `q` | quit |

**State** is the last probe's verdict, in a word and a colour. A service whose
last probe is older than three probe intervals is shown as **stale**: the agent
is not reporting, so slawatch does not claim it is up.

**Budget** is the downtime the month can still take before it falls into the
next credit band; **band** is the credit the month earns so far.

A credit is only owed for outages reported through the support channel: an
**unreported** outage is listed with the time by which it must be reported.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("question_mark", "dismiss", "Close"),
        Binding("q", "dismiss", "Close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
