"""Rules 1-8 at the contract's edges: band table, month lengths, DST, rounding, outages."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from core.cases import Case
from core.config import Config
from core.month import MonthReport, compute_month
from core.status import DEGRADED, DOWN, UNKNOWN, UP
from core.timeutil import YearMonth, to_minute
from core.windows import Window

ConfigFactory = Callable[..., Config]
NOV = YearMonth(2026, 11)  # 30 days in UTC: 43,200 minutes


def month_report(
    cfg: Config,
    month: YearMonth,
    down: int = 0,
    *,
    fill: int = UP,
    windows: Sequence[Window] = (),
    cases: Sequence[Case] = (),
) -> MonthReport:
    """A month that is ``fill`` everywhere but ``down`` minutes of DOWN at its start."""
    contract = cfg.contract_for("portal")
    start, end = month.bounds(contract.timezone)
    data = bytes([DOWN]) * down + bytes([fill]) * (end - start - down)
    return compute_month(
        service=cfg.services["portal"],
        contract=contract,
        month=month,
        span_start=start,
        sources={"agent": data},
        windows=windows,
        cases=cases,
    )


@pytest.mark.parametrize(
    ("down", "availability", "credit", "amount"),
    [
        (0, "100", "0", "0.00"),
        (216, "99.5", "0", "0.00"),
        (217, "99.4976851852", "25", "250.00"),
        (2160, "95", "25", "250.00"),
        (2161, "94.9976851852", "50", "500.00"),
        (21600, "50", "50", "500.00"),
        (21601, "49.9976851852", "50.0023148148", "500.02"),  # 100 - availability, exact
        (43200, "0", "100", "1000.00"),
    ],
)
def test_band_table_edges_on_a_30_day_month(
    make_config: ConfigFactory, down: int, availability: str, credit: str, amount: str
) -> None:
    report = month_report(make_config(), NOV, down)
    assert report.minutes_in_month == 43_200
    assert report.downtime_minutes == down
    assert round(report.availability_percent, 10) == Decimal(availability)
    assert round(report.credit_percent, 10) == Decimal(credit)
    assert report.credit_amount == Decimal(amount)


@pytest.mark.parametrize("basis", ["percent", "minutes"])
@pytest.mark.parametrize(
    ("down", "credit"), [(216, "0"), (217, "25"), (2160, "25"), (2161, "50"), (21600, "50")]
)
def test_both_bases_agree_on_a_30_day_month(
    make_config: ConfigFactory, basis: str, down: int, credit: str
) -> None:
    assert month_report(make_config(basis=basis), NOV, down).credit_percent == Decimal(credit)


def test_minutes_basis_disagrees_with_percent_basis_on_28_and_31_day_months(
    make_config: ConfigFactory,
) -> None:
    feb, jan = YearMonth(2026, 2), YearMonth(2026, 1)
    # 28 days (40,320 min): 216 down is 99.4643 %, below 99.5, but within 216 minutes.
    assert month_report(make_config(), feb, 216).minutes_in_month == 40_320
    assert month_report(make_config(), feb, 216).credit_percent == 25
    assert month_report(make_config(basis="minutes"), feb, 216).credit_percent == 0
    # 31 days (44,640 min): 217 down is 99.5139 %, above 99.5, but over 216 minutes.
    assert month_report(make_config(), jan, 217).minutes_in_month == 44_640
    assert month_report(make_config(), jan, 217).credit_percent == 0
    assert month_report(make_config(basis="minutes"), jan, 217).credit_percent == 25
    # The lowest band's credit is still 100 - availability on the minutes basis,
    # exactly (rules 6 and 7: nothing is rounded before the cent).
    report = month_report(make_config(basis="minutes"), jan, 21_601)
    assert report.band == 3
    assert report.credit_percent == 100 - report.availability_percent


def test_band_compared_unrounded(make_config: ConfigFactory) -> None:
    cfg = make_config(
        extra="bands = [{ min_availability = 99.4999, credit_percent = 0 },"
        " { min_availability = 0, credit_percent = 10 }]"
    )
    # 43,200 minutes: 21 down = 99.951 %, 99.4999 % would need 216.0432 minutes.
    assert month_report(cfg, NOV, 216).credit_percent == 0
    assert month_report(cfg, NOV, 217).credit_percent == 10


def test_credit_rounds_half_up_at_the_cent(make_config: ConfigFactory) -> None:
    # 1000.10 x 25 % = 250.025: half-up gives .03 where banker's rounding gives .02.
    report = month_report(make_config(fee="1000.10"), NOV, 300)
    assert report.credit_amount == Decimal("250.03")
    assert report.to_json()["credit_amount"] == "250.03"
    # 0.02 x 25 % = 0.005 -> 0.01
    assert month_report(make_config(fee="0.02"), NOV, 300).credit_amount == Decimal("0.01")


@pytest.mark.parametrize(
    ("tz", "month", "minutes"),
    [
        ("America/Los_Angeles", YearMonth(2026, 3), 44_640 - 60),
        ("America/Los_Angeles", YearMonth(2026, 11), 43_200 + 60),
        ("Europe/Paris", YearMonth(2026, 3), 44_640 - 60),
        ("Europe/Paris", YearMonth(2026, 10), 44_640 + 60),
        ("Europe/Paris", YearMonth(2026, 6), 43_200),
    ],
)
def test_dst_months_have_their_real_length(
    make_config: ConfigFactory, tz: str, month: YearMonth, minutes: int
) -> None:
    report = month_report(make_config(tz=tz), month, 216)
    assert report.minutes_in_month == minutes
    assert report.measured_minutes == minutes
    expected = Decimal(minutes - 216) * 100 / Decimal(minutes)
    assert report.availability_percent == expected
    local_midnight = datetime(month.year, month.month, 1, tzinfo=ZoneInfo(tz))
    assert report.start_minute == to_minute(local_midnight)


def test_dst_maintenance_window_is_real_minutes(make_config: ConfigFactory) -> None:
    # Paris leaves summer time at 03:00 on Sunday 25 October 2026: Saturday's
    # 22:00-04:00 window lasts seven real hours; the others six.
    cfg = make_config(
        tz="Europe/Paris",
        maintenance='[[service.maintenance]]\nday = "sat"\nfrom = "22:00"\nto = "04:00"',
    )
    report = month_report(cfg, YearMonth(2026, 10))
    # Saturdays 3, 10, 17: six hours; the 24th: seven; the 31st's runs into November.
    assert report.excluded_minutes == 6 * 60 * 3 + 7 * 60 + 2 * 60
    assert report.measured_minutes == 44_700 - report.excluded_minutes


def test_excluded_minutes_leave_numerator_and_denominator(make_config: ConfigFactory) -> None:
    cfg = make_config()
    start, _ = NOV.bounds(cfg.contract_for("portal").timezone)
    windows = [
        Window(start, start + 100, "maintenance", "upgrade"),
        Window(start + 50, start + 300, "exclusion", "upstream"),
    ]
    report = month_report(cfg, NOV, 400, windows=windows)
    assert report.excluded_minutes == 300
    assert report.downtime_minutes == 100
    assert report.measured_minutes == 43_200 - 300
    assert report.outages[0].minutes == 100
    # The failure began at midnight, inside the windows: the outage starts then.
    assert report.outages[0].start == datetime(2026, 11, 1, 0, 0, tzinfo=UTC)
    assert report.outages[0].end == datetime(2026, 11, 1, 6, 40, tzinfo=UTC)


def test_unknown_and_degraded_policies(make_config: ConfigFactory) -> None:
    unknown = month_report(make_config(), NOV, 100, fill=UNKNOWN)
    assert (unknown.unknown_minutes, unknown.measured_minutes) == (43_100, 43_200)
    excluded = month_report(
        make_config(extra='unknown_minutes = "excluded"'), NOV, 100, fill=UNKNOWN
    )
    assert (excluded.unknown_minutes, excluded.measured_minutes) == (43_100, 100)
    assert excluded.availability_percent == 0
    degraded = month_report(make_config(), NOV, fill=DEGRADED)
    assert (degraded.degraded_minutes, degraded.downtime_minutes) == (43_200, 0)
    assert degraded.outages == ()
    as_down = month_report(make_config(extra="degraded_is_down = true"), NOV, fill=DEGRADED)
    assert as_down.downtime_minutes == 43_200
    assert len(as_down.outages) == 1


def test_all_excluded_month_is_100_percent(make_config: ConfigFactory) -> None:
    cfg = make_config()
    start, end = NOV.bounds(cfg.contract_for("portal").timezone)
    report = month_report(cfg, NOV, 500, windows=[Window(start, end, "exclusion", "x")])
    assert report.measured_minutes == 0
    assert report.availability_percent == 100
    assert report.credit_amount == 0


def _bytes_with(length: int, down: Sequence[tuple[int, int]]) -> bytes:
    data = bytearray([UP]) * length
    for a, b in down:
        data[a:b] = bytes([DOWN]) * (b - a)
    return bytes(data)


def test_outage_crossing_a_month_boundary_counts_in_each_month(make_config: ConfigFactory) -> None:
    cfg = make_config()
    contract, service = cfg.contract_for("portal"), cfg.services["portal"]
    oct_start, _ = YearMonth(2026, 10).bounds(contract.timezone)
    _, nov_end = NOV.bounds(contract.timezone)
    boundary = to_minute(datetime(2026, 11, 1, tzinfo=UTC))
    data = _bytes_with(
        nov_end - oct_start, [(boundary - oct_start - 60, boundary - oct_start + 90)]
    )
    reports = {
        m: compute_month(
            service=service,
            contract=contract,
            month=m,
            span_start=oct_start,
            sources={"agent": data},
            windows=[],
            cases=[],
        )
        for m in (YearMonth(2026, 10), NOV)
    }
    oct_outage, nov_outage = reports[YearMonth(2026, 10)].outages[0], reports[NOV].outages[0]
    assert oct_outage.id == nov_outage.id == "portal-20261031T2300Z"
    assert oct_outage.start == nov_outage.start == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert oct_outage.end == nov_outage.end == datetime(2026, 11, 1, 1, 30, tzinfo=UTC)
    assert (oct_outage.minutes, nov_outage.minutes) == (60, 90)
    assert reports[NOV].downtime_minutes == 90


def test_outages_are_maximal_runs_bridging_exclusions(make_config: ConfigFactory) -> None:
    cfg = make_config()
    start, end = NOV.bounds(cfg.contract_for("portal").timezone)
    data = _bytes_with(end - start, [(10, 20), (25, 30), (31, 33), (100, 101)])
    # minutes 20-25 are up but excluded: they bridge; minute 30 is up: it splits.
    windows = [Window(start + 18, start + 26, "exclusion", "upstream")]
    report = compute_month(
        service=cfg.services["portal"],
        contract=cfg.contract_for("portal"),
        month=NOV,
        span_start=start,
        sources={"agent": data},
        windows=windows,
        cases=[],
    )
    spans = [(o.start.minute, o.end.minute, o.minutes) for o in report.outages]
    assert spans == [(10, 30, 8 + 4), (31, 33, 2), (40, 41, 1)]
    assert report.downtime_minutes == sum(o.minutes for o in report.outages)


def test_reported_outages_make_the_claimable_figures(make_config: ConfigFactory) -> None:
    cfg = make_config()
    start, end = NOV.bounds(cfg.contract_for("portal").timezone)
    # Three outages of 300 minutes each, on the 2nd, 10th and 20th.
    runs = [(1440 * d, 1440 * d + 300) for d in (1, 9, 19)]
    data = _bytes_with(end - start, runs)
    first = datetime(2026, 11, 2, tzinfo=UTC)
    cases = [
        # Opened exactly report_within (72 h) after the first outage began: reported.
        Case(1, "portal", "critical", "down", first + timedelta(hours=72)),
        # Opened before the second outage began and not linked: does not report it.
        Case(2, "portal", "high", "slow", datetime(2026, 11, 9, 23, 59, tzinfo=UTC)),
        # Linked to the third outage's span, opened much later: reported.
        Case(
            3,
            "portal",
            "high",
            "late",
            datetime(2026, 11, 28, tzinfo=UTC),
            links=((start + runs[2][0] + 10, start + runs[2][0] + 11),),
        ),
        # Another service's case never reports this one's outage.
        Case(4, "crm", "high", "other", datetime(2026, 11, 10, 0, 1, tzinfo=UTC)),
    ]
    report = compute_month(
        service=cfg.services["portal"],
        contract=cfg.contract_for("portal"),
        month=NOV,
        span_start=start,
        sources={"agent": data},
        windows=[],
        cases=cases,
    )
    assert [(o.reported, o.case_id) for o in report.outages] == [
        (True, 1),
        (False, None),
        (True, 3),
    ]
    assert report.outages[1].report_by == datetime(2026, 11, 13, tzinfo=UTC)
    assert report.downtime_minutes == 900
    assert report.reported_downtime_minutes == 600
    assert report.credit_percent == 25  # 900 down: 97.9 %
    assert report.claimable_credit_percent == 25
    assert report.claimable_availability_percent == Decimal(43_200 - 600) * 100 / Decimal(43_200)
    too_late = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(hours=72, minutes=1)
    late = [Case(5, "portal", "high", "too late", too_late)]
    unreported = month_report(cfg, NOV, 300, cases=late)
    assert unreported.reported_downtime_minutes == 0
    assert unreported.claimable_credit_amount == 0


def test_report_json_has_the_interface_keys(make_config: ConfigFactory) -> None:
    data = month_report(make_config(), NOV, 300).to_json()
    keys = [
        *("service", "month", "timezone", "basis", "minutes_in_month", "excluded_minutes"),
        *("unknown_minutes", "downtime_minutes", "degraded_minutes", "measured_minutes"),
        *("availability_percent", "credit_percent", "credit_amount", "reported_downtime_minutes"),
        *("claimable_availability_percent", "claimable_credit_percent"),
        *("claimable_credit_amount", "monthly_fee", "currency"),
    ]
    assert set(keys) <= set(data)
    assert data["month"] == "2026-11"
    assert isinstance(data["availability_percent"], float)
    assert isinstance(data["credit_percent"], float)
    assert (data["credit_amount"], data["monthly_fee"], data["currency"]) == (
        "250.00",
        "1000.00",
        "EUR",
    )
    assert data["claimable_credit_amount"] == "0.00"


def test_span_may_start_before_the_month_and_run_past_it(make_config: ConfigFactory) -> None:
    cfg = make_config()
    contract = cfg.contract_for("portal")
    start, end = NOV.bounds(contract.timezone)
    data = _bytes_with(end - start + 2000, [(0, 1000), (1000 + 43_200, 1000 + 43_200 + 5)])
    report = compute_month(
        service=cfg.services["portal"],
        contract=contract,
        month=NOV,
        span_start=start - 1000,
        sources={"agent": data},
        windows=[],
        cases=[],
    )
    assert report.downtime_minutes == 0
    assert report.outages == ()


def _compute(
    cfg: Config, data: bytes, windows: Sequence[Window] = (), cases: Sequence[Case] = ()
) -> MonthReport:
    contract = cfg.contract_for("portal")
    return compute_month(
        service=cfg.services["portal"],
        contract=contract,
        month=NOV,
        span_start=NOV.bounds(contract.timezone)[0],
        sources={"agent": data},
        windows=windows,
        cases=cases,
    )


SAT_MAINTENANCE = '[[service.maintenance]]\nday = "sat"\nfrom = "22:00"\nto = "04:00"'


def test_failure_starting_inside_weekly_maintenance_starts_when_it_began(
    make_config: ConfigFactory,
) -> None:
    # Saturday 7 November 2026, maintenance 22:00-04:00 UTC. The service fails at
    # 23:00 and stays down until 05:30 on Sunday: one outage from 23:00 to 05:30,
    # of which only 04:00-05:30 (90 minutes) is downtime.
    cfg = make_config(maintenance=SAT_MAINTENANCE)
    start, end = NOV.bounds(cfg.contract_for("portal").timezone)
    fail = to_minute(datetime(2026, 11, 7, 23, tzinfo=UTC)) - start
    back = to_minute(datetime(2026, 11, 8, 5, 30, tzinfo=UTC)) - start
    data = _bytes_with(end - start, [(fail, back)])
    # A case opened at 23:10, during the maintenance, reports it (72 h from 23:00).
    during = Case(1, "portal", "critical", "down", datetime(2026, 11, 7, 23, 10, tzinfo=UTC))
    report = _compute(cfg, data, cases=[during])
    (outage,) = report.outages
    assert outage.start == datetime(2026, 11, 7, 23, tzinfo=UTC)
    assert outage.end == datetime(2026, 11, 8, 5, 30, tzinfo=UTC)
    assert outage.id == "portal-20261107T2300Z"
    assert outage.minutes == 90
    assert (outage.reported, outage.case_id) == (True, 1)
    assert outage.report_by == datetime(2026, 11, 10, 23, tzinfo=UTC)
    assert report.downtime_minutes == report.reported_downtime_minutes == 90
    # Opened before the failure began, the same case reports nothing.
    early = Case(2, "portal", "critical", "early", datetime(2026, 11, 7, 22, 59, tzinfo=UTC))
    assert not _compute(cfg, data, cases=[early]).outages[0].reported


def test_failure_starting_inside_an_exclusion_starts_when_it_began(
    make_config: ConfigFactory,
) -> None:
    # Exclusion 10:00-12:00 on 3 November (upstream hosting); down 11:00-12:45.
    cfg = make_config()
    start, end = NOV.bounds(cfg.contract_for("portal").timezone)
    at = to_minute(datetime(2026, 11, 3, 10, tzinfo=UTC))
    window = Window(at, at + 120, "exclusion", "upstream hosting")
    data = _bytes_with(end - start, [(at + 60 - start, at + 165 - start)])
    case = Case(7, "portal", "high", "down", datetime(2026, 11, 3, 11, 30, tzinfo=UTC))
    report = _compute(cfg, data, [window], [case])
    (outage,) = report.outages
    assert (outage.start, outage.end) == (
        datetime(2026, 11, 3, 11, tzinfo=UTC),
        datetime(2026, 11, 3, 12, 45, tzinfo=UTC),
    )
    assert (outage.minutes, outage.case_id) == (45, 7)
    assert report.excluded_minutes == 120
    assert report.downtime_minutes == report.reported_downtime_minutes == 45
    assert report.claimable_credit_amount == report.credit_amount


def test_a_run_wholly_inside_windows_is_no_outage(make_config: ConfigFactory) -> None:
    # Down 23:00-03:00 inside the Saturday window, and 10:00-11:00 inside an
    # exclusion that bridges into the maintenance: neither is an outage.
    cfg = make_config(maintenance=SAT_MAINTENANCE)
    start, end = NOV.bounds(cfg.contract_for("portal").timezone)
    sat = to_minute(datetime(2026, 11, 7, 22, tzinfo=UTC)) - start
    excl = to_minute(datetime(2026, 11, 14, 9, tzinfo=UTC))
    runs = [(sat + 60, sat + 300), (excl + 60 - start, excl + 120 - start)]
    data = _bytes_with(end - start, runs)
    report = _compute(cfg, data, [Window(excl, excl + 180, "exclusion", "customer site")])
    assert report.outages == ()
    assert report.downtime_minutes == 0
    # One minute past the window's end makes it an outage of one minute, from 23:00.
    longer = _bytes_with(end - start, [(sat + 60, sat + 361)])
    (outage,) = _compute(cfg, longer).outages
    assert (outage.start, outage.minutes) == (datetime(2026, 11, 7, 23, tzinfo=UTC), 1)


def test_a_running_month_measures_coverage_against_the_time_passed(
    make_config: ConfigFactory,
) -> None:
    """Two days into November, every minute so far recorded: 100 % measured, not 6.7 %."""
    cfg = make_config()
    contract = cfg.contract_for("portal")
    start, end = NOV.bounds(contract.timezone)
    now = start + 2 * 1440

    def report(recorded: int, at: int | None) -> MonthReport:
        return compute_month(
            service=cfg.services["portal"],
            contract=contract,
            month=NOV,
            span_start=start,
            sources={"agent": bytes([UP]) * recorded},
            windows=[Window(start, start + 60, "maintenance", "m")],
            cases=(),
            now=at,
        )

    running = report(2 * 1440, now)
    assert running.provisional
    assert running.coverage_percent == 100
    assert not running.coverage_low
    # Half of the countable time so far (the hour of maintenance left out) recorded.
    half = report(60 + (2 * 1440 - 60) // 2, now)
    assert half.coverage_percent == 50
    # Once the month is over (or without a ``now``), against the whole month.
    done = report(2 * 1440, end)
    assert not done.provisional
    assert done.coverage_percent == Decimal(2 * 1440 - 60) * 100 / (end - start - 60)
    assert report(2 * 1440, None).coverage_percent == done.coverage_percent
    # A month that has not begun yet is not called measured.
    assert report(0, start - 1).coverage_percent == 0
