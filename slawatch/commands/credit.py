"""``slawatch credit settle --service S --month M``: mark a month's credit as settled.

A settled month leaves the pending credits of ``status`` and the dashboard.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from core.timeutil import YearMonth
from slawatch.commands._support import run
from store import Store
from store.reports import service_of

if TYPE_CHECKING:
    from slawatch.cli import Context


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("credit", help="service credits")
    actions = p.add_subparsers(dest="credit_action", metavar="ACTION", required=True)
    settle = actions.add_parser("settle", help="mark a month's credit as settled")
    settle.add_argument("--service", required=True, metavar="NAME")
    settle.add_argument("--month", required=True, metavar="YYYY-MM")
    settle.set_defaults(handler=_settle)


def _settle(args: argparse.Namespace, ctx: Context) -> int:
    config = ctx.config
    service_of(config, args.service)
    month = YearMonth.parse(args.month, "--month")

    async def settle() -> None:
        async with await Store.open(config.storage_path) as store:
            await store.settle_credit(args.service, month, ctx.now())

    run(settle())
    print(f"{args.service} {month}: credit marked settled")
    return 0
