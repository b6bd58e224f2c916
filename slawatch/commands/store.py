"""``slawatch store verify``: walk every hash chain and report the first broken link."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from slawatch.commands._args import Subparsers, group
from slawatch.commands._support import run

if TYPE_CHECKING:
    from slawatch.cli import Context
    from store.chain import ChainSummary


def register(sub: Subparsers) -> None:
    v = group(sub, "store", "check the database").add_parser(
        "verify", help="walk the minute records' hash chains; exit 1 at a broken link"
    )
    v.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace, ctx: Context) -> int:
    from core.errors import InputError
    from store import open_store

    config = ctx.config
    if not config.storage_path.exists():
        raise InputError(str(config.storage_path), "no database here yet")

    async def check() -> ChainSummary:
        async with await open_store(config, readonly=True) as store:
            return await store.check_chains()

    summary = run(check())
    if not summary.breaks:
        print(f"{config.storage_path}: {summary.chains} chains, {summary.hours} sealed hours: OK")
        return 0
    for found in summary.breaks:
        print(f"BROKEN {found.describe()}")
    first = summary.breaks[0]
    print(
        f"{config.storage_path}: {len(summary.breaks)} of {summary.chains} chains broken; "
        f"first broken link: {first.describe()}"
    )
    return 1
