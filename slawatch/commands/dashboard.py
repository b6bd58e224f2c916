"""``slawatch dashboard``: the live Textual dashboard."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slawatch.cli import Context


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("dashboard", help="the live dashboard: status, open cases, pending credits")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace, ctx: Context) -> int:
    from slawatch.claims import export_claim
    from tui import run_dashboard

    return run_dashboard(ctx.config, now=ctx.clock, exporter=export_claim)
