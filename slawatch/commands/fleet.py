"""``slawatch fleet status [--json]``: the agents of a fleet, and which ones need a look.

One row per agent (vantage point): when it was last heard from, the minutes
it holds that the database does not have yet, how far its clock is off, its
version, and its flags (``core.fleet``): ``clock`` past 5 s (its minutes would
land in the wrong bucket), ``silent`` for more than 3 minutes, ``backlog``.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from slawatch.commands._args import Subparsers, group, json_option
from slawatch.commands._support import owed_text, show, table, when

if TYPE_CHECKING:
    from reads.fleet import Fleet
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    actions = group(sub, "fleet", help="the agents of a fleet (vantage points)")
    p = actions.add_parser("status", help="every agent: last seen, backlog, clock offset, version")
    json_option(p)
    p.set_defaults(handler=_status)


def _status(args: argparse.Namespace, ctx: Context) -> int:
    from reads.fleet import fleet

    return show(args, ctx, fleet, render)


def render(view: Fleet) -> str:
    from core.fleet import CLOCK_OFFSET_LIMIT, offset_text

    if not view.agents:
        return "No agents have reported yet."
    rows = [
        [
            a.name,
            when(a.last_seen),
            a.backlog_minutes,
            offset_text(a.clock_offset_seconds),
            a.version or "-",
            a.services,
            ", ".join(a.down) or "-",
            ", ".join(a.flags) or "ok",
        ]
        for a in view.agents
    ]
    out = [
        table(
            ["AGENT", "LAST SEEN", "BACKLOG", "CLOCK", "VERSION", "SERVICES", "SEES DOWN", "FLAGS"],
            rows,
            (2, 3, 5),
            wrap=6,  # the services an agent sees down, wrapped to fit 100 columns
        )
    ]
    notes = []
    for a in view.agents:
        if "clock" in a.flags:
            notes.append(
                f"agent {a.name}: clock off by {offset_text(a.clock_offset_seconds)}"
                f" (more than {CLOCK_OFFSET_LIMIT:g} s): its minutes land in the wrong bucket"
            )
        if "silent" in a.flags:
            notes.append(f"agent {a.name}: silent since {when(a.last_seen)}")
        if a.dissents:
            notes.append(f"agent {a.name}: outvoted on {', '.join(a.dissents)}")
        if a.notifications_waiting:
            notes.append(owed_text(a.name, a.notifications_waiting, a.notifications_waiting_since))
    from slawatch.tables import wrap

    lines = [line for note in notes for line in wrap(note, then="  ")]
    return "\n".join([*out, *(["", *lines] if lines else [])])
