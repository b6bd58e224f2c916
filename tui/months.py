"""The month pass: every service's month figures, recomputed only where the data changed.

A month figure (availability, band, budget, pending credits, reportable
outages) depends on the service's minutes, its cases and its windows. The
pass reads the last hour of recorded minutes of every service (which the
sparkline needs anyway), all cases and all windows, in one query each; a
service whose inputs are the same as last time keeps the figures it had, so
``reads.reports.overview`` runs only for the services that changed.

The last hour is where the agent writes. A write further back (a CSV import,
a writer catching up after a long storage outage, a credit settled) is not
seen this way: ``StoreSource`` watches for those with ``Store.change_marks``
and asks for a full pass at its next refresh. Every ``FULL_EVERY`` the pass
recomputes everything anyway, as it does when the month turns and after a
write of the dashboard's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.bands import downtime_budget
from core.cases import Case
from core.config import Config
from core.month import MonthReport
from core.outages import Outage
from core.status import name_of
from core.timeutil import YearMonth, to_minute
from core.tls import soonest
from core.vantage import Probe
from core.windows import Window
from reads.fleet import latest_probes
from reads.reports import PENDING_MONTHS, overview
from store import ProbeState, Store
from tui.days import day_cells
from tui.view import CreditRow, DayCell, ServiceRow, Snapshot

FULL_EVERY = timedelta(minutes=5)
RECENT = 60  # minutes: the sparkline's hour, and where fresh writes are looked for
_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Recent:
    """The recorded minutes of [start, end) with their latency (None: none measured)."""

    start: int
    end: int
    minutes: tuple[tuple[int, int | None], ...]

    def hour(self) -> tuple[int | None, ...]:
        """One latency per minute of the window, None where nothing was recorded."""
        out: list[int | None] = [None] * (self.end - self.start)
        for minute, latency in self.minutes:
            if self.start <= minute < self.end:
                out[minute - self.start] = latency
        return tuple(out)


def recent_changed(old: Recent, new: Recent) -> bool:
    """Whether a minute was written since ``old`` was read: a minute at or after
    its end, or a difference where the two windows overlap."""
    if any(minute >= old.end for minute, _ in new.minutes):
        return True
    lo = max(old.start, new.start)
    return [m for m in old.minutes if lo <= m[0]] != [m for m in new.minutes if lo <= m[0]]


@dataclass(frozen=True)
class Inputs:
    """What one service's month figures were computed from."""

    recent: Recent
    cases: tuple[Case, ...]
    windows: tuple[Window, ...]


def changed(old: Inputs | None, new: Inputs) -> bool:
    if old is None or old.cases != new.cases or old.windows != new.windows:
        return True
    return recent_changed(old.recent, new.recent)


@dataclass(frozen=True)
class Figures:
    """One service's share of the month pass."""

    availability: Decimal | None
    band_credit: Decimal | None
    budget_minutes: int | None
    coverage: Decimal
    coverage_low: bool
    credits: tuple[CreditRow, ...]
    unreported: tuple[Outage, ...]
    recorded_until: datetime | None = None  # the end of its newest recorded minute
    days: tuple[DayCell, ...] = ()  # the month so far, day by day
    band: int | None = None  # numbered from 1
    outages: tuple[Outage, ...] = ()  # the month's outages
    month: str = ""


