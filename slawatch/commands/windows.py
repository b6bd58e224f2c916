"""``maintenance add`` and ``exclude add``: one-off windows taken out of a month.

Both are half-open spans [from, to); times need an offset. A window is stored
on the minutes that cover it (the start's minute up to the end's, rounded up).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Literal

from core.errors import InputError
from core.timeutil import parse_instant
from slawatch.commands._args import Subparsers, group, service_option, span_options
from slawatch.commands._support import minute_span, plural, run, when

if TYPE_CHECKING:
    from core.windows import Window
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    m_add = group(sub, "maintenance", "one-off scheduled maintenance windows").add_parser(
        "add", help="add a one-off maintenance window"
    )
    _window_options(m_add, reason_required=False)
    m_add.set_defaults(handler=_add, kind="maintenance")

    e_add = group(sub, "exclude", "interruptions outside the provider's control").add_parser(
        "add", help="exclude an interruption from downtime"
    )
    _window_options(e_add, reason_required=True)
    e_add.set_defaults(handler=_add, kind="exclusion")


def _window_options(p: argparse.ArgumentParser, *, reason_required: bool) -> None:
    service_option(p)
    span_options(p)
    p.add_argument(
        "--reason",
        required=reason_required,
        default="",
        metavar="TEXT",
        help="why (shown in claims)",
    )


def _add(args: argparse.Namespace, ctx: Context) -> int:
    from reads.reports import service_of
    from store import open_store

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
        async with await open_store(config) as store:
            if kind == "maintenance":
                return await store.add_maintenance(args.service, lo, hi, args.reason)
            return await store.add_exclusion(args.service, lo, hi, args.reason)

    window = run(add())
    label = "maintenance window" if kind == "maintenance" else "exclusion"
    print(
        f"{label} added for {args.service}: {when(start)} to {when(end)}"
        f" ({plural(window.minutes, 'minute')}){f': {window.reason}' if window.reason else ''}"
    )
    return 0
