"""Business-hours arithmetic and rule 9 response deadlines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.calendar import add_working, is_holiday, is_open, next_opening, working_between
from core.cases import Case, case_json, case_status, response_breached, response_due
from core.config import Calendar, Config
from core.configfile import parse_config

CONFIG = """
[[calendar]]
name = "saas-support"
holidays = ["2026-12-25"]
[calendar.hours]
mon = "08:00-02:00"
tue = "08:00-02:00"
wed = "08:00-02:00"
thu = "08:00-02:00"
fri = "08:00-02:00"

[[calendar]]
name = "paris-nights"
timezone = "Europe/Paris"
hours = { sat = "20:00-06:00" }

[[calendar]]
name = "fr-office"
timezone = "Europe/Paris"
country = "FR"
[calendar.hours]
mon = "09:00-17:30"
tue = "09:00-17:30"
wed = "09:00-17:30"
thu = "09:00-17:30"
fri = "09:00-17:30"

[[contract]]
name = "ent"
profile = "enterprise-unified"
calendar = "fr-office"

[[service]]
name = "portal"
monthly_fee = "1000"

[[service]]
name = "erp"
contract = "ent"
monthly_fee = "1000"
"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[arg-type,misc]


@pytest.fixture(scope="module")
def cfg() -> Config:
    return parse_config(CONFIG, Path("/etc/slawatch/config.toml"))


@pytest.fixture(scope="module")
def saas(cfg: Config) -> Calendar:
    return cfg.calendars["saas-support"]


def test_window_past_midnight_belongs_to_the_day_it_starts(saas: Calendar) -> None:
    # Tuesday 17 Nov 2026, 01:00 UTC is inside Monday's 08:00-02:00 window.
    assert is_open(saas, utc(2026, 11, 17, 1))
    assert not is_open(saas, utc(2026, 11, 17, 2))
    # Saturday 01:00 belongs to Friday's window; Sunday night has none (no sat window).
    assert is_open(saas, utc(2026, 11, 21, 1, 59))
    assert not is_open(saas, utc(2026, 11, 23, 1))
    assert next_opening(saas, utc(2026, 11, 21, 12)) == utc(2026, 11, 23, 8)
    assert next_opening(saas, utc(2026, 11, 17, 1)) == utc(2026, 11, 17, 1)


def test_case_opened_inside_a_window_past_midnight(cfg: Config) -> None:
    rule = cfg.contract_for("portal").priorities["critical"]  # 30 min, business
    cal = cfg.calendars["saas-support"]
    assert response_due(utc(2026, 11, 17, 1, 0), rule, cal) == utc(2026, 11, 17, 1, 30)
    # 15 minutes left before 02:00, the other 15 after Tuesday's 08:00 opening.
    assert response_due(utc(2026, 11, 17, 1, 45), rule, cal) == utc(2026, 11, 17, 8, 15)
    # Friday's window runs into Saturday; the rest waits for Monday.
    assert response_due(utc(2026, 11, 21, 1, 50), rule, cal) == utc(2026, 11, 23, 8, 20)


def test_business_days_are_multiples_of_the_support_day(cfg: Config) -> None:
    contract, cal = cfg.contract_for("portal"), cfg.calendars["saas-support"]
    # 1bd = 18 h: Monday 10:00 -> 02:00 is 16 h, then 2 h from Tuesday 08:00.
    assert response_due(utc(2026, 11, 16, 10), contract.priorities["medium"], cal) == utc(
        2026, 11, 17, 10
    )
    # 2bd from Thursday 10:00 crosses the weekend.
    assert response_due(utc(2026, 11, 19, 10), contract.priorities["low"], cal) == utc(
        2026, 11, 23, 10
    )


def test_holiday_removes_the_windows_that_start_on_it(saas: Calendar) -> None:
    assert is_holiday(saas, date(2026, 12, 25))
    # Thursday 24 Dec's window still runs into Christmas morning ...
    assert is_open(saas, utc(2026, 12, 25, 1))
    assert add_working(saas, utc(2026, 12, 25, 1), timedelta(hours=1)) == utc(2026, 12, 25, 2)
    # ... but Friday 25 Dec has no window: the next opening is Monday.
    assert next_opening(saas, utc(2026, 12, 25, 2)) == utc(2026, 12, 28, 8)
    assert add_working(saas, utc(2026, 12, 25, 10), timedelta(hours=1)) == utc(2026, 12, 28, 9)


