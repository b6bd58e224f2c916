"""Read models shared by ``report``, ``outages``, ``status``, the dashboard and claims.

Each function reads what it needs through ``Store`` and hands it to the pure
rules in ``core``: nothing here decides a rule, it only gathers the minutes,
windows and cases a rule needs.

- ``month_inputs(store, config, service, month) -> MonthInputs``: a month's
  minutes, windows and cases, read once; ``.compute()`` is its ``MonthReport``
- ``month_report(store, config, service, month) -> core.month.MonthReport``
  (``month_reports(store, config, services, month)`` for several at once)
- ``overview(store, config, now) -> Overview`` (what ``status --json`` prints)
- ``reads.quarter.quarter_report(store, config, service, quarter, now)``
- ``case_view(config, case, now) -> CaseView`` (a case with its response due)
- ``recorded_down(store, config, service, start, end) -> list[int]`` (minutes
  recorded down that a new window would cover)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.cases import (
    ESCALATION_LEVELS,
    Case,
    Deadline,
    case_deadline,
    case_json,
    case_status,
    response_breached,
)
from core.config import Config, Contract, Service
from core.errors import InputError
from core.fleet import AGENT_SILENT, not_recording
from core.money import format_money
from core.month import (
    MonthDay,
    MonthEvidence,
    MonthReport,
    combine_sources,
    figures,
    window_minutes,
)
from core.outages import Outage, run_table
from core.performance import target_words
from core.status import DEGRADED, DOWN, UNKNOWN
from core.timeutil import YearMonth, from_minute, human_utc, iso_z, to_minute
from core.tls import soonest, warns
from core.vantage import NO_VOTES, Probe, Vantage, vantage
from core.windows import Window
from reads.fleet import by_database_clock
from store.health import AgentHealth
from store.rows import ProbeState
from store.store import Store

DAY = 1440
MAX_REACH = 400 * DAY  # no outage is followed further than this past the month's edges
PENDING_MONTHS = 12
_DOT = ord(".")


def service_of(config: Config, name: str, where: str = "--service") -> Service:
    """The configured service called ``name`` (InputError naming ``where`` if none)."""
    service = config.services.get(name)
    if service is None:
        known = ", ".join(sorted(config.services)) or "none configured"
        raise InputError(where, f"unknown service {name!r} (known: {known})")
    return service


async def recorded_down(
    store: Store, config: Config, service: str, start: int, end: int
) -> list[int]:
    """The minutes of [start, end) already recorded down for ``service`` (rule 3 over
    its sources; degraded ones too when its contract counts degraded as down): what a
    window or exclusion added over them would take out of the month."""
    combined = combine_sources((await store.minutes(service, start, end)).values())
    bad = {DOWN, DEGRADED} if config.contract_for(service).degraded_is_down else {DOWN}
    return [start + i for i, status in enumerate(combined) if status in bad]


# -- one month ---------------------------------------------------------------


@dataclass(frozen=True)
class MonthInputs:
    """Everything rules 1-8 read for one service-month, read from the store once.

    ``sources`` hold one status byte per minute of ``span`` for each source; the
    span covers the month and reaches past its edges as far as an outage running
    across an edge goes. ``windows`` are the one-off windows overlapping the span,
    ``cases`` the service's cases. ``month_report``, the dashboard's detail screen
    and the claim export all start from these, so each reads a month once.
    """

    service: Service
    contract: Contract
    month: YearMonth
    span: tuple[int, int]
    sources: Mapping[str, bytes]
    windows: tuple[Window, ...]
    cases: tuple[Case, ...]

    @property
    def bounds(self) -> tuple[int, int]:
        """The month's own [start, end) epoch minutes."""
        return self.month.bounds(self.contract.timezone)

    @property
    def evidence(self) -> MonthEvidence:
        """These inputs as the core rules read them (``core.month.MonthEvidence``)."""
        return MonthEvidence(
            self.service, self.contract, self.month, self.span[0], self.sources, self.windows
        )

    def compute(self, now: datetime | None = None) -> MonthReport:
        """Rules 1-8 (``core.month.compute_month``) over these inputs, as of ``now``."""
        return self.evidence.report(self.cases, None if now is None else to_minute(now))

    def days(self, until: int | None = None) -> tuple[MonthDay, ...]:
        """The month's local days counted like the month (``core.month.month_days``)."""
        return self.evidence.days(until)

    def sources_in(self, start: int, end: int) -> dict[str, bytes]:
        """Each source's bytes over [start, end), inside the span."""
        a, b = start - self.span[0], end - self.span[0]
        return {name: data[a:b] for name, data in self.sources.items()}

    def windows_in(self, start: int, end: int) -> tuple[Window, ...]:
        """The one-off windows overlapping [start, end)."""
        return tuple(w for w in self.windows if w.start < end and start < w.end)


