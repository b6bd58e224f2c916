"""The quarterly performance summary behind ``report --quarter 2026Q4``.

Each month's availability and credit (rules 1-8 via ``month_report``), and the
quarter's performance (``reads.performance``): the cases opened per priority,
the share of first responses on time (rule 9), and the rest of the contract's
performance report, counted as of the quarter's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.config import Config
from core.errors import InputError
from core.money import format_money
from core.month import MonthReport
from core.performance import Performance
from core.timeutil import LAST_MONTH, YearMonth
from reads.performance import PeriodReport, period_reports
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
            quarter = cls(int(raw[:4]), int(raw[5]))
            if quarter.months[-1] > LAST_MONTH:
                raise InputError(
                    where, f"{text!r} is past the last month slawatch computes, {LAST_MONTH}"
                )
            return quarter
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
    responses_due: int  # cases opened in the quarter whose first response was due by the end
    responses_on_time: int
    performance: Performance | None = None  # as of the quarter's end (or now)

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
            "performance": None if self.performance is None else self.performance.to_json(),
        }


async def quarter_report(
    store: Store, config: Config, service: str, quarter: Quarter, now: datetime
) -> QuarterReport:
    """Each month's availability and credit, and the quarter's performance as of its
    end (or now): cases opened per priority, first responses on time (rule 9)."""
    (report,) = await quarter_reports(store, config, [service], quarter, now)
    return report


async def quarter_reports(
    store: Store, config: Config, services: Sequence[str], quarter: Quarter, now: datetime
) -> list[QuarterReport]:
    """``quarter_report`` of each of ``services``, their months read together."""
    reports = await period_reports(store, config, services, quarter.months, str(quarter), now)
    return [_quarter(report, quarter) for report in reports]


def _quarter(report: PeriodReport, quarter: Quarter) -> QuarterReport:
    perf = report.performance
    by_priority = {p.priority: p.cases_opened for p in perf.priorities}
    on_time = sum(p.responses_on_time for p in perf.priorities)
    due = on_time + sum(p.responses_late for p in perf.priorities)
    return QuarterReport(report.service, quarter, report.months, by_priority, due, on_time, perf)
