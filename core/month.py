"""Rules 1-8: one service's calendar month, from status bytes to the credit owed.

Minute data stays in ``bytes`` from end to end: sources are combined with
big-integer lane arithmetic (one byte per minute), windows are slice
assignments, counts are ``bytes.count`` and outages one regex scan. A month of
44,640 minutes takes well under 10 ms (``benchmarks/core_month.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from core.bands import band_credit_percent, credit_amount, select_band
from core.calendar import within_text
from core.cases import Case
from core.config import Basis, Contract, ReportWithin, Service
from core.durations import REPORT_WITHIN_READING
from core.money import format_money
from core.outages import Outage, build_outages, reporting_rule, run_table
from core.status import DEGRADED, DOWN, UNKNOWN, UP
from core.timeutil import YearMonth, to_minute
from core.windows import EFFECTIVE, EXCLUDED, Window, weekly_windows, window_codes

COVERAGE_THRESHOLD = Decimal(90)  # percent: a month measured less than this is flagged
MAX_SOURCES = 127  # lane arithmetic keeps per-minute counts inside one byte
_VALID = bytes(range(4))
_RECORDED = bytes([0, 1, 1, 1]) + bytes(252)
_SAYS_BAD = bytes([0, 0, 1, 1]) + bytes(252)  # degraded or down
_SAYS_DOWN = bytes([0, 0, 0, 1]) + bytes(252)


def combine_sources(sources: Iterable[bytes]) -> bytes:
    """Rule 3: one status per minute from several sources' bytes (aligned at offset 0).

    Down when strictly more than half of the sources with a verdict say down;
    else degraded when strictly more than half say degraded or down; else up;
    unknown when no source has a verdict. Shorter sources count as unknown past
    their end. Each byte lane of three big integers holds a per-minute count, so
    the whole span is combined with a handful of C-level integer operations.
    """
    items = [bytes(s) for s in sources]
    for s in items:
        if s.translate(None, _VALID):
            raise ValueError("status bytes must be 0 (unknown), 1 (up), 2 (degraded) or 3 (down)")
    if not items:
        return b""
    if len(items) == 1:
        return items[0]
    if len(items) > MAX_SOURCES:
        raise ValueError(f"at most {MAX_SOURCES} sources per service")
    length = max(len(s) for s in items)
    padded = [s.ljust(length, b"\0") for s in items]

    def lanes(table: bytes) -> int:
        return sum(int.from_bytes(s.translate(table), "big") for s in padded)

    n, bad, down = lanes(_RECORDED), lanes(_SAYS_BAD), lanes(_SAYS_DOWN)
    c127 = int.from_bytes(b"\x7f" * length, "big")
    c128 = c127 + int.from_bytes(b"\x01" * length, "big")
    # Per lane: n + 127 >= 128 iff n >= 1; 2k + 127 - n >= 128 iff 2k > n. No lane
    # leaves 0..254, so no carry or borrow crosses into its neighbour.
    status = (
        (((n + c127) & c128) >> 7)
        + (((2 * bad + c127 - n) & c128) >> 7)
        + (((2 * down + c127 - n) & c128) >> 7)
    )
    return status.to_bytes(length, "big")


def window_minutes(
    service: Service,
    contract: Contract,
    origin: int,
    statuses: bytes,
    windows: Sequence[Window],
) -> bytes:
    """Rules 2 and 8's input: combined statuses from epoch minute ``origin`` as window
    codes (``core.windows.window_codes``), ``EXCLUDED`` or-ed into every minute inside
    a one-off window or the service's weekly maintenance. ``.translate(EFFECTIVE)``
    gives the effective statuses; ``.translate(run_table(...))`` rule 8's marks."""
    top = origin + len(statuses)
    weekly = weekly_windows(service.maintenance, contract.timezone, origin, top)
    return window_codes(statuses, [*windows, *weekly], origin)