async def month_report(
    store: Store,
    config: Config,
    service: str,
    month: YearMonth,
    *,
    cases: Sequence[Case] | None = None,
    now: datetime | None = None,
) -> MonthReport:
    """Rules 1-8 for one service and month, from what is stored (``month_inputs``);
    with ``now`` the month may be provisional and an outage ongoing."""
    inputs = await month_inputs(store, config, service, month, cases=cases)
    return inputs.compute(now)


async def month_inputs(
    store: Store,
    config: Config,
    service: str,
    month: YearMonth,
    *,
    cases: Sequence[Case] | None = None,
) -> MonthInputs:
    """One service-month's inputs, read once.

    The minutes reach before the month start (and past its end) as far as an
    outage running across that edge goes, so the outage keeps its true start
    (which decides whether a case reported it in time) and its true end. A
    caller may pass the service's ``cases`` it read already. ``compute(now)``
    says whether the month is provisional and which outage is ongoing.
    """
    (inputs,) = await months_inputs(
        store, config, [(service, month)], cases=None if cases is None else {service: cases}
    )
    return inputs


async def months_inputs(
    store: Store,
    config: Config,
    wanted: Sequence[tuple[str, YearMonth]],
    *,
    cases: Mapping[str, Sequence[Case]] | None = None,
) -> list[MonthInputs]:
    """``month_inputs`` of each (service, month) of ``wanted``, in its order, read
    together: the one-off windows in one query, the cases in one (unless the caller
    passes each service's ``cases``), the minutes of every service whose month has
    the same bounds in one, and each step of following outages across month edges
    in one for every service it is taken for. A month of 50 services is then a
    handful of trips to the database, not two or three a service: on PostgreSQL
    each trip goes through the server's process and back (issue 10)."""
    reads = [_MonthRead(service_of(config, name), config, month) for name, month in wanted]
    if not reads:
        return []
    found = await store.all_windows(min(r.start for r in reads), max(r.end for r in reads))
    for r in reads:
        r.windows = _overlapping(found.get(r.name, ()), r.start, r.end)
    by_bounds: dict[tuple[int, int], list[_MonthRead]] = {}
    for r in reads:
        by_bounds.setdefault((r.start, r.end), []).append(r)
    for (start, end), group in by_bounds.items():
        minutes = await store.minutes_of(dict.fromkeys(r.name for r in group), start, end)
        for r in group:
            r.sources = minutes.get(r.name, {})
    await _reach(store, reads)
    wider = [r for r in reads if r.span != (r.start, r.end)]
    if wider:  # the windows over the span its outages reach across the edges
        found = await store.all_windows(
            min(r.span[0] for r in wider), max(r.span[1] for r in wider)
        )
        for r in wider:
            r.windows = _overlapping(found.get(r.name, ()), *r.span)
    if cases is None:
        names = {r.name for r in reads}
        cases = (
            {name: await store.cases(service=name) for name in names}
            if len(names) == 1
            else _by_service(await store.cases())
        )
    return [r.inputs(cases.get(r.name, ())) for r in reads]


# Service-months read in one ``months_inputs``: a fleet's month a few trips to the
# database, and no more than this many months of minutes held at once (a thousand
# services of three agents read as one would be 134 MB of bytes).
READ_TOGETHER = 100


