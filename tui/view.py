"""What the dashboard shows, as plain frozen rows.

The refresh worker turns the store's read models into a ``Snapshot``; widgets
only ever render a ``Snapshot`` together with the current instant. Keeping the
two apart means a panel can be tested with hand-made rows, and a tick of the
clock (countdowns, "last probe 12s ago") re-renders without touching the
database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from core.cases import Case
from core.fleet import not_recording
from core.outages import Outage
from core.status import StatusName
from core.tls import warns
from core.vantage import Probe, Vantage, vantage


@dataclass(frozen=True)
class ServiceRow:
    """One service on the live status panel."""

    name: str
    state: StatusName  # the sources' latest probes by rule 3 ("unknown" when never probed)
    last_probe_at: datetime | None
    latency_ms: int | None
    probe_interval_s: float  # the probe's cycle (Probe.cycle): when a vote goes stale
    latency_hour: tuple[int | None, ...]  # last hour, one value per minute, oldest first
    availability: Decimal | None  # current month, None when nothing measured yet
    band_credit: Decimal | None  # credit percent of the band the month is in now
    budget_minutes: int | None  # downtime left before the next band; None at the lowest band
    error: str | None = None  # the last probe's error class (``status:503``, ``timeout``...)
    contract: str = ""
    coverage: Decimal | None = None  # percent of the month's countable minutes recorded
    coverage_low: bool = False  # below core.month.COVERAGE_THRESHOLD
    votes: tuple[Probe, ...] = ()  # each agent's latest probe (fleet mode: several agents)
    tls_expires_at: datetime | None = None  # the soonest certificate expiry the agents saw
    tls_warn_days: int = 14  # the service's ``tls_warn_days``
    recorded_until: datetime | None = None  # the end of its newest recorded minute (probed)
    days: tuple[DayCell, ...] = ()  # the current month day by day (the main screen's grid)
    band: int | None = None  # the band the month is in now, numbered from 1 (the top band)
    month: str = ""  # the current month in the contract's time zone (``2026-11``)

    def not_recording(self, now: datetime) -> bool:
        """Its minutes stopped arriving: the month's figure is that of the minutes before
        (an agent that cannot write, or stopped; ``core.fleet.not_recording``)."""
        return not_recording(self.recorded_until, now, timedelta(seconds=self.probe_interval_s))

    def tls_warning(self, now: datetime) -> bool:
        """The certificate expires within ``tls_warn_days`` of ``now`` (or has expired)."""
        return warns(self.tls_expires_at, now, self.tls_warn_days)

    @property
    def waiting(self) -> bool:
        """Never probed yet: the first frame, before the agent's first word."""
        return self.last_probe_at is None

    def vantage(self, now: datetime) -> Vantage:
        """The agents' votes as of ``now`` (a vote goes stale with the clock)."""
        return vantage(self.votes, now, timedelta(seconds=self.probe_interval_s))

    def live_state(self, now: datetime) -> StatusName:
        """Rule 3 across the agents as of ``now``; the last probe's verdict for one agent."""
        return self.vantage(now).state if len(self.votes) > 1 else self.state


@dataclass(frozen=True)
class CaseRow:
    """One open (unresolved) support case."""

    id: int
    ref: str | None
    service: str
    priority: str
    title: str
    opened_at: datetime
    response_due: datetime | None
    responded_at: datetime | None
    was_priority: str | None = None  # the priority it was opened with, when changed since
    escalation_level: int = 1  # 1 help desk ... 4 third-party suppliers

    @property
    def priority_label(self) -> str:
        """``A`` or, re-rated, ``A←B``; an escalation above level 1 adds ``L2``."""
        label = (
            self.priority if self.was_priority is None else f"{self.priority}←{self.was_priority}"
        )
        return label if self.escalation_level <= 1 else f"{label} L{self.escalation_level}"

    def breached(self, now: datetime) -> bool:
        """Rule 9, against the dashboard's clock: answered late, or due and not answered."""
        if self.response_due is None:
            return False
        if self.responded_at is not None:
            return self.responded_at > self.response_due
        return now > self.response_due


