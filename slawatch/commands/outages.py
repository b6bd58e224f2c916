"""``slawatch outages --month M [--service S] [--json]``: each outage, reported or not.

Without ``--service``, every configured service's outages, by service then start
(a SERVICE column in the table; each JSON object names its ``service`` anyway).

An outage is reported when a case was linked to it or a case of the service
was opened within ``report_within`` of its start (rule 8), through one of the
contract's ``report_channels`` (a case by another channel is named, with why).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from core.timeutil import YearMonth
from slawatch.commands._args import Subparsers, json_option, month_option, service_option
from slawatch.commands._support import (
    after,
    chosen_services,
    left,
    nothing_listed,
    print_json,
    table,
    when,
    with_store,
)

if TYPE_CHECKING:
    from core.outages import Outage
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "outages",
        help="a month's outages, each reported (with its case) or not",
        description="A month's outages (rule 8), each with the case that reported it, or"
        " NOT REPORTED and the deadline it had. Without --service: every service.",
        epilog="example: slawatch outages --month 2026-10 --service portal --json",
    )
    month_option(p)
    service_option(p, required=False, help="only this service (default: every service)")
    json_option(p)
    p.set_defaults(handler=_outages)


def _outages(args: argparse.Namespace, ctx: Context) -> int:
    from reads.reports import month_reports

    config = ctx.config
    services = chosen_services(config, args.service)
    month = YearMonth.parse(args.month, "--month")
    now = ctx.now()
    reports = with_store(
        config, lambda store: month_reports(store, config, services, month, now=now), readonly=True
    )
    outages = [o for r in reports for o in r.outages]
    if args.json:
        print_json([o.to_json() for o in outages])
        return 0
    if not outages:
        print(nothing_listed("outages", service=args.service, month=month))
        return 0
    rows = [
        [
            *([] if args.service else [o.service]),
            when(o.start),
            "ongoing" if o.ongoing else after(o.end, o.start),
            o.minutes,
            after(o.report_by, o.start)
            + (f" ({left(o.report_by, now)})" if o.reportable(now) else ""),
            f"case {o.case_id}" if o.reported else _not_reported(o),
        ]
        for o in outages
    ]
    # START in full, the times after it without its year (as in every table of events).
    head = ["START", "END", "MINUTES", "REPORT BY", "REPORTED"]  # why not, wrapped to fit
    if args.service:
        print(table(head, rows, right=(2,), wrap=4))
    else:
        # An outage is named by its service and start: a folded block repeats both.
        print(table(["SERVICE", *head], rows, right=(3,), wrap=5, keys=2))
    return 0


def _not_reported(o: Outage) -> str:
    """``NOT REPORTED``, and why when a case came through a channel that does not count."""
    return "NOT REPORTED" + (f" ({o.unreported_reason})" if o.unreported_reason else "")
