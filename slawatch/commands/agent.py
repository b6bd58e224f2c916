"""``slawatch agent [--once]``: the probe agent in the foreground (what systemd runs)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slawatch.cli import Context


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "agent",
        help="run the probe agent in the foreground",
        description="Probe every configured service on its interval and record one verdict "
        "per minute until SIGTERM or Ctrl+C. Logs go to stderr, one line per event.",
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="probe every service once, record the verdicts, print them, and exit",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace, ctx: Context) -> int:
    from agent import run_agent

    return run_agent(ctx.config, once=args.once, clock=ctx.clock)
