"""Support cases, their first response and resolution, and the outage spans they report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from core.cases import ESCALATION_LEVELS, Case, Escalation, PriorityChange, Wait
from core.errors import InputError
from core.timeutil import iso_z, to_minute
from store.audit import AuditStore
from store.base import instant, seconds
from store.records import stored_z

#: The audit entry of each kind of case event (store/records.py replays them).
EVENT_ENTRIES = {
    "priority": "case.priority",
    "escalation": "case.escalate",
    "rca": "case.rca",
    "rca_delivered": "case.rca_delivered",
    "wait": "case.wait",
}

_CASE_COLUMNS = (
    "c.id, s.name, c.priority, c.title, c.ref, c.opened_at, c.responded_at, c.resolved_at,"
    " c.channel, c.escalation_level, c.rca_requested"
)


class CaseStore(AuditStore):
    """Support cases: opened, first response, resolved, and the spans they report."""

    async def open_case(
        self,
        service: str,
        priority: str,
        title: str,
        opened_at: datetime,
        *,
        ref: str | None = None,
        channel: str = "email",
        escalation_level: int = 1,
        rca_requested: bool = False,
    ) -> Case:
        """Record a new support case; returns it with its id."""
        async with self._write() as db:
            sid = await self._ensure("services", service)
            case_id = await db.insert_id(
                "INSERT INTO cases (service_id, priority, title, ref, opened_at, channel,"
                " escalation_level, rca_requested) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sid,
                    priority,
                    title,
                    ref,
                    seconds(opened_at),
                    channel,
                    escalation_level,
                    int(rca_requested),
                ),
            )
            # In the audit trail as it was recorded, so a case added, backdated or
            # deleted behind slawatch's back is named by ``store verify``.
            minute = to_minute(opened_at)
            await self._audit(
                db, "case.open", service, (minute, minute + 1), None,
                {"case": case_id, "service": service, "priority": priority, "title": title,
                 "ref": ref, "opened_at": iso_z(opened_at), "channel": channel,
                 "escalation_level": escalation_level, "rca_requested": rca_requested},
            )  # fmt: skip
        return await self._must_get(case_id)

    async def respond_case(self, case_id: int, at: datetime) -> Case:
        """Record the provider's first response (InputError if before opening or already set)."""
        return await self._stamp(case_id, "responded_at", "first response", at)

    async def resolve_case(self, case_id: int, at: datetime) -> Case:
        """Record the case as resolved (InputError if before opening or already resolved)."""
        return await self._stamp(case_id, "resolved_at", "resolution", at)

    async def change_priority(
        self, case_id: int, priority: str, at: datetime, reason: str | None = None
    ) -> Case:
        """The case's priority became ``priority`` at ``at`` (history kept in case_events)."""
        async with self._write() as db:
            case = await self._must_get(case_id)
            self._check_during(case, at, "priority change")
            last = case.changes[-1].at if case.changes else case.opened_at
            if at < last:
                raise InputError(
                    "--at",
                    f"case {case_id} last changed priority at {_z(last)}; "
                    "a later change cannot come before that",
                )
            if priority == case.priority:
                raise InputError("P", f"case {case_id} is already priority {priority!r}")
            await db.execute("UPDATE cases SET priority = ? WHERE id = ?", (priority, case_id))
            await self._event(case, "priority", at, priority, case.priority, reason=reason)
        return await self._must_get(case_id)

    async def escalate_case(self, case_id: int, level: int, at: datetime) -> Case:
        """The case went to escalation ``level`` (1-4) at ``at``."""
        if level not in ESCALATION_LEVELS:
            raise InputError("LEVEL", f"escalation level must be 1 to 4, not {level}")
        async with self._write() as db:
            case = await self._must_get(case_id)
            self._check_during(case, at, "escalation")
            last = case.escalations[-1].at if case.escalations else case.opened_at
            if at < last:
                raise InputError(
                    "--at", f"case {case_id} was last escalated at {_z(last)}; not before that"
                )
            if level == case.escalation_level:
                raise InputError("LEVEL", f"case {case_id} is already at level {level}")
            await db.execute("UPDATE cases SET escalation_level = ? WHERE id = ?", (level, case_id))
            await self._event(case, "escalation", at, str(level), str(case.escalation_level))
        return await self._must_get(case_id)

    async def request_rca(self, case_id: int, at: datetime) -> Case:
        """A root-cause analysis was asked for (only before the case is closed)."""
        async with self._write() as db:
            case = await self._must_get(case_id)
            self._check_during(case, at, "root-cause analysis request")
            if case.rca_requested_at is not None:
                raise InputError(
                    f"case {case_id}",
                    f"root-cause analysis already requested at {_z(case.rca_requested_at)}",
                )
            await db.execute("UPDATE cases SET rca_requested = 1 WHERE id = ?", (case_id,))
            await self._event(case, "rca", at)
        return await self._must_get(case_id)

    async def deliver_rca(self, case_id: int, at: datetime) -> Case:
        """The provider delivered the root-cause analysis that was requested."""
        async with self._write():
            case = await self._must_get(case_id)
            if case.rca_requested_at is None:
                raise InputError(
                    f"case {case_id}", "no root-cause analysis was requested (`case rca ID` first)"
                )
            if case.rca_delivered_at is not None:
                raise InputError(
                    f"case {case_id}",
                    f"root-cause analysis already delivered at {_z(case.rca_delivered_at)}",
                )
            if at < case.rca_requested_at:
                raise InputError(
                    "--at", f"the analysis was requested at {_z(case.rca_requested_at)}; not before"
                )
            await self._event(case, "rca_delivered", at)
        return await self._must_get(case_id)

    async def add_wait(
        self, case_id: int, start: datetime, end: datetime | None, reason: str
    ) -> Case:
        """The provider waits on the customer over [start, end); giving ``end`` for a
        wait recorded open with the same ``start`` closes it."""
        if end is not None and end <= start:
            raise InputError("--to", f"{_z(end)} is not after --from {_z(start)}")
        if not reason.strip():
            raise InputError("--reason", "must not be empty")
        async with self._write():
            case = await self._must_get(case_id)
            self._check_during(case, start, "wait", where="--from")
            if end is not None and case.resolved_at is not None and end > case.resolved_at:
                raise InputError(
                    "--to", f"case {case_id} was resolved at {_z(case.resolved_at)}; not after that"
                )
            for w in case.waits:
                if w.start == start and w.end is None and end is not None:
                    await self._close_wait(case, w, end, reason)
                    break
                w_end = w.end
                overlaps = (w_end is None or start < w_end) and (end is None or w.start < end)
                if overlaps:
                    until = _z(w_end) if w_end is not None else "still open"
                    raise InputError(
                        "--from", f"overlaps case {case_id}'s wait from {_z(w.start)} ({until})"
                    )
            else:
                await self._event(
                    case, "wait", start, until=None if end is None else seconds(end),
                    reason=reason,
                )  # fmt: skip
        return await self._must_get(case_id)

    @staticmethod
    def _check_during(case: Case, at: datetime, what: str, where: str = "--at") -> None:
        """``at`` lies between the case's opening and its resolution."""
        if at < case.opened_at:
            raise InputError(
                where, f"case {case.id} was opened at {_z(case.opened_at)}; no {what} before that"
            )
        if case.resolved_at is not None and at > case.resolved_at:
            raise InputError(
                where,
                f"case {case.id} was resolved at {_z(case.resolved_at)}; no {what} after that",
            )

    async def _event(
        self,
        case: Case,
        kind: str,
        at: datetime,
        value: str | None = None,
        previous: str | None = None,
        *,
        until: int | None = None,
        reason: str | None = None,
    ) -> None:
        """Record one lifecycle event, and its audit entry (``case.priority``,
        ``case.escalate``, ``case.rca``, ``case.rca_delivered``, ``case.wait``), so
        ``store verify`` names an event added, removed or changed behind slawatch's back."""
        event_id = await self._db.insert_id(
            "INSERT INTO case_events (case_id, kind, event_at, value, previous, until_at, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (case.id, kind, seconds(at), value, previous, until, reason),
        )
        minute = to_minute(at)
        end = minute + 1 if until is None else max(minute + 1, until // 60)
        await self._audit(
            self._db, EVENT_ENTRIES[kind], case.service, (minute, end), None,
            {"case": case.id, "event_id": event_id, "event": kind, "at": iso_z(at),
             "value": value, "previous": previous, "until": stored_z(until), "reason": reason},
        )  # fmt: skip

    async def _close_wait(self, case: Case, wait: Wait, end: datetime, reason: str) -> None:
        """Close the open wait ``wait`` at ``end``; its audit entry says what it changes."""
        rows = await self._db.fetchall(
            "SELECT id FROM case_events WHERE case_id = ? AND kind = 'wait' AND event_at = ?"
            " AND until_at IS NULL",
            (case.id, seconds(wait.start)),
        )
        await self._db.execute(
            "UPDATE case_events SET until_at = ?, reason = ? WHERE case_id = ?"
            " AND kind = 'wait' AND event_at = ? AND until_at IS NULL",
            (seconds(end), reason, case.id, seconds(wait.start)),
        )
        for (event_id,) in rows:
            await self._audit(
                self._db, "case.wait", case.service,
                (to_minute(wait.start), max(to_minute(wait.start) + 1, to_minute(end))),
                {"case": case.id, "event_id": int(event_id), "until": None,
                 "reason": wait.reason},
                {"case": case.id, "event_id": int(event_id), "until": iso_z(end),
                 "reason": reason},
            )  # fmt: skip

    async def _stamp(
        self, case_id: int, column: Literal["responded_at", "resolved_at"], what: str, at: datetime
    ) -> Case:
        async with self._write() as db:
            case = await self._must_get(case_id)
            current = case.responded_at if column == "responded_at" else case.resolved_at
            if at < case.opened_at:
                raise InputError(
                    "--at",
                    f"case {case_id} was opened at {case.opened_at:%Y-%m-%dT%H:%M:%SZ}; "
                    f"its {what} cannot come before that",
                )
            if column == "resolved_at" and current is not None:
                raise InputError(f"case {case_id}", f"already resolved at {_z(current)}")
            if current is not None and seconds(current) != seconds(at):
                raise InputError(
                    f"case {case_id}", f"{what} already recorded at {current:%Y-%m-%dT%H:%M:%SZ}"
                )
            if column == "resolved_at" and case.responded_at and at < case.responded_at:
                raise InputError(
                    "--at",
                    f"case {case_id} had its first response at "
                    f"{case.responded_at:%Y-%m-%dT%H:%M:%SZ}; it cannot be resolved before that",
                )
            if column == "responded_at" and case.resolved_at and at > case.resolved_at:
                raise InputError(
                    "--at",
                    f"case {case_id} was resolved at {case.resolved_at:%Y-%m-%dT%H:%M:%SZ}; "
                    "its first response cannot come after that",
                )
            await db.execute(f"UPDATE cases SET {column} = ? WHERE id = ?", (seconds(at), case_id))
            if current is None:
                minute = to_minute(case.opened_at)
                kind = "case.respond" if column == "responded_at" else "case.resolve"
                await self._audit(
                    db, kind, case.service, (minute, minute + 1), None,
                    {"case": case_id, column: iso_z(at)},
                )  # fmt: skip
        return await self._must_get(case_id)

    async def link_case(self, case_id: int, start_min: int, end_min: int) -> Case:
        """Say that case ``case_id`` reported the outages in minutes [start_min, end_min)."""
        if end_min <= start_min:
            raise InputError("--to", "the span must end after it starts")
        async with self._write() as db:
            case = await self._must_get(case_id)
            if (start_min, end_min) not in case.links:
                await db.execute(
                    "INSERT INTO case_links (case_id, start_min, end_min) VALUES (?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (case_id, start_min, end_min),
                )
                await self._audit(
                    db, "case.link", case.service, (start_min, end_min), None,
                    {"case": case_id, "from": _z_min(start_min), "to": _z_min(end_min)},
                )  # fmt: skip
        return await self._must_get(case_id)

    async def get_case(self, case_id: int) -> Case | None:
        found = await self._query_cases("WHERE c.id = ?", (case_id,))
        return found[0] if found else None

    async def _must_get(self, case_id: int) -> Case:
        case = await self.get_case(case_id)
        if case is None:
            raise InputError("case", f"no case with id {case_id}")
        return case

    async def cases(self, service: str | None = None, open_only: bool = False) -> list[Case]:
        """Cases ordered by opening time; ``open_only`` leaves out resolved ones."""
        clauses, params = [], []
        if service is not None:
            clauses.append("s.name = ?")
            params.append(service)
        if open_only:
            clauses.append("c.resolved_at IS NULL")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return await self._query_cases(where, params)

    async def _query_cases(self, where: str, params: Sequence[Any]) -> list[Case]:
        rows = await self._fetchall(
            f"SELECT {_CASE_COLUMNS} FROM cases c JOIN services s ON s.id = c.service_id"
            f" {where} ORDER BY c.opened_at, c.id",
            params,
        )
        if not rows:
            return []
        ids = [int(r[0]) for r in rows]
        links: dict[int, list[tuple[int, int]]] = defaultdict(list)
        placeholders = ",".join("?" * len(ids))
        for case_id, lo, hi in await self._fetchall(
            f"SELECT case_id, start_min, end_min FROM case_links WHERE case_id IN ({placeholders})"
            " ORDER BY case_id, start_min, end_min",
            ids,
        ):
            links[int(case_id)].append((int(lo), int(hi)))
        events = await self._events(ids, placeholders)
        out = []
        for cid, svc, prio, title, ref, opened, responded, resolved, chan, level, rca in rows:
            opened_at = instant(opened)
            assert opened_at is not None
            out.append(
                Case(
                    id=int(cid),
                    service=str(svc),
                    priority=str(prio),
                    title=str(title),
                    opened_at=opened_at,
                    ref=ref,
                    responded_at=instant(responded),
                    resolved_at=instant(resolved),
                    channel=str(chan),
                    escalation_level=int(level),
                    rca_requested=bool(rca),
                    links=tuple(links.get(int(cid), ())),
                    **events.get(int(cid), {}),
                )
            )
        return out

    async def _events(self, ids: Sequence[int], placeholders: str) -> dict[int, dict[str, Any]]:
        """Each case's lifecycle events as ``Case`` fields."""
        out: dict[int, dict[str, Any]] = defaultdict(
            lambda: {"changes": (), "escalations": (), "waits": ()}
        )
        for case_id, kind, at_s, value, previous, until, reason in await self._fetchall(
            "SELECT case_id, kind, event_at, value, previous, until_at, reason FROM case_events"
            f" WHERE case_id IN ({placeholders}) ORDER BY case_id, event_at, id",
            ids,
        ):
            fields = out[int(case_id)]
            at = instant(at_s)
            assert at is not None
            if kind == "priority":
                fields["changes"] += (PriorityChange(str(value), at, reason, previous),)
            elif kind == "escalation":
                fields["escalations"] += (Escalation(int(value), at),)
            elif kind == "rca":
                fields["rca_requested_at"] = at
            elif kind == "rca_delivered":
                fields["rca_delivered_at"] = at
            elif kind == "wait":
                fields["waits"] += (Wait(at, instant(until), str(reason or "")),)
        return out


def _z(ts: datetime) -> str:
    return f"{ts:%Y-%m-%dT%H:%M:%SZ}"


def _z_min(minute: int) -> str | None:
    return iso_z(instant(minute * 60))
