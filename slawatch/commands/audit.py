"""``slawatch audit [--service S] [--json]``: the audit trail, oldest first.

Every correction of the evidence is an entry: minute records replaced by an
import, maintenance windows and exclusions added or removed, cases edited or
reopened, credits settled or unsettled, and minute blocks found edited outside
slawatch. Each says who (the OS user), when, what it touches and what was
there before and after. The trail is append-only; ``store verify`` re-hashes it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from slawatch.commands._args import Subparsers, json_option, service_option
from slawatch.commands._support import print_json, run, table, when

if TYPE_CHECKING:
    from core.audit import AuditEntry
    from slawatch.cli import Context

_WIDTH = 100  # CLI tables fit 100 columns


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "audit",
        help="the audit trail: every correction, who made it, when, before and after",
        description="Print the audit trail, oldest first: minute records replaced by an"
        " import (--replace), windows and exclusions added or removed, cases edited or"
        " reopened, credits settled or unsettled, minute blocks found edited outside"
        " slawatch. Example: slawatch audit --service portal --json",
    )
    service_option(p, required=False, help="only this service's entries")
    json_option(p)
    p.set_defaults(handler=_audit)


def _audit(args: argparse.Namespace, ctx: Context) -> int:
    from reads.reports import service_of
    from store import open_store

    config = ctx.config
    if args.service is not None:
        service_of(config, args.service)

    async def read() -> list[AuditEntry]:
        async with await open_store(config, readonly=True) as store:
            return await store.audit_entries(service=args.service)

    entries = run(read())
    if args.json:
        print_json([e.to_json() for e in entries])
        return 0
    if not entries:
        print("no audit entries")
        return 0
    headers = ["SEQ", "AT", "ACTOR", "KIND", "SERVICE"]
    rows: list[list[Any]] = [
        [e.seq, when(e.at), e.actor, e.kind, e.service or "-"] for e in entries
    ]
    left = max(len(line) for line in table(headers, rows, right=(0,)).splitlines())
    room = max(30, _WIDTH - left - 2)  # the CHANGE column takes what is left of 100
    for row, entry in zip(rows, entries, strict=True):
        row.append(_clip(change_text(entry), room))
    print(table([*headers, "CHANGE"], rows, right=(0,)))
    return 0


def _clip(text: str, room: int) -> str:
    return text if len(text) <= room else text[: room - 3] + "..."


def change_text(entry: AuditEntry) -> str:
    """One line for people: what the entry changed (``before -> after``)."""
    before, after = _brief(entry.before), _brief(entry.after)
    if entry.before is None:
        return f"added {after}"
    if entry.after is None:
        return f"removed {before}"
    return f"{before} -> {after}"


def _brief(value: Any) -> str:
    """A JSON value in few characters: objects as ``key=value`` pairs, runs counted."""
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            if key == "runs" and isinstance(item, list):
                shown = ", ".join(f"{r[0][5:16]}..{r[1][11:16]} {r[2]}" for r in item[:2])
                more = f" +{len(item) - 2}" if len(item) > 2 else ""
                parts.append(f"[{shown}{more}]")
            elif item not in (None, "", [], {}):
                parts.append(f"{key}={item}")
        return " ".join(parts)
    return "-" if value is None else str(value)
