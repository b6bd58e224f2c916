"""The top line: what is being watched, how it is doing, and the dashboard's clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rich.text import Text

from tui import fmt
from tui.components.fact_line import FactLine
from tui.palette import Palette, state_count
from tui.view import ServiceRow


class TitleBar(FactLine):
    """Shows the injected clock, never the wall clock, so snapshots are stable."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("slawatch", style="bold"), id=id)

    def show_state(
        self,
        services: Sequence[ServiceRow],
        now: datetime,
        problem: str | None,
        *,
        read: bool = True,
    ) -> None:
        palette = Palette.from_theme(self.app.theme_variables)
        counts = {"down": 0, "degraded": 0, "stale": 0, "up": 0, "unknown": 0, "waiting": 0}
        for row in services:
            stale = fmt.is_stale(row.last_probe_at, row.probe_interval_s, now)
            counts["waiting" if row.waiting else "stale" if stale else row.live_state(now)] += 1
        n = len(services)
        summary = Text("  ").join(
            state_count(word, count, palette) for word, count in counts.items() if count
        )
        parts = [Text("slawatch", style="bold")]
        parts.append(summary if n else Text("no services configured" if read else "not read yet"))
        agents = {v.agent for row in services if len(row.votes) > 1 for v in row.votes}
        if agents:  # a fleet: how many vantage points, and the key to their screen
            parts.append(Text.assemble(f"{len(agents)} agents ", ("(a)", palette.muted)))
        silent = sum(row.not_recording(now) for row in services)
        if silent:  # an agent that cannot write (or stopped): the month figures stand still
            parts.append(Text(f"⚠ {silent} not recording", style=f"bold {palette.bad}"))
        certificates = sum(row.tls_warning(now) for row in services)
        if certificates:  # the table's error column may be cut on a narrow screen
            word = "certificate" if certificates == 1 else "certificates"
            parts.append(Text(f"⚠ {certificates} {word} expiring", style=palette.warn))
        parts.append(Text(now.astimezone(UTC).strftime("%a %H:%M:%S UTC")))
        if problem:
            parts.append(Text(f"⚠ {problem}", style=f"bold {palette.bad}"))
        self.show(parts)
