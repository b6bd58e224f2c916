"""``slawatch credit settle|list|unsettle``: service credits owed, paid, and corrected.

A settled month leaves the pending credits of ``status`` and the dashboard;
``unsettle`` puts it back. Both are kept in the audit trail (``slawatch audit``).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from core.timeutil import YearMonth
from slawatch.commands._args import (
    Subparsers,
    group,
    json_option,
    month_option,
    service_option,
)
from slawatch.commands._support import (
    chosen_services,
    nothing_listed,
    print_json,
    table,
    when,
    with_store,
)
from slawatch.tables import on_screen

if TYPE_CHECKING:
    from core.month import MonthReport
    from slawatch.cli import Context
    from store import Store


def register(sub: Subparsers) -> None:
    actions = group(sub, "credit", "service credits: settle, list, unsettle")
    settle = actions.add_parser(
        "settle",
        help="mark a month's credit as settled",
        description="Mark a month's credit as paid: it leaves the pending credits."
        " Kept in the audit trail. Example: slawatch credit settle --service portal"
        " --month 2026-10",
    )
    service_option(settle)
    month_option(settle)
    settle.set_defaults(handler=_settle)

    ls = actions.add_parser(
        "list",
        help="credits pending and settled",
        description="The credits still pending (months that owe one, not settled) and"
        " those marked settled, with when. Example: slawatch credit list --json",
    )
    service_option(ls, required=False, help="only this service's")
    json_option(ls)
    ls.set_defaults(handler=_list)

    unsettle = actions.add_parser(
        "unsettle",
        help="put a settled month's credit back among the pending ones",
        description="Undo `credit settle` (the settlement was recorded by mistake, or the"
        " payment was reversed). Kept in the audit trail. Example: slawatch credit"
        " unsettle --service portal --month 2026-10",
    )
    service_option(unsettle)
    month_option(unsettle)
    unsettle.set_defaults(handler=_unsettle)


def _service_month(args: argparse.Namespace, ctx: Context) -> tuple[YearMonth, tuple[int, int]]:
    """``--service`` checked, ``--month`` parsed, and its minutes in the contract's zone."""
    chosen_services(ctx.config, args.service)
    month = YearMonth.parse(args.month, "--month")
    return month, month.bounds(ctx.config.contract_for(args.service).timezone)


def _settle(args: argparse.Namespace, ctx: Context) -> int:
    from core.errors import InputError
    from core.timeutil import from_minute, to_minute

    month, span = _service_month(args, ctx)
    if span[1] > to_minute(ctx.now()):
        # Settled before it ends, a month would drop out of the pending credits with
        # whatever it still earns: only a complete month's credit can have been paid.
        raise InputError(
            "--month",
            f"{month} is not over (it ends {when(from_minute(span[1]))} in the contract's"
            " time zone); a credit is settled once its month is complete",
        )

    from core.money import format_money
    from reads.reports import month_report

    async def settle(store: Store) -> tuple[bool, MonthReport]:
        report = await month_report(store, ctx.config, args.service, month, now=ctx.now())
        return await store.settle_credit(args.service, month, ctx.now(), span=span), report

    fresh, r = with_store(ctx.config, settle)
    cur = r.currency
    owed = (
        f"claimable credit {format_money(r.claimable_credit_amount)} {cur}"
        f" (measured {format_money(r.credit_amount)} {cur})"
    )
    said = f"{args.service} {month}: {owed} marked settled{'' if fresh else ' (already was)'}" + (
        ""
        if r.claimable_credit_amount
        else "; nothing is claimable (no outage was reported)"
        if r.credit_amount
        else "; this month owes no credit"
    )
    print(on_screen(said, then="  "))
    return 0


def _unsettle(args: argparse.Namespace, ctx: Context) -> int:
    month, span = _service_month(args, ctx)
    gone = with_store(
        ctx.config,
        lambda store: store.unsettle_credit(args.service, month, span=span, at=ctx.now()),
    )
    print(
        on_screen(
            f"{args.service} {month}: credit no longer settled (it was marked settled"
            f" {when(gone.settled_at)}); kept in the audit trail",
            then="  ",
        )
    )
    return 0


def _list(args: argparse.Namespace, ctx: Context) -> int:
    from core.money import format_money
    from reads.reports import month_report, overview

    config = ctx.config
    chosen_services(config, args.service)
    now = ctx.now()

    async def read(store: Store) -> list[dict[str, Any]]:
        view = await overview(store, config, now)
        out = [
            {**p.to_json(), "state": "pending", "settled_at": None}
            for p in view.pending_credits
            if args.service in (None, p.service)
        ]
        for s in await store.settlements(args.service):
            if s.service not in config.services:
                continue  # a service since removed from the config
            r = await month_report(store, config, s.service, YearMonth.parse(s.month, "month"))
            out.append(
                {
                    "service": s.service,
                    "month": s.month,
                    "credit_percent": float(r.credit_percent),
                    "credit_amount": format_money(r.credit_amount),
                    "claimable_credit_percent": float(r.claimable_credit_percent),
                    "claimable_credit_amount": format_money(r.claimable_credit_amount),
                    "currency": r.currency,
                    "month_complete": True,
                    **s.to_json(),
                    "state": "settled",
                }
            )
        return sorted(out, key=lambda c: (c["month"], c["service"]))

    credits = with_store(config, read, readonly=True)
    if args.json:
        print_json(credits)
    elif not credits:
        print(nothing_listed("credits pending or settled", service=args.service))
    else:
        from decimal import Decimal

        from core.percent import credit_text
        from core.timeutil import parse_instant

        rows = [
            [
                c["service"],
                c["month"],
                c["state"] if c["month_complete"] else "pending (month running)",
                credit_text(Decimal(str(c["credit_percent"]))),
                f"{c['credit_amount']} {c['currency']}",
                f"{c['claimable_credit_amount']} {c['currency']}",
                when(parse_instant(c["settled_at"])) if c["settled_at"] else "-",
            ]
            for c in credits
        ]
        # As status and report name them: CREDIT a percentage, AMOUNT money.
        headers = ["SERVICE", "MONTH", "STATE", "CREDIT", "AMOUNT", "CLAIMABLE AMOUNT",
                   "SETTLED AT"]  # fmt: skip
        print(table(headers, rows, right=(3, 4, 5), keys=2))  # a credit: service and month
    return 0
