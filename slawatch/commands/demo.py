"""``slawatch demo [--keep DIR]``: the whole product on one machine, no set-up."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slawatch.cli import Context


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="a simulated service, the agent probing it, a month of history and the dashboard",
    )
    p.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="keep the demo's config and database in DIR (default: a temporary folder, removed)",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace, ctx: Context) -> int:
    from slawatch.demo import run_demo

    return run_demo(args.keep, ctx.clock)