@dataclass(frozen=True)
class Tally:
    """Rules 4-5 over a run of effective minutes (a month, or a day of the detail strip)."""

    minutes: int
    excluded: int
    unknown: int
    up: int
    degraded: int
    downtime: int  # down, plus degraded when the contract counts it as down
    measured: int  # minutes - excluded (- unknown when the contract excludes them)

    @property
    def recorded(self) -> int:
        """Minutes outside the windows that some source gave a verdict for."""
        return self.minutes - self.excluded - self.unknown

    @property
    def coverage_percent(self) -> Decimal:
        """How much of the period that counts (not excluded) was recorded, 0-100."""
        return coverage_percent(self.recorded, self.minutes - self.excluded)


def coverage_percent(recorded: int, countable: int) -> Decimal:
    """``recorded`` of ``countable`` minutes as a percent (100 when nothing counts)."""
    if countable <= 0:
        return Decimal(100)
    return Decimal(recorded) * 100 / Decimal(countable)


def tally(effective: bytes, contract: Contract) -> Tally:
    excluded, unknown = effective.count(EXCLUDED), effective.count(UNKNOWN)
    degraded = effective.count(DEGRADED)
    unknown_out = unknown if contract.unknown_minutes == "excluded" else 0
    return Tally(
        minutes=len(effective),
        excluded=excluded,
        unknown=unknown,
        up=effective.count(UP),
        degraded=degraded,
        downtime=effective.count(DOWN) + (degraded if contract.degraded_is_down else 0),
        measured=len(effective) - excluded - unknown_out,
    )


@dataclass(frozen=True)
class Figures:
    """Rules 5-7 for one count of downtime minutes."""

    availability_percent: Decimal
    band: int
    credit_percent: Decimal
    credit_amount: Decimal


def figures(contract: Contract, monthly_fee: Decimal, measured: int, downtime: int) -> Figures:
    """Availability (unrounded), the band it falls in and the credit it earns."""
    if measured <= 0:
        availability = Decimal(100)
    else:
        # 28 significant digits: two availabilities of different whole minutes
        # differ by far more, so band edges are decided exactly.
        availability = Decimal(measured - downtime) * 100 / Decimal(measured)
    band = select_band(contract.bands, contract.basis, availability, downtime)
    percent = band_credit_percent(contract.bands[band], availability)
    return Figures(availability, band, percent, credit_amount(monthly_fee, percent))


