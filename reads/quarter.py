"""The quarterly performance summary behind ``report --quarter 2026Q4``.

Each month's availability and credit (rules 1-8 via ``month_report``), the
cases opened per priority, and the share of first responses on time (rule 9).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.config import Config
from core.errors import InputError
from core.money import format_money
from core.month import MonthReport
from core.timeutil import YearMonth, to_minute
from reads.reports import case_view, month_report
from store.store import Store


@dataclass(frozen=True)
class Quarter:
    year: int
    quarter: int  # 1-4

    @classmethod
    def parse(cls, text: str, where: str = "--quarter") -> Quarter:
        raw = text.strip().upper()
        if (
            len(raw) == 6
            and raw[:4].isdigit()
            and raw[4] == "Q"
            and raw[5] in "1234"
            and (int(raw[:4]) >= 1970)
        ):
            return cls(int(raw[:4]), int(raw[5]))
        raise InputError(where, f"{text!r} is not a quarter; expected YYYYQN, e.g. 2026Q4")

    @property
    def months(self) -> tuple[YearMonth, YearMonth, YearMonth]:
        first = 3 * (self.quarter - 1) + 1
        return (
            YearMonth(self.year, first),
            YearMonth(self.year, first + 1),
            YearMonth(self.year, first + 2),
        )

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}"


@dataclass(frozen=True)
class QuarterReport:
    service: str
    quarter: Quarter
    months: tuple[MonthReport, ...]
    cases_by_priority: Mapping[str, int]  # cases opened in the quarter
    responses_due: int  # cases opened in the quarter whose first response is due by now
    responses_on_time: int

    @property
    def on_time_share(self) -> Decimal | None:
        """Share (0-100) of first responses on time; None when none was due."""
        if not self.responses_due:
            return None
        return Decimal(self.responses_on_time) * 100 / Decimal(self.responses_due)

    def to_json(self) -> dict[str, Any]:
        share = self.on_time_share
        first = self.months[0]
        return {
            "service": self.service,
            "quarter": str(self.quarter),
            "currency": first.currency,
            "months": [
                {
                    "month": str(m.month),
                    "availability_percent": float(m.availability_percent),
                    "credit_percent": float(m.credit_percent),
                    "credit_amount": format_money(m.credit_amount),
                    "claimable_credit_amount": format_money(m.claimable_credit_amount),
                    "coverage_percent": float(m.coverage_percent),
                    "coverage_low": m.coverage_low,
                    "provisional": m.provisional,
                }
                for m in self.months
            ],
            "credit_amount": format_money(sum((m.credit_amount for m in self.months), Decimal(0))),
            "claimable_credit_amount": format_money(
                sum((m.claimable_credit_amount for m in self.months), Decimal(0))
            ),
            "cases_by_priority": dict(self.cases_by_priority),
            "responses_due": self.responses_due,
            "responses_on_time": self.responses_on_time,
            "responses_on_time_percent": None if share is None else float(share),
        }


async def quarter_report(
    store: Store, config: Config, service: str, quarter: Quarter, now: datetime
) -> QuarterReport:
    """Each month's availability and credit, cases opened per priority, responses on time.

    A case counts towards response compliance once its response is in or due:
    on time when it is not breached (rule 9).
    """
    months = tuple([await month_report(store, config, service, m, now=now) for m in quarter.months])
    lo, hi = months[0].start_minute, months[-1].end_minute
    contract = config.contract_for(service)
    by_priority = {name: 0 for name in contract.priorities}
    due = on_time = 0
    for case in await store.cases(service=service):
        if not lo <= to_minute(case.opened_at) < hi:
            continue
        by_priority[case.priority] = by_priority.get(case.priority, 0) + 1
        view = case_view(config, case, now)
        if view.response_due is None:
            continue
        if case.responded_at is not None or view.response_due < now:
            due += 1
            on_time += not view.response_breached
    return QuarterReport(service, quarter, months, by_priority, due, on_time)