async def months_read(
    store: Store,
    config: Config,
    wanted: Sequence[tuple[str, YearMonth]],
    *,
    cases: Mapping[str, Sequence[Case]] | None = None,
    together: int = READ_TOGETHER,
) -> AsyncIterator[list[MonthInputs]]:
    """``months_inputs`` of ``wanted``, ``together`` at a time, in order, the cases
    read once for all (unless the caller passes them): a caller computes each part
    and lets it go before the next is read."""
    if cases is None and len(wanted) > together:
        cases = _by_service(await store.cases())
    for i in range(0, len(wanted), together):
        yield await months_inputs(store, config, wanted[i : i + together], cases=cases)


async def month_reports(
    store: Store,
    config: Config,
    services: Sequence[str],
    month: YearMonth,
    now: datetime | None = None,
) -> list[MonthReport]:
    """``month_report`` for several services, read together (``months_read``)."""
    wanted = [(name, month) for name in dict.fromkeys(services)]
    return [i.compute(now) async for part in months_read(store, config, wanted) for i in part]


def _by_service(cases: Sequence[Case]) -> dict[str, list[Case]]:
    out: dict[str, list[Case]] = {}
    for case in cases:
        out.setdefault(case.service, []).append(case)
    return out


def _overlapping(windows: Iterable[Window], start: int, end: int) -> list[Window]:
    """The ``windows`` overlapping [start, end), in their order (``store.windows``')."""
    return [w for w in windows if w.start < end and start < w.end]


class _MonthRead:
    """One service-month being read (``months_inputs``): its minutes in parts, and
    where they reach across the month's edges."""

    def __init__(self, service: Service, config: Config, month: YearMonth) -> None:
        self.service = service
        self.name = service.name
        self.contract = config.contract_for(service.name)
        self.month = month
        self.start, self.end = month.bounds(self.contract.timezone)
        self.span = (self.start, self.end)
        self.sources: dict[str, bytes] = {}
        self.windows: list[Window] = []  # overlapping the month, then the span
        self.before: list[tuple[int, dict[str, bytes]]] = []  # nearest first
        self.after: list[tuple[int, dict[str, bytes]]] = []

    def marks(
        self, sources: Mapping[str, bytes], start: int, end: int, windows: Sequence[Window]
    ) -> bytes:
        """Rule 8's marks of [start, end), the one-off ``windows`` and weekly ones applied."""
        statuses = combine_sources(sources.values()).ljust(end - start, b"\0")
        codes = window_minutes(self.service, self.contract, start, statuses, windows)
        return codes.translate(run_table(self.contract.degraded_is_down))

    def edges(self) -> list[_Reach]:
        """The edges an outage (or excluded run) crosses: only the month's first and
        last minutes decide it."""
        s = self.sources
        first = self.marks(
            {k: v[:1] for k, v in s.items()}, self.start, self.start + 1, self.windows
        )
        last = self.marks({k: v[-1:] for k, v in s.items()}, self.end - 1, self.end, self.windows)
        marks = first + last
        out = []
        if marks and marks[0] != _DOT:
            out.append(_Reach(self, -1, self.start))
        if marks and marks[-1] != _DOT:
            out.append(_Reach(self, +1, self.end))
        return out

    def inputs(self, cases: Sequence[Case]) -> MonthInputs:
        parts = [*reversed(self.before), (self.start, self.sources), *self.after]
        return MonthInputs(
            service=self.service,
            contract=self.contract,
            month=self.month,
            span=self.span,
            sources=_join(parts, *self.span),
            windows=tuple(self.windows),
            cases=tuple(cases),
        )


