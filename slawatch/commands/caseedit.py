"""``slawatch case edit|reopen``: corrections of a recorded case, kept in the audit trail.

Registered into the ``case`` group by ``slawatch.commands.case``; kept apart
from the lifecycle subcommands there (priority, escalate, rca, wait).
``case show`` lists a case's corrections under its history.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from core.timeutil import parse_past
from slawatch.commands._args import Subparsers, id_argument, json_option, time_option

if TYPE_CHECKING:
    from datetime import datetime

    from core.audit import AuditEntry
    from core.cases import Case
    from slawatch.cli import Context
    from store import Store


# How ``case.py`` writes a case and prints it as its other subcommands do; handed in
# by ``register`` so this module never imports ``case`` (which imports it).
Finish = Callable[["Context", Callable[["Store"], Awaitable["Case"]], bool], int]


def register(actions: Subparsers, finish: Finish) -> None:
    """Add ``edit`` and ``reopen`` to the ``case`` group."""
    edit = actions.add_parser(
        "edit",
        help="correct a case's title, ref, channel, opening or first-response time",
        description="Correct what was recorded about a case. Each change, before and after,"
        " is kept in the audit trail (who, when); `case show` lists them. Times keep"
        " opened <= first response <= resolved. Example: slawatch case edit 3"
        " --opened-at 2026-10-03T14:05:00Z --ref PRV-881",
    )
    id_argument(edit)
    edit.add_argument("--title", metavar="TEXT", help="what the case is about")
    edit.add_argument("--ref", metavar="PROVIDER_REF", help="the provider's case id ('' clears)")
    edit.add_argument("--channel", metavar="CHANNEL", help="how it was opened (e.g. email)")
    time_option(edit, "--opened-at", "when it was really opened")
    time_option(edit, "--responded-at", "when the first response really came")
    json_option(edit)
    edit.set_defaults(handler=_edit, finish=finish)

    reopen = actions.add_parser(
        "reopen",
        help="a resolved case back open (its resolution kept in the audit trail)",
        description="Clear a case's resolution: it was recorded by mistake, or the problem"
        " came back. The resolution time it had is kept in the audit trail. Example:"
        " slawatch case reopen 3",
    )
    id_argument(reopen)
    json_option(reopen)
    reopen.set_defaults(handler=_reopen, finish=finish)


def _changes(args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if args.title is not None:
        if not args.title.strip():
            raise InputError("--title", "must not be empty")
        changes["title"] = args.title
    if args.ref is not None:
        changes["ref"] = args.ref.strip() or None
    if args.channel is not None:
        if not args.channel.strip():
            raise InputError("--channel", "must not be empty")
        changes["channel"] = args.channel.strip()
    for option, name in (("--opened-at", "opened_at"), ("--responded-at", "responded_at")):
        text = getattr(args, name)
        if text is not None:
            changes[name] = parse_past(text, now, option)
    if not changes:
        raise InputError(
            "case edit", "nothing to change: give --title, --ref, --channel, --opened-at"
            " or --responded-at"
        )  # fmt: skip
    return changes


def _edit(args: argparse.Namespace, ctx: Context) -> int:
    now = ctx.now()
    changes = _changes(args, now)
    return _change(args, ctx, lambda store: store.edit_case(args.id, changes, at=now))


def _reopen(args: argparse.Namespace, ctx: Context) -> int:
    now = ctx.now()
    return _change(args, ctx, lambda store: store.reopen_case(args.id, at=now))


def _change(
    args: argparse.Namespace, ctx: Context, action: Callable[[Store], Awaitable[Case]]
) -> int:
    """Run one correction and print the case as the other ``case`` subcommands do."""
    finish: Finish = args.finish
    return finish(ctx, action, args.json)


def render_corrections(entries: Sequence[AuditEntry]) -> str:
    """``case show``'s last lines: the case's corrections from the audit trail."""
    from slawatch.commands._support import when
    from slawatch.commands.audit import change_text

    lines = [f"  corrections      {len(entries) or 'none'}"]
    for e in entries:
        lines.append(f"    {when(e.at)}  {e.actor}  {e.kind}  {change_text(e)}")
    return "\n".join(lines)