@dataclass(frozen=True)
class CreditRow:
    """A month that owes a credit not yet settled."""

    service: str
    month: str
    credit_percent: Decimal
    credit_amount: Decimal
    claimable_amount: Decimal
    currency: str
    running: bool = False  # the month is not over: its figures may still change


@dataclass(frozen=True)
class Snapshot:
    """Everything the main screen shows, read in one refresh cycle."""

    services: tuple[ServiceRow, ...]
    cases: tuple[CaseRow, ...]
    credits: tuple[CreditRow, ...]
    unreported: tuple[Outage, ...]  # recent unreported outages (filter on report_by > now)
    outages: tuple[Outage, ...] = ()  # this month's outages, every service: the timeline

    def reportable(self, now: datetime) -> tuple[Outage, ...]:
        """Unreported outages that can still be reported (their report_by is ahead)."""
        return tuple(o for o in self.unreported if o.report_by > now)


@dataclass(frozen=True)
class DayCell:
    """One day of the detail screen's month strip."""

    day: int
    availability: Decimal | None  # None: the day has not started yet or nothing was measured
    downtime_minutes: int
    coverage: Decimal | None = None  # percent of the day so far recorded (None: not started)


@dataclass(frozen=True)
class WindowRow:
    kind: str  # "maintenance" or "exclusion"
    start: datetime
    end: datetime
    reason: str | None


@dataclass(frozen=True)
class AgentVote:
    """One agent's view of one service: its latest probe and its own month."""

    agent: str
    status: int  # its latest probe's verdict (core.status code)
    at: datetime
    latency_ms: int | None
    error: str | None
    measured_minutes: int  # minutes of the month this agent recorded a verdict for
    down_minutes: int  # of those, the minutes it saw down
    # The month's availability by this agent's minutes alone, computed as the service's
    # (windows, unknown minutes as the contract says); None: it recorded nothing.
    own_availability: Decimal | None = None

    @property
    def probe(self) -> Probe:
        return Probe(self.agent, self.status, self.at)


@dataclass(frozen=True)
class ServiceDetail:
    """The detail screen of one service for one month."""

    service: str
    month: str
    timezone: str
    availability: Decimal
    credit_percent: Decimal
    credit_amount: Decimal
    claimable_amount: Decimal
    currency: str
    downtime_minutes: int
    band: int  # numbered from 1 (the top band), as in JSON and the letter
    days: tuple[DayCell, ...]
    outages: tuple[Outage, ...]
    windows: tuple[WindowRow, ...]
    coverage: Decimal = Decimal(100)  # percent of the month's countable minutes recorded
    coverage_low: bool = False
    provisional: bool = False  # the month is not over
    agents: tuple[AgentVote, ...] = ()  # one per agent that probes the service
    probe_interval_s: float = 60.0
    tls_expires_at: datetime | None = None  # the soonest certificate expiry the agents saw
    tls_warn_days: int = 14


@dataclass(frozen=True)
class CaseEvent:
    """One line of a case's history."""

    at: datetime
    what: str
    tone: str = ""  # "good", "warn", "bad" or "" (the palette colour to show it in)


@dataclass(frozen=True)
class CaseDetail:
    """The case detail screen: one case, its deadline, its history, what it reported."""

    case: Case
    response_due: datetime | None
    breached: bool
    events: tuple[CaseEvent, ...]
    outages: tuple[Outage, ...]  # the service's outages its linked spans cover
    service_cases: tuple[Case, ...] = ()  # every case of the service, newest first
    facts: tuple[tuple[str, str], ...] = ()  # the case in detail (reads.reports.case_facts)


@dataclass(frozen=True)
class CaseRequest:
    """What the case form asks ``StoreSource.open_case`` to record."""

    service: str
    priority: str
    ref: str | None
    title: str
    opened_at: datetime
    outage: Outage | None  # the outage this case reports, linked on creation
    channel: str = "email"  # how it was reported: one of ``[cases] channels``


@dataclass(frozen=True)
class ExclusionRequest:
    """What the exclusion form asks ``StoreSource.exclude`` to record."""

    service: str
    start: datetime
    end: datetime
    reason: str
    kind: Literal["exclusion", "maintenance"] = "exclusion"