@dataclass(frozen=True)
class MonthReport:
    service: str
    month: YearMonth
    timezone: str
    basis: Basis
    start_minute: int  # [start_minute, end_minute): the month in UTC epoch minutes
    end_minute: int
    minutes_in_month: int
    excluded_minutes: int
    unknown_minutes: int
    up_minutes: int
    degraded_minutes: int
    downtime_minutes: int
    measured_minutes: int
    availability_percent: Decimal
    band: int  # index into the contract's bands (people and JSON read band_number)
    credit_percent: Decimal
    credit_amount: Decimal
    reported_downtime_minutes: int
    claimable_availability_percent: Decimal
    claimable_band: int
    claimable_credit_percent: Decimal
    claimable_credit_amount: Decimal
    monthly_fee: Decimal
    currency: str
    outages: tuple[Outage, ...] = ()
    provisional: bool = False  # the month is not over yet (as of the ``now`` computed at)
    # For a provisional month, the countable and recorded minutes from the month's
    # start to ``now``: coverage is measured against the time that has passed, not
    # the whole month (a month two days old, probed every minute, is 100 % measured).
    elapsed: Tally | None = None

    report_within: ReportWithin | None = None  # the contract's, as configured (rule 8)
    report_channels: tuple[str, ...] | None = None  # None: a report by any channel counts

    @property
    def reporting_rule(self) -> str:
        """What makes an outage claimable, in words (report, letter): the delay is the
        config's reading of the contract's "promptly", and is said to be."""
        if self.report_within is None:
            return "reported outages only"
        return reporting_rule(self.report_within, self.report_channels)

    @property
    def recorded_minutes(self) -> int:
        """Minutes outside the windows with a verdict from some source."""
        return self.minutes_in_month - self.excluded_minutes - self.unknown_minutes

    @property
    def coverage_percent(self) -> Decimal:
        """How much of the month's countable minutes was recorded (rule 4 aside).

        For a month not yet over, of the countable minutes that have passed.
        """
        if self.elapsed is not None:
            return self.elapsed.coverage_percent
        return coverage_percent(
            self.recorded_minutes, self.minutes_in_month - self.excluded_minutes
        )

    @property
    def coverage_low(self) -> bool:
        """Recorded less than ``COVERAGE_THRESHOLD``: the figures rest mostly on rule 4."""
        return self.coverage_percent < COVERAGE_THRESHOLD

    @property
    def unreported_outages(self) -> tuple[Outage, ...]:
        return tuple(o for o in self.outages if not o.reported)

    @property
    def band_number(self) -> int:
        """The band as people count it, from 1 (the top band): JSON, letter, dashboard."""
        return self.band + 1

    @property
    def claimable_band_number(self) -> int:
        return self.claimable_band + 1

    def to_json(self) -> dict[str, Any]:
        """The ``report --format json`` object: numbers as numbers, money as text."""
        return {
            "service": self.service,
            "month": str(self.month),
            "timezone": self.timezone,
            "basis": self.basis,
            "minutes_in_month": self.minutes_in_month,
            "excluded_minutes": self.excluded_minutes,
            "unknown_minutes": self.unknown_minutes,
            "up_minutes": self.up_minutes,
            "downtime_minutes": self.downtime_minutes,
            "degraded_minutes": self.degraded_minutes,
            "measured_minutes": self.measured_minutes,
            "availability_percent": float(self.availability_percent),
            "band": self.band_number,
            "credit_percent": float(self.credit_percent),
            "credit_amount": format_money(self.credit_amount),
            "reported_downtime_minutes": self.reported_downtime_minutes,
            "claimable_availability_percent": float(self.claimable_availability_percent),
            "claimable_band": self.claimable_band_number,
            "claimable_credit_percent": float(self.claimable_credit_percent),
            "claimable_credit_amount": format_money(self.claimable_credit_amount),
            "monthly_fee": format_money(self.monthly_fee),
            "currency": self.currency,
            "outage_count": len(self.outages),
            "unreported_outage_count": len(self.unreported_outages),
            "recorded_minutes": self.recorded_minutes,
            "coverage_percent": float(self.coverage_percent),
            "coverage_low": self.coverage_low,
            "provisional": self.provisional,
            "report_within": (
                None if self.report_within is None else within_text(self.report_within)
            ),
            "report_within_reading": REPORT_WITHIN_READING,
            "report_channels": None if self.report_channels is None else list(self.report_channels),
        }


@dataclass(frozen=True)
class MonthDay:
    """One local day of a month, counted by the month's rules (rules 2-5)."""

    date: date  # in the contract's time zone
    start: int  # epoch minutes: the local midnight it starts at
    end: int  # exclusive: the next local midnight, or ``until`` when that is earlier
    tally: Tally


