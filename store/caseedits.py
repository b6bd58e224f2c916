"""Corrections of a recorded case: ``case edit`` and ``case reopen``, each audited.

A case decides money (only outages reported through one earn a credit), so a
correction never overwrites silently: the fields it changes, before and after,
go to the audit trail in the same transaction. Kept apart from ``store.cases``
(the case lifecycle: priority, escalation, waits) so each can change alone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.audit import AuditEntry
from core.cases import Case
from core.errors import InputError
from core.timeutil import iso_z, to_minute
from store.audit import AuditStore
from store.base import seconds
from store.cases import CaseStore

EDITABLE = ("title", "ref", "channel", "opened_at", "responded_at")
CORRECTIONS = ("case.edit", "case.reopen")  # the entries ``case show`` lists as corrections


def _value(case: Case, name: str) -> Any:
    value = getattr(case, name)
    return iso_z(value) if isinstance(value, datetime) else value


class CaseEditStore(CaseStore, AuditStore):
    """``edit_case`` and ``reopen_case``: corrections of a case, audited."""

    async def edit_case(
        self,
        case_id: int,
        changes: dict[str, Any],
        *,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> Case:
        """Change some of ``EDITABLE`` (times aware, ``ref`` may be None to clear it).

        Times must keep opened <= first response <= resolved; a change to what
        the case already holds is no change (and no entry). InputError names the
        option (``--opened-at``...) for an impossible value or an unknown case.
        """
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        async with self._write() as db:
            case = await self._must_get(case_id)
            opened = changes.get("opened_at", case.opened_at)
            responded = changes.get("responded_at", case.responded_at)
            if responded is not None and responded < opened:
                raise InputError(
                    "--responded-at" if "responded_at" in changes else "--opened-at",
                    f"case {case_id}: the first response ({iso_z(responded)}) cannot come"
                    f" before the opening ({iso_z(opened)})",
                )
            if case.resolved_at is not None and max(opened, responded or opened) > case.resolved_at:
                raise InputError(
                    "--responded-at" if "responded_at" in changes else "--opened-at",
                    f"case {case_id} was resolved at {iso_z(case.resolved_at)}; nothing of it"
                    " can come after that",
                )
            before: dict[str, Any] = {"case": case_id}
            after: dict[str, Any] = {"case": case_id}
            for name, value in changes.items():
                old = getattr(case, name)
                same = (
                    seconds(old) == seconds(value)
                    if isinstance(old, datetime) and isinstance(value, datetime)
                    else old == value
                )
                if same:
                    continue
                before[name] = _value(case, name)
                after[name] = iso_z(value) if isinstance(value, datetime) else value
                stored = seconds(value) if isinstance(value, datetime) else value
                await db.execute(f"UPDATE cases SET {name} = ? WHERE id = ?", (stored, case_id))
            if len(after) > 1:
                await self._audit(
                    db, "case.edit", case.service, _span(case, opened), before, after,
                    actor=actor, at=at,
                )  # fmt: skip
        return await self._must_get(case_id)

    async def reopen_case(
        self, case_id: int, *, actor: str | None = None, at: datetime | None = None
    ) -> Case:
        """A resolved case back open (its resolution was recorded by mistake, or the
        problem came back); the resolution it had is kept in the audit trail."""
        async with self._write() as db:
            case = await self._must_get(case_id)
            if case.resolved_at is None:
                raise InputError(f"case {case_id}", "is not resolved; nothing to reopen")
            await db.execute("UPDATE cases SET resolved_at = NULL WHERE id = ?", (case_id,))
            await self._audit(
                db,
                "case.reopen",
                case.service,
                _span(case, case.opened_at),
                {"case": case_id, "resolved_at": iso_z(case.resolved_at)},
                {"case": case_id, "resolved_at": None},
                actor=actor,
                at=at,
            )
        return await self._must_get(case_id)

    async def case_corrections(self, case_id: int) -> list[AuditEntry]:
        """The audit entries about case ``case_id``, oldest first."""
        return [
            e
            for e in await self.audit_entries()
            if e.kind in CORRECTIONS and case_id in (_case_of(e.before), _case_of(e.after))
        ]


def _case_of(value: Any) -> int | None:
    return value.get("case") if isinstance(value, dict) else None


def _span(case: Case, opened: datetime) -> tuple[int, int]:
    """The minutes a case correction touches: from its (earlier) opening to its later one."""
    lo, hi = sorted((to_minute(case.opened_at), to_minute(opened)))
    return lo, hi + 1
