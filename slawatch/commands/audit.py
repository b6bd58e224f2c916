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
from slawatch.commands._support import (
    chosen_services,
    nothing_listed,
    print_json,
    table,
    when,
    with_store,
)

if TYPE_CHECKING:
    from core.audit import AuditEntry
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    p = sub.add_parser(
        "audit",
        help="the audit trail: every correction, who made it, when, before and after",
        description="Print the audit trail, oldest first: minute records replaced by an"
        " import (--replace), windows and exclusions added or removed, cases opened,"
        " answered, resolved, linked, edited or reopened, credits settled or unsettled,"
        " minute blocks found edited outside"
        " slawatch; with --minutes also the log of minute writes (one entry per import,"
        " one an hour from the agent). Example: slawatch audit --service portal --json",
    )
    service_option(p, required=False, help="only this service's entries")
    p.add_argument(
        "--minutes",
        action="store_true",
        help="also the minute writes (minutes.seal: each hour's digest after the write)",
    )
    json_option(p)
    p.set_defaults(handler=_audit)


def _audit(args: argparse.Namespace, ctx: Context) -> int:
    chosen_services(ctx.config, args.service)
    entries = with_store(
        ctx.config,
        lambda store: store.audit_entries(service=args.service, minutes=args.minutes),
        readonly=True,
    )
    if args.json:
        print_json([e.to_json() for e in entries])
        return 0
    if not entries:
        print(nothing_listed("audit entries", service=args.service))
        return 0
    headers = ["SEQ", "AT", "ACTOR", "KIND", "SERVICE"]
    rows: list[list[Any]] = [
        [e.seq, when(e.at), e.actor, e.kind, e.service or "-"] for e in entries
    ]
    lines = [[*row, change_text(entry)] for row, entry in zip(rows, entries, strict=True)]
    print(table([*headers, "CHANGE"], lines, right=(0,), wrap=5))  # CHANGE wrapped to fit
    return 0


def change_text(entry: AuditEntry) -> str:
    """One line for people: what the entry changed.

    An add or a removal shows the thing; a change shows what both sides share
    (``case=1``) and then each field that differs as ``field: before -> after``.
    """
    from core.audit import BASELINE, SEAL

    before, after = entry.before, entry.after
    if entry.kind in (SEAL, BASELINE) and isinstance(after, dict):
        return _minute_log_text(entry.kind, before, after)
    if before is None:
        return f"added {_brief(after)}"
    if after is None:
        return f"removed {_brief(before)}"
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return f"{_value(before)} -> {_value(after)}"
    keys = [*before, *(k for k in after if k not in before)]
    same = [f"{k}={_value(before[k])}" for k in keys if k in before and before[k] == after.get(k)]
    diff = [
        f"{k}: {_value(before.get(k))} -> {_value(after.get(k))}"
        for k in keys
        if before.get(k) != after.get(k)
    ]
    return " ".join([*same, "; ".join(diff)]).strip()


def _minute_log_text(kind: str, before: Any, after: dict[str, Any]) -> str:
    """A minute write in a few words: how many hours of which chains, by whom."""
    if kind == "minutes.baseline":
        chains = after.get("chains", [])
        return f"the minute log begins: {len(chains)} chain head(s) as they stood"
    hours = after.get("hours", [])
    chains = sorted({f"{h[0]}/{h[1]}" for h in hours})
    shown = ", ".join(chains[:3]) + (f" and {len(chains) - 3} more" if len(chains) > 3 else "")
    again = len(before.get("hours", [])) if isinstance(before, dict) else 0
    late = f", {again} written again (late or corrected)" if again else ""
    return f"{len(hours)} hour(s) of {shown} logged by {after.get('by', 'a write')}{late}"


def _brief(value: Any) -> str:
    """A JSON object as ``key=value`` pairs (empty values left out)."""
    if not isinstance(value, dict):
        return _value(value)
    return " ".join(f"{k}={_value(v)}" for k, v in value.items() if v not in (None, "", [], {}))


def _value(value: Any) -> str:
    """One value in few characters: replaced-minute runs as ``10-05T10:01..10:02 up``."""
    if value is None:
        return "-"
    if isinstance(value, list) and value and all(isinstance(r, list) for r in value):
        shown = ", ".join(f"{r[0][5:16]}..{r[1][11:16]} {r[2]}" for r in value[:2])
        return f"[{shown}{f' +{len(value) - 2}' if len(value) > 2 else ''}]"
    return str(value)
