"""``slawatch report``: a month's availability, band and credit, or a quarter's summary.

``--month YYYY-MM`` gives rules 1-8 per service; ``--quarter YYYYQN`` each
month's availability and credit, the cases opened per priority and the share
of first responses on time. Both end with the contract's performance report
(``core.performance``, as of the period's end): per priority, cases opened,
first responses on time and breached, open at the end, resolution times,
escalations, root-cause analyses; unreported outages; the deviations awaiting
an action plan. Formats: ``text`` (aligned columns), ``json``, ``csv`` (one
table per file: ``--table months|performance|deviations``) and ``md``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from core.percent import availability_text, credit_text, measured_text
from core.timeutil import YearMonth, iso_z
from slawatch.commands._args import Subparsers, service_option
from slawatch.commands._support import (
    markdown,
    notes,
    pct,
    print_json,
    table,
    when,
    with_store,
)
from slawatch.tables import wrap

if TYPE_CHECKING:
    from core.month import MonthReport
    from core.performance import Deviation, Performance
    from reads.performance import PeriodReport
    from reads.quarter import QuarterReport
    from slawatch.cli import Context
    from store import Store


def register(sub: Subparsers) -> None:
    p = sub.add_parser("report", help="monthly availability, band and credit (or a quarter)")
    when = p.add_mutually_exclusive_group(required=True)
    when.add_argument("--month", metavar="YYYY-MM", help="a month, e.g. 2026-10")
    when.add_argument("--quarter", metavar="YYYYQN", help="quarterly summary, e.g. 2026Q4")
    service_option(p, required=False, help="one service (default: all, as a JSON array)")
    p.add_argument(
        "--format", choices=("text", "json", "csv", "md"), default="text", help="default: text"
    )
    p.add_argument(
        "--table",
        choices=CSV_TABLES,
        help="with --format csv: which table (default: months; see docs/reports.md)",
    )
    p.set_defaults(handler=_report)


CSV_TABLES = ("months", "performance", "deviations")


def _report(args: argparse.Namespace, ctx: Context) -> int:
    from reads.reports import service_of

    config = ctx.config
    names = (
        [service_of(config, args.service).name]
        if args.service is not None
        else list(config.services)
    )
    if args.table is not None and args.format != "csv":
        raise InputError("--table", "goes with --format csv (the other formats show every table)")
    table_name = args.table or "months"
    now = ctx.now()
    if args.quarter is not None:
        from reads.quarter import Quarter, quarter_reports

        quarter = Quarter.parse(args.quarter, "--quarter")

        async def quarters(store: Store) -> list[QuarterReport]:
            return await quarter_reports(store, config, names, quarter, now)

        reports = with_store(config, quarters, readonly=True)
        perfs = [q.performance for q in reports if q.performance is not None]
        if not _performance_csv(perfs, args.format, table_name):
            _print_quarters(reports, args.format, single=args.service is not None)
            _print_performance(perfs, args.format)
        return 0
    month = YearMonth.parse(args.month, "--month")

    async def months(store: Store) -> list[PeriodReport]:
        from reads.performance import period_reports

        return await period_reports(store, config, names, [month], str(month), now)

    periods = with_store(config, months, readonly=True)
    perfs = [p.performance for p in periods]
    if not _performance_csv(perfs, args.format, table_name):
        _print_months([p.months[0] for p in periods], args.format, single=args.service is not None,
                      performance=perfs)  # fmt: skip
        _print_performance(perfs, args.format)
    return 0


def _print_months(
    reports: Sequence[MonthReport],
    fmt: str,
    *,
    single: bool,
    performance: Sequence[Performance] = (),
) -> None:
    from core.money import format_money

    if fmt == "json":
        objects = [r.to_json() for r in reports]
        for obj, perf in zip(objects, performance, strict=False):
            obj["performance"] = perf.to_json()
        print_json(objects[0] if single else objects)
    elif fmt == "csv":
        objects = [_with_shown(r.to_json(), r.availability_percent) for r in reports]
        _csv(list(objects[0]) if objects else [], objects)  # the JSON keys, in order
    else:
        # The figures a reader wants first, then the minutes they come from: a table
        # wider than 100 columns folds there, each block led by SERVICE and MONTH.
        headers = [
            "SERVICE", "MONTH", "AVAILABILITY", "NOTE", "CREDIT", "AMOUNT", "CLAIMABLE",
            "CLAIMABLE AMOUNT", "REPORTED", "UNREPORTED", "DOWNTIME", "EXCLUDED", "UNKNOWN",
            "MEASURED",
        ]  # fmt: skip
        rows = [
            [
                r.service,
                str(r.month),
                measured_text(r.availability_percent, r.coverage_percent),
                notes(coverage_low=r.coverage_low, provisional=r.provisional),
                credit_text(r.credit_percent),
                f"{format_money(r.credit_amount)} {r.currency}",
                credit_text(r.claimable_credit_percent),
                f"{format_money(r.claimable_credit_amount)} {r.currency}",
                r.reported_downtime_minutes,
                f"{len(r.unreported_outages)} of {len(r.outages)}",
                r.downtime_minutes,
                r.excluded_minutes,
                r.unknown_minutes,
                r.measured_minutes,
            ]
            for r in reports
        ]
        right = (2, *range(4, 14))
        render = (
            markdown(headers, rows, right) if fmt == "md" else table(headers, rows, right, keys=2)
        )
        print(render)
        legend = "REPORTED: minutes of the outages reported; UNREPORTED: outages not reported."
        print(f"\n{legend}" if fmt == "md" else legend)  # md: a line under a table is a row
        for rule in dict.fromkeys(r.reporting_rule for r in reports):
            said = f"CLAIMABLE counts outages {rule}."
            print(f"\n{said}" if fmt == "md" else "\n".join(wrap(said)))


def _print_quarters(reports: Sequence[QuarterReport], fmt: str, *, single: bool) -> None:
    from core.money import format_money

    if fmt == "json":
        objects = [q.to_json() for q in reports]
        print_json(objects[0] if single else objects)
        return
    headers = [  # NOTE beside the figure it qualifies, as in the month's report
        "SERVICE", "MONTH", "AVAILABILITY", "NOTE", "CREDIT", "AMOUNT", "CLAIMABLE AMOUNT",
    ]  # fmt: skip
    rows: list[list[Any]] = []
    for q in reports:
        for m in q.months:
            rows.append(
                [
                    q.service,
                    str(m.month),
                    measured_text(m.availability_percent, m.coverage_percent),
                    notes(coverage_low=m.coverage_low, provisional=m.provisional),
                    credit_text(m.credit_percent),
                    f"{format_money(m.credit_amount)} {m.currency}",
                    f"{format_money(m.claimable_credit_amount)} {m.currency}",
                ]
            )
    if fmt == "csv":
        _csv(
            ("service", "quarter", "month", "availability_percent", "availability",
             "credit_percent", "credit_amount", "claimable_credit_amount", "currency",
             "coverage_percent", "coverage_low", "provisional"),
            [
                {
                    "service": q.service,
                    "quarter": str(q.quarter),
                    **_with_shown(m, month.availability_percent),
                    "currency": q.to_json()["currency"],
                }
                for q in reports
                for m, month in zip(q.to_json()["months"], q.months, strict=True)
            ],
        )  # fmt: skip
        return
    render = markdown if fmt == "md" else table
    print(
        markdown(headers, rows, (2, 4, 5, 6))
        if fmt == "md"
        else table(headers, rows, (2, 4, 5, 6), keys=2)
    )
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
                "-" if share is None else pct(share),
            ]
        )
    print(
        render(
            ["SERVICE", "QUARTER", "CASES OPENED", "RESPONSES ON TIME", "ON TIME"],
            case_rows,
            (3, 4),
        )
    )


def _with_shown(row: dict[str, Any], availability: Decimal) -> dict[str, Any]:
    """A CSV row with ``availability``, the figure as people read it on every other
    surface (``99.0740 %``), after ``availability_percent`` (the exact number)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        out[key] = value
        if key == "availability_percent":
            out["availability"] = availability_text(availability)
    return out