@dataclass
class _Reach:
    """Following a run of down (or excluded) minutes across one edge of a month:
    chunks of a day, then twice as long each, until one holds a minute outside any
    run, or ``MAX_REACH`` is read."""

    read: _MonthRead
    direction: int
    edge: int
    size: int = DAY
    reached: int = 0

    @property
    def chunk(self) -> tuple[int, int]:
        e, n = self.edge, self.size
        return (e - n, e) if self.direction < 0 else (e, e + n)

    def take(self, data: dict[str, bytes], windows: Sequence[Window]) -> bool:
        """Add the next chunk's minutes (and its one-off ``windows``); True to go on."""
        r, (lo, hi) = self.read, self.chunk
        (r.before if self.direction < 0 else r.after).append((lo, data))
        self.edge, self.reached = (lo if self.direction < 0 else hi), self.reached + self.size
        r.span = (self.edge, r.span[1]) if self.direction < 0 else (r.span[0], self.edge)
        if _DOT in r.marks(data, lo, hi, windows):
            return False
        self.size *= 2
        return self.reached < MAX_REACH


async def _reach(store: Store, reads: Sequence[_MonthRead]) -> None:
    """Follow every outage running across a month edge of ``reads``, a step for all
    at once: one query of the minutes and one of the windows for each chunk."""
    steps = [step for r in reads for step in r.edges()]
    while steps:
        by_chunk: dict[tuple[int, int], list[_Reach]] = {}
        for step in steps:
            by_chunk.setdefault(step.chunk, []).append(step)
        steps = []
        for (lo, hi), group in by_chunk.items():
            minutes = await store.minutes_of(dict.fromkeys(s.read.name for s in group), lo, hi)
            windows = await store.all_windows(lo, hi)
            for step in group:
                name = step.read.name
                if step.take(minutes.get(name, {}), windows.get(name, [])):
                    steps.append(step)


def _join(
    parts: Sequence[tuple[int, Mapping[str, bytes]]], start: int, end: int
) -> dict[str, bytes]:
    """Concatenate consecutive spans of per-source bytes into one span [start, end)."""
    names = {name for _, data in parts for name in data}
    out: dict[str, bytes] = {}
    for name in names:
        buf = bytearray()
        for i, (lo, data) in enumerate(parts):
            hi = parts[i + 1][0] if i + 1 < len(parts) else end
            buf += data.get(name, b"").ljust(hi - lo, b"\0")
        out[name] = bytes(buf)
    return out


# -- cases -------------------------------------------------------------------


@dataclass(frozen=True)
class CaseView:
    """A case with its first-response deadline worked out (None: its rule is gone),
    and what its contract says around it."""

    case: Case
    response_due: datetime | None
    response_breached: bool
    deadline: Deadline | None = None
    follow_up_clock: str | None = None  # the clock of the priority in force now
    customer_obligation: str | None = None  # the customer's own duty at that priority
    wait_stops_clock: bool = False  # the contract's customer_wait_stops_clock
    response_target: str | None = None  # the deadline's rule for people: "2h of business hours"

    def to_json(self, now: datetime) -> dict[str, Any]:
        d = self.deadline
        return {
            **case_json(self.case, self.response_due, now),
            "response_priority": None if d is None else d.priority,
            "response_clock_from": None if d is None else iso_z(d.clock_from),
            "follow_up_clock": self.follow_up_clock,
            "customer_obligation": self.customer_obligation,
            "customer_wait_stops_clock": self.wait_stops_clock,
        }


def case_view(config: Config, case: Case, now: datetime) -> CaseView:
    """``case`` with rule 9 and the clock rule of ``core.cases`` applied, using its
    service's contract and calendar.

    A case whose service or priority has left the config has no due time.
    """
    if case.service not in config.services:
        return CaseView(case, None, False)
    contract = config.contract_for(case.service)
    deadline = case_deadline(case, contract, config.calendar_for(contract), now)
    rule = contract.rule_for(case.priority)
    extra: dict[str, Any] = {
        "follow_up_clock": None if rule is None else rule.clock,
        "customer_obligation": None if rule is None else rule.customer,
        "wait_stops_clock": contract.customer_wait_stops_clock,
    }
    if deadline is None:
        return CaseView(case, None, False, **extra)
    due = deadline.due
    target = contract.rule_for(deadline.priority)
    extra["response_target"] = None if target is None else target_words(target)
    return CaseView(case, due, response_breached(case, due, now), deadline, **extra)


