"""Take minutes out of the month: an interruption outside the provider's control (an
exclusion, with a reason) or a maintenance window the provider announced."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select

from core.errors import SlawatchError
from core.timeutil import iso_z, parse_instant
from tui.components.form import FormScreen
from tui.view import ExclusionRequest

KINDS = (
    ("exclusion: outside the provider's control", "exclusion"),
    ("maintenance: announced by the provider", "maintenance"),
)


class ExclusionForm(FormScreen[ExclusionRequest]):
    first = "reason"

    def __init__(self, service: str, start: datetime, end: datetime) -> None:
        super().__init__()
        self.service = service
        self.start = start
        self.end = end

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form") as dialog:
            dialog.border_title = f"Take minutes out · {self.service}"
            yield Label(
                "Minutes in [from, to) leave both downtime and the measured month.",
                classes="hint",
            )
            yield Label("Kind")
            yield Select(KINDS, value="exclusion", allow_blank=False, id="kind")
            yield Label("Reason (an exclusion needs one)")
            yield Input(placeholder="e.g. upstream DNS outage at our ISP", id="reason")
            with Horizontal(classes="pair"):
                with Vertical():
                    yield Label("From (ISO 8601, Z or an offset)")
                    yield Input(iso_z(self.start) or "", id="from")
                with Vertical():
                    yield Label("To")
                    yield Input(iso_z(self.end) or "", id="to")
            yield from self.buttons("Add")

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
        chosen = self.query_one("#kind", Select).value
        kind: Literal["exclusion", "maintenance"] = (
            "maintenance" if chosen == "maintenance" else "exclusion"
        )
        if end <= start:
            self._error("to", "to: must be after from")
        elif not reason and kind == "exclusion":
            self._error("reason", "reason: an exclusion needs a reason")
        else:
            self.dismiss(ExclusionRequest(self.service, start, end, reason, kind))