def _performance_csv(perfs: Sequence[Performance], fmt: str, table_name: str) -> bool:
    """Print the performance or deviations CSV table when that is what was asked."""
    if fmt != "csv" or table_name == "months":
        return False
    if table_name == "performance":
        rows = [
            {
                "service": p.service,
                "period": p.period,
                "as_of": iso_z(p.as_of),
                **f.to_json(),
                "service_outages": p.outages,
                "service_unreported_outages": p.unreported_outages,
                "service_unreported_downtime_minutes": p.unreported_minutes,
            }
            for p in perfs
            for f in p.priorities
        ]
        _csv(PERFORMANCE_CSV, rows)
    else:
        _csv(
            DEVIATIONS_CSV,
            [{"period": p.period, **d.to_json()} for p in perfs for d in p.deviations],
        )
    return True


PERFORMANCE_CSV = (
    "service", "period", "as_of", "priority", "target", "cases_opened", "responses_on_time",
    "responses_late", "responses_pending", "late_max_minutes", "late_total_minutes",
    "open_at_end", "resolved", "resolution_median_minutes", "resolution_max_minutes",
    "escalations", "rca_requested", "rca_delivered", "service_outages",
    "service_unreported_outages", "service_unreported_downtime_minutes",
)  # fmt: skip
DEVIATIONS_CSV = (
    "period", "kind", "service", "case_id", "ref", "priority", "response_due", "answered_at",
    "late_minutes", "month", "availability_percent", "top_band_percent", "credit_percent",
    "provisional", "action_plan",
)  # fmt: skip


