"""``slawatch dashboard``: the live Textual dashboard."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.config import Config
    from core.timeutil import YearMonth
    from slawatch.cli import Context


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dashboard", help="the live dashboard: status, open cases, pending credits")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace, ctx: Context) -> int:
    from tui import run_dashboard

    return run_dashboard(ctx.config, now=ctx.clock, exporter=export_claim)


async def export_claim(config: Config, service: str, month: YearMonth, now: datetime) -> str:
    """The dashboard's ``e``: what ``slawatch claim export`` writes, into ``claims/``
    next to the database; returns the one line to show."""
    from core import claim as bundle
    from slawatch import claims
    from store import open_store

    folder = config.storage_path.parent / "claims"
    folder.mkdir(mode=0o700, exist_ok=True)
    out = folder / f"claim-{service}-{month}.json"
    async with await open_store(config, readonly=True) as store:
        exported = await claims.gather(store, config, service, month, now)
    claims.write_atomic(out, bundle.dumps(exported.document))
    r = exported.report
    return (
        f"{out}: credit {r.credit_amount:.2f} {r.currency},"
        f" claimable {r.claimable_credit_amount:.2f} {r.currency}"
    )
