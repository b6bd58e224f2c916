"""Live state: the latest probe of each service from each source."""

from __future__ import annotations

from collections.abc import Sequence

from store.base import StoreBase, from_micros, micros
from store.rows import ProbeState

_PROBE_COLUMNS = (
    ("service_id", "bigint"),
    ("source_id", "bigint"),
    ("at_us", "bigint"),
    ("status", "bigint"),
    ("latency_ms", "bigint"),
    ("error", "text"),
    ("tls_expires_us", "bigint"),
)


class ProbeStore(StoreBase):
    """The newest probe per (service, source): what the dashboard shows live."""

    async def record_probe(self, state: ProbeState) -> None:
        """Keep ``state`` as the latest probe of its service and source (older ones are ignored)."""
        await self.record_probes([state])

    async def record_probes(self, states: Sequence[ProbeState]) -> None:
        """``record_probe`` for many states in ONE transaction (added by the agent
        engineer: one commit per probe costs the agent ~40 % of its CPU at 10,000
        targets; the agent batches a second's worth)."""
        if not states:
            return
        async with self._write() as db:
            await self._ensure_pairs((s.service, s.source) for s in states)
            params = [
                (*await self._id_pair(s.service, s.source), micros(s.at), s.status, s.latency_ms,
                 s.error, None if s.tls_expires_at is None else micros(s.tls_expires_at))
                for s in states
            ]  # fmt: skip
            await db.upsert(
                "probe_states",
                _PROBE_COLUMNS,
                ("service_id", "source_id"),
                params,
                where="excluded.at_us >= probe_states.at_us",
            )

    async def probe_states(self) -> list[ProbeState]:
        """The latest probe per (service, source), ordered by service then source."""
        rows = await self._fetchall(
            "SELECT s.name, src.name, p.at_us, p.status, p.latency_ms, p.error, p.tls_expires_us"
            " FROM probe_states p JOIN services s ON s.id = p.service_id"
            " JOIN sources src ON src.id = p.source_id ORDER BY s.name, src.name"
        )
        return [
            ProbeState(
                service=str(svc),
                source=str(src),
                at=from_micros(at_us),
                status=int(status),
                latency_ms=None if lat is None else int(lat),
                error=None if err is None else str(err),
                tls_expires_at=None if tls is None else from_micros(tls),
            )
            for svc, src, at_us, status, lat, err, tls in rows
        ]