def _print_performance(perfs: Sequence[Performance], fmt: str) -> None:
    """The performance tables and the deviations, for people (text or md); JSON and CSV
    carry them elsewhere."""
    if fmt not in ("text", "md") or not perfs:
        return
    from core.performance import ACTION_PLAN_AWAITED

    render = markdown if fmt == "md" else table
    as_of = sorted({when(p.as_of) for p in perfs})
    title = (
        f"Performance as of {', '.join(as_of)} (first responses of the cases opened in the period)"
    )
    print()
    print(f"**{title}**" if fmt == "md" else "\n".join(wrap(title)))
    print()
    headers = [
        "SERVICE", "PERIOD", "PRIORITY", "TARGET", "OPENED", "ON TIME", "BREACHED", "MAX BREACH",
        "PENDING", "OPEN AT END", "RESOLVED", "RESOLVE MEDIAN", "RESOLVE MAX", "ESCALATED",
        "RCA ASKED", "RCA DONE",
    ]  # fmt: skip
    rows = [
        [
            p.service,
            p.period,
            f.priority,
            f.target,
            f.cases_opened,
            f.responses_on_time,
            f.responses_late,
            _minutes(f.late_max_minutes),
            f.responses_pending,
            f.open_at_end,
            f.resolved,
            _minutes(f.resolution_median_minutes),
            _minutes(f.resolution_max_minutes),
            f.escalations,
            f.rca_requested,
            f.rca_delivered,
        ]
        for p in perfs
        for f in p.priorities
    ]
    if fmt == "md":
        print(markdown(headers, rows, tuple(range(4, 16))))
    else:
        print(table(headers, rows, tuple(range(4, 16)), keys=3))
    print()
    outages = [
        [p.service, p.period, p.outages, p.unreported_outages, f"{p.unreported_minutes} min"]
        for p in perfs
    ]
    print(
        render(
            ["SERVICE", "PERIOD", "OUTAGES", "UNREPORTED AT END", "UNREPORTED DOWNTIME"],
            outages,
            (2, 3, 4),
        )
    )
    print()
    deviations = [d for p in perfs for d in p.deviations]
    if not deviations:
        print("No deviations from target.")
        return
    head = f"Deviations from target, each {ACTION_PLAN_AWAITED}:"
    print(f"**{head}**\n" if fmt == "md" else head)
    for d in deviations:
        line = f"- {deviation_text(d)}"
        print(line if fmt == "md" else "\n".join(wrap(line, then="  ")))


def deviation_text(d: Deviation) -> str:
    """One deviation in a sentence."""
    if d.kind == "response_late":
        answered = (
            f"answered {when(d.answered_at)}"
            if d.answered_at is not None
            else "not answered by the period's end"
        )
        ref = f"{d.ref}, " if d.ref else ""
        return (
            f"{d.service}: case {d.case_id} ({ref}{d.priority}) first response BREACHED by "
            f"{_minutes(d.late_minutes)}: due {when(d.at)}, {answered}"
        )
    assert d.availability_percent is not None and d.top_band_percent is not None
    assert d.credit_percent is not None
    provisional = " (provisional)" if d.provisional else ""
    return (
        f"{d.service}: {d.month} availability {availability_text(d.availability_percent)}"
        f"{provisional} below the top band ({d.top_band_percent} %): "
        f"credit {credit_text(d.credit_percent)}"
    )


def _minutes(value: int | None) -> str:
    """``45 min``, ``2h10m``, ``3d4h05m``; ``-`` for none."""
    if value is None:
        return "-"
    if value < 60:
        return f"{value} min"
    days, rest = divmod(value, 1440)
    hours, minutes = divmod(rest, 60)
    return (f"{days}d" if days else "") + f"{hours}h{minutes:02d}m"


def _csv(keys: Sequence[str], objects: Sequence[dict[str, Any]]) -> None:
    import csv

    writer = csv.DictWriter(sys.stdout, fieldnames=list(keys), extrasaction="ignore")
    writer.writeheader()
    writer.writerows({k: _csv_cell(v) for k, v in obj.items()} for obj in objects)


def _csv_cell(value: Any) -> Any:
    """A JSON value as its CSV cell, spelt as the JSON spells it: ``true``/``false``
    (not Python's ``True``), a list joined with commas (``email,phone``, not
    ``['email', 'phone']``); everything else as it is."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(_csv_cell(v)) for v in value)
    return value