def case_facts(view: CaseView) -> tuple[tuple[str, str], ...]:
    """One case in detail, as (label, text) rows: its deadline and why, its history,
    and what the contract asks of the customer (``case show`` and the dashboard's
    case screen). A history entry is a row with an empty label."""
    c, d = view.case, view.deadline
    rows: list[tuple[str, str]] = [
        ("service", c.service),
        ("status", case_status(c)),
        ("channel", c.channel),
        ("opened", human_utc(c.opened_at)),
    ]
    if d is None:
        rows.append(("response due", "- (its priority is no longer in the contract)"))
    else:
        breached = " BREACHED" if view.response_breached else ""
        rows.append(
            (
                "response due",
                f"{human_utc(d.due)}{breached} (priority {d.priority}"
                + (f": {view.response_target}" if view.response_target else "")
                + f", counted from {human_utc(d.clock_from)})",
            )
        )
    answered = human_utc(c.responded_at)
    if c.responded_at is None and c.resolved_at is not None:
        answered = f"- (the resolution at {human_utc(c.resolved_at)} counts as the answer)"
    rows += [
        ("first response", answered),
        ("resolved", human_utc(c.resolved_at)),
        ("follow-up clock", f"{view.follow_up_clock or '-'} (priority {c.priority})"),
        ("priority history", ""),
    ]
    for p in c.priority_history:
        why = p.reason or ("opened" if p.previous is None else "-")
        rows.append(("", f"{human_utc(p.at)}  {p.priority:<10} {why}"))
    level = ESCALATION_LEVELS.get(c.escalation_level, "?")
    rows.append(("escalation", f"level {c.escalation_level} ({level})"))
    rows += [("", f"{human_utc(e.at)}  level {e.level}") for e in c.escalation_history()[1:]]
    if c.rca_requested_at is None:
        rca = "not requested" + (" (the case is closed: too late)" if c.resolved_at else "")
    else:
        delivered = c.rca_delivered_at
        rca = f"requested {human_utc(c.rca_requested_at)}, " + (
            f"delivered {human_utc(delivered)}" if delivered else "not delivered yet"
        )
    rows.append(("root cause", rca))
    stops = "stops" if view.wait_stops_clock else "does not stop"
    rows.append(
        (
            "customer waits",
            f"{len(c.waits)} (waiting {stops} the response clock: "
            f"customer_wait_stops_clock = {str(view.wait_stops_clock).lower()})",
        )
    )
    for w in c.waits:
        until = human_utc(w.end) if w.end else "still waiting"
        rows.append(("", f"{human_utc(w.start)} to {until}  {w.reason}"))
    rows.append(("your obligation", view.customer_obligation or "none stated by the contract"))
    links = ", ".join(
        f"{human_utc(from_minute(a))} to {human_utc(from_minute(b))}" for a, b in c.links
    )
    rows.append(("linked outages", links or "-"))
    return tuple(rows)


# -- overview (status / dashboard) ---------------------------------------------


@dataclass(frozen=True)
class ServiceState:
    name: str
    state: str  # "up", "down", "degraded", "unknown"
    last_probe_at: datetime | None
    latency_ms: int | None
    month: YearMonth  # the current month in the contract's time zone
    month_availability_percent: Decimal
    stale: bool  # the last probe is older than three probe cycles (core.config.Probe.cycle)
    vantage: Vantage = NO_VOTES  # each agent's latest vote (fleet mode: rule 3 across them)
    tls_expires_at: datetime | None = None  # the soonest certificate expiry the probes saw
    tls_warning: bool = False  # it is within the agent's ``tls_warn_days`` (or past)
    coverage_percent: Decimal = Decimal(100)  # how much of the month so far was recorded
    coverage_low: bool = False  # below core.month.COVERAGE_THRESHOLD
    provisional: bool = True  # the month is still running
    # The end of the newest recorded minute, and why minutes stopped arriving when
    # they have (the month's figure is then not current: what was not recorded
    # counts as unknown, which the contract may count as available).
    recorded_until: datetime | None = None
    not_recording: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "last_probe_at": iso_z(self.last_probe_at),
            "latency_ms": self.latency_ms,
            "month": str(self.month),
            "month_availability_percent": float(self.month_availability_percent),
            "stale": self.stale,
            "vantage": self.vantage.to_json(),
            "tls_expires_at": iso_z(self.tls_expires_at),
            "tls_warning": self.tls_warning,
            "coverage_percent": float(self.coverage_percent),
            "coverage_low": self.coverage_low,
            "provisional": self.provisional,
            "recorded_until": iso_z(self.recorded_until),
            "recording": self.not_recording is None,
            "not_recording": self.not_recording,
        }


