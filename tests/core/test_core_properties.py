"""Property tests (hypothesis, bounded) and the quorum rule against a plain reference."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar import add_working, working_between
from core.config import Config
from core.configfile import parse_config
from core.month import combine_sources, compute_month, figures
from core.status import DEGRADED, DOWN, UNKNOWN, UP
from core.timeutil import YearMonth
from core.windows import Window

CONFIG = """
[[calendar]]
name = "saas-support"
holidays = ["2026-12-25"]
[calendar.hours]
mon = "08:00-02:00"
tue = "08:00-02:00"
wed = "08:00-02:00"
thu = "08:00-02:00"
fri = ["08:00-12:00", "13:00-02:00"]
sun = "23:00-23:30"

[[contract]]
name = "minutes"
basis = "minutes"

[[service]]
name = "portal"
monthly_fee = "1234.56"

[[service]]
name = "billing"
contract = "minutes"
monthly_fee = "99.99"
"""

CFG: Config = parse_config(CONFIG, Path("/etc/slawatch/config.toml"))
CAL = CFG.calendars["saas-support"]
NOV = YearMonth(2026, 11)
NOV_START, NOV_END = NOV.bounds(CFG.contract_for("portal").timezone)
LENGTH = NOV_END - NOV_START
FEW = settings(max_examples=60, deadline=None)


def reference_combine(sources: list[bytes]) -> bytes:
    """Rule 3 written the slow, obvious way."""
    length = max(len(s) for s in sources)
    out = bytearray()
    for i in range(length):
        votes = [s[i] for s in sources if i < len(s) and s[i] != UNKNOWN]
        n, down = len(votes), votes.count(DOWN)
        bad = down + votes.count(DEGRADED)
        out.append(UNKNOWN if n == 0 else DOWN if 2 * down > n else DEGRADED if 2 * bad > n else UP)
    return bytes(out)


statuses = st.binary(min_size=0, max_size=64).map(lambda b: bytes(x % 4 for x in b))


@FEW
@given(st.lists(statuses, min_size=1, max_size=6))
def test_combine_matches_the_rule(sources: list[bytes]) -> None:
    assert combine_sources(sources) == reference_combine(sources)


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ((DOWN, UP), UP),  # a tie is not "more than half"
        ((DOWN, DEGRADED), DEGRADED),
        ((DOWN, DOWN, UP), DOWN),
        ((DOWN, UNKNOWN), DOWN),  # only sources that recorded the minute vote
        ((DEGRADED, UP), UP),
        ((DOWN, DEGRADED, UP), DEGRADED),
        ((DOWN, DOWN, UP, UP), UP),
        ((UNKNOWN, UNKNOWN), UNKNOWN),
    ],
)
def test_quorum_ties(votes: tuple[int, ...], expected: int) -> None:
    assert combine_sources([bytes([v]) for v in votes]) == bytes([expected])


def test_combine_rejects_bad_codes() -> None:
    with pytest.raises(ValueError):
        combine_sources([b"\x01\x07", b"\x01\x01"])


@FEW
@given(
    st.integers(1, 50_000),
    st.integers(0, 50_000),
    st.integers(0, 50_000),
    st.sampled_from(["portal", "billing"]),
)
def test_availability_never_rises_and_credit_never_falls(
    measured: int, d1: int, d2: int, service: str
) -> None:
    low, high = sorted((min(d1, measured), min(d2, measured)))
    contract = CFG.contract_for(service)
    fee = CFG.services[service].monthly_fee
    better, worse = figures(contract, fee, measured, low), figures(contract, fee, measured, high)
    assert worse.availability_percent <= better.availability_percent
    if contract.basis == "percent" or measured == 43_200:
        # On the minutes basis the minute column assumes 30-day months (see core.bands).
        assert worse.credit_percent >= better.credit_percent
        assert worse.credit_amount >= better.credit_amount


Runs = list[tuple[int, int]]
runs = st.lists(st.tuples(st.integers(0, LENGTH - 1), st.integers(1, 3000)), max_size=6)


def month_with(down: Runs, windows: list[Window]) -> tuple[Decimal, Decimal]:
    data = bytearray([UP]) * LENGTH
    for a, n in down:
        data[a : a + n] = bytes([DOWN]) * len(data[a : a + n])
    report = compute_month(
        service=CFG.services["portal"],
        contract=CFG.contract_for("portal"),
        month=NOV,
        span_start=NOV_START,
        sources={"a": bytes(data)},
        windows=windows,
        cases=[],
    )
    assert report.downtime_minutes == sum(o.minutes for o in report.outages)
    return report.availability_percent, report.credit_amount


@FEW
@given(runs, runs)
def test_more_downtime_never_raises_availability(base: Runs, extra: Runs) -> None:
    availability, credit = month_with(base, [])
    more_availability, more_credit = month_with(base + extra, [])
    assert more_availability <= availability
    assert more_credit >= credit


@FEW
@given(runs, st.sampled_from([UP, UNKNOWN, DEGRADED]))
def test_exclusions_never_change_credit_without_downtime(spans: Runs, fill: int) -> None:
    windows = [Window(NOV_START + a, NOV_START + a + n, "exclusion", "x") for a, n in spans]
    data = bytes([fill]) * LENGTH
    for ws in ([], windows):
        report = compute_month(
            service=CFG.services["portal"],
            contract=CFG.contract_for("portal"),
            month=NOV,
            span_start=NOV_START,
            sources={"a": data},
            windows=ws,
            cases=[],
        )
        assert report.credit_amount == 0 and report.credit_percent == 0


instants = st.datetimes(
    min_value=datetime(2026, 10, 1),  # noqa: DTZ001 - hypothesis bounds are naive
    max_value=datetime(2027, 2, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
amounts = st.integers(0, 60 * 24 * 12).map(lambda m: timedelta(minutes=m))


@FEW
@given(instants, amounts, amounts)
def test_adding_working_time_in_two_steps_equals_one(
    start: datetime, a: timedelta, b: timedelta
) -> None:
    one = add_working(CAL, start, a + b)
    assert add_working(CAL, add_working(CAL, start, a), b) == one
    assert working_between(CAL, start, one) == a + b
