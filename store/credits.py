"""Credits marked settled: a settled month leaves the pending list. Settling and
unsettling are each kept in the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import InputError
from core.timeutil import YearMonth, iso_z, utc_now
from store.audit import AuditStore
from store.base import instant, seconds


@dataclass(frozen=True)
class Settlement:
    service: str
    month: str  # YYYY-MM
    settled_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"service": self.service, "month": self.month, "settled_at": iso_z(self.settled_at)}


class CreditStore(AuditStore):
    """Which months' credits have been settled (they leave the pending list)."""

    async def settle_credit(
        self,
        service: str,
        month: YearMonth | str,
        at: datetime | None = None,
        *,
        span: tuple[int, int] | None = None,
        actor: str | None = None,
    ) -> bool:
        """Mark ``service``'s credit for ``month`` settled at ``at`` (default: now);
        idempotent. True when it was not settled before (then audited; ``span`` is
        the month's minutes in the contract's time zone, for claim bundles)."""
        month = month if isinstance(month, YearMonth) else YearMonth.parse(month, "month")
        at = utc_now() if at is None else at
        async with self._write() as db:
            if await self._settlement(service, str(month)) is not None:
                return False
            sid = await self._ensure("services", service)
            await db.execute(
                "INSERT INTO settled_credits (service_id, month, settled_at) VALUES (?, ?, ?)",
                (sid, str(month), seconds(at)),
            )
            after = Settlement(service, str(month), at).to_json()
            await self._audit(db, "credit.settle", service, span, None, after, actor=actor, at=at)
        return True

    async def unsettle_credit(
        self,
        service: str,
        month: YearMonth,
        *,
        span: tuple[int, int] | None = None,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> Settlement:
        """Put a settled month back among the pending credits; audited."""
        async with self._write() as db:
            found = await self._settlement(service, str(month))
            if found is None:
                raise InputError(f"{service} {month}", "this credit is not marked settled")
            sid = await self._ensure("services", service)
            await db.execute(
                "DELETE FROM settled_credits WHERE service_id = ? AND month = ?",
                (sid, str(month)),
            )
            await self._audit(
                db, "credit.unsettle", service, span, found.to_json(), None, actor=actor, at=at
            )
        return found

    async def settlements(self, service: str | None = None) -> list[Settlement]:
        """Every settled credit (of ``service``), by month then service."""
        where, params = ("WHERE s.name = ?", [service]) if service is not None else ("", [])
        rows = await self._fetchall(
            "SELECT s.name, c.month, c.settled_at FROM settled_credits c"
            f" JOIN services s ON s.id = c.service_id {where} ORDER BY c.month, s.name",
            params,
        )
        out = []
        for name, month, settled in rows:
            when = instant(int(settled))
            assert when is not None
            out.append(Settlement(str(name), str(month), when))
        return out

    async def _settlement(self, service: str, month: str) -> Settlement | None:
        found = [s for s in await self.settlements(service) if s.month == month]
        return found[0] if found else None
