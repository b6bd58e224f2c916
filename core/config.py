"""Typed, frozen configuration: calendars, contracts, services, probes.

The dataclasses below are the contract between config parsing and every other
part of slawatch (agent, store, dashboard, CLI). Parsing and validation live in
the loader, ``core.configfile`` (``load_config``, ``parse_config``), which turns
config.toml into these objects, naming the file and key of every mistake. This
module imports no loader: the loader imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from core.durations import Duration, parse_duration

__all__ = [
    "AgentSettings",
    "Band",
    "Calendar",
    "Config",
    "Contract",
    "DayWindow",
    "Duration",
    "Notifier",
    "PriorityRule",
    "Probe",
    "Service",
    "WeeklyMaintenance",
    "parse_duration",
]

Basis = Literal["percent", "minutes"]
UnknownPolicy = Literal["available", "excluded"]
Clock = Literal["24x7", "business"]


@dataclass(frozen=True)
class DayWindow:
    """Support hours on one weekday. ``end <= start`` means it runs past midnight
    and belongs to the day it starts on (``08:00-02:00``)."""

    start: time
    end: time

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class Calendar:
    name: str
    timezone: ZoneInfo
    hours: Mapping[int, tuple[DayWindow, ...]]  # weekday (0 = Monday) -> windows
    business_day: timedelta
    holidays: frozenset[date] = frozenset()
    country: str | None = None  # adds that country's public holidays (``holidays`` package)


@dataclass(frozen=True)
class BusinessWithin:
    """A ``report_within`` in business days (``1bd``, ``1bd4h``): working time on the
    contract's calendar, as rule 9 counts a response (``N x business_day`` plus the
    rest, only inside its hours), not real time. ``core.calendar.report_by``."""

    duration: Duration
    calendar: Calendar


#: ``report_within``: real time (``72h``) or business days of a calendar (``1bd``).
ReportWithin = timedelta | BusinessWithin


@dataclass(frozen=True)
class Band:
    min_availability: Decimal
    max_downtime_minutes: int | None
    credit_percent: Decimal | None  # None when the credit is 100 - availability
    complement: bool = False  # credit = "100-availability"


@dataclass(frozen=True)
class PriorityRule:
    name: str
    response: Duration
    clock: Clock
    customer: str | None = None  # the customer's own obligation at this priority (contract text)


@dataclass(frozen=True)
class Contract:
    name: str
    timezone: ZoneInfo
    basis: Basis
    unknown_minutes: UnknownPolicy
    degraded_is_down: bool
    report_within: ReportWithin
    calendar: str | None
    bands: tuple[Band, ...]
    priorities: Mapping[str, PriorityRule]
    profile: str | None = None
    # Whether waiting on the customer (``case wait``) stops the response clock; none of
    # the reference contracts grants it, so it is off unless a contract says so.
    customer_wait_stops_clock: bool = False
    # The channels through which a report earns a credit (rule 8), e.g. ("email",)
    # for the SaaS contract; None: any channel.
    report_channels: tuple[str, ...] | None = None

    def rule_for(self, priority: str) -> PriorityRule | None:
        """The rule for a case priority: exact name first, then ignoring case."""
        rule = self.priorities.get(priority)
        if rule is None:
            folded = priority.casefold()
            rule = next((r for n, r in self.priorities.items() if n.casefold() == folded), None)
        return rule


@dataclass(frozen=True)
class WeeklyMaintenance:
    """A recurring weekly window in the contract's time zone; ``end <= start``
    runs past midnight into the next day."""

    day: int  # 0 = Monday
    start: time
    end: time
    reason: str = "weekly maintenance"


@dataclass(frozen=True)
class Probe:
    url: str  # http://, https:// or tcp://host:port
    interval: timedelta = timedelta(seconds=60)
    timeout: timedelta = timedelta(seconds=10)
    retries: int = 2
    retry_delay: timedelta = timedelta(seconds=5)
    expect_status: tuple[tuple[int, int], ...] = ((200, 399),)
    degraded_latency: timedelta | None = None
    contains: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    header_env: Mapping[str, str] = field(default_factory=dict)  # header -> env var name
    verify_tls: bool = True  # ``verify`` in config.toml (``verify_tls`` still read)
    method: str = "GET"
    body: str | None = None  # sent as is (set Content-Type in ``headers``)
    follow_redirects: bool = True  # judge the final response, not the 3xx
    max_redirects: int = 10  # more hops, or a loop: down ``redirects``
    proxy: str | None = None  # http(s)://[user:pass@]host:port; "" = direct; None = agent's/env
    ca_file: Path | None = None  # extra trusted CA certificates (PEM), for private CAs
    json_path: tuple[str | int, ...] | None = None  # parsed ``json_path`` (core.jsonpath)
    json_expect: str | int | float | bool | None = None  # value at json_path (None: present)
    tls_warn_days: int | None = None  # None: the agent's ``tls_warn_days``

    @property
    def kind(self) -> Literal["http", "tcp"]:
        return "tcp" if self.url.startswith("tcp://") else "http"

    @property
    def cycle(self) -> timedelta:
        """How often this probe's verdict is renewed at worst: its interval, or the longest
        a run can take (every attempt timing out, with the pauses between) when that is
        longer. A failing run outlasts a short interval; the agent skips the runs it
        overlaps and stamps the verdict with the run's start, so votes and the live state
        go stale after three cycles, not three intervals (``core.vantage``)."""
        return max(self.interval, self.longest_run)

    @property
    def longest_run(self) -> timedelta:
        """The longest one run can take: every attempt timing out, with the pauses between."""
        return self.timeout * (self.retries + 1) + self.retry_delay * self.retries

    @property
    def failing_every(self) -> timedelta:
        """How often the service is probed while every attempt times out: the agent skips
        the runs a run overlaps, so the next starts at the first interval after it."""
        turns = -(-self.longest_run // self.interval)  # ceiling
        return self.interval * max(turns, 1)


@dataclass(frozen=True)
class Service:
    name: str
    contract: str
    monthly_fee: Decimal
    currency: str = "EUR"
    probe: Probe | None = None
    maintenance: tuple[WeeklyMaintenance, ...] = ()


@dataclass(frozen=True)
class Notifier:
    webhook: str | None = None
    command: tuple[str, ...] | None = None  # argv, never run through a shell
    timeout: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class Checkpointing:
    """``[agent.checkpoint]``: the signed heads the agent sends out (core/checkpoint.py)."""

    webhook: str  # where each signed checkpoint is POSTed (an auditor's or the provider's)
    key: Path | None = None  # absolute; None: where ``slawatch key init`` puts the agent's key
    interval: timedelta = timedelta(hours=1)
    timeout: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class AgentSettings:
    name: str = "agent"  # the ``source`` of every minute this agent records
    canary: str | None = None  # tcp://host:port or dns:hostname; fails -> minute unknown
    notifiers: tuple[Notifier, ...] = ()
    proxy: str | None = None  # for every probe without its own; None: $HTTPS_PROXY etc.
    tls_warn_days: int = 14  # warn when a probed certificate expires within this many days
    metrics: tuple[str, int] | None = None  # (host, port) of the metrics endpoint; None: off
    # Fleet mode: how far back the spool's outbox (minutes not yet forwarded to
    # PostgreSQL) reaches at most; older ones stay in the spool only, and are
    # forwarded again once the backlog is gone (docs/fleet-agent.md).
    spool_max_minutes: int = 7 * 24 * 60
    checkpoint: Checkpointing | None = None  # off unless [agent.checkpoint] is written


@dataclass(frozen=True)
class Party:
    """``[customer]`` or ``[provider]``: a party to the contract, as the claim letter names it."""

    name: str
    email: str | None = None  # the provider's: where the letter is addressed
    contact: str | None = None  # a person
    contract_ref: str | None = None  # the provider's reference for the contract
    apply_credit: str | None = None  # the customer's: how the credit is to be applied


@dataclass(frozen=True)
class Config:
    path: Path  # the config file
    storage_path: Path  # absolute: relative paths resolved against the config's folder
    calendars: Mapping[str, Calendar]
    contracts: Mapping[str, Contract]
    services: Mapping[str, Service]
    agent: AgentSettings = AgentSettings()
    # Fleet mode: the shared PostgreSQL database (``[storage] url``, or
    # ``$SLAWATCH_DATABASE_URL`` applied by the command line) instead of the file
    # at ``storage_path``; the agent then buffers in its SQLite spool first.
    storage_url: str | None = None
    spool_path: Path | None = None  # absolute; the agent's buffer when ``storage_url`` is set
    # What is valid but probably not meant (``where: warning: what`` lines), for
    # ``config check``: e.g. a service left on the default contract.
    warnings: tuple[str, ...] = ()
    # ``[cases] channels``: how a case may be opened (``case open --channel``).
    channels: tuple[str, ...] = ("email", "phone", "portal")
    customer: Party | None = None
    provider: Party | None = None

    def contract_for(self, service: str) -> Contract:
        return self.contracts[self.services[service].contract]

    def calendar_for(self, contract: Contract) -> Calendar | None:
        return self.calendars.get(contract.calendar) if contract.calendar else None

    def tls_warn_days_for(self, service: str) -> int:
        """How many days ahead a certificate of ``service`` warns: the probe's
        ``tls_warn_days``, else the agent's."""
        probe = self.services[service].probe
        if probe is not None and probe.tls_warn_days is not None:
            return probe.tls_warn_days
        return self.agent.tls_warn_days
