"""One-off maintenance windows and exclusions."""

from __future__ import annotations

from typing import Literal

from core.errors import InputError
from core.windows import Window
from store.base import StoreBase


class WindowStore(StoreBase):
    """One-off maintenance windows and exclusions, in epoch minutes."""

    async def add_maintenance(self, service: str, start: int, end: int, reason: str = "") -> Window:
        """A one-off maintenance window, minutes [start, end)."""
        return await self._add_window(service, "maintenance", start, end, reason)

    async def add_exclusion(self, service: str, start: int, end: int, reason: str) -> Window:
        """An interruption outside the provider's control, minutes [start, end)."""
        return await self._add_window(service, "exclusion", start, end, reason)

    async def _add_window(
        self,
        service: str,
        kind: Literal["maintenance", "exclusion"],
        start: int,
        end: int,
        reason: str,
    ) -> Window:
        if end <= start:
            raise InputError("--to", "the window must end after it starts")
        async with self._write() as db:
            sid = await self._ensure("services", service)
            await db.execute(
                "INSERT INTO windows (service_id, kind, start_min, end_min, reason)"
                " VALUES (?, ?, ?, ?, ?)",
                (sid, kind, start, end, reason),
            )
        return Window(start=start, end=end, kind=kind, reason=reason)

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
