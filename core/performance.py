"""The performance report the hardware-support contract promises, for any period.

Per priority: cases opened, first responses on time and late (and how late),
cases still open at the period's end, resolution times, escalations, and
root-cause analyses requested and delivered; per service: the outages left
unreported; and the deviations from target (late first responses, months
below the top band), each awaiting the provider's action plan.

Everything is counted **as of** ``as_of``: the period's end, or now while the
period runs. Cases are first cut to what was known then (``core.cases.
case_as_of``), so a past period re-run later gives the same figures.

- A case counts in the period it was **opened** in for ``cases_opened`` and its
  first response: on time, late (answered after the due time, or unanswered
  when the due time passed before ``as_of``), or pending (due after ``as_of``).
  Lateness is rounded up to the whole minute.
- ``open_at_end``: cases opened by ``as_of`` (in any period) not resolved by then.
- Resolution times: cases resolved inside the period, opening to resolution,
  in whole minutes (cut); the median is the lower median (always a real case's
  time), the max the longest.
- Escalations, RCA requests and deliveries: events inside the period, under the
  priority the case had at ``as_of``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from statistics import median_low
from typing import Any, Literal

from core.cases import Case, case_deadline
from core.config import Calendar, Contract, PriorityRule
from core.month import MonthReport
from core.timeutil import iso_z

ACTION_PLAN_AWAITED = "awaiting the provider's action plan"


@dataclass(frozen=True)
class PriorityFigures:
    priority: str
    target: str  # "30m business", "1h 24x7"; "-" for a priority no longer in the contract
    cases_opened: int = 0
    responses_on_time: int = 0
    responses_late: int = 0
    responses_pending: int = 0
    late_max_minutes: int | None = None
    late_total_minutes: int = 0
    open_at_end: int = 0
    resolved: int = 0
    resolution_median_minutes: int | None = None
    resolution_max_minutes: int | None = None
    escalations: int = 0
    rca_requested: int = 0
    rca_delivered: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "priority": self.priority,
            "target": self.target,
            "cases_opened": self.cases_opened,
            "responses_on_time": self.responses_on_time,
            "responses_late": self.responses_late,
            "responses_pending": self.responses_pending,
            "late_max_minutes": self.late_max_minutes,
            "late_total_minutes": self.late_total_minutes,
            "open_at_end": self.open_at_end,
            "resolved": self.resolved,
            "resolution_median_minutes": self.resolution_median_minutes,
            "resolution_max_minutes": self.resolution_max_minutes,
            "escalations": self.escalations,
            "rca_requested": self.rca_requested,
            "rca_delivered": self.rca_delivered,
        }


DeviationKind = Literal["response_late", "below_top_band"]


@dataclass(frozen=True)
class Deviation:
    """A target the provider missed; the contract asks an action plan for each."""

    kind: DeviationKind
    service: str
    at: datetime  # the due time, or the month's start: the list's order
    case_id: int | None = None
    ref: str | None = None
    priority: str | None = None
    answered_at: datetime | None = None  # None: not answered by the period's end
    late_minutes: int | None = None
    month: str | None = None
    availability_percent: Decimal | None = None
    top_band_percent: Decimal | None = None
    credit_percent: Decimal | None = None
    provisional: bool = False

    def to_json(self) -> dict[str, Any]:
        base: dict[str, Any] = {"kind": self.kind, "service": self.service}
        if self.kind == "response_late":
            base |= {
                "case_id": self.case_id,
                "ref": self.ref,
                "priority": self.priority,
                "response_due": iso_z(self.at),
                "answered_at": iso_z(self.answered_at),
                "late_minutes": self.late_minutes,
            }
        else:
            base |= {
                "month": self.month,
                "availability_percent": _num(self.availability_percent),
                "top_band_percent": _num(self.top_band_percent),
                "credit_percent": _num(self.credit_percent),
                "provisional": self.provisional,
            }
        return base | {"action_plan": "awaiting"}


@dataclass(frozen=True)
class Performance:
    service: str
    period: str  # "2026-10" or "2026Q4"
    start: datetime
    end: datetime  # exclusive
    as_of: datetime
    priorities: tuple[PriorityFigures, ...]
    outages: int
    unreported_outages: int
    unreported_minutes: int
    deviations: tuple[Deviation, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "period": self.period,
            "start": iso_z(self.start),
            "end": iso_z(self.end),
            "as_of": iso_z(self.as_of),
            "priorities": [p.to_json() for p in self.priorities],
            "outages": self.outages,
            "unreported_outages": self.unreported_outages,
            "unreported_downtime_minutes": self.unreported_minutes,
            "deviations": [d.to_json() for d in self.deviations],
        }


def performance(
    *,
    service: str,
    period: str,
    contract: Contract,
    calendar: Calendar | None,
    cases: Sequence[Case],
    months: Sequence[MonthReport],
    start: datetime,
    end: datetime,
    as_of: datetime,
) -> Performance:
    """The period's figures from ``cases`` as known at ``as_of`` (already cut with
    ``case_as_of``) and its ``months`` computed with those cases."""
    rows: dict[str, dict[str, Any]] = {name: {} for name in contract.priorities}
    late_by: dict[str, list[int]] = {}
    resolution: dict[str, list[int]] = {}
    deviations: list[Deviation] = []

    def row(priority: str) -> dict[str, Any]:
        rule = contract.rule_for(priority)
        return rows.setdefault(rule.name if rule else priority, {})

    def bump(priority: str, key: str) -> None:
        r = row(priority)
        r[key] = r.get(key, 0) + 1

    for case in cases:
        in_period = start <= case.opened_at < end
        if in_period:
            bump(case.priority, "cases_opened")
            _response(case, contract, calendar, as_of, bump, late_by, deviations)
        if case.resolved_at is None:
            bump(case.priority, "open_at_end")
        elif start <= case.resolved_at < end:
            bump(case.priority, "resolved")
            minutes = int((case.resolved_at - case.opened_at).total_seconds() // 60)
            resolution.setdefault(_name(contract, case.priority), []).append(minutes)
        for e in case.escalations:
            if start <= e.at < end:
                bump(case.priority, "escalations")
        if case.rca_requested_at is not None and start <= case.rca_requested_at < end:
            bump(case.priority, "rca_requested")
        if case.rca_delivered_at is not None and start <= case.rca_delivered_at < end:
            bump(case.priority, "rca_delivered")

    figures = []
    for name, counts in rows.items():
        rule = contract.priorities.get(name)
        lates, times = late_by.get(name, []), resolution.get(name, [])
        figures.append(
            PriorityFigures(
                priority=name,
                target="-" if rule is None else _target(rule),
                late_max_minutes=max(lates) if lates else None,
                late_total_minutes=sum(lates),
                resolution_median_minutes=median_low(times) if times else None,
                resolution_max_minutes=max(times) if times else None,
                **counts,
            )
        )
    seen: dict[str, bool] = {}
    unreported_minutes = 0
    for m in months:
        for o in m.outages:
            seen[o.id] = o.reported
            if not o.reported:
                unreported_minutes += o.minutes
        if m.band > 0:
            deviations.append(
                Deviation(
                    "below_top_band",
                    service,
                    datetime.fromtimestamp(m.start_minute * 60, tz=start.tzinfo),
                    month=str(m.month),
                    availability_percent=m.availability_percent,
                    top_band_percent=contract.bands[0].min_availability,
                    credit_percent=m.credit_percent,
                    provisional=m.provisional,
                )
            )
    deviations.sort(key=lambda d: (d.at, d.kind, d.case_id or 0))
    return Performance(
        service=service,
        period=period,
        start=start,
        end=end,
        as_of=as_of,
        priorities=tuple(figures),
        outages=len(seen),
        unreported_outages=sum(1 for reported in seen.values() if not reported),
        unreported_minutes=unreported_minutes,
        deviations=tuple(deviations),
    )


def _response(
    case: Case,
    contract: Contract,
    calendar: Calendar | None,
    as_of: datetime,
    bump: Callable[[str, str], None],
    late_by: dict[str, list[int]],
    deviations: list[Deviation],
) -> None:
    """Classify the case's first response as on time, late or pending (as of ``as_of``)."""
    deadline = case_deadline(case, contract, calendar, as_of)
    if deadline is None:
        return
    answer = case.first_answer
    if answer is not None and answer <= deadline.due:
        bump(case.priority, "responses_on_time")
        return
    if answer is None and as_of <= deadline.due:
        bump(case.priority, "responses_pending")
        return
    late = math.ceil(((answer or as_of) - deadline.due).total_seconds() / 60)
    bump(case.priority, "responses_late")
    late_by.setdefault(_name(contract, case.priority), []).append(late)
    deviations.append(
        Deviation(
            "response_late",
            case.service,
            deadline.due,
            case_id=case.id,
            ref=case.ref,
            priority=case.priority,
            answered_at=answer,
            late_minutes=late,
        )
    )


def _name(contract: Contract, priority: str) -> str:
    rule = contract.rule_for(priority)
    return rule.name if rule else priority


def _target(rule: PriorityRule) -> str:
    """``30m business``, ``1h 24x7``, ``1bd business``: the rule as the config writes it."""
    return f"{response_text(rule)} {rule.clock}"


def target_words(rule: PriorityRule) -> str:
    """The rule for people: ``2h of business hours``, ``1h, 24x7``."""
    amount = response_text(rule)
    return f"{amount} of business hours" if rule.clock == "business" else f"{amount}, 24x7"


def response_text(rule: PriorityRule) -> str:
    """The response target as the config writes it: ``30m``, ``1h30m``, ``1bd``."""
    parts = []
    if rule.response.business_days:
        parts.append(f"{rule.response.business_days}bd")
    seconds = rule.response.seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)
