"""``a``: the fleet's agents (vantage points): last seen, backlog, clock offset, version, flags."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

from core.errors import SlawatchError
from core.fleet import AGENT_SILENT, CLOCK_OFFSET_LIMIT, offset_text
from reads.fleet import AgentView, Fleet
from tui import fmt
from tui.components.fact_line import FactLine
from tui.components.panel import panel
from tui.components.row_table import Cells, RowTable
from tui.palette import Palette

COLUMNS = [  # the flags right after the name: on a narrow terminal they stay in view
    ("agent", "agent"),
    ("flags", "flags"),
    ("last seen", "seen"),
    ("backlog", "backlog"),
    ("notices owed", "owed"),  # shown only while some agent owes notifications
    ("clock", "clock"),
    ("version", "version"),
    ("services", "services"),
    ("sees down", "down"),
    ("outvoted on", "dissents"),
]
NARROW_BELOW = 100  # columns: narrower leaves out version, services and notices owed
_WIDE_ONLY = ("version", "services", "owed")  # (the header names who owes notices)
_WHY = {
    "clock": f"more than {CLOCK_OFFSET_LIMIT:g} s off, so its minutes land in the wrong bucket",
    "silent": f"not heard from for more than {fmt.span(AGENT_SILENT.total_seconds())}",
    "backlog": "holds minutes the database does not have yet",
}

_OWED = "outage notifications a notifier has not had yet, retried by the agent (oldest's age)"

FetchFleet = Callable[[], Awaitable[Fleet]]


class FleetLoaded(Message):
    def __init__(self, fleet: Fleet) -> None:
        super().__init__()
        self.fleet = fleet


class AgentChosen(Message):
    """⏎ on an agent: the app shows it alone (``AgentScreen``)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


NONE_YET = "No agent has reported yet."


class AgentsTable(RowTable):
    """The agents, one a row; ⏎ opens the selected one (``AgentScreen``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "Agent", key_display="⏎"),
    ]


NOT_READ = "The agents cannot be read now (the reason is above)."


class AgentsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("a", "app.pop_screen", "Back", show=False),
    ]

    def __init__(self, fetch: FetchFleet, now: Callable[[], datetime]) -> None:
        super().__init__()
        self._fetch = fetch
        self._now = now
        self.fleet: Fleet | None = None

    def compose(self) -> ComposeResult:
        yield FactLine(Text("Agents", style="bold"), id="detail-title")
        agents = AgentsTable(id="agents", empty=NONE_YET)
        yield panel("agents-box", "Vantage points", agents)
        yield Footer()

    def on_mount(self) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        """Back from an agent's screen: read again at once (the database may have gone
        away or come back meanwhile; the app reloads only the screen on top)."""
        self.reload()

    @work(exclusive=True, group="fleet", exit_on_error=False)
    async def reload(self) -> None:
        """Read the agents again (the app asks every refresh cycle)."""
        try:
            fleet = await self._fetch()
        except (SlawatchError, OSError, ValueError) as exc:
            self.notify(str(exc), title="Cannot read the agents", severity="error")
            # Not 'No agent has reported yet': nothing could be read.
            palette = Palette.from_theme(self.app.theme_variables)
            # Not the rows read before either: their ages and flags would stand frozen.
            self.fleet = None
            table = self.query_one("#agents", RowTable)
            table.empty = NOT_READ
            table.show_rows(COLUMNS, [], lambda _: ())
            self.query_one("#detail-title", FactLine).show(
                [Text("Agents", style="bold"), Text(f"⚠ {exc}", style=f"bold {palette.bad}")]
            )
        else:
            self.post_message(FleetLoaded(fleet))

    @on(RowTable.RowChosen)
    def _row_chosen(self, event: RowTable.RowChosen) -> None:
        """⏎: the selected agent, service by service (the app opens its screen)."""
        self.post_message(AgentChosen(event.key))

    def on_resize(self) -> None:
        """Narrower or wider than ``NARROW_BELOW``: the columns change at once."""
        if self.fleet is not None:
            self.post_message(FleetLoaded(self.fleet))

    @on(FleetLoaded)
    def _show(self, message: FleetLoaded) -> None:
        self.fleet = fleet = message.fleet
        now = self._now()
        palette = Palette.from_theme(self.app.theme_variables)
        agents = {a.name: a for a in fleet.agents}
        self.query_one("#agents", RowTable).empty = NONE_YET
        narrow = self.size.width < NARROW_BELOW
        owed = [a for a in fleet.agents if a.notifications_waiting]
        keep = [
            i
            for i, (_, key) in enumerate(COLUMNS)
            if not (narrow and key in _WIDE_ONLY) and (owed or key != "owed")
        ]
        columns = [COLUMNS[i] for i in keep]
        if narrow:  # "outvoted on" would be the widest thing in its column
            columns[-1] = ("outvoted", "dissents")

        def cells(name: str) -> Cells:
            row = _cells(agents[name], now, palette)
            return tuple(row[i] for i in keep)

        self.query_one("#agents", RowTable).show_rows(columns, list(agents), cells, flex="dissents")
        flagged = [a for a in fleet.agents if a.flags]
        silent = sum("silent" in a.flags for a in fleet.agents)
        n = len(fleet.agents)  # a silent agent is not reporting: say so in the count
        reporting = f"{n - silent} of {n} reporting" if silent else f"{n} reporting"
        facts = [Text("Agents", style="bold"), Text(reporting)]
        if flagged:
            facts.append(Text(f"⚠ {len(flagged)} flagged", style=f"bold {palette.warn}"))
        if owed:
            total = sum(a.notifications_waiting for a in owed)
            since = [a.notifications_waiting_since for a in owed]
            oldest = min((t for t in since if t is not None), default=None)
            facts.append(
                Text(
                    f"⚠ {total:,} notification(s) owed by {', '.join(a.name for a in owed)}"
                    + (f" (oldest {fmt.age(oldest, now)})" if oldest else ""),
                    style=f"bold {palette.warn}",
                )
            )
        for flag in ("clock", "silent", "backlog"):
            if any(flag in a.flags for a in fleet.agents):
                facts.append(Text(f"{flag}: {_WHY[flag]}", style=palette.muted))
        if owed and not narrow:  # the column it explains
            facts.append(Text(f"notices owed: {_OWED}", style=palette.muted))
        self.query_one("#detail-title", FactLine).show(facts)


def _cells(a: AgentView, now: datetime, palette: Palette) -> Cells:
    clock_style = f"bold {palette.bad}" if "clock" in a.flags else ""
    offset = a.clock_offset_seconds
    flags = Text(", ".join(a.flags) or "ok", style=palette.warn if a.flags else palette.good)
    return (
        Text(a.name, style="bold"),
        flags,
        Text(
            fmt.age(a.last_seen, now),
            justify="right",
            style=f"italic {palette.warn}" if "silent" in a.flags else palette.muted,
        ),
        Text(
            f"{a.backlog_minutes:,} min",
            justify="right",
            style=palette.warn if a.backlog_minutes else "",
        ),
        Text(
            f"{a.notifications_waiting:,} · {fmt.age(a.notifications_waiting_since, now)}"
            if a.notifications_waiting
            else "-",
            justify="right",
            style=palette.warn if a.notifications_waiting else palette.muted,
        ),
        Text(offset_text(offset), justify="right", style=clock_style),
        Text(a.version or "-"),
        Text(f"{a.services:,}", justify="right"),
        Text(", ".join(a.down) or "-", style=palette.bad if a.down else palette.muted),
        Text(", ".join(a.dissents) or "-", style=palette.warn if a.dissents else palette.muted),
    )
