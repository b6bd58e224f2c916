"""One-off maintenance windows and exclusions: added, listed, removed, each change audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from core.errors import InputError
from core.timeutil import from_minute, iso_z
from core.windows import Window
from store.audit import AuditStore

Kind = Literal["maintenance", "exclusion"]


@dataclass(frozen=True)
class StoredWindow:
    """A one-off window as stored: its id and service beside the window itself."""

    id: int
    service: str
    window: Window

    def to_json(self) -> dict[str, Any]:
        w = self.window
        return {
            "id": self.id,
            "service": self.service,
            "kind": w.kind,
            "from": iso_z(from_minute(w.start)),
            "to": iso_z(from_minute(w.end)),
            "minutes": w.minutes,
            "reason": w.reason,
        }


class WindowStore(AuditStore):
    """One-off maintenance windows and exclusions, in epoch minutes."""

    async def add_maintenance(
        self,
        service: str,
        start: int,
        end: int,
        reason: str = "",
        *,
        down_minutes: int = 0,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> Window:
        """A one-off maintenance window, minutes [start, end).

        ``down_minutes``: how many minutes it covers that were already recorded
        down (kept in the audit entry, which every add gets)."""
        return await self._add_window(
            service, "maintenance", start, end, reason, down_minutes, actor, at
        )

    async def add_exclusion(
        self,
        service: str,
        start: int,
        end: int,
        reason: str,
        *,
        down_minutes: int = 0,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> Window:
        """An interruption outside the provider's control, minutes [start, end)."""
        return await self._add_window(
            service, "exclusion", start, end, reason, down_minutes, actor, at
        )

    async def _add_window(
        self,
        service: str,
        kind: Kind,
        start: int,
        end: int,
        reason: str,
        down_minutes: int,
        actor: str | None,
        at: datetime | None,
    ) -> Window:
        if end <= start:
            raise InputError("--to", "the window must end after it starts")
        window = Window(start=start, end=end, kind=kind, reason=reason)
        async with self._write() as db:
            sid = await self._ensure("services", service)
            new_id = await db.insert_id(
                "INSERT INTO windows (service_id, kind, start_min, end_min, reason)"
                " VALUES (?, ?, ?, ?, ?)",
                (sid, kind, start, end, reason),
            )
            after = StoredWindow(new_id, service, window).to_json()
            after["down_minutes"] = down_minutes
            await self._audit(
                db, f"{kind}.add", service, (start, end), None, after, actor=actor, at=at
            )
        return window

    async def stored_windows(self, kind: Kind, service: str | None = None) -> list[StoredWindow]:
        """Every stored one-off window of ``kind`` (of ``service``), by start."""
        where, params = "WHERE w.kind = ?", list[Any]([kind])
        if service is not None:
            where += " AND s.name = ?"
            params.append(service)
        rows = await self._fetchall(
            "SELECT w.id, s.name, w.start_min, w.end_min, w.kind, w.reason FROM windows w"
            f" JOIN services s ON s.id = w.service_id {where}"
            " ORDER BY w.start_min, w.end_min, w.id",
            params,
        )
        return [
            StoredWindow(int(i), str(n), Window(int(a), int(b), k, str(r)))
            for i, n, a, b, k, r in rows
        ]

    async def remove_window(
        self, kind: Kind, window_id: int, *, actor: str | None = None, at: datetime | None = None
    ) -> StoredWindow:
        """Remove one stored window of ``kind``; what it was goes to the audit trail."""
        label = "maintenance window" if kind == "maintenance" else "exclusion"
        async with self._write() as db:
            found = [w for w in await self.stored_windows(kind) if w.id == window_id]
            if not found:
                raise InputError(f"{kind} {window_id}", f"no {label} with this id")
            gone = found[0]
            await db.execute("DELETE FROM windows WHERE id = ?", (window_id,))
            span = (gone.window.start, gone.window.end)
            await self._audit(
                db, f"{kind}.remove", gone.service, span, gone.to_json(), None, actor=actor, at=at
            )
        return gone

    async def windows(self, service: str, start: int, end: int) -> list[Window]:
        """Stored one-off windows of ``service`` overlapping [start, end), by start.

        Weekly maintenance from the config is not stored; core.windows expands it.
        """
        rows = await self._fetchall(
            "SELECT w.start_min, w.end_min, w.kind, w.reason FROM windows w"
            " JOIN services s ON s.id = w.service_id"
            " WHERE s.name = ? AND w.start_min < ? AND w.end_min > ?"
            " ORDER BY w.start_min, w.end_min, w.id",
            (service, end, start),
        )
        return [Window(start=int(a), end=int(b), kind=k, reason=str(r)) for a, b, k, r in rows]

    async def all_windows(self, start: int, end: int) -> dict[str, list[Window]]:
        """Every service's stored one-off windows overlapping [start, end), by start."""
        rows = await self._fetchall(
            "SELECT s.name, w.start_min, w.end_min, w.kind, w.reason FROM windows w"
            " JOIN services s ON s.id = w.service_id"
            " WHERE w.start_min < ? AND w.end_min > ?"
            " ORDER BY w.start_min, w.end_min, w.id",
            (end, start),
        )
        out: dict[str, list[Window]] = {}
        for name, a, b, kind, reason in rows:
            out.setdefault(str(name), []).append(
                Window(start=int(a), end=int(b), kind=kind, reason=str(reason))
            )
        return out
