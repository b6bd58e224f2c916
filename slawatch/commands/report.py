"""``slawatch report``: a month's availability, band and credit, or a quarter's summary.

``--month YYYY-MM`` gives rules 1-8 per service; ``--quarter YYYYQN`` each
month's availability and credit, the cases opened per priority and the share
of first responses on time. Formats: ``text`` (aligned columns), ``json``,
``csv`` and ``md``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.timeutil import YearMonth
from slawatch.commands._args import Subparsers, service_option
from slawatch.commands._support import markdown, measured, notes, pct, print_json, run, table

if TYPE_CHECKING:
    from core.month import MonthReport
    from reads.quarter import QuarterReport
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    p = sub.add_parser("report", help="monthly availability, band and credit (or a quarter)")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--month", metavar="YYYY-MM", help="a month, e.g. 2026-10")
    when.add_argument("--quarter", metavar="YYYYQN", help="quarterly summary, e.g. 2026Q4")
    service_option(p, required=False, help="one service (default: all, as a JSON array)")
    p.add_argument(
        "--format", choices=("text", "json", "csv", "md"), default="text", help="default: text"
    )
    p.set_defaults(handler=_report)


def _report(args: argparse.Namespace, ctx: Context) -> int:
    from reads.reports import month_reports, service_of
    from store import open_store

    config = ctx.config
    names = [service_of(config, args.service).name] if args.service else list(config.services)
    if args.quarter is not None:
        from reads.quarter import Quarter, quarter_report

        quarter = Quarter.parse(args.quarter, "--quarter")
        now = ctx.now()

        async def quarters() -> list[QuarterReport]:
            async with await open_store(config, readonly=True) as store:
                return [await quarter_report(store, config, n, quarter, now) for n in names]

        _print_quarters(run(quarters()), args.format, single=args.service is not None)
        return 0
    month = YearMonth.parse(args.month, "--month")

    async def months() -> list[MonthReport]:
        async with await open_store(config, readonly=True) as store:
            return await month_reports(store, config, names, month, now=ctx.now())

    _print_months(run(months()), args.format, single=args.service is not None)
    return 0


def _print_months(reports: Sequence[MonthReport], fmt: str, *, single: bool) -> None:
    from core.money import format_money

    if fmt == "json":
        objects = [r.to_json() for r in reports]
        print_json(objects[0] if single else objects)
    elif fmt == "csv":
        objects = [r.to_json() for r in reports]
        _csv(list(objects[0]) if objects else [], objects)  # the JSON keys, in order
    else:
        headers = [
            "SERVICE", "MONTH", "AVAILABILITY", "DOWNTIME", "EXCLUDED", "UNKNOWN", "MEASURED",
            "CREDIT", "AMOUNT", "REPORTED DOWN", "CLAIMABLE", "CLAIMABLE AMOUNT", "UNREPORTED",
            "NOTE",
        ]  # fmt: skip
        rows = [
            [
                r.service,
                str(r.month),
                measured(r.availability_percent, r.coverage_percent),
                r.downtime_minutes,
                r.excluded_minutes,
                r.unknown_minutes,
                r.measured_minutes,
                pct(r.credit_percent, 2),
                f"{format_money(r.credit_amount)} {r.currency}",
                r.reported_downtime_minutes,
                pct(r.claimable_credit_percent, 2),
                f"{format_money(r.claimable_credit_amount)} {r.currency}",
                f"{len(r.unreported_outages)} of {len(r.outages)}",
                notes(coverage_low=r.coverage_low, provisional=r.provisional),
            ]
            for r in reports
        ]
        right = tuple(range(2, 13))
        print(markdown(headers, rows, right) if fmt == "md" else table(headers, rows, right))
        for rule in dict.fromkeys(r.reporting_rule for r in reports):
            print(f"{chr(10) if fmt == 'md' else ''}CLAIMABLE counts outages {rule}.")


def _print_quarters(reports: Sequence[QuarterReport], fmt: str, *, single: bool) -> None:
    from core.money import format_money

    if fmt == "json":
        objects = [q.to_json() for q in reports]
        print_json(objects[0] if single else objects)
        return
    headers = [
        "SERVICE", "MONTH", "AVAILABILITY", "CREDIT", "AMOUNT", "CLAIMABLE AMOUNT", "NOTE",
    ]  # fmt: skip
    rows: list[list[Any]] = []
    for q in reports:
        for m in q.months:
            rows.append(
                [
                    q.service,
                    str(m.month),
                    measured(m.availability_percent, m.coverage_percent),
                    pct(m.credit_percent, 2),
                    f"{format_money(m.credit_amount)} {m.currency}",
                    f"{format_money(m.claimable_credit_amount)} {m.currency}",
                    notes(coverage_low=m.coverage_low, provisional=m.provisional),
                ]
            )
    if fmt == "csv":
        _csv(
            ("service", "quarter", "month", "availability_percent", "credit_percent",
             "credit_amount", "claimable_credit_amount", "currency", "coverage_percent",
             "coverage_low", "provisional"),
            [
                {
                    "service": q.service,
                    "quarter": str(q.quarter),
                    **m,
                    "currency": q.to_json()["currency"],
                }
                for q in reports
                for m in q.to_json()["months"]
            ],
        )  # fmt: skip
        return
    render = markdown if fmt == "md" else table
    print(render(headers, rows, (2, 3, 4, 5)))
    print()
    case_rows = []
    for q in reports:
        share = q.on_time_share
        opened = ", ".join(f"{p} {n}" for p, n in q.cases_by_priority.items())
        case_rows.append(
            [
                q.service,
                str(q.quarter),
                opened or "-",
                f"{q.responses_on_time} of {q.responses_due}",
                "-" if share is None else pct(share, 1),
            ]
        )
    print(
        render(
            ["SERVICE", "QUARTER", "CASES OPENED", "RESPONSES ON TIME", "ON TIME"],
            case_rows,
            (3, 4),
        )
    )


def _csv(keys: Sequence[str], objects: Sequence[dict[str, Any]]) -> None:
    import csv

    writer = csv.DictWriter(sys.stdout, fieldnames=list(keys), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(objects)
