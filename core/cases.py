"""Support cases and their first-response deadlines (rule 9).

A case is what the customer opened with the provider: a priority (or severity)
from the contract, timestamps, and the outage spans it reported (``case
link``). Whether the provider answered in time is a pure function of the case,
its contract rule and ``now``.

The lifecycle the contracts describe (issue 11), each a timestamped event:

- **priority changes** (``case priority``). The clock rule: a change made
  before the first response restarts the response clock at the change, on the
  new priority's target and clock; a change made after the first response only
  changes the follow-up (which clock the provider works on), never the response
  deadline. A change made after a deadline already passed unanswered does not
  undo that breach: the missed deadline stands.
- **waiting on the customer** (``case wait``): stops the response clock only
  when the contract says ``customer_wait_stops_clock = true``; the deadline then
  moves later by the working time (real time on ``24x7``) of each wait that
  began before it.
- **a resolution is an answer**: a case resolved with no recorded first
  response counts its resolution as its first response.
- escalation levels and the root-cause-analysis request are history kept for
  the reports; they do not move a deadline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from core.calendar import add_working, working_between, working_target
from core.config import Calendar, Contract, PriorityRule
from core.timeutil import iso_z

CaseStatus = Literal["open", "responded", "resolved"]

ESCALATION_LEVELS = {
    1: "help desk triage",
    2: "detailed analysis",
    3: "specialists locate the cause",
    4: "third-party suppliers",
}


@dataclass(frozen=True)
class PriorityChange:
    """The case's priority became ``priority`` at ``at`` (from ``previous``)."""

    priority: str
    at: datetime
    reason: str | None = None
    previous: str | None = None  # None only for the priority the case was opened with


@dataclass(frozen=True)
class Escalation:
    level: int
    at: datetime


@dataclass(frozen=True)
class Wait:
    """The provider waits on the customer over [start, end) (``end`` None: still waiting)."""

    start: datetime
    end: datetime | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"from": iso_z(self.start), "to": iso_z(self.end), "reason": self.reason}


@dataclass(frozen=True)
class Case:
    id: int
    service: str
    priority: str  # the priority in force now
    title: str
    opened_at: datetime
    ref: str | None = None  # the provider's own case id
    responded_at: datetime | None = None
    resolved_at: datetime | None = None
    channel: str = "email"
    escalation_level: int = 1  # 1 help desk ... 4 third-party suppliers
    rca_requested: bool = False
    links: tuple[tuple[int, int], ...] = ()  # [from, to) epoch minutes it reported
    changes: tuple[PriorityChange, ...] = ()  # priority changes after opening, in order
    escalations: tuple[Escalation, ...] = ()  # level changes after opening, in order
    rca_requested_at: datetime | None = None
    rca_delivered_at: datetime | None = None
    waits: tuple[Wait, ...] = ()

    def links_overlap(self, start: int, end: int) -> bool:
        """True when a linked span overlaps the minutes [start, end)."""
        return any(a < end and start < b for a, b in self.links)

    @property
    def opened_priority(self) -> str:
        return self.changes[0].previous or self.priority if self.changes else self.priority

    @property
    def priority_history(self) -> tuple[PriorityChange, ...]:
        """Every priority the case had, from its opening (reason None) on."""
        return (PriorityChange(self.opened_priority, self.opened_at), *self.changes)

    @property
    def first_answer(self) -> datetime | None:
        """The first response, or the resolution when none was recorded (it answers too)."""
        return self.responded_at if self.responded_at is not None else self.resolved_at

    def escalation_history(self) -> tuple[Escalation, ...]:
        """Every level the case had, from level 1 (or its first level) at opening."""
        first = 1 if self.escalations or self.escalation_level == 1 else self.escalation_level
        return (Escalation(first, self.opened_at), *self.escalations)


def response_target(rule: PriorityRule, calendar: Calendar | None) -> timedelta:
    """The rule's response time with ``Nbd`` turned into N x the calendar's business day."""
    if rule.response.business_days:
        if calendar is None:
            raise ValueError(f"priority {rule.name!r} counts business days but has no calendar")
        return working_target(rule.response, calendar)
    return rule.response.timedelta


def response_due(opened_at: datetime, rule: PriorityRule, calendar: Calendar | None) -> datetime:
    """When the first response is due: real time on ``24x7``, support hours on ``business``."""
    target = response_target(rule, calendar)
    if rule.clock == "24x7":
        return opened_at + target
    if calendar is None:
        raise ValueError(f"priority {rule.name!r} runs on business hours but has no calendar")
    return add_working(calendar, opened_at, target)


@dataclass(frozen=True)
class Deadline:
    """A case's first-response deadline under the clock rule (see the module docstring)."""

    due: datetime
    priority: str  # the priority whose target the first response is held to
    clock_from: datetime  # when that target's clock started (opening or a change)
    paused: timedelta = timedelta()  # waiting on the customer that stopped the clock


