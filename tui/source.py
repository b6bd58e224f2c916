"""Where the dashboard's data comes from, and where its few writes go.

Reads use one read-only connection kept for the app's life, so that
``PRAGMA data_version`` (``Store.data_version``) can tell whether anyone has
committed since the last look: an unchanged database costs one pragma per
cycle. When something was committed, ``Store.change_marks`` tells the agent's
own writes (the current hour, probe states) from another command's (an import,
a window, a case, a credit): those bring the month figures up to date at once,
within one refresh interval, rather than at the month pass's next turn.
Every read is a single autocommit statement, so the reader never holds a
transaction open against the agent's writes. Month figures come from the
shared read models in ``reads.reports`` through ``tui.months`` (which keeps
each service's figures until its data changes); rows for the panels are
built here.

Writes (the actions a person takes) open their own short read-write
connection, do one thing through the store API, and close it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

from core.cases import needs_rca_warning
from core.config import Config
from core.errors import InputError
from core.outages import Outage
from core.status import DOWN, UNKNOWN
from core.timeutil import YearMonth, from_minute, to_minute
from core.tls import soonest
from core.windows import weekly_windows
from reads.fleet import Fleet, fleet, latest_probes
from reads.reports import (
    CaseView,
    MonthInputs,
    case_facts,
    case_view,
    month_inputs,
    month_report,
    recorded_down,
)
from store import ProbeState, Store, StoreUnavailable, open_store
from store.marks import Marks
from tui import fmt
from tui.days import day_cells
from tui.history import case_events
from tui.months import MonthPass, by_service, live, skeleton_row
from tui.view import (
    AgentVote,
    CaseDetail,
    CaseRequest,
    CaseRow,
    ExclusionRequest,
    ServiceDetail,
    Snapshot,
    WindowRow,
)

Exporter = Callable[[Config, str, YearMonth, datetime], Awaitable[str]]
"""Writes one month's claim bundle and says where (given by the application shell,
which owns claim export: the dashboard only asks for it)."""

MONTHS_EVERY = timedelta(seconds=15)  # month figures, credits, sparklines: at most this often


class StoreSource:
    """The dashboard's reads and writes. Reads come in two speeds:

    - ``snapshot(now)`` runs on the app's event loop every cycle: one
      ``PRAGMA data_version``, and when something was committed, the latest
      probe states and the open cases (milliseconds, however many services);
    - ``months(now)`` brings every service's month, the pending credits, the
      reportable outages and the sparklines up to date (``tui.months``: a month
      computation for each service whose data changed). It is synchronous, with
      its own connection and event loop, so the app runs it in a thread worker
      and the screen never waits for it; ``adopt`` folds its result into the
      live snapshot.
    """

    def __init__(self, config: Config, exporter: Exporter | None = None) -> None:
        self.config = config
        self.exporter = exporter
        self._reader: Store | None = None
        self._closed = False
        self._version: int | None = None
        self._last: Snapshot | None = None
        self._months_at: datetime | None = None
        self._months_version: int | None = None
        self._months_of: tuple[YearMonth, ...] = ()
        self._pass = MonthPass(config)
        self._marks: Marks | None = None  # what other commands change, as last read
        self._marks_done: Marks | None = None  # ... as the last month pass saw it

    async def close(self) -> None:
        """Close the reader for good: a read after this raises, never reopens one."""
        self._closed = True
        if self._reader is not None:
            await self._reader.close()
            self._reader = None

    async def _read(self) -> Store | None:
        """The long-lived read-only connection; None while the file does not exist."""
        if self._closed:
            raise RuntimeError("the dashboard's store source is closed")
        if self._reader is None and (self.config.storage_url or self.config.storage_path.exists()):
            self._reader = await open_store(self.config, readonly=True)
        return self._reader

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[Store | None]:
        """``_read()`` for one read; a lost connection (PostgreSQL restarted, the network
        cut) is dropped, so the next refresh opens a new one: the long-lived reader
        otherwise kept failing ('the connection is closed') after the database was back."""
        store = await self._read()
        try:
            yield store
        except StoreUnavailable:
            reader, self._reader = self._reader, None
            self._version = None  # read everything again once connected
            if reader is not None:
                with contextlib.suppress(Exception):
                    await reader.close()
            raise

    # -- the main screen ----------------------------------------------------------

    async def snapshot(self, now: datetime) -> Snapshot | None:
        """The live snapshot, or None when nothing was committed since the last call."""
        async with self._reading() as store:
            if store is None:
                if self._last is None:
                    self._last = self._skeleton()
                    return self._last
                return None
            version = await store.data_version()
            if version == self._version and self._last is not None:
                return None
            self._last = await self._fast(store, now, self._last or self._skeleton())
            self._marks = await store.change_marks(to_minute(now) // 60)
            self._version = version
            return self._last

    def months_due(self, now: datetime, every: timedelta = MONTHS_EVERY) -> bool:
        """Whether the month pass should run again: another command changed what a
        month shows (an import, a window, a case, a credit: at once), or the agent
        wrote and the last pass is ``every`` old, or the month turned, or it never ran."""
        if self._months_at is None or self.month_of_any(now) != self._months_of:
            return True
        if self._marks != self._marks_done:
            return True
        return self._version != self._months_version and now - self._months_at >= every

    def months(self, now: datetime, *, full: bool = False) -> Snapshot:
        """The month pass (blocking: run it in a thread). Opens its own connection;
        recomputes only the services whose data changed unless ``full`` or another
        command changed something (its writes may lie anywhere in the month)."""
        marks = self._marks
        snapshot = asyncio.run(self._months(now, full or marks != self._marks_done))
        self._marks_done = marks
        return snapshot

    async def _months(self, now: datetime, full: bool) -> Snapshot:
        async with await open_store(self.config, readonly=True) as store:
            return await self._pass.run(store, now, full=full)

    @property
    def recomputed(self) -> int:
        """How many services the last month pass recomputed."""
        return self._pass.recomputed

    def adopt(self, full: Snapshot, now: datetime, version: int | None) -> Snapshot:
        """Fold a month pass into the live snapshot (probe states: the newer wins)."""
        live = {row.name: row for row in (self._last.services if self._last else ())}
        services = []
        for row in full.services:
            fresher = live.get(row.name)
            if fresher is not None and _newer(fresher.last_probe_at, row.last_probe_at):
                row = replace(
                    row,
                    state=fresher.state,
                    last_probe_at=fresher.last_probe_at,
                    latency_ms=fresher.latency_ms,
                    error=fresher.error,
                    votes=fresher.votes,
                    tls_expires_at=fresher.tls_expires_at,
                )
            services.append(row)
        cases = self._last.cases if self._last is not None else full.cases
        self._last = replace(full, services=tuple(services), cases=cases)
        self._months_at, self._months_version = now, version
        self._months_of = self.month_of_any(now)
        return self._last

    @property
    def version(self) -> int | None:
        """The data version the live snapshot was read at (taken before a month pass)."""
        return self._version

    def _skeleton(self) -> Snapshot:
        """Every configured service, nothing known yet: what the first paint shows."""
        return Snapshot(
            tuple(skeleton_row(self.config, n) for n in self.config.services), (), (), ()
        )

    def month_of_any(self, now: datetime) -> tuple[YearMonth, ...]:
        return tuple(self.month_of(name, now) for name in self.config.services)

    async def _fast(self, store: Store, now: datetime, last: Snapshot) -> Snapshot:
        """The last snapshot with fresh probe states and open cases."""
        probes = by_service(await latest_probes(store))
        services = [live(row, probes.get(row.name, ()), now) for row in last.services]
        cases = [case_view(self.config, c, now) for c in await store.cases(open_only=True)]
        return replace(last, services=tuple(services), cases=tuple(_case_row(c) for c in cases))

    def month_of(self, service: str, now: datetime) -> YearMonth:
        """The month ``now`` falls in, in the service's contract time zone."""
        return YearMonth.of(now, self.config.contract_for(service).timezone)

    def priorities(self, service: str) -> list[str]:
        return list(self.config.contract_for(service).priorities)

    def channels(self, service: str) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
        """``[cases] channels``, and those through which the service's contract grants a
        credit (None: any)."""
        return self.config.channels, self.config.contract_for(service).report_channels

    # -- the agents screen --------------------------------------------------------

    async def fleet(self, now: datetime) -> Fleet:
        """Every agent of the fleet (``reads.fleet``)."""
        async with self._reading() as store:
            if store is None:
                return Fleet(now, (), {})
            return await fleet(store, self.config, now)

    # -- the detail screen --------------------------------------------------------

    async def detail(self, service: str, month: YearMonth, now: datetime) -> ServiceDetail:
        async with self._reading() as store:
            if store is None:
                async with await open_store(self.config, readonly=True) as empty:
                    return await self._detail(empty, service, month, now)
            return await self._detail(store, service, month, now)

    async def _detail(
        self, store: Store, service: str, month: YearMonth, now: datetime
    ) -> ServiceDetail:
        contract = self.config.contract_for(service)
        inputs = await month_inputs(store, self.config, service, month)  # one read
        report = inputs.compute(now)
        start, end = report.start_minute, report.end_minute
        days = day_cells(inputs.days(until=to_minute(now)))
        windows = inputs.windows_in(start, end)
        sources = inputs.sources_in(start, end)  # the month's own minutes, per agent
        weekly = weekly_windows(
            self.config.services[service].maintenance, contract.timezone, start, end
        )
        probes = [p for p in await latest_probes(store) if p.service == service]
        svc = self.config.services[service]
        return ServiceDetail(
            service=service,
            month=str(month),
            timezone=contract.timezone.key,
            availability=report.availability_percent,
            credit_percent=report.credit_percent,
            band=report.band_number,
            credit_amount=report.credit_amount,
            claimable_amount=report.claimable_credit_amount,
            currency=report.currency,
            downtime_minutes=report.downtime_minutes,
            days=days,
            coverage=report.coverage_percent,
            coverage_low=report.coverage_low,
            provisional=report.provisional,
            outages=tuple(o for o in report.outages),
            windows=tuple(
                WindowRow(w.kind, from_minute(w.start), from_minute(w.end), w.reason or None)
                for w in sorted([*windows, *weekly])
            ),
            agents=tuple(
                _agent_vote(p, sources.get(p.source, b""), _own_month(inputs, p.source, now))
                for p in probes
            ),
            probe_interval_s=svc.probe.cycle.total_seconds() if svc.probe else 60.0,
            tls_expires_at=soonest(p.tls_expires_at for p in probes),
            tls_warn_days=self.config.tls_warn_days_for(service),
        )

    # -- the case screen ----------------------------------------------------------

    async def case_detail(self, case_id: int, now: datetime) -> CaseDetail | None:
        """One case with its history and the outages it reported (None: no such case)."""
        async with self._reading() as store:
            return None if store is None else await self._case_detail(store, case_id, now)

    async def _case_detail(self, store: Store, case_id: int, now: datetime) -> CaseDetail | None:
        case = await store.get_case(case_id)
        if case is None:
            return None
        view = case_view(self.config, case, now)
        outages: dict[str, Outage] = {}
        if case.service in self.config.services:
            tz = self.config.contract_for(case.service).timezone
            instants = [case.opened_at, *(from_minute(m) for span in case.links for m in span)]
            for month in sorted({YearMonth.of(at, tz) for at in instants}):
                report = await month_report(store, self.config, case.service, month, now=now)
                for o in report.outages:
                    mine = o.case_id == case.id
                    if mine or case.links_overlap(to_minute(o.start), to_minute(o.end)):
                        outages[o.id] = o
        return CaseDetail(
            case=case,
            response_due=view.response_due,
            breached=view.response_breached,
            events=case_events(case, view.response_due, now),
            outages=tuple(sorted(outages.values(), key=lambda o: o.start)),
            service_cases=tuple(reversed(await store.cases(service=case.service))),
            facts=case_facts(view),
        )

    # -- writes -------------------------------------------------------------------

    async def _writer(self) -> Store:
        return await open_store(self.config)

    async def open_case(self, request: CaseRequest) -> str:
        async with await self._writer() as store:
            case = await store.open_case(
                request.service,
                request.priority,
                request.title,
                request.opened_at,
                ref=request.ref,
                channel=request.channel,
            )
            if request.outage is not None:
                o = request.outage
                case = await store.link_case(case.id, to_minute(o.start), to_minute(o.end))
        linked = f", linked to the outage of {o.minutes} min" if request.outage else ""
        return f"Case #{case.id} ({case.ref or 'no ref'}, {case.priority}) opened{linked}."

    async def respond(self, case_id: int, at: datetime) -> str:
        async with await self._writer() as store:
            case = await store.respond_case(case_id, at)
        done = f"Case #{case.id} ({case.ref or 'no ref'}): first response recorded"
        view = case_view(self.config, case, at)
        due = view.response_due
        if due is None:
            return f"{done}."
        if view.response_breached:  # the deadline's verdict, as the panel will show it
            over = fmt.span((at - due).total_seconds())
            return f"{done}, ⚠ BREACHED by {over} (due {fmt.when(due)} UTC)."
        return f"{done}, in time (due {fmt.when(due)} UTC)."

    async def resolve(self, case_id: int, at: datetime) -> str:
        async with await self._writer() as store:
            case = await store.resolve_case(case_id, at)
        done = f"Case #{case.id} ({case.ref or 'no ref'}) resolved."
        if case.service in self.config.services and needs_rca_warning(
            case, self.config.contract_for(case.service)
        ):
            done += " No root-cause analysis was requested before closure."
        return done

    async def exclude(self, request: ExclusionRequest) -> str:
        lo, hi = to_minute(request.start), to_minute(request.end)
        async with await self._writer() as store:
            down = await recorded_down(store, self.config, request.service, lo, hi)
            add = store.add_maintenance if request.kind == "maintenance" else store.add_exclusion
            window = await add(request.service, lo, hi, request.reason, down_minutes=len(down))
        what = "in maintenance" if request.kind == "maintenance" else "excluded"
        why = f" ({request.reason})" if request.reason else ""
        said = f"{request.service}: {window.minutes} min {what}{why}."
        if down:
            said += f" It covers {len(down)} min recorded down: kept in the audit trail."
        return said

    async def export(self, service: str, month: YearMonth, now: datetime) -> str:
        if self.exporter is None:
            raise InputError("export", "claim export is not available in this dashboard")
        return await self.exporter(self.config, service, month, now)


