"""The top line: what is being watched, the dashboard's clock and how fresh the data is."""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Static

from tui import fmt


class TitleBar(Static):
    """Shows the injected clock, never the wall clock, so snapshots are stable."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("slawatch", id=id)

    def show(self, *, services: int, now: datetime, problem: str | None) -> None:
        parts = [
            "[b]slawatch[/b]",
            f"{services} service{'s' if services != 1 else ''}",
            fmt.clock(now),
        ]
        if problem:
            parts.append(f"[$error]⚠ {problem}[/]")
        self.update("  ·  ".join(parts))
