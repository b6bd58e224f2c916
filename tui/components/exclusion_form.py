"""Exclude an interruption that was outside the provider's control, with a reason."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from core.errors import SlawatchError
from core.timeutil import iso_z, parse_instant
from tui.view import ExclusionRequest


class ExclusionForm(ModalScreen[ExclusionRequest | None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, service: str, start: datetime, end: datetime) -> None:
        super().__init__()
        self.service = service
        self.start = start
        self.end = end

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form") as dialog:
            dialog.border_title = f"Add an exclusion · {self.service}"
            yield Label(
                "Minutes in [from, to) leave both downtime and the measured month.",
                classes="hint",
            )
            yield Label("Reason")
            yield Input(placeholder="e.g. upstream DNS outage at our ISP", id="reason")
            yield Label("From (ISO 8601, with Z or an offset)")
            yield Input(iso_z(self.start) or "", id="from")
            yield Label("To")
            yield Input(iso_z(self.end) or "", id="to")
            yield Label("", id="error", classes="problem")
            with Horizontal(classes="buttons"):
                yield Button("Add exclusion", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        try:
            start = parse_instant(self.query_one("#from", Input).value, "from")
            end = parse_instant(self.query_one("#to", Input).value, "to")
        except SlawatchError as exc:
            self._error(exc.where, str(exc))
            return
        reason = self.query_one("#reason", Input).value.strip()
        if end <= start:
            self._error("to", "to: must be after from")
        elif not reason:
            self._error("reason", "reason: an exclusion needs a reason")
        else:
            self.dismiss(ExclusionRequest(self.service, start, end, reason))

    def _error(self, field: str, text: str) -> None:
        self.query_one("#error", Label).update(text)
        self.query_one("#error", Label).add_class("-shown")
        self.query_one(f"#{field}", Input).focus()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
