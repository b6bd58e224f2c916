"""Support cases, their first response and resolution, and the outage spans they report."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from core.cases import Case
from core.errors import InputError
from store.base import StoreBase, instant, seconds

_CASE_COLUMNS = (
    "c.id, s.name, c.priority, c.title, c.ref, c.opened_at, c.responded_at, c.resolved_at,"
    " c.channel, c.escalation_level, c.rca_requested"
)


class CaseStore(StoreBase):
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
        return await self._must_get(case_id)

    async def respond_case(self, case_id: int, at: datetime) -> Case:
        """Record the provider's first response (InputError if before opening or already set)."""
        return await self._stamp(case_id, "responded_at", "first response", at)

    async def resolve_case(self, case_id: int, at: datetime) -> Case:
        """Record the case as resolved (InputError if before opening or already resolved)."""
        return await self._stamp(case_id, "resolved_at", "resolution", at)

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
        return await self._must_get(case_id)

    async def link_case(self, case_id: int, start_min: int, end_min: int) -> Case:
        """Say that case ``case_id`` reported the outages in minutes [start_min, end_min)."""
        if end_min <= start_min:
            raise InputError("--to", "the span must end after it starts")
        async with self._write() as db:
            await self._must_get(case_id)
            await db.execute(
                "INSERT INTO case_links (case_id, start_min, end_min) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (case_id, start_min, end_min),
            )
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
                )
            )
        return out
