"""Credits marked settled: a settled month leaves the pending list."""

from __future__ import annotations

from datetime import datetime

from core.timeutil import YearMonth, utc_now
from store.base import StoreBase, seconds


class CreditStore(StoreBase):
    """Which months' credits have been settled (they leave the pending list)."""

    async def settle_credit(
        self, service: str, month: YearMonth | str, at: datetime | None = None
    ) -> None:
        """Mark ``service``'s credit for ``month`` settled at ``at`` (default: now); idempotent."""
        month = month if isinstance(month, YearMonth) else YearMonth.parse(month, "month")
        at = utc_now() if at is None else at
        async with self._write() as db:
            sid = await self._ensure("services", service)
            await db.execute(
                "INSERT INTO settled_credits (service_id, month, settled_at)"
                " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (sid, str(month), seconds(at)),
            )

    async def settled_months(self, service: str) -> set[str]:
        """Months (``YYYY-MM``) whose credit for ``service`` is marked settled."""
        rows = await self._fetchall(
            "SELECT c.month FROM settled_credits c JOIN services s ON s.id = c.service_id"
            " WHERE s.name = ?",
            (service,),
        )
        return {str(r[0]) for r in rows}