class MonthPass:
    """Runs the pass on a read-only store it is given and keeps what it found.

    ``recomputed`` is how many services the last run handed to ``overview``.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.recomputed = 0
        self._kept: dict[str, tuple[Inputs, Figures]] = {}
        self._full_at: datetime | None = None
        self._full_of: tuple[YearMonth, ...] = ()

    def _full_due(self, now: datetime) -> bool:
        months = tuple(YearMonth.of(now, c.timezone) for c in self.config.contracts.values())
        return (
            self._full_at is None
            or now - self._full_at >= FULL_EVERY
            or now < self._full_at
            or months != self._full_of
        )

    async def run(self, store: Store, now: datetime, *, full: bool = False) -> Snapshot:
        """Every service's row, credits and reportable outages as of ``now``;
        ``overview`` runs for the services whose inputs changed (all when ``full``)."""
        names = list(self.config.services)
        end = to_minute(now)
        recent = await store.latencies_of(names, end - RECENT, end)  # one query for all
        cases = _by_service(await store.cases())
        oldest = min(
            (YearMonth.of(now, c.timezone) for c in self.config.contracts.values()),
            default=YearMonth.of(now, _UTC),
        )
        for _ in range(PENDING_MONTHS):
            oldest = oldest.prev()
        windows = await store.all_windows(oldest.bounds(_UTC)[0] - 1440, end + 1)
        inputs = {
            name: Inputs(
                Recent(end - RECENT, end, tuple(recent.get(name, ()))),
                tuple(cases.get(name, ())),
                tuple(windows.get(name, ())),
            )
            for name in names
        }
        if full or self._full_due(now):
            dirty = names
            self._full_at = now
            self._full_of = tuple(
                YearMonth.of(now, c.timezone) for c in self.config.contracts.values()
            )
        else:
            dirty = [n for n in names if changed(self._kept.get(n, (None,))[0], inputs[n])]
        self.recomputed = len(dirty)
        for name, figures in (await self._figures(store, dirty, now)).items():
            self._kept[name] = (inputs[name], figures)
        probes = by_service(await latest_probes(store))
        return self._snapshot(names, inputs, probes, now)

    async def _figures(
        self, store: Store, names: Sequence[str], now: datetime
    ) -> dict[str, Figures]:
        if not names:
            return {}
        subset = replace(self.config, services={n: self.config.services[n] for n in names})
        view = await overview(store, subset, now, days=True)
        credits: dict[str, list[CreditRow]] = {n: [] for n in names}
        for c in view.pending_credits:
            credits[c.service].append(
                CreditRow(
                    service=c.service,
                    month=str(c.month),
                    credit_percent=c.credit_percent,
                    credit_amount=c.credit_amount,
                    claimable_amount=c.claimable_credit_amount,
                    currency=c.currency,
                    running=not c.month_complete,
                )
            )
        outages: dict[str, list[Outage]] = {n: [] for n in names}
        for o in view.reportable_outages:
            outages[o.service].append(o)
        until = {s.name: s.recorded_until for s in view.services}
        return {
            name: replace(
                self._month_figures(name, view.month_reports[name], credits[name], outages[name]),
                recorded_until=until.get(name),
                days=day_cells(view.month_days.get(name, ())),
            )
            for name in names
        }

    def _month_figures(
        self,
        name: str,
        report: MonthReport,
        credits: Iterable[CreditRow],
        outages: Iterable[Outage],
    ) -> Figures:
        contract = self.config.contract_for(name)
        recorded = report.downtime_minutes + report.up_minutes + report.degraded_minutes
        return Figures(
            availability=report.availability_percent if recorded else None,
            band_credit=report.credit_percent,
            budget_minutes=downtime_budget(
                contract,
                report.minutes_in_month - report.excluded_minutes,
                report.downtime_minutes,
                report.availability_percent,
            ),
            coverage=report.coverage_percent,
            coverage_low=report.coverage_low,
            credits=tuple(credits),
            unreported=tuple(outages),
            outages=report.outages,
            month=str(report.month),
            band=report.band_number,
        )

    def _snapshot(
        self,
        names: Sequence[str],
        inputs: dict[str, Inputs],
        probes: dict[str, list[ProbeState]],
        now: datetime,
    ) -> Snapshot:
        rows = []
        credits: list[CreditRow] = []
        unreported: dict[str, Outage] = {}
        month_outages: list[Outage] = []
        for name in names:
            figures = self._kept[name][1]
            row = replace(
                skeleton_row(self.config, name),
                latency_hour=inputs[name].recent.hour(),
                availability=figures.availability,
                band_credit=figures.band_credit,
                budget_minutes=figures.budget_minutes,
                coverage=figures.coverage,
                coverage_low=figures.coverage_low,
                recorded_until=figures.recorded_until,
                days=figures.days,
                month=figures.month,
                band=figures.band,
            )
            rows.append(live(row, probes.get(name, ()), now))
            credits += figures.credits
            month_outages += figures.outages
            unreported.update((o.id, o) for o in figures.unreported)  # may span two months
        ordered = sorted(unreported.values(), key=lambda o: (o.start, o.service))
        timeline = sorted(month_outages, key=lambda o: (not o.ongoing, -o.start.timestamp()))
        return Snapshot(tuple(rows), (), tuple(credits), tuple(ordered), tuple(timeline))


def skeleton_row(config: Config, name: str) -> ServiceRow:
    """A service with nothing known yet: what the first paint shows."""
    svc = config.services[name]
    return ServiceRow(
        name=name,
        state="unknown",
        last_probe_at=None,
        latency_ms=None,
        probe_interval_s=svc.probe.cycle.total_seconds() if svc.probe else 60.0,
        latency_hour=(),
        availability=None,
        band_credit=None,
        budget_minutes=None,
        contract=svc.contract,
        tls_warn_days=config.tls_warn_days_for(name),
    )


def by_service(states: Sequence[ProbeState]) -> dict[str, list[ProbeState]]:
    """Each service's latest probes, one per source."""
    out: dict[str, list[ProbeState]] = {}
    for state in states:
        out.setdefault(state.service, []).append(state)
    return out


def live(row: ServiceRow, probes: Sequence[ProbeState], now: datetime) -> ServiceRow:
    """``row`` with its live fields from its sources' latest probes: the state is
    rule 3 across the agents (``core.vantage``), the rest the newest probe's."""
    if not probes:
        return row
    votes = tuple(Probe(p.source, p.status, p.at) for p in probes)
    with_votes = replace(row, votes=votes)
    state = with_votes.live_state(now) if len(votes) > 1 else name_of(max(probes, key=_at).status)
    # Latency and error of the newest probe that agrees with the verdict: an
    # outvoted agent's error is shown on the detail screen, not as the service's.
    agreeing = [p for p in probes if name_of(p.status) == state] or list(probes)
    shown = max(agreeing, key=_at)
    return replace(
        with_votes,
        state=state,
        last_probe_at=max(p.at for p in probes),
        latency_ms=shown.latency_ms,
        error=shown.error,
        tls_expires_at=soonest(p.tls_expires_at for p in probes),
    )


def _at(p: ProbeState) -> datetime:
    return p.at


def _by_service(cases: Sequence[Case]) -> dict[str, list[Case]]:
    out: dict[str, list[Case]] = {}
    for case in cases:
        out.setdefault(case.service, []).append(case)
    return out