def case_deadline(
    case: Case, contract: Contract, calendar: Calendar | None, now: datetime
) -> Deadline | None:
    """The first-response deadline of ``case`` as of ``now`` (None when a priority it
    had has left the contract)."""
    answer = case.first_answer

    def effective(d: Deadline, at: datetime) -> Deadline:
        if not contract.customer_wait_stops_clock:
            return d
        return _paused(d, case.waits, contract, calendar, answer, at)

    deadline: Deadline | None = None
    for change in case.priority_history:
        if deadline is not None:
            if answer is not None and change.at >= answer:
                break  # after the first response: follow-up only
            if effective(deadline, change.at).due < change.at:
                break  # the deadline passed unanswered before the change: the breach stands
        rule = contract.rule_for(change.priority)
        if rule is None:
            return None
        deadline = Deadline(response_due(change.at, rule, calendar), rule.name, change.at)
    return None if deadline is None else effective(deadline, now)


def _paused(
    deadline: Deadline,
    waits: Sequence[Wait],
    contract: Contract,
    calendar: Calendar | None,
    answer: datetime | None,
    now: datetime,
) -> Deadline:
    """Move the deadline later by each customer wait that began before it (and before
    the answer): by the working time inside the wait, real time on a 24x7 clock."""
    rule = contract.rule_for(deadline.priority)
    assert rule is not None
    due, paused = deadline.due, timedelta()
    for wait in sorted(waits, key=lambda w: w.start):
        start = max(wait.start, deadline.clock_from)
        if start >= due or (answer is not None and start >= answer):
            continue
        end = wait.end if wait.end is not None else now
        if answer is not None:
            end = min(end, answer)
        if end <= start:
            continue
        if rule.clock == "24x7" or calendar is None:
            pause = end - start
            due += pause
        else:
            pause = working_between(calendar, start, end)
            due = add_working(calendar, due, pause)
        paused += pause
    return Deadline(due, deadline.priority, deadline.clock_from, paused)


def response_breached(case: Case, due: datetime, now: datetime) -> bool:
    """The first response (or the resolution, when none was recorded) came after
    ``due``, or neither has come and ``due`` has passed."""
    answer = case.first_answer
    if answer is not None:
        return answer > due
    return now > due


def urgency(
    case_id: int, opened_at: datetime, due: datetime | None, responded: bool, breached: bool
) -> tuple[int, float, int]:
    """The order open cases are listed in on every surface (dashboard, ``status``):
    breached first (most overdue first), then awaiting a response by due time, then
    those already answered, oldest first."""
    if breached:
        return (0, (due or opened_at).timestamp(), case_id)
    if not responded and due is not None:
        return (1, due.timestamp(), case_id)
    return (2, opened_at.timestamp(), case_id)


def case_status(case: Case) -> CaseStatus:
    if case.resolved_at is not None:
        return "resolved"
    if case.responded_at is not None:
        return "responded"
    return "open"


def case_json(case: Case, due: datetime | None, now: datetime) -> dict[str, Any]:
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
        "response_breached": False if due is None else response_breached(case, due, now),
        "status": case_status(case),
        "channel": case.channel,
        "first_response_at": iso_z(case.first_answer),
        "priority_history": [
            {"priority": p.priority, "at": iso_z(p.at), "reason": p.reason}
            for p in case.priority_history
        ],
        "escalation_level": case.escalation_level,
        "escalation_history": [
            {"level": e.level, "at": iso_z(e.at)} for e in case.escalation_history()
        ],
        "rca_requested_at": iso_z(case.rca_requested_at),
        "rca_delivered_at": iso_z(case.rca_delivered_at),
        "waits": [w.to_json() for w in case.waits],
    }


def needs_rca_warning(case: Case, contract: Contract) -> bool:
    """A case of the contract's most severe priority (listed first: severity 1,
    critical) resolved with no root-cause analysis requested: the RCA is lost."""
    first = next(iter(contract.priorities), None)
    rule = contract.rule_for(case.priority)
    return rule is not None and rule.name == first and case.rca_requested_at is None


def case_as_of(case: Case, at: datetime) -> Case | None:
    """``case`` as it stood at ``at``: what happened later left out (None: not yet opened).

    The performance reports count a period as of its end, so re-running a past
    period later gives the same figures.
    """
    if case.opened_at > at:
        return None
    changes = tuple(c for c in case.changes if c.at <= at)
    escalations = tuple(e for e in case.escalations if e.at <= at)
    rca, delivered = _by(case.rca_requested_at, at), _by(case.rca_delivered_at, at)
    waits = tuple(
        Wait(w.start, w.end if w.end is not None and w.end <= at else None, w.reason)
        for w in case.waits
        if w.start <= at
    )
    return replace(
        case,
        priority=changes[-1].priority if changes else case.opened_priority,
        responded_at=_by(case.responded_at, at),
        resolved_at=_by(case.resolved_at, at),
        escalation_level=escalations[-1].level if escalations else _first_level(case),
        rca_requested=rca is not None,
        rca_requested_at=rca,
        rca_delivered_at=delivered,
        changes=changes,
        escalations=escalations,
        waits=waits,
    )


def _first_level(case: Case) -> int:
    return case.escalation_history()[0].level


def _by(ts: datetime | None, at: datetime) -> datetime | None:
    return ts if ts is not None and ts <= at else None
