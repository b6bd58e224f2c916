"""Windows and cases replayed from the audit trail, against what the tables hold.

Every window slawatch adds or removes, and every case it opens, answers,
resolves, links or corrects, is an entry in the append-only audit trail. So
the trail says what the ``windows``, ``cases`` and ``case_links`` tables must
hold; ``store verify`` compares. A row deleted, edited (a case backdated, an
exclusion widened) or inserted behind slawatch's back is named, with the entry
it contradicts. So are a case's lifecycle events (``case_events``: priority
changes, escalations, root-cause analysis asked for and delivered, waits on the
customer), and the priority, escalation level and RCA flag they leave on the case.

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
# What a case's lifecycle events leave on it; replayed for cases whose opening entry
# names them (those opened since the events are in the trail).
_LIFECYCLE = ("priority", "escalation_level", "rca_requested")
_EVENT_FIELDS = ("kind", "at", "value", "previous", "until", "reason")
_EVENT_NAMES = {
    "priority": "priority change",
    "escalation": "escalation",
    "rca": "root-cause analysis request",
    "rca_delivered": "root-cause analysis delivery",
    "wait": "wait on the customer",
}


def stored_z(seconds: Any) -> str | None:
    """A stored time (epoch seconds) as the trail writes it."""
    return iso_z(instant(None if seconds is None else int(seconds)))


def check(
    entries: Sequence[AuditEntry],
    windows: Iterable[Sequence[Any]],
    cases: Iterable[Sequence[Any]],
    links: Iterable[Sequence[Any]],
    events: Iterable[Sequence[Any]] = (),
) -> list[Problem]:
    """What the tables hold that the trail does not say (see the module's docstring).

    ``cases`` rows are (id, service, title, ref, opened, responded, resolved,
    channel, priority, escalation level, rca requested); ``events`` rows are
    (id, case id, kind, at, value, previous, until, reason).
    """
    return _windows(entries, windows) + _cases(entries, cases, links) + _events(entries, events)


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
            if "escalation_level" in after:  # its lifecycle events are in the trail too
                fields.update({k: after[k] for k in _LIFECYCLE})
            expected[cid] = (e.seq, fields, set())
        elif isinstance(cid, int) and cid in expected:
            fields, found = expected[cid][1], expected[cid][2]
            if e.kind in ("case.edit", "case.reopen", "case.respond", "case.resolve"):
                fields.update({k: v for k, v in after.items() if k in _CASE_FIELDS})
            elif e.kind == "case.link":
                found.add((str(after.get("from")), str(after.get("to"))))
            elif "escalation_level" in fields and e.kind == "case.priority":
                fields["priority"] = after.get("value")
            elif "escalation_level" in fields and e.kind == "case.escalate":
                fields["escalation_level"] = int(str(after.get("value")))
            elif "escalation_level" in fields and e.kind == "case.rca":
                fields["rca_requested"] = True
    first = min(expected, default=None)
    held_links: dict[int, set[tuple[str, str]]] = {}
    for cid, lo, hi in link_rows:
        held_links.setdefault(int(cid), set()).add(
            (str(iso_z(from_minute(int(lo)))), str(iso_z(from_minute(int(hi)))))
        )
    out: list[Problem] = []
    seen: set[int] = set()
    for cid, service, title, ref, opened, responded, resolved, channel, *life in rows:
        cid = int(cid)
        seen.add(cid)
        held = {
            "service": service,
            "title": title,
            "ref": ref,
            "opened_at": stored_z(opened),
            "responded_at": stored_z(responded),
            "resolved_at": stored_z(resolved),
            "channel": channel,
        }
        if life:
            priority, level, rca = life
            held.update(priority=priority, escalation_level=int(level), rca_requested=bool(rca))
        if cid in expected:
            seq, said, said_links = expected[cid]
            changed = [k for k in (*_CASE_FIELDS, *_LIFECYCLE) if k in said and said[k] != held[k]]
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


def _events(entries: Sequence[AuditEntry], rows: Iterable[Sequence[Any]]) -> list[Problem]:
    """Each case event the trail recorded (and a wait's closing), against ``case_events``."""
    expected: dict[
        int, tuple[int, int, str, dict[str, Any]]
    ] = {}  # id -> (seq, case, service, fields)
    for e in entries:
        after = e.after if isinstance(e.after, dict) else {}
        eid, cid = after.get("event_id"), after.get("case")
        if not (e.kind.startswith("case.") and isinstance(eid, int) and isinstance(cid, int)):
            continue
        if e.before is None and "event" in after:
            fields = {k: after.get(k) for k in _EVENT_FIELDS if k != "kind"}
            fields["kind"] = after["event"]
            expected[eid] = (e.seq, cid, str(e.service), fields)
        elif eid in expected:  # a wait closed: its end and reason
            expected[eid][3].update({k: after.get(k) for k in ("until", "reason")})
    first = min(expected, default=None)
    out: list[Problem] = []
    seen: set[int] = set()
    for eid, cid, kind, at, value, previous, until, reason in rows:
        eid = int(eid)
        seen.add(eid)
        held = {"kind": kind, "at": stored_z(at), "value": value, "previous": previous,
                "until": stored_z(until), "reason": reason}  # fmt: skip
        what = f"{_EVENT_NAMES.get(str(kind), str(kind))} at {held['at']}"
        if eid in expected:
            seq, said_case, service, said = expected[eid]
            changed = [k for k in _EVENT_FIELDS if said.get(k) != held[k]]
            if int(cid) != said_case:
                changed.insert(0, "case")
                said, held = {**said, "case": said_case}, {**held, "case": int(cid)}
            if changed:
                what = f"{_EVENT_NAMES.get(str(said['kind']), str(said['kind']))} at {said['at']}"
                out.append((seq, f"case #{said_case} of {service}: its {what} was edited outside "
                                 f"slawatch ({_diff(changed, said, held)})"))  # fmt: skip
        elif first is not None and eid > first:
            out.append((0, f"case #{cid}: {what} (event #{eid}) is in no audit entry: "
                           "added outside slawatch"))  # fmt: skip
    for eid, (seq, cid, service, said) in expected.items():
        if eid not in seen:
            name = _EVENT_NAMES.get(str(said["kind"]), str(said["kind"]))
            out.append((seq, f"case #{cid} of {service}: its {name} at {said['at']} is gone: "
                             "deleted outside slawatch"))  # fmt: skip
    return out


def _diff(changed: Sequence[str], said: dict[str, Any], held: dict[str, Any]) -> str:
    return ", ".join(f"{k} {said[k]!r} in the trail, {held[k]!r} in the table" for k in changed)