@dataclass(frozen=True)
class PendingCredit:
    service: str
    month: YearMonth
    credit_percent: Decimal
    credit_amount: Decimal
    claimable_credit_percent: Decimal
    claimable_credit_amount: Decimal
    currency: str
    month_complete: bool  # False for the month still running

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "month": str(self.month),
            "credit_percent": float(self.credit_percent),
            "credit_amount": format_money(self.credit_amount),
            "claimable_credit_percent": float(self.claimable_credit_percent),
            "claimable_credit_amount": format_money(self.claimable_credit_amount),
            "currency": self.currency,
            "month_complete": self.month_complete,
        }


def agent_json(h: AgentHealth, now: datetime) -> dict[str, Any]:
    """An agent's health for ``status --json`` (issue 7)."""
    return {
        "source": h.source,
        "at": iso_z(h.at),
        "silent": now - h.at > AGENT_SILENT,
        "unwritten_minutes": h.pending,
        "dropped_minutes": h.dropped,
        "storage_problem": h.problem,
        "problem_since": iso_z(h.problem_since),
        "problem_cleared": iso_z(h.problem_cleared),
        "notifications_waiting": h.notices_waiting,
        "notifications_waiting_since": iso_z(h.notices_since),
    }


@dataclass(frozen=True)
class Overview:
    now: datetime
    services: tuple[ServiceState, ...]
    open_cases: tuple[CaseView, ...]
    pending_credits: tuple[PendingCredit, ...]
    reportable_outages: tuple[Outage, ...]  # unreported, still inside report_within
    month_reports: Mapping[str, MonthReport]  # current month per service
    agents: tuple[AgentHealth, ...] = ()  # each agent's word on its own storage
    # The current month day by day per service, up to ``now`` (``overview(days=True)``).
    month_days: Mapping[str, tuple[MonthDay, ...]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "generated_at": iso_z(self.now),
            "services": [s.to_json() for s in self.services],
            "open_cases": [c.to_json(self.now) for c in self.open_cases],
            "pending_credits": [p.to_json() for p in self.pending_credits],
            "reportable_outages": [o.to_json() for o in self.reportable_outages],
            "agents": [agent_json(h, self.now) for h in self.agents],
        }


