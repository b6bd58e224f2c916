"""``maintenance add`` and ``exclude add``: one-off windows taken out of a month.

Both are half-open spans [from, to); times need an offset. A window is stored
on the minutes that cover it (the start's minute up to the end's, rounded up).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Literal

from core.errors import InputError
from core.timeutil import parse_instant
from core.windows import Window
from slawatch.commands._support import minute_span, run, when
from store import Store
from store.reports import service_of

if TYPE_CHECKING:
    from slawatch.cli import Context


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    m = sub.add_parser("maintenance", help="one-off scheduled maintenance windows")
    m_actions = m.add_subparsers(dest="maintenance_action", metavar="ACTION", required=True)
    m_add = m_actions.add_parser("add", help="add a one-off maintenance window")
    _span_options(m_add, reason_required=False)
    m_add.set_defaults(handler=_add, kind="maintenance")

    e = sub.add_parser("exclude", help="interruptions outside the provider's control")
    e_actions = e.add_subparsers(dest="exclude_action", metavar="ACTION", required=True)
    e_add = e_actions.add_parser("add", help="exclude an interruption from downtime")
    _span_options(e_add, reason_required=True)
    e_add.set_defaults(handler=_add, kind="exclusion")


def _span_options(p: argparse.ArgumentParser, *, reason_required: bool) -> None:
    p.add_argument("--service", required=True, metavar="NAME")
    p.add_argument("--from", dest="start", required=True, metavar="TIME")
    p.add_argument("--to", dest="end", required=True, metavar="TIME")
    p.add_argument("--reason", required=reason_required, default="", metavar="TEXT")


def _add(args: argparse.Namespace, ctx: Context) -> int:
    config = ctx.config
    service_of(config, args.service)
    start, end = parse_instant(args.start, "--from"), parse_instant(args.end, "--to")
    if end <= start:
        raise InputError("--to", f"{args.end} is not after --from {args.start}")
    kind: Literal["maintenance", "exclusion"] = args.kind
    if kind == "exclusion" and not args.reason.strip():
        raise InputError("--reason", "an exclusion needs a reason")
    lo, hi = minute_span(start, end)

    async def add() -> Window:
        async with await Store.open(config.storage_path) as store:
            if kind == "maintenance":
                return await store.add_maintenance(args.service, lo, hi, args.reason)
            return await store.add_exclusion(args.service, lo, hi, args.reason)

    window = run(add())
    label = "maintenance window" if kind == "maintenance" else "exclusion"
    print(
        f"{label} added for {args.service}: {when(start)} to {when(end)}"
        f" ({window.minutes} minutes){f': {window.reason}' if window.reason else ''}"
    )
    return 0