@dataclass(frozen=True)
class MonthEvidence:
    """What rules 1-8 read of one service and month (``compute_month``, ``month_days``).

    ``sources`` maps each source to one status byte per minute from epoch minute
    ``span_start``; the bytes may begin before the month (an outage that began
    earlier keeps its true start) and run past its end. ``windows`` are the
    one-off maintenance windows and exclusions; the service's weekly maintenance
    is expanded here in the contract's time zone.
    """

    service: Service
    contract: Contract
    month: YearMonth
    span_start: int
    sources: Mapping[str, bytes]
    windows: Sequence[Window]

    def effective(self) -> tuple[int, bytes]:
        """Rules 2-3 over the span and the whole month: (origin, window codes from it)."""
        m_start, m_end = self.month.bounds(self.contract.timezone)
        origin = min(self.span_start, m_start)
        combined = bytearray(combine_sources(self.sources.values()))
        statuses = bytearray(self.span_start - origin) + combined
        if len(statuses) < m_end - origin:
            statuses.extend(bytes(m_end - origin - len(statuses)))
        return origin, window_minutes(
            self.service, self.contract, origin, bytes(statuses), self.windows
        )

    def horizon(self) -> int:
        """The epoch minute after the last minute any source recorded (or the span start)."""
        recorded = (len(data.rstrip(b"\0")) for data in self.sources.values())
        return self.span_start + max(recorded, default=0)

    def days(self, until: int | None = None) -> tuple[MonthDay, ...]:
        """The month day by day (the detail screen's strip, the claim letter's table).

        A day's tally is the month's over that day, so the days add up to the
        month. ``until`` (an epoch minute, e.g. now) stops the count there: a
        later day has ``end == start`` and an empty tally.
        """
        contract, month = self.contract, self.month
        tz = contract.timezone
        m_end = month.bounds(tz)[1]
        origin, codes = self.effective()
        effective = codes.translate(EFFECTIVE)
        stop = m_end if until is None else min(m_end, until)
        out = []
        day = month.start(tz)
        while (a := to_minute(day)) < m_end:
            nxt = day + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
            b = max(a, min(to_minute(nxt), stop))
            counted = tally(effective[a - origin : b - origin], contract)
            out.append(MonthDay(day.date(), a, b, counted))
            day = nxt
        return tuple(out)

    def report(self, cases: Sequence[Case], now: int | None = None) -> MonthReport:
        """Rules 1-8. ``now`` (an epoch minute) marks a month not yet over as provisional
        and an outage still running at the end of the records as ongoing; without it
        neither is said."""
        service, contract, month = self.service, self.contract, self.month
        m_start, m_end = month.bounds(contract.timezone)
        origin, codes = self.effective()
        horizon = self.horizon()

        counted = tally(codes[m_start - origin : m_end - origin].translate(EFFECTIVE), contract)
        provisional = now is not None and now < m_end
        elapsed = None
        if now is not None and m_start <= now < m_end:
            elapsed = tally(codes[m_start - origin : now - origin].translate(EFFECTIVE), contract)

        outages = build_outages(
            service=service.name,
            marks=codes.translate(run_table(contract.degraded_is_down)),
            origin=origin,
            month=(m_start, m_end),
            cases=cases,
            report_within=contract.report_within,
            horizon=horizon,
            now=now,
            report_channels=contract.report_channels,
        )
        reported = sum(o.minutes for o in outages if o.reported)
        measured_fig = figures(contract, service.monthly_fee, counted.measured, counted.downtime)
        claimable = figures(contract, service.monthly_fee, counted.measured, reported)
        return MonthReport(
            service=service.name,
            month=month,
            timezone=contract.timezone.key,
            basis=contract.basis,
            start_minute=m_start,
            end_minute=m_end,
            minutes_in_month=counted.minutes,
            excluded_minutes=counted.excluded,
            unknown_minutes=counted.unknown,
            up_minutes=counted.up,
            degraded_minutes=counted.degraded,
            downtime_minutes=counted.downtime,
            measured_minutes=counted.measured,
            availability_percent=measured_fig.availability_percent,
            band=measured_fig.band,
            credit_percent=measured_fig.credit_percent,
            credit_amount=measured_fig.credit_amount,
            reported_downtime_minutes=reported,
            claimable_availability_percent=claimable.availability_percent,
            claimable_band=claimable.band,
            claimable_credit_percent=claimable.credit_percent,
            claimable_credit_amount=claimable.credit_amount,
            monthly_fee=service.monthly_fee,
            currency=service.currency,
            outages=outages,
            provisional=provisional,
            elapsed=elapsed,
            report_within=contract.report_within,
            report_channels=contract.report_channels,
        )


def month_days(
    *,
    service: Service,
    contract: Contract,
    month: YearMonth,
    span_start: int,
    sources: Mapping[str, bytes],
    windows: Sequence[Window],
    until: int | None = None,
) -> tuple[MonthDay, ...]:
    """The month day by day: ``MonthEvidence(...).days(until)``, the same inputs as
    ``compute_month``."""
    return MonthEvidence(service, contract, month, span_start, sources, windows).days(until)


def compute_month(
    *,
    service: Service,
    contract: Contract,
    month: YearMonth,
    span_start: int,
    sources: Mapping[str, bytes],
    windows: Sequence[Window],
    cases: Sequence[Case],
    now: int | None = None,
) -> MonthReport:
    """Rules 1-8 for one service and month: ``MonthEvidence(...).report(cases, now)``."""
    return MonthEvidence(service, contract, month, span_start, sources, windows).report(cases, now)
