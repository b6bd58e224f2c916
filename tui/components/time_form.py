"""Confirm a case action and say when it happened (default: now, editable).

``r`` (first response) and ``d`` (resolved) ask here rather than stamping the
dashboard's clock: the provider's answer often came an hour before anyone
records it, and rule 9 judges the time it came, not the time it was typed.
"""

from __future__ import annotations

from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Input, Label

from core.errors import InputError, SlawatchError
from core.timeutil import iso_z, parse_past
from tui.components.form import FormScreen


def parse_when(text: str, now: datetime, not_before: datetime | None = None) -> datetime:
    """The time typed into a form: ISO 8601 with an offset, not in the future, and
    (``not_before``) not before the case was opened. Raises ``SlawatchError``."""
    at = parse_past(text, now, "at")
    if not_before is not None and at < not_before:
        raise InputError("at", f"{iso_z(at)} is before the case was opened ({iso_z(not_before)})")
    return at


class TimeForm(FormScreen[datetime]):
    """One question (``prompt``) with one time field; Enter confirms, Esc cancels."""

    first = "at"

    def __init__(
        self,
        title: str,
        prompt: str,
        confirm: str,
        now: datetime,
        not_before: datetime | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.confirm = confirm
        self.now = now
        self.not_before = not_before

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form") as dialog:
            dialog.border_title = self.title_text
            yield Label(self.prompt, classes="hint")
            yield Label("At (ISO 8601 with Z or an offset; default now)")
            yield Input(iso_z(self.now) or "", id="at")
            yield from self.buttons(self.confirm)

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        try:
            at = parse_when(self.query_one("#at", Input).value, self.now, self.not_before)
        except SlawatchError as exc:
            self._error("at", str(exc))
            return
        self.dismiss(at)