def _case_row(view: CaseView) -> CaseRow:
    c = view.case
    return CaseRow(
        id=c.id,
        ref=c.ref,
        service=c.service,
        priority=c.priority,
        title=c.title,
        opened_at=c.opened_at,
        response_due=view.response_due,
        responded_at=c.responded_at,
        was_priority=c.opened_priority if c.changes else None,
        escalation_level=c.escalation_level,
    )


def _own_month(inputs: MonthInputs, source: str, now: datetime) -> Decimal | None:
    """The month's availability from ``source``'s minutes alone, by the same rules as
    the service's (so the vantage panel's figures compare with the screen's title)."""
    if source not in inputs.sources:
        return None
    alone = replace(inputs, sources={source: inputs.sources[source]})
    return alone.compute(now).availability_percent


def _agent_vote(probe: ProbeState, minutes: bytes, own: Decimal | None) -> AgentVote:
    """An agent's latest probe of the service, with what it recorded this month."""
    return AgentVote(
        agent=probe.source,
        status=probe.status,
        at=probe.at,
        latency_ms=probe.latency_ms,
        error=probe.error,
        measured_minutes=len(minutes) - minutes.count(UNKNOWN),
        down_minutes=minutes.count(DOWN),
        own_availability=own if len(minutes) - minutes.count(UNKNOWN) else None,
    )


def _newer(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and (b is None or a > b)
