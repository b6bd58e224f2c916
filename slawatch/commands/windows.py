"""``maintenance add|list|remove`` and ``exclude add|list|remove``: one-off windows.

Both are half-open spans [from, to); times need an offset. A window is stored
on the minutes that cover it (the start's minute up to the end's, rounded up).
A window added over minutes already recorded down takes downtime out of a
month: it is warned about (asking for ``--reason`` when none was given; the
option stays optional for maintenance, as interfaces.md has it) and, like every
add and remove, kept in the audit trail (``slawatch audit``).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Literal

from core.errors import InputError
from core.timeutil import from_minute
from slawatch.commands._args import (
    Subparsers,
    group,
    id_argument,
    json_option,
    service_option,
    span_options,
)
from slawatch.commands._support import (
    chosen_services,
    given_span,
    minute_span,
    nothing_listed,
    plural,
    print_json,
    table,
    when,
    with_store,
)
from slawatch.tables import on_screen

if TYPE_CHECKING:
    from core.config import Config
    from core.windows import Window
    from slawatch.cli import Context
    from store import Store

Kind = Literal["maintenance", "exclusion"]
_LABEL: dict[Kind, str] = {"maintenance": "maintenance window", "exclusion": "exclusion"}


def register(sub: Subparsers) -> None:
    groups: tuple[tuple[str, Kind, str], ...] = (
        ("maintenance", "maintenance", "one-off scheduled maintenance windows"),
        ("exclude", "exclusion", "interruptions outside the provider's control"),
    )
    for name, kind, about in groups:
        actions = group(sub, name, about)
        label = _LABEL[kind]
        add = actions.add_parser(
            "add",
            help=f"add a one-off {label}",
            description=f"Take [--from, --to) out of the months it falls in as a {label}."
            " Over minutes already recorded down it warns (say why with --reason) and is"
            " kept in the audit trail with how many it covers."
            f" Example: slawatch {name} add --service portal"
            " --from 2026-10-03T22:00Z --to 2026-10-04T02:00Z --reason 'CR-1234'",
        )
        service_option(add)
        span_options(add)
        add.add_argument(
            "--reason",
            required=kind == "exclusion",
            default="",
            metavar="TEXT",
            help="why (shown in claims; asked for over minutes recorded down)",
        )
        add.set_defaults(handler=_add, kind=kind)

        ls = actions.add_parser(
            "list",
            help=f"every one-off {label} with its id",
            description=f"List the stored one-off {label}s, by start. Example:"
            f" slawatch {name} list --service portal",
        )
        service_option(ls, required=False, help="only this service's")
        json_option(ls)
        ls.set_defaults(handler=_list, kind=kind)

        rm = actions.add_parser(
            "remove",
            help=f"remove a one-off {label} (kept in the audit trail)",
            description=f"Remove the {label} with this id (see `slawatch {name} list`);"
            f" what it was is kept in the audit trail. Example: slawatch {name} remove 3",
        )
        id_argument(rm)
        json_option(rm)
        rm.set_defaults(handler=_remove, kind=kind)


def _add(args: argparse.Namespace, ctx: Context) -> int:
    from reads.reports import recorded_down

    config = ctx.config
    chosen_services(config, args.service)
    start, end = given_span(args)
    kind: Kind = args.kind
    reason = args.reason.strip()
    if kind == "exclusion" and not reason:
        raise InputError("--reason", "an exclusion needs a reason")
    lo, hi = minute_span(start, end)
    now = ctx.now()

    async def add(store: Store) -> tuple[Window, list[int]]:
        down = await recorded_down(store, config, args.service, lo, hi)
        adder = store.add_maintenance if kind == "maintenance" else store.add_exclusion
        window = await adder(args.service, lo, hi, reason, down_minutes=len(down), at=now)
        return window, down

    window, down = with_store(config, add)
    if down:
        warned = (
            f"slawatch: warning: this {_LABEL[kind]} covers {plural(len(down), 'minute')}"
            f" already recorded down ({when(from_minute(down[0]))} to"
            f" {when(from_minute(down[-1] + 1))}); kept in the audit trail (slawatch audit)"
            f"{'' if reason else ' with no reason given: say why with --reason'}"
        )
        sys.stderr.write(on_screen(warned, then="  ", stream=sys.stderr) + "\n")
    said = (
        f"{_LABEL[kind]} added for {args.service}: {when(start)} to {when(end)}"
        f" ({plural(window.minutes, 'minute')}){f': {window.reason}' if window.reason else ''}"
    )
    print(on_screen(said, then="  "))
    return 0


def _list(args: argparse.Namespace, ctx: Context) -> int:
    chosen_services(ctx.config, args.service)
    found = with_store(
        ctx.config, lambda store: store.stored_windows(args.kind, args.service), readonly=True
    )
    if args.json:
        print_json([w.to_json() for w in found])
        return 0
    weekly = _weekly(ctx.config, args.service) if args.kind == "maintenance" else ""
    if not found:
        one_off = "one-off " if args.kind == "maintenance" else ""  # the config has weekly ones
        print(nothing_listed(f"{one_off}{_LABEL[args.kind]}s", service=args.service))
    else:
        rows = [
            [
                w.id,
                w.service,
                when(from_minute(w.window.start)),
                when(from_minute(w.window.end)),
                w.window.minutes,
                w.window.reason or "-",
            ]
            for w in found
        ]
        headers = ["ID", "SERVICE", "FROM", "TO", "MINUTES", "REASON"]
        print(table(headers, rows, right=(0, 4), wrap=5, spill=True))  # at 80: reason below
    if weekly:
        print(f"\n{weekly}")
    return 0


def _weekly(config: Config, service: str | None) -> str:
    """The recurring weekly windows the config gives (``[[service.maintenance]]``), which
    ``maintenance list`` shows under the one-off ones: both take minutes out of a month."""
    from core.bundle import DAY_NAMES

    rows = [
        [
            name,
            DAY_NAMES[w.day],
            f"{w.start:%H:%M}-{w.end:%H:%M}",
            config.contract_for(name).timezone.key,
            w.reason,
        ]
        for name, svc in config.services.items()
        if service in (None, name)
        for w in svc.maintenance
    ]
    if not rows:
        return ""
    headers = ["SERVICE", "DAY", "HOURS", "TIME ZONE", "REASON"]
    return "Weekly windows (config file)\n" + table(headers, rows, wrap=4)


def _remove(args: argparse.Namespace, ctx: Context) -> int:
    now = ctx.now()
    gone = with_store(ctx.config, lambda store: store.remove_window(args.kind, args.id, at=now))
    if args.json:
        print_json(gone.to_json())
        return 0
    w = gone.window
    said = (
        f"{_LABEL[args.kind]} {gone.id} removed from {gone.service}:"
        f" {when(from_minute(w.start))} to {when(from_minute(w.end))}"
        f"{f' ({w.reason})' if w.reason else ''}; kept in the audit trail"
    )
    print(on_screen(said, then="  "))
    return 0
