"""Open a support case: priority, channel, the provider's reference, a title; linked to an
outage."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select

from core.errors import SlawatchError
from core.outages import Outage
from core.timeutil import iso_z
from tui import fmt
from tui.components.form import FormScreen
from tui.components.time_form import parse_when
from tui.view import CaseRequest


def default_title(service: str, outage: Outage | None) -> str:
    if outage is None:
        return ""
    return f"{service} down since {fmt.when(outage.start)} UTC ({outage.minutes} min)"


class CaseForm(FormScreen[CaseRequest]):
    first = "ref"

    def __init__(
        self,
        service: str,
        priorities: Sequence[str],
        opened_at: datetime,
        outage: Outage | None = None,
        channels: Sequence[str] = ("email",),
        earning: Sequence[str] | None = None,
    ) -> None:
        """``channels``: ``[cases] channels``; ``earning``: the contract's
        ``report_channels`` (None: any channel earns a credit)."""
        super().__init__()
        self.service = service
        self.priorities = tuple(priorities)
        self.opened_at = opened_at
        self.outage = outage
        self.channels = tuple(channels)
        self.earning = None if earning is None else tuple(earning)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="form") as dialog:
            dialog.border_title = f"Open a case · {self.service}"
            if self.outage is not None:
                o = self.outage
                span = (
                    f"ongoing since {fmt.when(o.start)} UTC"
                    if o.ongoing
                    else f"of {fmt.when(o.start)}–{fmt.until(o.end, o.start)} UTC"
                )
                yield Label(
                    f"Reports the outage {span} ({o.minutes} min);"
                    f" report by {fmt.when(o.report_by)}",
                    classes="hint",
                )
            else:
                yield Label("Not linked to an outage.", classes="hint")
            yield Label("Provider reference")
            yield Input(placeholder="e.g. INC-20431", id="ref")
            yield Label("Title")
            yield Input(default_title(self.service, self.outage), id="title")
            with Horizontal(classes="pair"):
                with Vertical():
                    yield Label("Priority")
                    yield Select(
                        [(p, p) for p in self.priorities],
                        value=self.priorities[0],
                        allow_blank=False,
                        id="priority",
                    )
                with Vertical():
                    yield Label(self._channel_label())
                    yield Select(
                        [(c, c) for c in self.channels],
                        value=self._default_channel(),
                        allow_blank=False,
                        id="channel",
                    )
            yield Label("Opened at (ISO 8601 with Z or an offset; default now)")
            yield Input(iso_z(self.opened_at) or "", id="opened")
            yield from self.buttons("Open case")

    def _default_channel(self) -> str:
        """The first channel that earns a credit under the contract, else the first."""
        earning = self.earning or self.channels
        return next((c for c in self.channels if c in earning), self.channels[0])

    def _channel_label(self) -> str:
        if self.earning is None:
            return "Reported through"
        return f"Reported through (a credit: {', '.join(self.earning) or 'none'})"

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
        channel = self.query_one("#channel", Select).value
        ref = self.query_one("#ref", Input).value.strip() or None
        self.dismiss(
            CaseRequest(
                service=self.service,
                priority=str(priority),
                ref=ref,
                title=title,
                opened_at=opened_at,
                outage=self.outage,
                channel=str(channel),
            )
        )
