"""Support cases and their first-response deadlines (rule 9).

A case is what the customer opened with the provider: a priority (or severity)
from the contract, timestamps, and the outage spans it reported (``case
link``). Whether the provider answered in time is a pure function of the case,
its contract rule and ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from core.calendar import add_working
from core.config import Calendar, PriorityRule
from core.timeutil import iso_z

CaseStatus = Literal["open", "responded", "resolved"]


@dataclass(frozen=True)
class Case:
    id: int
    service: str
    priority: str
    title: str
    opened_at: datetime
    ref: str | None = None  # the provider's own case id
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    channel: str = "email"
    escalation_level: int = 1  # 1 help desk ... 4 third-party suppliers
    rca_requested: bool = False
    links: tuple[tuple[int, int], ...] = ()  # [from, to) epoch minutes it reported

    def links_overlap(self, start: int, end: int) -> bool:
        """True when a linked span overlaps the minutes [start, end)."""
        return any(a < end and start < b for a, b in self.links)


def response_target(rule: PriorityRule, calendar: Calendar | None) -> timedelta:
    """The rule's response time with ``Nbd`` turned into N x the calendar's business day."""
    target = rule.response.timedelta
    if rule.response.business_days:
        if calendar is None:
            raise ValueError(f"priority {rule.name!r} counts business days but has no calendar")
        target += rule.response.business_days * calendar.business_day
    return target


def response_due(opened_at: datetime, rule: PriorityRule, calendar: Calendar | None) -> datetime:
    """When the first response is due: real time on ``24x7``, support hours on ``business``."""
    target = response_target(rule, calendar)
    if rule.clock == "24x7":
        return opened_at + target
    if calendar is None:
        raise ValueError(f"priority {rule.name!r} runs on business hours but has no calendar")
    return add_working(calendar, opened_at, target)


def response_breached(case: Case, due: datetime, now: datetime) -> bool:
    """The first response came after ``due``, or has not come and ``due`` has passed."""
    if case.responded_at is not None:
        return case.responded_at > due
    return now > due


def case_status(case: Case) -> CaseStatus:
    if case.resolved_at is not None:
        return "resolved"
    if case.responded_at is not None:
        return "responded"
    return "open"


def case_json(case: Case, due: datetime, now: datetime) -> dict[str, Any]:
    """The case object of ``case ... --json`` (interfaces.md), times ISO 8601 UTC with Z."""
    return {
        "id": case.id,
        "ref": case.ref,
        "service": case.service,
        "priority": case.priority,
        "title": case.title,
        "opened_at": iso_z(case.opened_at),
        "response_due": iso_z(due),
        "responded_at": iso_z(case.responded_at),
        "resolved_at": iso_z(case.resolved_at),
        "response_breached": response_breached(case, due, now),
        "status": case_status(case),
    }
