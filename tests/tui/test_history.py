"""A case told as a history (the case screen), from a hand-made case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.cases import Case, Escalation, PriorityChange, Wait
from core.timeutil import to_minute
from tui.history import case_events

OPENED = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return OPENED + timedelta(minutes=minutes)


def test_every_event_in_order_with_its_verdict() -> None:
    case = Case(
        id=7,
        service="portal",
        priority="critical",
        title="Login fails",
        opened_at=OPENED,
        responded_at=at(90),
        resolved_at=at(300),
        escalation_level=2,
        links=((to_minute(at(-15)), to_minute(at(10))),),
        changes=(PriorityChange("critical", at(20), "customers locked out", "high"),),
        escalations=(Escalation(2, at(60)),),
        waits=(Wait(at(100), at(130), "logs requested"),),
    )
    events = case_events(case, due=at(50), now=at(400))
    assert [e.what for e in events] == [
        "reports the outage 11-22 07:45–08:10 UTC (25 min)",
        "opened · high via email",
        "priority high → critical (customers locked out)",
        "first response due",
        "escalated to level 2: detailed analysis",
        "first response, ⚠ BREACHED by 40m 00s",
        "waiting on the customer until 2026-11-22 10:10: logs requested",
        "resolved after 5h 00m",
    ]
    assert [e.tone for e in events][5] == "bad"


def test_an_open_case_past_its_due_time_says_breached() -> None:
    case = Case(id=1, service="portal", priority="high", title="t", opened_at=OPENED)
    (opened, due) = case_events(case, due=at(30), now=at(47))
    assert opened.what == "opened · high via email"
    assert due.what == "first response due: ⚠ BREACHED, 17m 00s without an answer"
    assert due.tone == "bad"
