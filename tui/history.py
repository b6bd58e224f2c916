"""A support case told as a history: what happened to it, in order.

The case row keeps only the latest of each fact (opened, first response,
resolved, the outage spans it reported); the detail screen lays them out on
one time line, each with the rule 9 verdict it earned, so an operator reads
the case the way the provider's answer will be judged.
"""

from __future__ import annotations

from datetime import datetime

from core.cases import ESCALATION_LEVELS, Case
from core.timeutil import from_minute
from tui import fmt
from tui.view import CaseEvent


def case_events(case: Case, due: datetime | None, now: datetime) -> tuple[CaseEvent, ...]:
    """The case's history as of ``now``, oldest first (ties keep the order a case lives)."""
    opened = f"opened · {case.opened_priority} via {case.channel}"
    first_level = case.escalation_history()[0].level
    if first_level > 1:
        opened += f" · escalation level {first_level}"
    if case.rca_requested and case.rca_requested_at is None:
        opened += " · root-cause analysis requested"
    events = [CaseEvent(case.opened_at, opened)]
    for change in case.changes:
        why = f" ({change.reason})" if change.reason else ""
        was = f"{change.previous} → " if change.previous else ""
        events.append(CaseEvent(change.at, f"priority {was}{change.priority}{why}", "warn"))
    for step in case.escalations:
        what = ESCALATION_LEVELS.get(step.level, "")
        events.append(CaseEvent(step.at, f"escalated to level {step.level}: {what}".rstrip(": ")))
    for wait in case.waits:
        until = f" until {fmt.stamp(wait.end)}" if wait.end else " (still waiting)"
        events.append(CaseEvent(wait.start, f"waiting on the customer{until}: {wait.reason}"))
    if case.rca_requested_at is not None:
        events.append(CaseEvent(case.rca_requested_at, "root-cause analysis requested"))
    if case.rca_delivered_at is not None:
        events.append(CaseEvent(case.rca_delivered_at, "root-cause analysis delivered", "good"))
    for start, end in case.links:
        events.append(
            CaseEvent(
                from_minute(start),
                f"reports the outage {fmt.when(from_minute(start))}"
                f"–{fmt.until(from_minute(end), from_minute(start))}"
                f" UTC ({end - start:,} min)",
            )
        )
    if due is not None:
        events.append(_due(case, due, now))
    if case.responded_at is not None:
        if due is not None and case.responded_at > due:
            over = fmt.span((case.responded_at - due).total_seconds())
            events.append(
                CaseEvent(case.responded_at, f"first response, ⚠ BREACHED by {over}", "bad")
            )
        else:
            events.append(CaseEvent(case.responded_at, "first response, in time", "good"))
    elif case.resolved_at is not None:
        events.append(CaseEvent(case.resolved_at, "no first response: the resolution answers"))
    if case.resolved_at is not None:
        took = fmt.span((case.resolved_at - case.opened_at).total_seconds())
        events.append(CaseEvent(case.resolved_at, f"resolved after {took}", "good"))
    order = {id(e): i for i, e in enumerate(events)}
    return tuple(sorted(events, key=lambda e: (e.at, order[id(e)])))


def _due(case: Case, due: datetime, now: datetime) -> CaseEvent:
    if case.first_answer is not None:
        return CaseEvent(due, "first response due")
    if now > due:
        late = fmt.span((now - due).total_seconds())
        return CaseEvent(due, f"first response due: ⚠ BREACHED, {late} without an answer", "bad")
    left = fmt.span((due - now).total_seconds())
    return CaseEvent(due, f"first response due (in {left})", "warn")