def test_country_holidays(cfg: Config) -> None:
    office = cfg.calendars["fr-office"]
    assert is_holiday(office, date(2026, 7, 14))  # Bastille Day, from the holidays package
    assert not is_holiday(office, date(2026, 7, 15))
    # Monday 13 July 17:00 Paris + 2 business hours: 30 min, skip the 14th, 1h30 on the 15th.
    start = datetime(2026, 7, 13, 17, tzinfo=ZoneInfo("Europe/Paris"))
    due = add_working(office, start, timedelta(hours=2))
    assert due == datetime(2026, 7, 15, 10, 30, tzinfo=ZoneInfo("Europe/Paris"))


def test_dst_change_inside_a_business_hours_window(cfg: Config) -> None:
    cal = cfg.calendars["paris-nights"]
    # Paris springs forward at 02:00 on Sunday 29 March 2026: Saturday's
    # 20:00-06:00 window is 9 real hours, 19:00 to 04:00 UTC.
    opens, closes = utc(2026, 3, 28, 19), utc(2026, 3, 29, 4)
    assert next_opening(cal, utc(2026, 3, 27)) == opens
    assert working_between(cal, utc(2026, 3, 28), utc(2026, 3, 30)) == timedelta(hours=9)
    assert add_working(cal, opens, timedelta(hours=9)) == closes
    assert add_working(cal, opens, timedelta(hours=8)) == utc(2026, 3, 29, 3)
    # In October (falls back at 03:00 on the 25th) the same window is 11 hours.
    assert working_between(cal, utc(2026, 10, 24), utc(2026, 10, 26)) == timedelta(hours=11)
    # In a normal week, 10 hours.
    assert working_between(cal, utc(2026, 6, 6), utc(2026, 6, 8)) == timedelta(hours=10)


def test_working_between_and_add_working_agree(saas: Calendar) -> None:
    week = working_between(saas, utc(2026, 11, 16), utc(2026, 11, 23))
    assert week == timedelta(hours=90)
    assert working_between(saas, utc(2026, 11, 17), utc(2026, 11, 16)) == timedelta()
    assert add_working(saas, utc(2026, 11, 16), week) == utc(2026, 11, 21, 2)
    assert add_working(saas, utc(2026, 11, 21, 12), timedelta()) == utc(2026, 11, 21, 12)
    with pytest.raises(ValueError):
        add_working(saas, utc(2026, 11, 21), timedelta(minutes=-1))


def test_enterprise_severities(cfg: Config) -> None:
    contract = cfg.contract_for("erp")
    office = cfg.calendar_for(contract)
    assert office is not None
    saturday_night = utc(2026, 11, 21, 23)
    # Severity 1 and A run 24x7.
    assert response_due(saturday_night, contract.priorities["1"], office) == utc(2026, 11, 22)
    assert response_due(saturday_night, contract.priorities["A"], office) == utc(2026, 11, 22)
    # B: 2 business hours from Monday 09:00 Paris (08:00 UTC).
    assert response_due(saturday_night, contract.priorities["B"], office) == utc(2026, 11, 23, 10)
    assert response_due(saturday_night, contract.priorities["C"], office) == utc(2026, 11, 23, 12)


def test_breach_status_and_case_json(cfg: Config) -> None:
    rule = cfg.contract_for("portal").priorities["high"]
    cal = cfg.calendars["saas-support"]
    opened = utc(2026, 11, 16, 10)
    due = response_due(opened, rule, cal)
    assert due == utc(2026, 11, 16, 11)
    case = Case(7, "portal", "high", "Login fails", opened, ref="T-42")
    assert case_status(case) == "open"
    assert not response_breached(case, due, now=due)
    assert response_breached(case, due, now=due + timedelta(seconds=1))
    on_time = Case(7, "portal", "high", "x", opened, responded_at=due)
    assert not response_breached(on_time, due, now=due + timedelta(days=9))
    assert case_status(on_time) == "responded"
    late = Case(7, "portal", "high", "x", opened, responded_at=due + timedelta(minutes=1))
    assert response_breached(late, due, now=due)
    resolved = Case(7, "portal", "high", "x", opened, responded_at=due, resolved_at=due)
    assert case_status(resolved) == "resolved"
    data = case_json(case, due, now=utc(2026, 11, 16, 12))
    assert data["priority_history"] == [
        {"priority": "high", "at": "2026-11-16T10:00:00Z", "reason": None}
    ]
    assert (data["rca_requested_at"], data["escalation_level"], data["waits"]) == (None, 1, [])
    assert {k: data[k] for k in list(data)[:11]} == {
        "id": 7,
        "ref": "T-42",
        "service": "portal",
        "priority": "high",
        "title": "Login fails",
        "opened_at": "2026-11-16T10:00:00Z",
        "response_due": "2026-11-16T11:00:00Z",
        "responded_at": None,
        "resolved_at": None,
        "response_breached": True,
        "status": "open",
    }
