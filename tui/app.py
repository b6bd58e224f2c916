"""The slawatch dashboard application.

Data flows one way: a one-shot refresh worker asks the ``StoreSource`` for a
new ``Snapshot`` (``None`` when the database has not changed), posts
``SnapshotLoaded``, and re-arms itself with ``set_timer`` when it is done, so
two refreshes never overlap however slow the disk is. Between changes the
same snapshot is re-rendered against the clock (countdowns, probe ages).
Actions a person takes (cases, exclusions, claim export) are the only writes,
each through the store API, each confirmed with a notification.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Literal

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.timer import Timer

from core.config import Config
from core.errors import SlawatchError
from core.outages import Outage
from core.timeutil import YearMonth, from_minute, to_minute, utc_now
from tui.components.agent_screen import AgentScreen
from tui.components.agents_screen import AgentChosen, AgentsScreen
from tui.components.case_form import CaseForm
from tui.components.case_screen import CaseScreen
from tui.components.cases_panel import CasesPanel
from tui.components.credits_panel import CreditsPanel
from tui.components.exclusion_form import ExclusionForm
from tui.components.help_screen import HelpScreen
from tui.components.main_screen import MainScreen
from tui.components.month_grid import MonthGrid
from tui.components.outages_panel import OutagesPanel
from tui.components.service_screen import ServiceScreen
from tui.components.status_table import StatusTable
from tui.components.time_form import TimeForm
from tui.messages import (
    ActionFailed,
    ActionSucceeded,
    MonthsComputed,
    RefreshFailed,
    SnapshotLoaded,
)
from tui.view import CaseDetail, CaseRequest, ExclusionRequest, ServiceDetail, Snapshot

if TYPE_CHECKING:
    from reads.fleet import Fleet
    from tui.source import Exporter, StoreSource

Clock = Callable[[], datetime]
MIN_DELAY = 0.001  # seconds: the shortest refresh timer


def _stamp(path: Path) -> tuple[int, int] | None:
    """When the file was last written, and its size (None: not there now)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class SlawatchApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "slawatch"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(
        self,
        config: Config,
        *,
        now: Clock = utc_now,
        refresh_every: float = 1.0,
        source: StoreSource | None = None,
        exporter: Exporter | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.now = now
        self.refresh_every = refresh_every
        if source is None:
            from tui.source import StoreSource

            source = StoreSource(config, exporter)
        self.source = source
        self.snapshot: Snapshot | None = None
        self.refreshes = 0  # completed refresh cycles (tests and benchmarks wait on it)
        self._problem: str | None = None
        self._timer: Timer | None = None
        self._busy = False
        self._again = False
        self._want_months = False
        self._months_busy = False
        self._closing = False
        self.month_passes = 0  # completed month passes (tests and benchmarks wait on it)
        self._config_stamp = _stamp(config.path)
        self.config_reloads = 0  # config file edits taken in (tests wait on it)

    def on_mount(self) -> None:
        self.push_screen(MainScreen())
        self.refresh_now()

    async def on_unmount(self) -> None:
        """Close the long-lived reader so nothing outlives the app (its thread would)."""
        self._closing = True
        if self._timer is not None:
            self._timer.stop()
        await self.source.close()

    # -- refresh loop ---------------------------------------------------------------

    def refresh_now(self, *, months: bool = False) -> None:
        """Refresh as soon as possible, but never alongside a refresh already running.

        ``months`` also re-runs the month pass (after a write of ours)."""
        self._want_months = self._want_months or months
        if self._closing:
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._busy:
            self._again = True
        else:
            self._refresh()

    @work(group="refresh", exit_on_error=False)
    async def _refresh(self) -> None:
        """One cycle: the live read on this loop; the month pass handed to a thread."""
        if self._closing:
            return
        if self._busy:  # one already running: it re-arms itself at once when done
            self._again = True
            return
        self._busy = True
        try:
            await self._follow_config()
            now = self.now()
            snapshot = await self.source.snapshot(now)
            self.post_message(SnapshotLoaded(snapshot))
            if not self._months_busy and (self._want_months or self.source.months_due(now)):
                full, self._want_months = self._want_months, False
                self._months_busy = True
                # After the frame that shows this snapshot: the pass's thread competes
                # with the first paint for the interpreter otherwise.
                source = self.source
                self.call_after_refresh(self._months, now, source, source.version, full)
        except (SlawatchError, OSError, ValueError) as exc:
            self.post_message(RefreshFailed(str(exc) or type(exc).__name__))
        finally:
            self._busy = False
            # Never a 0 s timer: Textual 8 divides by its interval when a timer
            # fires late (a loaded machine), which a 0 s one always does.
            delay = MIN_DELAY if self._again else max(self.refresh_every, MIN_DELAY)
            self._again = False
            if not self._closing:
                self._timer = self.set_timer(delay, self._refresh, name="refresh")

    async def _follow_config(self) -> None:
        """The config file edited (a service or a contract added, a fee changed): read
        again at the next refresh, as the agent reads it at SIGHUP. The dashboard keeps
        reading the store it started with; a config with mistakes is refused in a
        notification and the running one kept."""
        stamp = _stamp(self.config.path)
        if stamp is None or stamp == self._config_stamp:
            return  # unchanged, or gone for a moment (an editor replacing the file)
        self._config_stamp = stamp
        from core.configfile import load_config
        from tui.source import StoreSource

        try:
            fresh = load_config(self.config.path)
        except SlawatchError as exc:
            self.notify(
                f"{exc}; still showing the config as it was",
                title="Config not reloaded",
                severity="warning",
                timeout=30,
            )
            return
        keep = self.config
        fresh = replace(
            fresh,
            storage_path=keep.storage_path,
            storage_url=keep.storage_url,
            spool_path=keep.spool_path,
        )
        old, self.config = self.source, fresh
        self.source = StoreSource(fresh, old.exporter)
        await old.close()
        self._want_months = True
        self.config_reloads += 1
        self.notify(f"{len(fresh.services)} service(s)", title="Config reloaded")

    @work(group="months", thread=True, exit_on_error=False)
    def _months(self, now: datetime, source: StoreSource, version: int | None, full: bool) -> None:
        """Month figures, credits and sparklines, off the event loop (``full``: for
        every service, not only those whose data changed)."""
        try:
            snapshot = source.months(now, full=full)
            self.post_message(MonthsComputed(snapshot, now, version, source))
        except (SlawatchError, OSError, ValueError) as exc:
            self.post_message(RefreshFailed(str(exc) or type(exc).__name__, months=True))

    @on(SnapshotLoaded)
    def _snapshot_loaded(self, message: SnapshotLoaded) -> None:
        changed = message.snapshot is not None
        if message.snapshot is not None:
            self.snapshot = message.snapshot
        self._problem = None
        self._render_main()
        self.refreshes += 1
        if not self.screen_stack:  # a refresh that lands while the app is closing
            return
        if changed and isinstance(self.screen, ServiceScreen | CaseScreen):
            self.screen.reload()
        if isinstance(self.screen, AgentsScreen | AgentScreen):
            self.screen.reload()  # every cycle: an agent goes silent with the clock

    @on(MonthsComputed)
    def _months_computed(self, message: MonthsComputed) -> None:
        self._months_busy = False
        if message.source is not self.source:  # a pass of the config before a reload
            self.refresh_now(months=True)
            return
        self.snapshot = self.source.adopt(message.snapshot, message.now, message.version)
        self._problem = None
        self._render_main()
        self.month_passes += 1
        if isinstance(self.screen, ServiceScreen):
            self.screen.reload()

    @on(RefreshFailed)
    def _refresh_failed(self, message: RefreshFailed) -> None:
        if message.months:
            self._months_busy = False
        if self._problem != message.error:
            self.notify(message.error, title="Cannot read the store", severity="error")
        first = self._problem is None
        self._problem = message.error
        self._render_main()
        self.refreshes += 1
        if first and isinstance(self.screen, AgentsScreen | AgentScreen):
            self.screen.reload()  # it says it cannot read the agents, not their old word

    def _render_main(self) -> None:
        main = self._main
        if main is None or self._closing or not main.is_mounted:
            return
        try:
            if self.snapshot is not None:
                main.show(self.snapshot, self.now(), self._problem)
            elif self._problem is not None:  # nothing read yet: no panel says "none"
                main.show(Snapshot((), (), (), ()), self.now(), self._problem, read=False)
        except NoMatches:
            # A worker's result arriving while the app shuts down: the main screen's
            # panels are already removed, and there is nothing left to show it on.
            return

    @property
    def _main(self) -> MainScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)

    # -- what is selected -----------------------------------------------------------

    def _selected_service(self) -> str | None:
        """The service the person is pointing at, on whichever screen is showing."""
        if isinstance(self.screen, ServiceScreen):
            return self.screen.service
        if isinstance(self.screen, CaseScreen):
            detail = self.screen.detail
            return None if detail is None else detail.case.service
        main = self._main
        if main is None:
            return None
        focused = self.focused
        cases = main.query_one(CasesPanel)
        if focused is cases and cases.selected_case is not None:
            case = cases.case(cases.selected_case)
            if case is not None:
                return case.service
        for panel in (main.query_one(CreditsPanel), main.query_one(OutagesPanel)):
            if focused is panel and panel.selected_service:
                return panel.selected_service
        grid = main.query_one(MonthGrid)
        if focused is grid and grid.selected_service:
            return grid.selected_service
        return main.query_one(StatusTable).selected_service

    def _selected_outage(self) -> Outage | None:
        if isinstance(self.screen, ServiceScreen):
            return self.screen.selected_outage
        main = self._main
        if main is None:
            return None
        for panel in (main.query_one(CreditsPanel), main.query_one(OutagesPanel)):
            if self.focused is panel:
                return panel.selected_outage
        return None

    def _selected_case(self) -> int | None:
        if isinstance(self.screen, CaseScreen):
            return self.screen.case_id
        main = self._main
        if main is None:
            return None
        return main.query_one(CasesPanel).selected_case

    # -- actions --------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_details(self) -> None:
        service = self._selected_service()
        if service is None or service not in self.config.services:
            self.notify("Select a service first.", severity="warning")
            return
        month = self._selected_month(service)
        self.push_screen(ServiceScreen(service, month, self._fetch_detail, self.now))

    def action_case_details(self) -> None:
        case_id = self._selected_case()
        if case_id is None:
            self.notify("No open case is selected.", severity="warning")
            return
        self.push_screen(CaseScreen(case_id, self._fetch_case, self.now))

    async def _fetch_case(self, case_id: int) -> CaseDetail | None:
        return await self.source.case_detail(case_id, self.now())

    def action_agents(self) -> None:
        self.push_screen(AgentsScreen(self._fetch_fleet, self.now))

    @on(AgentChosen)
    def _agent_chosen(self, message: AgentChosen) -> None:
        self.push_screen(AgentScreen(message.name, self._fetch_fleet, self.now))

    async def _fetch_fleet(self) -> Fleet:
        return await self.source.fleet(self.now())

    def _selected_month(self, service: str) -> YearMonth:
        main = self._main
        if main is not None and self.focused is not None and self.screen is main:
            credit = main.query_one(CreditsPanel).selected_credit
            if self.focused is main.query_one(CreditsPanel) and credit is not None:
                return YearMonth.parse(credit.month)
        return self.source.month_of(service, self.now())

    async def _fetch_detail(self, service: str, month: YearMonth) -> ServiceDetail:
        return await self.source.detail(service, month, self.now())

    def action_open_case(self) -> None:
        service = self._selected_service()
        if service is None:
            self.notify("Select a service or an outage first.", severity="warning")
            return
        outage = self._selected_outage()
        priorities = self.source.priorities(service)
        channels, earning = self.source.channels(service)
        form = CaseForm(service, priorities, self.now(), outage, channels, earning)
        self.push_screen(form, self._case_entered)

    def _case_entered(self, request: CaseRequest | None) -> None:
        if request is not None:
            self._write(self.source.open_case(request), "Case opened", "Case not opened")

    def action_respond(self) -> None:
        self._case_action("respond")

    def action_resolve(self) -> None:
        self._case_action("resolve")

    def _case_action(self, what: Literal["respond", "resolve"]) -> None:
        """``r`` / ``d``: ask when (default now), then record it on the selected case."""
        case_id = self._selected_case()
        if case_id is None:
            self.notify("No open case is selected.", severity="warning")
            return
        name, opened_at = self._case_label(case_id)
        if what == "respond":
            form = TimeForm(
                f"First response · {name}",
                "When did the provider first respond? Rule 9 judges this time.",
                "Record response",
                self.now(),
                opened_at,
            )
        else:
            form = TimeForm(
                f"Resolve · {name}",
                "When was the case resolved? It leaves the open cases.",
                "Resolve case",
                self.now(),
                opened_at,
            )

        def entered(at: datetime | None) -> None:
            if at is None:
                return
            if what == "respond":
                self._write(
                    self.source.respond(case_id, at),
                    "First response recorded",
                    "First response not recorded",
                )
            else:
                self._write(self.source.resolve(case_id, at), "Case resolved", "Case not resolved")

        self.push_screen(form, entered)

    def _case_label(self, case_id: int) -> tuple[str, datetime | None]:
        """``case #12 (SUP-4720, portal)`` and when it was opened, as far as shown."""
        if isinstance(self.screen, CaseScreen) and self.screen.detail is not None:
            c = self.screen.detail.case
            return f"case #{c.id} ({c.ref or 'no ref'}, {c.service})", c.opened_at
        main = self._main
        row = None if main is None else main.query_one(CasesPanel).case(case_id)
        if row is None:
            return f"case #{case_id}", None
        return f"case #{row.id} ({row.ref or 'no ref'}, {row.service})", row.opened_at

    def action_exclude(self) -> None:
        service = self._selected_service()
        if service is None:
            self.notify("Select a service first.", severity="warning")
            return
        outage = self._selected_outage()
        if outage is not None:
            start, end = outage.start, outage.end
        else:
            end = from_minute(to_minute(self.now()))
            start = end - timedelta(hours=1)
        self.push_screen(ExclusionForm(service, start, end), self._exclusion_entered)

    def _exclusion_entered(self, request: ExclusionRequest | None) -> None:
        if request is not None:
            what = "Maintenance window" if request.kind == "maintenance" else "Exclusion"
            self._write(self.source.exclude(request), f"{what} added", f"{what} not added")

    def action_export(self) -> None:
        service = self._selected_service()
        if service is None:
            self.notify("Select a credit or a service first.", severity="warning")
            return
        if isinstance(self.screen, ServiceScreen):
            month = self.screen.month
        else:
            month = self._selected_month(service)
        self._write(
            self.source.export(service, month, self.now()),
            "Claim bundle written",
            "Claim bundle not written",
        )

    # -- writes ---------------------------------------------------------------------

    @work(group="write", exit_on_error=False)
    async def _write(self, operation: Awaitable[str], done: str, failed: str) -> None:
        """Run one store write; its one-line result (or error) becomes a notification,
        titled with what happened (``done``) or did not (``failed``)."""
        try:
            result = await operation
        except (SlawatchError, OSError, ValueError) as exc:
            self.post_message(ActionFailed(failed, str(exc)))
        else:
            self.post_message(ActionSucceeded(done, result))

    @on(ActionSucceeded)
    def _action_succeeded(self, message: ActionSucceeded) -> None:
        self.notify(message.result, title=message.action)
        self.refresh_now(months=True)

    @on(ActionFailed)
    def _action_failed(self, message: ActionFailed) -> None:
        self.notify(message.error, title=message.action, severity="error")
