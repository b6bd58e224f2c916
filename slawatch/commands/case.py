"""``slawatch case ...``: support cases, their lifecycle and their deadlines.

``open``, ``respond``, ``resolve``, ``link``, ``list`` (interfaces.md) and the
lifecycle the contracts describe: ``priority`` (re-rating, with the clock rule
of ``core.cases``), ``escalate``, ``rca``, ``wait`` and ``show`` (one case in
detail, with the customer's own obligations). Each subcommand prints the
case(s) for people, or the case objects with ``--json``. Times take an offset;
``--opened-at`` and ``--at`` default to now. A refused change (unknown id,
bad time, unknown level, a second resolution) is one line, exit 2, and writes
nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from core.cases import ESCALATION_LEVELS
from core.errors import InputError
from core.timeutil import from_minute, parse_past
from slawatch.commands import caseedit  # edit, reopen: corrections, audited
from slawatch.commands._args import (
    Subparsers,
    group,
    id_argument,
    json_option,
    service_option,
    span_options,
    time_option,
)
from slawatch.commands._support import (
    after,
    chosen_services,
    given_span,
    minute_span,
    nothing_listed,
    print_json,
    table,
    time_or_now,
    when,
    with_store,
)
from slawatch.helptext import CASE_STATUSES, PRIORITIES
from slawatch.tables import on_screen

if TYPE_CHECKING:
    from core.audit import AuditEntry
    from core.cases import Case
    from reads.reports import CaseView
    from slawatch.cli import Context
    from store import Store


def register(sub: Subparsers) -> None:
    actions = group(
        sub,
        "case",
        "support cases: open, respond, resolve, link, list, show, priority, escalate, rca, wait,"
        " edit, reopen",
    )

    o = actions.add_parser("open", help="record a support case opened with the provider")
    service_option(o)
    o.add_argument(
        "--priority",
        required=True,
        metavar="P",
        help=f"a priority of the service's contract: {PRIORITIES}",
    )
    o.add_argument("--title", required=True, metavar="TEXT", help="what the case is about")
    o.add_argument("--ref", metavar="PROVIDER_REF", help="the provider's own case id")
    time_option(o, "--opened-at", "when it was opened (default: now)")
    o.add_argument(
        "--channel",
        default="email",
        metavar="C",
        help="how it was opened: one of [cases] channels in the config (default: email, "
        "phone, portal); a contract's report_channels say which earn a credit (default: email)",
    )
    json_option(o)
    o.set_defaults(handler=_open)

    respond = actions.add_parser(
        "respond",
        help="the provider's first response was received",
        description=(
            "Record the provider's first response. It must be a human, non-automated "
            "contact (a person calling or writing about the case): an automatic "
            "acknowledgement or ticket-created e-mail is not a first response. A case "
            "resolved with no first response recorded counts its resolution as its answer."
        ),
    )
    _id_at(respond)
    respond.set_defaults(handler=_respond)

    resolve = actions.add_parser(
        "resolve",
        help="the case was resolved",
        description=(
            "Record the resolution (once). Resolving a case of the contract's most severe "
            "priority (severity 1, critical) with no root-cause analysis requested warns: "
            "the analysis must be asked for before closure (`case rca`)."
        ),
    )
    _id_at(resolve)
    resolve.add_argument(
        "--no-rca", action="store_true", help="no root-cause analysis wanted: no warning"
    )
    resolve.set_defaults(handler=_resolve)

    prio = actions.add_parser(
        "priority",
        help="the priority (severity) was changed",
        description=(
            "Re-rate a case. Before the first response the new priority's target runs "
            "from the change; after it, only the follow-up changes. A deadline already "
            "missed before the change stays missed."
        ),
    )
    _id_at(prio, json=False)
    prio.add_argument(
        "priority", metavar="P", help=f"a priority of the service's contract: {PRIORITIES}"
    )
    prio.add_argument("--reason", metavar="R", help="why (e.g. customer cannot staff 24x7)")
    json_option(prio)
    prio.set_defaults(handler=_priority)

    esc = actions.add_parser(
        "escalate",
        help="the case moved to escalation level 1-4",
        description="Levels: "
        + "; ".join(f"{n} = {what}" for n, what in ESCALATION_LEVELS.items()),
    )
    _id_at(esc, json=False)
    esc.add_argument("level", metavar="LEVEL", type=_level, help="1 to 4")
    json_option(esc)
    esc.set_defaults(handler=_escalate)

    rca = actions.add_parser(
        "rca",
        help="a root-cause analysis was requested (or, with --delivered, received)",
    )
    _id_at(rca)
    rca.add_argument(
        "--delivered", action="store_true", help="the provider delivered the requested analysis"
    )
    rca.set_defaults(handler=_rca)

    wait = actions.add_parser(
        "wait",
        help="the provider is waiting on the customer over a span",
        description=(
            "Record that the provider asked the customer for something. The response "
            "clock stops only when the contract says customer_wait_stops_clock = true "
            "(none of the reference contracts does). Without --to the wait is still open; "
            "the same --from with a --to closes it."
        ),
    )
    id_argument(wait, "case ID")
    wait.add_argument("--from", dest="start", required=True, metavar="TIME")
    wait.add_argument("--to", dest="end", metavar="TIME", help="when it ended (default: open)")
    wait.add_argument("--reason", required=True, metavar="R", help="what the provider asked for")
    json_option(wait)
    wait.set_defaults(handler=_wait)

    show = actions.add_parser("show", help="one case in detail, with its history")
    id_argument(show, "case ID")
    json_option(show)
    show.set_defaults(handler=_show_one)

    link = actions.add_parser("link", help="this case reported the outages in a span")
    id_argument(link, "case ID")
    span_options(link)
    json_option(link)
    link.set_defaults(handler=_link)

    ls = actions.add_parser("list", help="the cases, oldest first")
    ls.add_argument("--open", action="store_true", help="only cases not yet resolved")
    ls.add_argument(
        "--status",
        choices=CASE_STATUSES,
        metavar="STATUS",
        help=f"only cases in this status: {', '.join(CASE_STATUSES)}",
    )
    service_option(ls, required=False, help="only this service's cases")
    json_option(ls)
    ls.set_defaults(handler=_list)
    caseedit.register(actions, _write_and_show)


def _id_at(p: argparse.ArgumentParser, *, json: bool = True) -> None:
    id_argument(p, "case ID")
    time_option(p)
    if json:
        json_option(p)


def _level(text: str) -> int:
    if text.strip() not in {str(n) for n in ESCALATION_LEVELS}:
        raise argparse.ArgumentTypeError(f"LEVEL must be 1, 2, 3 or 4, not {text!r}")
    return int(text)


def _write(ctx: Context, action: Callable[[Store], Awaitable[Case]]) -> Case:
    return with_store(ctx.config, action)


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
    channel = args.channel.strip().lower()
    if channel not in config.channels:
        raise InputError(
            "--channel",
            f"unknown channel {args.channel!r} (known: {', '.join(config.channels)}; "
            "[cases] channels in the config)",
        )
    opened = time_or_now(args.opened_at, ctx.now(), "--opened-at")
    case = _write(
        ctx,
        lambda s: s.open_case(
            args.service, rule.name, args.title, opened, ref=args.ref, channel=channel
        ),
    )
    return _show(ctx, [case], args.json, single=True)


def _at(args: argparse.Namespace, ctx: Context) -> datetime:
    return time_or_now(args.at, ctx.now(), "--at")


def _respond(args: argparse.Namespace, ctx: Context) -> int:
    at = _at(args, ctx)
    return _show(ctx, [_write(ctx, lambda s: s.respond_case(args.id, at))], args.json, single=True)


def _resolve(args: argparse.Namespace, ctx: Context) -> int:
    from core.cases import needs_rca_warning

    at = _at(args, ctx)
    case = _write(ctx, lambda s: s.resolve_case(args.id, at))
    config = ctx.config
    if (
        not args.no_rca
        and case.service in config.services
        and needs_rca_warning(case, config.contract_for(case.service))
    ):
        warned = (
            f"slawatch: warning: case {case.id} ({case.priority}) resolved with no root-cause "
            "analysis requested; it had to be asked for before closure (--no-rca: none wanted)"
        )
        print(on_screen(warned, then="  ", stream=sys.stderr), file=sys.stderr)
    return _show(ctx, [case], args.json, single=True)


def _priority(args: argparse.Namespace, ctx: Context) -> int:
    at = _at(args, ctx)
    config = ctx.config

    async def change(store: Store) -> Case:
        case = await store.get_case(args.id)
        if case is None:
            raise InputError("case", f"no case with id {args.id}")
        from reads.reports import service_of

        service_of(config, case.service, f"case {case.id}'s service")
        contract = config.contract_for(case.service)
        rule = contract.rule_for(args.priority)
        if rule is None:
            known = ", ".join(contract.priorities)
            raise InputError("priority", f"unknown priority {args.priority!r} (known: {known})")
        reason = args.reason.strip() if args.reason and args.reason.strip() else None
        return await store.change_priority(case.id, rule.name, at, reason)

    return _show(ctx, [_write(ctx, change)], args.json, single=True)


def _escalate(args: argparse.Namespace, ctx: Context) -> int:
    at = _at(args, ctx)
    case = _write(ctx, lambda s: s.escalate_case(args.id, args.level, at))
    return _show(ctx, [case], args.json, single=True)


def _rca(args: argparse.Namespace, ctx: Context) -> int:
    at = _at(args, ctx)
    if args.delivered:
        case = _write(ctx, lambda s: s.deliver_rca(args.id, at))
    else:
        case = _write(ctx, lambda s: s.request_rca(args.id, at))
    return _show(ctx, [case], args.json, single=True)


def _wait(args: argparse.Namespace, ctx: Context) -> int:
    now = ctx.now()
    start = parse_past(args.start, now, "--from")
    end = parse_past(args.end, now, "--to") if args.end else None
    case = _write(ctx, lambda s: s.add_wait(args.id, start, end, args.reason))
    return _show(ctx, [case], args.json, single=True)


def _show_one(args: argparse.Namespace, ctx: Context) -> int:
    from reads.reports import case_view

    async def read(store: Store) -> tuple[Case | None, list[AuditEntry]]:
        return await store.get_case(args.id), await store.case_corrections(args.id)

    case, corrections = with_store(ctx.config, read, readonly=True)
    if case is None:
        raise InputError("case", f"no case with id {args.id}")
    now = ctx.now()
    view = case_view(ctx.config, case, now)
    if args.json:
        print_json({**view.to_json(now), "corrections": [e.to_json() for e in corrections]})
    else:
        print(render_detail(view, now))
        print(caseedit.render_corrections(corrections))
    return 0


def _link(args: argparse.Namespace, ctx: Context) -> int:
    lo, hi = minute_span(*given_span(args))
    case = _write(ctx, lambda s: s.link_case(args.id, lo, hi))
    return _show(ctx, [case], args.json, single=True)


def _list(args: argparse.Namespace, ctx: Context) -> int:
    chosen_services(ctx.config, args.service)
    found = with_store(
        ctx.config,
        lambda store: store.cases(service=args.service, open_only=args.open),
        readonly=True,
    )
    if args.status is not None:
        from core.cases import case_status

        found = [c for c in found if case_status(c) == args.status]
    if not found and not args.json:
        status = args.status or ("open" if args.open else None)
        print(nothing_listed(f"{status} cases" if status else "cases", service=args.service))
        return 0
    return _show(ctx, found, args.json, single=False)


def _write_and_show(ctx: Context, action: Callable[[Store], Awaitable[Case]], as_json: bool) -> int:
    return _show(ctx, [_write(ctx, action)], as_json, single=True)


def _show(ctx: Context, cases: Sequence[Case], as_json: bool, *, single: bool) -> int:
    from reads.reports import case_view

    now = ctx.now()
    views = [case_view(ctx.config, c, now) for c in cases]
    if as_json:
        objects = [v.to_json(now) for v in views]
        print_json(objects[0] if single else objects)
    else:
        # RESOLVED only when a case listed is: a column of dashes says nothing, and
        # without it an open case's row fits 80 columns.
        print(render_cases(views, resolved=any(c.resolved_at for c in cases)))
    return 0


def render_cases(views: Sequence[CaseView], *, resolved: bool = True) -> str:
    """The case table shared by ``case`` and ``status``: one row of status and times per
    case, then, indented below it, its reference, title, channel, escalation level,
    re-rating and linked spans (so the table fits 100 columns, the title whole).

    OPENED is written in full; the times after it (response due, responded, resolved)
    without the year when it is OPENED's (``11-06 09:48Z``), which keeps the four of
    them within 100 columns; a missed deadline reads ``11-06 09:56Z BREACHED``, its word
    on a line of its own under the time when the row would not fit otherwise.
    ``resolved=False`` leaves out RESOLVED (open cases)."""
    from core.cases import case_status

    rows = []
    below = []
    for v in views:
        c = v.case
        due = after(v.response_due, c.opened_at)
        if v.response_breached:
            due += " BREACHED"
        rows.append(
            [
                c.id,
                c.service,
                c.priority,
                case_status(c),
                when(c.opened_at),
                due,
                after(c.responded_at, c.opened_at),
                *([after(c.resolved_at, c.opened_at)] if resolved else []),
            ]
        )
        said = [f"by {c.channel}", f"level {c.escalation_level}"]
        if c.changes:
            said.append(f"was {c.opened_priority}")
        if c.links:
            spans = (
                f"{when(from_minute(a))} to {after(from_minute(b), from_minute(a))}"
                for a, b in c.links
            )
            said.append("linked " + ", ".join(spans))
        below.append(f"{c.ref or '(no ref)'}  {c.title}  ({'; '.join(said)})")
    headers = ["ID", "SERVICE", "PRIORITY", "STATUS", "OPENED", "RESPONSE DUE", "RESPONDED"]
    headers += ["RESOLVED"] if resolved else []
    # A breached deadline's word goes under its time rather than fold the table.
    return table(headers, rows, right=(0,), below=below, wrap=5, wrap_min=len("11-06 09:48Z"))


def render_detail(view: CaseView, now: datetime) -> str:
    """``case show``: one case with its history, its deadline's reasoning and what the
    contract asks of the customer (``reads.reports.case_facts``)."""
    from reads.reports import case_facts
    from slawatch.tables import wrap

    c = view.case
    title = f"case {c.id} ({c.ref or 'no provider ref'}): {c.title}"
    lines = wrap(title, then="    ")
    for label, text in case_facts(view):
        first = f"  {label:<16} " if label else "    "
        lines += wrap(text, indent=first, then=" " * len(first)) or [first]
    return "\n".join(line.rstrip() for line in lines)
