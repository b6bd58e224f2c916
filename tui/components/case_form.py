"""Open a support case: priority, the provider's reference, a title; linked to an outage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from core.errors import SlawatchError
from core.outages import Outage
from core.timeutil import iso_z
from tui import fmt
from tui.components.time_form import parse_when
from tui.view import CaseRequest


def default_title(service: str, outage: Outage | None) -> str:
    if outage is None:
        return ""
    return f"{service} down since {fmt.when(outage.start)} UTC ({outage.minutes} min)"


class CaseForm(ModalScreen[CaseRequest | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(
        self,
        service: str,
        priorities: Sequence[str],
        opened_at: datetime,
        outage: Outage | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.priorities = tuple(priorities)
        self.opened_at = opened_at
        self.outage = outage

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form") as dialog:
            dialog.border_title = f"Open a case · {self.service}"
            if self.outage is not None:
                o = self.outage
                yield Label(
                    f"Reports the outage of {fmt.when(o.start)}–{fmt.when(o.end)} UTC "
                    f"({o.minutes} min); report by {fmt.when(o.report_by)}",
                    classes="hint",
                )
            else:
                yield Label("Not linked to an outage.", classes="hint")
            yield Label("Provider reference")
            yield Input(placeholder="e.g. INC-20431", id="ref")
            yield Label("Title")
            yield Input(default_title(self.service, self.outage), id="title")
            yield Label("Priority")
            yield Select(
                [(p, p) for p in self.priorities],
                value=self.priorities[0],
                allow_blank=False,
                id="priority",
            )
            yield Label("Opened at (ISO 8601 with Z or an offset; default now)")
            yield Input(iso_z(self.opened_at) or "", id="opened")
            yield Label("", id="error", classes="problem")
            with Horizontal(classes="buttons"):
                yield Button("Open case", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#ref", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        if not title:
            self._error("title", "A case needs a title.")
            return
        try:
            opened_at = parse_when(self.query_one("#opened", Input).value, self.opened_at)
        except SlawatchError as exc:
            self._error("opened", str(exc))
            return
        priority = self.query_one("#priority", Select).value
        ref = self.query_one("#ref", Input).value.strip() or None
        self.dismiss(
            CaseRequest(
                service=self.service,
                priority=str(priority),
                ref=ref,
                title=title,
                opened_at=opened_at,
                outage=self.outage,
            )
        )

    def _error(self, field: str, text: str) -> None:
        self.query_one("#error", Label).update(text)
        self.query_one("#error", Label).add_class("-shown")
        self.query_one(f"#{field}", Input).focus()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