async def overview(store: Store, config: Config, now: datetime, *, days: bool = False) -> Overview:
    """Everything ``status`` and the dashboard show, as of ``now``; with ``days``
    also each service's current month day by day (the dashboard's month grid),
    counted from the same read as the month."""
    agents = tuple(await store.agent_health())  # issue 7: each agent's storage health
    probes: dict[str, list[ProbeState]] = {}
    # On the database's clock (an agent's clock may be off): the votes' age and the
    # probe's age shown are those of fleet status and the dashboard.
    for p in by_database_clock(await store.probe_states(), agents):
        probes.setdefault(p.service, []).append(p)
    all_cases = _by_service(await store.cases())
    names = list(config.services)
    current = {name: YearMonth.of(now, config.contract_for(name).timezone) for name in names}
    # Each month read together for every service (``months_read``), a month at a time.
    reports: dict[tuple[str, YearMonth], MonthReport] = {}
    by_day: dict[str, tuple[MonthDay, ...]] = {}
    async for part in months_read(store, config, list(current.items()), cases=all_cases):
        for inputs in part:
            reports[inputs.service.name, inputs.month] = inputs.compute(now)
            if days:
                by_day[inputs.service.name] = inputs.days(until=to_minute(now))
    months = await _months_with_downtime(store, config, current)
    past = sorted(((m, n) for n in names for m in months[n] if m != current[n]), key=_by_month)
    wanted = [(n, m) for m, n in past]
    async for part in months_read(store, config, wanted, cases=all_cases):
        for inputs in part:
            reports[inputs.service.name, inputs.month] = inputs.compute(now)
    settled: dict[str, set[YearMonth]] = {}
    for s in await store.settlements():
        settled.setdefault(s.service, set()).add(YearMonth.parse(s.month, "settled_credits"))
    probed = [name for name in names if config.services[name].probe is not None]
    recorded = await store.recorded_until_of(probed)
    states: list[ServiceState] = []
    pending: list[PendingCredit] = []
    reportable: dict[str, Outage] = {}  # by id: an outage may run across two months
    for name in names:
        state, credits, outages = _service_overview(
            config, name, probes.get(name, []), agents, now, current[name],
            [(m, reports[name, m]) for m in months[name]], reports[name, current[name]],
            settled.get(name, set()), recorded.get(name),
        )  # fmt: skip
        states.append(state)
        pending += credits
        reportable.update((o.id, o) for o in outages)
    opened = [case_view(config, c, now) for c in await store.cases(open_only=True)]
    ordered = sorted(reportable.values(), key=lambda o: (o.start, o.service))
    return Overview(
        now,
        tuple(states),
        tuple(opened),
        tuple(pending),
        tuple(ordered),
        {name: reports[name, current[name]] for name in names},
        agents,
        by_day,
    )


def _by_month(pair: tuple[YearMonth, str]) -> tuple[int, int]:
    return pair[0].year, pair[0].month


def _service_overview(
    config: Config,
    name: str,
    probes: Sequence[ProbeState],
    agents: Sequence[AgentHealth],
    now: datetime,
    current: YearMonth,
    months: Sequence[tuple[YearMonth, MonthReport]],
    report: MonthReport,
    settled: set[YearMonth],
    until: int | None,
) -> tuple[ServiceState, list[PendingCredit], list[Outage]]:
    """One service's live state, credits not yet settled and reportable outages, from
    its current month's ``report``, the ``months`` with downtime of the last 12, the
    months ``settled`` and the end of its newest recorded minute (``until``)."""
    svc = config.services[name]
    pending: list[PendingCredit] = []
    reportable: list[Outage] = []
    for month, past in months:
        reportable += [o for o in past.outages if o.reportable(now)]
        if month in settled:
            continue
        if past.credit_amount > 0 or past.claimable_credit_amount > 0:
            pending.append(_pending(past, complete=month != current))
    state = _service_state(svc, probes, current, report, now, config.tls_warn_days_for(name))
    if svc.probe is not None:  # an agent is meant to be recording it
        recorded = None if until is None else from_minute(until)
        why = None
        if not_recording(recorded, now, svc.probe.cycle):
            assert recorded is not None
            why = _why_not_recording(recorded, probes, agents, now)
        state = replace(state, recorded_until=recorded, not_recording=why)
    return state, pending, reportable


def _why_not_recording(
    since: datetime, probes: Sequence[ProbeState], agents: Sequence[AgentHealth], now: datetime
) -> str:
    """Why a probed service's minutes stopped at ``since``, from the word of the agents
    that probe it: a storage problem still open, or silence (an agent cannot record its
    health while its database refuses writes, so a silent agent may be one that cannot
    write); the agents' own lines in ``status`` give the detail."""
    sources = {p.source for p in probes}
    said = [  # probing, but its own network (a proxy) cannot reach the service: unknown
        f"agent {p.source} probes it but cannot tell: {p.error}"
        for p in probes
        if p.status == UNKNOWN and p.error and now - p.at <= AGENT_SILENT
    ]
    for h in agents:
        if sources and h.source not in sources:
            continue
        if h.problem is not None and h.problem_cleared is None:
            said.append(f"agent {h.source} cannot write: {h.problem}")
        elif now - h.at > AGENT_SILENT:
            said.append(f"agent {h.source} silent since {iso_z(h.at)}: stopped, or cannot write")
    reason = "; ".join(said) or "no agent is recording it"
    return f"nothing recorded since {iso_z(since)} ({reason})"


