"""``slawatch case open|respond|resolve|link|list``: support cases and their deadlines.

Each subcommand prints the case(s) for people, or the case objects of
interfaces.md with ``--json``. Times take an offset; ``--opened-at`` and
``--at`` default to now.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from core.errors import InputError
from core.timeutil import from_minute, parse_instant
from slawatch.commands._args import Subparsers, group, json_option, service_option, span_options
from slawatch.commands._support import minute_span, print_json, run, table, when

if TYPE_CHECKING:
    from core.cases import Case
    from reads.reports import CaseView
    from slawatch.cli import Context
    from store import Store


def register(sub: Subparsers) -> None:
    actions = group(sub, "case", "support cases: open, respond, resolve, link, list")

    o = actions.add_parser("open", help="record a support case opened with the provider")
    service_option(o)
    o.add_argument(
        "--priority", required=True, metavar="P", help="a priority of the service's contract"
    )
    o.add_argument("--title", required=True, metavar="TEXT", help="what the case is about")
    o.add_argument("--ref", metavar="PROVIDER_REF", help="the provider's own case id")
    o.add_argument("--opened-at", metavar="TIME", help="when it was opened (default: now)")
    o.add_argument("--channel", default="email", help="how it was opened (default: email)")
    json_option(o)
    o.set_defaults(handler=_open)

    for name, help_text in (
        ("respond", "the provider's first response was received"),
        ("resolve", "the case was resolved"),
    ):
        a = actions.add_parser(name, help=help_text)
        a.add_argument("id", metavar="ID", type=_case_id)
        a.add_argument("--at", metavar="TIME", help="when (default: now)")
        json_option(a)
        a.set_defaults(handler=_respond if name == "respond" else _resolve)

    link = actions.add_parser("link", help="this case reported the outages in a span")
    link.add_argument("id", metavar="ID", type=_case_id)
    span_options(link)
    json_option(link)
    link.set_defaults(handler=_link)

    ls = actions.add_parser("list", help="the cases, oldest first")
    ls.add_argument("--open", action="store_true", help="only cases not yet resolved")
    service_option(ls, required=False, help="only this service's cases")
    json_option(ls)
    ls.set_defaults(handler=_list)


def _case_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"case ID must be a positive whole number, not {text!r}")
    return int(text)


def _write(ctx: Context, action: Callable[[Store], Awaitable[Case]]) -> Case:
    from store import open_store

    async def go() -> Case:
        async with await open_store(ctx.config) as store:
            return await action(store)

    return run(go())


def _open(args: argparse.Namespace, ctx: Context) -> int:
    from reads.reports import service_of

    config = ctx.config
    service_of(config, args.service)
    rule = config.contract_for(args.service).rule_for(args.priority)
    if rule is None:
        known = ", ".join(config.contract_for(args.service).priorities)
        raise InputError("--priority", f"unknown priority {args.priority!r} (known: {known})")
    if not args.title.strip():
        raise InputError("--title", "must not be empty")
    opened = parse_instant(args.opened_at, "--opened-at") if args.opened_at else ctx.now()
    case = _write(
        ctx,
        lambda s: s.open_case(
            args.service, rule.name, args.title, opened, ref=args.ref, channel=args.channel
        ),
    )
    return _show(ctx, [case], args.json, single=True)


def _at(args: argparse.Namespace, ctx: Context) -> datetime:
    return parse_instant(args.at, "--at") if args.at else ctx.now()


def _respond(args: argparse.Namespace, ctx: Context) -> int:
    at = _at(args, ctx)
    return _show(ctx, [_write(ctx, lambda s: s.respond_case(args.id, at))], args.json, single=True)


def _resolve(args: argparse.Namespace, ctx: Context) -> int:
    at = _at(args, ctx)
    return _show(ctx, [_write(ctx, lambda s: s.resolve_case(args.id, at))], args.json, single=True)


def _link(args: argparse.Namespace, ctx: Context) -> int:
    start, end = parse_instant(args.start, "--from"), parse_instant(args.end, "--to")
    if end <= start:
        raise InputError("--to", f"{args.end} is not after --from {args.start}")
    lo, hi = minute_span(start, end)
    case = _write(ctx, lambda s: s.link_case(args.id, lo, hi))
    return _show(ctx, [case], args.json, single=True)


def _list(args: argparse.Namespace, ctx: Context) -> int:
    from reads.reports import service_of
    from store import open_store

    config = ctx.config
    if args.service is not None:
        service_of(config, args.service)

    async def read() -> list[Case]:
        async with await open_store(config, readonly=True) as store:
            return await store.cases(service=args.service, open_only=args.open)

    return _show(ctx, run(read()), args.json, single=False)


def _show(ctx: Context, cases: Sequence[Case], as_json: bool, *, single: bool) -> int:
    from reads.reports import case_view

    now = ctx.now()
    views = [case_view(ctx.config, c, now) for c in cases]
    if as_json:
        objects = [v.to_json(now) for v in views]
        print_json(objects[0] if single else objects)
    elif not views:
        print("no cases")
    else:
        print(render_cases(views))
    return 0


def render_cases(views: Sequence[CaseView]) -> str:
    """The aligned case table shared by ``case`` and ``status``."""
    from core.cases import case_status

    rows = []
    for v in views:
        c = v.case
        due = when(v.response_due)
        if v.response_breached:
            due += " LATE"
        rows.append(
            [
                c.id,
                c.service,
                c.priority,
                case_status(c),
                when(c.opened_at),
                due,
                when(c.responded_at),
                ", ".join(f"{when(from_minute(a))} to {when(from_minute(b))}" for a, b in c.links)
                or "-",
                c.ref or "-",
                c.title,
            ]
        )
    headers = ["ID", "SERVICE", "PRIORITY", "STATUS", "OPENED", "RESPONSE DUE", "RESPONDED"]
    return table([*headers, "LINKED", "REF", "TITLE"], rows, right=(0,))
