"""⏎ on the agents screen: one vantage point, service by service: what it sees, how
fresh and fast its probe was, its last error, and where the other agents outvote it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer

from core.errors import SlawatchError
from core.fleet import offset_text
from core.status import name_of
from reads.fleet import AgentView, Fleet
from tui import fmt
from tui.components.agents_screen import _WHY, FetchFleet, FleetLoaded
from tui.components.fact_line import FactLine
from tui.components.panel import panel
from tui.components.row_table import Cells, RowTable
from tui.components.status_table import agents_text
from tui.palette import Palette, state_text

COLUMNS = [
    ("service", "service"),
    ("sees", "sees"),
    ("probe", "probe"),
    ("latency", "latency"),
    ("all agents", "agents"),
    ("last error", "error"),
]
NONE = "This agent has no probe of a configured service in the database."
GONE = "No agent of this name has reported (its probes and health are not in the database)."
NOT_READ = "This agent cannot be read now (the reason is above)."


class AgentScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
    ]

    def __init__(self, name: str, fetch: FetchFleet, now: Callable[[], datetime]) -> None:
        super().__init__()
        self.agent = name
        self._fetch = fetch
        self._now = now
        self.fleet: Fleet | None = None

    def compose(self) -> ComposeResult:
        yield FactLine(Text(f"agent {self.agent}", style="bold"), id="detail-title")
        yield panel("agent-box", "Services, as this agent sees them", RowTable(id="agent-services"))
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    @work(group="agent", exclusive=True, exit_on_error=False)
    async def reload(self) -> None:
        """Read the fleet again (the app asks every refresh cycle)."""
        table = self.query_one("#agent-services", RowTable)
        try:
            fleet = await self._fetch()
        except (SlawatchError, OSError, ValueError) as exc:
            palette = Palette.from_theme(self.app.theme_variables)
            # The rows shown before would stand frozen (a probe '0s' old for minutes).
            self.fleet = None
            table.empty = NOT_READ
            table.show_rows(COLUMNS, [], lambda _: ())
            self.query_one("#detail-title", FactLine).show(
                [
                    Text(f"agent {self.agent}", style="bold"),
                    Text(f"⚠ {exc}", style=f"bold {palette.bad}"),
                ]
            )
        else:
            self.post_message(FleetLoaded(fleet))

    @on(FleetLoaded)
    def _show(self, message: FleetLoaded) -> None:
        self.fleet = fleet = message.fleet
        now = self._now()
        palette = Palette.from_theme(self.app.theme_variables)
        view = next((a for a in fleet.agents if a.name == self.agent), None)
        probes = {p.service: p for p in fleet.probes if p.source == self.agent}
        services = [s for s in fleet.vantage if s in probes]
        table = self.query_one("#agent-services", RowTable)
        table.empty = NONE if view is not None else GONE

        def cells(service: str) -> Cells:
            probe, votes = probes[service], fleet.vantage[service]
            vote = next(v for v in votes.votes if v.agent == self.agent)
            outvoted = vote in votes.dissent()
            error = ("outvoted" + (f": {probe.error}" if probe.error else "")) if outvoted else ""
            return (
                Text(service, style="bold"),
                state_text(name_of(vote.status), vote.stale, palette),
                Text(
                    fmt.age(probe.at, now),
                    justify="right",
                    style=f"italic {palette.warn}" if vote.stale else palette.muted,
                ),
                Text(fmt.latency(probe.latency_ms), justify="right"),
                agents_text(votes, palette),
                Text(error or probe.error or "", style=palette.warn if outvoted else ""),
            )

        table.show_rows(COLUMNS, services, cells, flex="error")
        self.query_one("#detail-title", FactLine).show(_facts(self.agent, view, now, palette))


def _facts(name: str, view: AgentView | None, now: datetime, palette: Palette) -> list[Text]:
    """The header: when it was last heard from, its backlog, clock and version, and
    what each of its flags means."""
    facts = [Text(f"agent {name}", style="bold")]
    if view is None:
        return facts
    facts += [
        Text(f"last seen {fmt.age(view.last_seen, now)} ago"),
        Text(f"backlog {view.backlog_minutes:,} min"),
        Text(f"clock {offset_text(view.clock_offset_seconds)}"),
        Text(f"version {view.version or '-'}"),
    ]
    if view.dissents:
        facts.append(Text(f"outvoted on {', '.join(view.dissents)}", style=palette.warn))
    for flag in view.flags:
        facts.append(Text(f"⚠ {flag}: {_WHY[flag]}", style=f"bold {palette.warn}"))
    return facts
