"""``slawatch credit settle --service S --month M``: mark a month's credit as settled.

A settled month leaves the pending credits of ``status`` and the dashboard.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from core.timeutil import YearMonth
from slawatch.commands._args import Subparsers, group, month_option, service_option
from slawatch.commands._support import run

if TYPE_CHECKING:
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    settle = group(sub, "credit", "service credits").add_parser(
        "settle", help="mark a month's credit as settled"
    )
    service_option(settle)
    month_option(settle)
    settle.set_defaults(handler=_settle)


def _settle(args: argparse.Namespace, ctx: Context) -> int:
    from reads.reports import service_of
    from store import open_store

    config = ctx.config
    service_of(config, args.service)
    month = YearMonth.parse(args.month, "--month")

    async def settle() -> None:
        async with await open_store(config) as store:
            await store.settle_credit(args.service, month, ctx.now())

    run(settle())
    print(f"{args.service} {month}: credit marked settled")
    return 0