def _pending(report: MonthReport, *, complete: bool) -> PendingCredit:
    return PendingCredit(
        service=report.service,
        month=report.month,
        credit_percent=report.credit_percent,
        credit_amount=report.credit_amount,
        claimable_credit_percent=report.claimable_credit_percent,
        claimable_credit_amount=report.claimable_credit_amount,
        currency=report.currency,
        month_complete=complete,
    )


async def _months_with_downtime(
    store: Store, config: Config, current: Mapping[str, YearMonth]
) -> dict[str, list[YearMonth]]:
    """Each service's last 12 months (to its ``current`` one) holding a minute that
    could earn a credit.

    A month without a single down (or, when it counts, degraded) minute has no
    downtime, so its credit is that of 100 % availability; only when that is not
    zero does every month need its full computation. The hours with downtime are
    read in one query for all services with the same months and codes.
    """
    out: dict[str, list[YearMonth]] = {}
    scans: dict[tuple[int, int, tuple[int, ...]], list[tuple[str, list[YearMonth]]]] = {}
    for service, now in current.items():
        contract = config.contract_for(service)
        months = [now]
        for _ in range(PENDING_MONTHS - 1):
            months.append(months[-1].prev())
        months.reverse()
        out[service] = months
        if figures(contract, config.services[service].monthly_fee, 1, 0).credit_amount > 0:
            continue
        tz = contract.timezone
        first, last = months[0].bounds(tz)[0], months[-1].bounds(tz)[1]
        codes: tuple[int, ...] = (DOWN, DEGRADED) if contract.degraded_is_down else (DOWN,)
        scans.setdefault((first, last, codes), []).append((service, months))
    for (first, last, codes), group in scans.items():
        found = await store.hours_with_of([name for name, _ in group], first, last, codes)
        for service, months in group:
            hours = found.get(service, [])
            tz = config.contract_for(service).timezone
            out[service] = [month for month in months if _hit(month.bounds(tz), hours)]
    return out


def _hit(bounds: tuple[int, int], hours: Sequence[int]) -> bool:
    """Whether one of ``hours`` overlaps the minutes [lo, hi) of ``bounds``."""
    lo, hi = bounds
    return any(lo // 60 <= h <= (hi - 1) // 60 for h in hours)


def _service_state(
    svc: Service,
    probes: Sequence[ProbeState],
    month: YearMonth,
    report: MonthReport,
    now: datetime,
    tls_warn_days: int = 14,
) -> ServiceState:
    """The live state: each source's latest probe is a vote; rule 3 over the fresh ones."""
    if not probes:
        return ServiceState(
            svc.name,
            "unknown",
            None,
            None,
            month,
            report.availability_percent,
            False,
            coverage_percent=report.coverage_percent,
            coverage_low=report.coverage_low,
            provisional=report.provisional,
        )
    interval = svc.probe.cycle if svc.probe else None
    votes = vantage((Probe(p.source, p.status, p.at) for p in probes), now, interval)
    latencies = [p.latency_ms for p in probes if p.latency_ms is not None]
    expiry = soonest(p.tls_expires_at for p in probes)
    return ServiceState(
        name=svc.name,
        state=votes.state,
        last_probe_at=max(p.at for p in probes),
        latency_ms=round(sum(latencies) / len(latencies)) if latencies else None,
        month=month,
        month_availability_percent=report.availability_percent,
        stale=votes.stale,
        vantage=votes,
        tls_expires_at=expiry,
        tls_warning=warns(expiry, now, tls_warn_days),
        coverage_percent=report.coverage_percent,
        coverage_low=report.coverage_low,
        provisional=report.provisional,
    )
