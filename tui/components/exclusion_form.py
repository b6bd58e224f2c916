"""Exclude an interruption that was outside the provider's control, with a reason."""

from __future__ import annotations

from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Input, Label

from core.errors import SlawatchError
from core.timeutil import iso_z, parse_instant
from tui.components.form import FormScreen
from tui.view import ExclusionRequest


class ExclusionForm(FormScreen[ExclusionRequest]):
    first = "reason"

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
            yield from self.buttons("Add exclusion")

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
