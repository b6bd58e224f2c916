"""The performance part of ``report --month`` and ``report --quarter`` (``core.performance``).

For each service: its months' reports as the availability tables show them
(every case known today), and the performance figures counted as of the
period's end (or now, while it runs), from the cases cut to what was known then
and the months computed again with those cases, so a past period gives the
same figures however late it is re-run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from core.cases import case_as_of
from core.config import Config
from core.month import MonthReport
from core.performance import Performance, performance
from core.timeutil import YearMonth, from_minute
from reads.reports import READ_TOGETHER, MonthInputs, months_read
from store.store import Store


@dataclass(frozen=True)
class PeriodReport:
    service: str
    months: tuple[MonthReport, ...]  # as of now, every case known today
    performance: Performance  # as of the period's end (or now)


async def period_report(
    store: Store,
    config: Config,
    service: str,
    months: Sequence[YearMonth],
    period: str,
    now: datetime,
) -> PeriodReport:
    """One service's months and its performance over them, as of min(period end, now)."""
    (report,) = await period_reports(store, config, [service], months, period, now)
    return report


async def period_reports(
    store: Store,
    config: Config,
    services: Sequence[str],
    months: Sequence[YearMonth],
    period: str,
    now: datetime,
) -> list[PeriodReport]:
    """``period_report`` of each of ``services``, their months read together
    (``months_read``: a few queries for them all, not a few each)."""
    wanted = [(service, m) for service in services for m in months]
    if not wanted:
        return []
    cases = await store.cases(service=services[0]) if len(set(services)) == 1 else None
    together = max(1, READ_TOGETHER // len(months)) * len(months)  # whole services
    out = []
    async for part in months_read(
        store,
        config,
        wanted,
        cases=None if cases is None else {services[0]: cases},
        together=together,
    ):
        for i in range(0, len(part), len(months)):
            mine = part[i : i + len(months)]
            out.append(_period(config, mine[0].service.name, mine, period, now))
    return out


def _period(
    config: Config, service: str, inputs: Sequence[MonthInputs], period: str, now: datetime
) -> PeriodReport:
    contract = config.contract_for(service)
    tz = contract.timezone
    months = [i.month for i in inputs]
    start, end = from_minute(months[0].bounds(tz)[0]), from_minute(months[-1].bounds(tz)[1])
    as_of = min(end, now)
    cases = inputs[0].cases
    known = tuple(c for c in (case_as_of(case, as_of) for case in cases) if c is not None)
    today = tuple(i.compute(now) for i in inputs)
    at_end = [replace(i, cases=known).compute(as_of) for i in inputs]
    figures = performance(
        service=service,
        period=period,
        contract=contract,
        calendar=config.calendar_for(contract),
        cases=known,
        months=at_end,
        start=start,
        end=end,
        as_of=as_of,
    )
    return PeriodReport(service, today, figures)
