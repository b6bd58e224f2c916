"""Windows and cases replayed from the audit trail, against what the tables hold.

Every window slawatch adds or removes, and every case it opens, answers,
resolves, links or corrects, is an entry in the append-only audit trail. So
the trail says what the ``windows``, ``cases`` and ``case_links`` tables must
hold; ``store verify`` compares. A row deleted, edited (a case backdated, an
exclusion widened) or inserted behind slawatch's back is named, with the entry
it contradicts. Priority changes, escalations and waits live in ``case_events``
and are not replayed here.

Rows older than the first entry of their kind come from a database made before
the trail existed and are left alone (there is nothing to compare them with).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from core.audit import AuditEntry
from core.timeutil import from_minute, iso_z
from store.base import instant

Problem = tuple[int, str]  # (the entry it contradicts, or 0 for none; what is wrong)

_WINDOW_FIELDS = ("service", "kind", "from", "to", "reason")
_CASE_FIELDS = ("service", "title", "ref", "opened_at", "responded_at", "resolved_at", "channel")


def _z(seconds: Any) -> str | None:
    """A stored time (epoch seconds) as the trail writes it."""
    return iso_z(instant(None if seconds is None else int(seconds)))


def check(
    entries: Sequence[AuditEntry],
    windows: Iterable[Sequence[Any]],
    cases: Iterable[Sequence[Any]],
    links: Iterable[Sequence[Any]],
) -> list[Problem]:
    """What the tables hold that the trail does not say (see the module's docstring)."""
    return _windows(entries, windows) + _cases(entries, cases, links)


def _windows(entries: Sequence[AuditEntry], rows: Iterable[Sequence[Any]]) -> list[Problem]:
    expected: dict[int, tuple[int, dict[str, Any]]] = {}  # id -> (seq of its add, fields)
    first: int | None = None
    for e in entries:
        if e.kind in ("maintenance.add", "exclusion.add") and isinstance(e.after, dict):
            wid = int(e.after["id"])
            expected[wid] = (e.seq, {k: e.after.get(k) for k in _WINDOW_FIELDS})
            first = wid if first is None else min(first, wid)
        elif e.kind in ("maintenance.remove", "exclusion.remove") and isinstance(e.before, dict):
            expected.pop(int(e.before["id"]), None)
    out: list[Problem] = []
    seen: set[int] = set()
    for wid, service, kind, start, end, reason in rows:
        wid = int(wid)
        seen.add(wid)
        held = {
            "service": service,
            "kind": kind,
            "from": iso_z(from_minute(int(start))),
            "to": iso_z(from_minute(int(end))),
            "reason": reason,
        }
        if wid in expected:
            seq, said = expected[wid]
            changed = [k for k in _WINDOW_FIELDS if said[k] != held[k]]
            if changed:
                out.append((seq, f"{kind} #{wid} of {service} was edited outside slawatch "
                                 f"({_diff(changed, said, held)})"))  # fmt: skip
        elif first is not None and wid > first:
            out.append((0, f"{kind} #{wid} of {service} ({held['from']} to {held['to']}) is in "
                           "no audit entry: inserted outside slawatch"))  # fmt: skip
    for wid, (seq, said) in expected.items():
        if wid not in seen:
            out.append((seq, f"{said['kind']} #{wid} of {said['service']} ({said['from']} to "
                             f"{said['to']}) is gone: deleted outside slawatch"))  # fmt: skip
    return out


def _cases(
    entries: Sequence[AuditEntry],
    rows: Iterable[Sequence[Any]],
    link_rows: Iterable[Sequence[Any]],
) -> list[Problem]:
    expected: dict[int, tuple[int, dict[str, Any], set[tuple[str, str]]]] = {}
    for e in entries:
        after = e.after if isinstance(e.after, dict) else {}
        cid = after.get("case")
        if e.kind == "case.open" and isinstance(cid, int):
            fields = {k: after.get(k) for k in _CASE_FIELDS}
            expected[cid] = (e.seq, fields, set())
        elif isinstance(cid, int) and cid in expected:
            fields, found = expected[cid][1], expected[cid][2]
            if e.kind in ("case.edit", "case.reopen", "case.respond", "case.resolve"):
                fields.update({k: v for k, v in after.items() if k in _CASE_FIELDS})
            elif e.kind == "case.link":
                found.add((str(after.get("from")), str(after.get("to"))))
    first = min(expected, default=None)
    held_links: dict[int, set[tuple[str, str]]] = {}
    for cid, lo, hi in link_rows:
        held_links.setdefault(int(cid), set()).add(
            (str(iso_z(from_minute(int(lo)))), str(iso_z(from_minute(int(hi)))))
        )
    out: list[Problem] = []
    seen: set[int] = set()
    for cid, service, title, ref, opened, responded, resolved, channel in rows:
        cid = int(cid)
        seen.add(cid)
        held = {
            "service": service,
            "title": title,
            "ref": ref,
            "opened_at": _z(opened),
            "responded_at": _z(responded),
            "resolved_at": _z(resolved),
            "channel": channel,
        }
        if cid in expected:
            seq, said, said_links = expected[cid]
            changed = [k for k in _CASE_FIELDS if said[k] != held[k]]
            if changed:
                out.append((seq, f"case #{cid} of {service} was edited outside slawatch "
                                 f"({_diff(changed, said, held)})"))  # fmt: skip
            extra = held_links.get(cid, set()) - said_links
            missing = said_links - held_links.get(cid, set())
            if extra or missing:
                what = "; ".join(
                    [f"link {a} to {b} added" for a, b in sorted(extra)]
                    + [f"link {a} to {b} removed" for a, b in sorted(missing)]
                )
                out.append((seq, f"case #{cid} of {service}: {what} outside slawatch"))
        elif first is not None and cid > first:
            out.append((0, f"case #{cid} of {service} (opened {held['opened_at']}) is in no "
                           "audit entry: inserted outside slawatch"))  # fmt: skip
    for cid, (seq, said, _) in expected.items():
        if cid not in seen:
            out.append((seq, f"case #{cid} of {said['service']} (opened {said['opened_at']}) "
                             "is gone: deleted outside slawatch"))  # fmt: skip
    return out


def _diff(changed: Sequence[str], said: dict[str, Any], held: dict[str, Any]) -> str:
    return ", ".join(f"{k} {said[k]!r} in the trail, {held[k]!r} in the table" for k in changed)
