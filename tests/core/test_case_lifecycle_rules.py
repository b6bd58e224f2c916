"""The pure case rules of issue 11: deadlines under re-rating and waits, cases as of a
moment, and the performance figures' edges (pending, open at end)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.cases import Case, Escalation, PriorityChange, Wait, case_as_of, case_deadline
from core.config import Calendar, Contract
from core.configfile import parse_config
from core.performance import performance

CONFIG = """
[[calendar]]
name = "office"
timezone = "Europe/Paris"
holidays = ["2026-12-25"]
hours = { mon = "09:00-17:30", tue = "09:00-17:30" }

[[contract]]
name = "ent"
profile = "enterprise-unified"
calendar = "office"
customer_wait_stops_clock = true

[[service]]
name = "erp"
contract = "ent"
monthly_fee = "100.00"
"""
T0 = datetime(2026, 10, 5, 7, 0, tzinfo=UTC)  # Monday 07:00 UTC: before 09:00 opening
H = timedelta(hours=1)


def _contract() -> tuple[Contract, Calendar | None]:
    cfg = parse_config(CONFIG, Path("/etc/slawatch/config.toml"))
    contract = cfg.contract_for("erp")
    return contract, cfg.calendar_for(contract)


def test_waits_stop_a_24x7_clock_by_real_time_and_an_open_wait_counts_to_now() -> None:
    contract, cal = _contract()
    case = Case(1, "erp", "A", "x", T0, waits=(Wait(T0 + H / 2, None, "logs"),))
    # Due 08:00; waiting since 07:30 and still waiting at 07:50: 20 minutes later.
    deadline = case_deadline(case, contract, cal, T0 + 50 * H / 60)
    assert deadline is not None and deadline.due == T0 + H + timedelta(minutes=20)
    unpaused = case_deadline(case, replace(contract, customer_wait_stops_clock=False), cal, T0)
    assert unpaused is not None and unpaused.due == T0 + H


def test_a_case_as_of_a_moment_forgets_what_came_later() -> None:
    case = Case(
        1, "erp", "A", "x", T0,
        responded_at=T0 + 2 * H, resolved_at=T0 + 5 * H, escalation_level=3,
        changes=(PriorityChange("A", T0 + H, "raised", "B"),),
        escalations=(Escalation(2, T0 + H), Escalation(3, T0 + 4 * H)),
        rca_requested_at=T0 + 3 * H, waits=(Wait(T0, T0 + 3 * H, "access"),),
    )  # fmt: skip
    early = case_as_of(case, T0 + H / 2)
    assert early is not None
    assert (early.priority, early.escalation_level, early.responded_at) == ("B", 1, None)
    assert early.rca_requested_at is None and early.waits == (Wait(T0, None, "access"),)
    later = case_as_of(case, T0 + 3 * H)
    assert later is not None
    assert (later.priority, later.escalation_level, later.resolved_at) == ("A", 2, None)
    assert later.rca_requested_at == T0 + 3 * H
    assert case_as_of(case, T0 - H) is None


def test_pending_open_and_a_priority_the_contract_no_longer_has() -> None:
    contract, cal = _contract()
    start, end = T0 - 7 * 24 * H, T0 + 7 * 24 * H
    cases = [
        Case(1, "erp", "B", "pending", T0),  # due Monday 11:00 Paris (09:00Z): after as_of
        Case(2, "erp", "gold", "renamed priority", T0),
    ]
    perf = performance(service="erp", period="week", contract=contract, calendar=cal,
                       cases=cases, months=(), start=start, end=end, as_of=T0 + H)  # fmt: skip
    rows = {p.priority: p for p in perf.priorities}
    assert list(rows) == ["1", "A", "B", "C", "gold"]
    assert (rows["B"].responses_pending, rows["B"].open_at_end) == (1, 1)
    assert (rows["gold"].target, rows["gold"].cases_opened) == ("-", 1)
    assert rows["gold"].responses_pending == 0  # no rule, no deadline
    assert perf.deviations == ()


def test_every_enterprise_tier_keeps_the_customers_obligations() -> None:
    from core.profiles import PROFILES

    tiers = [name for name in PROFILES if name.startswith("enterprise")]
    assert len(tiers) >= 2
    for name in tiers:
        severities = PROFILES[name]["priorities"]
        assert list(severities) == ["1", "A", "B", "C"], name
        assert all(rule.get("customer") for rule in severities.values()), name
        assert "24x7 work" in severities["A"]["customer"], name


def test_a_wait_that_stopped_the_clock_keeps_a_deadline_alive_for_a_re_rating() -> None:
    contract, cal = _contract()
    # A at 07:00Z: due 08:00Z, but the customer was waited on 07:30-08:30Z, so the due
    # moved to 09:00Z; a downgrade to B at 08:45Z comes before it: B's 2 business hours
    # run from 08:45Z = 10:45 Paris -> 12:45 Paris = 10:45Z, without the wait (it is over).
    case = Case(
        1, "erp", "B", "x", T0,
        changes=(PriorityChange("B", T0 + 105 * H / 60, "no 24x7 staff", "A"),),
        waits=(Wait(T0 + H / 2, T0 + 3 * H / 2, "access"),),
    )  # fmt: skip
    deadline = case_deadline(case, contract, cal, T0 + 5 * H)
    assert deadline is not None
    assert (deadline.priority, deadline.due) == ("B", T0 + 225 * H / 60)
    stopped = case_deadline(case, replace(contract, customer_wait_stops_clock=False), cal, T0)
    assert stopped is not None and (stopped.priority, stopped.due) == ("A", T0 + H)
