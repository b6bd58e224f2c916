"""One service seen from each vantage point: every agent's latest vote and its own month."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from rich.text import Text

from core.vantage import vantage
from tui import fmt
from tui.components.row_table import Cells, RowTable
from tui.palette import Palette, state_text
from tui.view import AgentVote

COLUMNS = [
    ("agent", "agent"),
    ("sees", "sees"),
    ("probe", "probe"),
    ("latency", "latency"),
    ("own month", "month"),
    ("down", "down"),
    ("last error", "error"),
]


class VantageTable(RowTable):
    """The detail screen's per-agent view: who sees what, and who is outvoted."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, empty="No agent probes this service.")

    def show(
        self, agents: Sequence[AgentVote], interval_s: float, now: datetime, palette: Palette
    ) -> tuple[int, int]:
        """Show ``agents`` as of ``now``; returns (agents outvoted, agents) for the title."""
        votes = vantage((a.probe for a in agents), now, timedelta(seconds=interval_s))
        by_agent = {v.agent: v for v in votes.votes}
        dissent = {v.agent for v in votes.dissent()}
        rows = {a.agent: a for a in sorted(agents, key=lambda a: a.agent)}

        def cells(name: str) -> Cells:
            a, vote = rows[name], by_agent[name]
            outvoted = name in dissent
            own = a.own_availability
            return (
                Text(name, style="bold"),
                state_text(vote.state, vote.stale, palette),
                Text(
                    fmt.age(a.at, now),
                    justify="right",
                    style=f"italic {palette.warn}" if vote.stale else palette.muted,
                ),
                Text(fmt.latency(a.latency_ms), justify="right"),
                Text(fmt.percent(own), justify="right"),
                Text(f"{a.down_minutes:,} min" if a.measured_minutes else "-", justify="right"),
                Text(
                    ("outvoted" + (f": {a.error}" if a.error else ""))
                    if outvoted
                    else (a.error or ""),
                    style=palette.warn if outvoted else "",
                ),
            )

        self.show_rows(COLUMNS, list(rows), cells, flex="error")
        return len(dissent), len(rows)
