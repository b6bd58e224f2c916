"""Corroboration of failing probes: one row per failing request (``probe_evidence``).

The agent keeps, for each probe that failed, what the provider can look up in
its own logs (``core.corroboration``); claim bundles carry them for the
outage minutes. Recording the same probe twice changes nothing (keyed by
service, source, the instant the request was sent and the minute it is kept
under: a request sent in one minute that timed out in the next, the only
failure that next minute saw, is kept under both, the later row with the
instant it failed, ``failed_at``; docs/probes.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.corroboration import Corroboration
from store.base import StoreBase, from_micros, micros
from store.rows import ProbeEvidence

_COLUMNS = (
    "service_id", "source_id", "at_us", "minute", "error", "http_status", "server_ip",
    "tls_sha256", "date", "x_request_id", "traceparent", "cf_ray", "failed_at_us",
)  # fmt: skip
_FIELDS = _COLUMNS[4:-1]


class EvidenceStore(StoreBase):
    async def record_evidence(self, rows: Sequence[ProbeEvidence]) -> None:
        """Keep failing probes' corroboration, in one transaction."""
        if not rows:
            return
        async with self._write() as db:
            pairs = {(r.service, r.source) for r in rows}
            await self._ensure_pairs(pairs)
            ids = {pair: await self._id_pair(*pair) for pair in pairs}
            params = [
                (*ids[(r.service, r.source)], micros(r.seen.at), r.minute,
                 *(getattr(r.seen, f) for f in _FIELDS),
                 None if r.seen.failed_at is None else micros(r.seen.failed_at))
                for r in rows
            ]  # fmt: skip
            await db.executemany(
                f"INSERT INTO probe_evidence ({', '.join(_COLUMNS)})"
                f" VALUES ({', '.join('?' * len(_COLUMNS))})"
                " ON CONFLICT (service_id, source_id, at_us, minute) DO NOTHING",
                params,
            )

    async def evidence_between(self, service: str, start: int, end: int) -> list[ProbeEvidence]:
        """``service``'s failing probes filed under minutes [start, end), by source then time."""
        rows = await self._fetchall(
            f"SELECT src.name, {', '.join('e.' + c for c in _COLUMNS[2:])}"
            " FROM probe_evidence e JOIN services s ON s.id = e.service_id"
            " JOIN sources src ON src.id = e.source_id"
            " WHERE s.name = ? AND e.minute >= ? AND e.minute < ?"
            " ORDER BY src.name, e.at_us, e.minute",
            (service, start, end),
        )
        return [_row(service, str(src), rest) for src, *rest in rows]

    async def evidence_after(self, source: str, after_us: int, limit: int) -> list[ProbeEvidence]:
        """``source``'s failing probes sent after ``after_us`` (oldest first): what a fleet
        agent's forwarder has not shipped yet."""
        rows = await self._fetchall(
            f"SELECT s.name, {', '.join('e.' + c for c in _COLUMNS[2:])}"
            " FROM probe_evidence e JOIN services s ON s.id = e.service_id"
            " JOIN sources src ON src.id = e.source_id"
            " WHERE src.name = ? AND e.at_us > ? ORDER BY e.at_us, e.minute LIMIT ?",
            (source, after_us, limit),
        )
        return [_row(str(svc), source, rest) for svc, *rest in rows]

    async def newest_evidence_us(self, source: str) -> int:
        """When ``source``'s newest stored failing probe was sent (epoch µs; 0: none)."""
        rows = await self._fetchall(
            "SELECT MAX(e.at_us) FROM probe_evidence e JOIN sources src ON src.id = e.source_id"
            " WHERE src.name = ?",
            (source,),
        )
        return int(rows[0][0]) if rows and rows[0][0] is not None else 0


def _row(service: str, source: str, values: Sequence[object]) -> ProbeEvidence:
    """A stored row (``at_us, minute``, the fields, ``failed_at_us``) as a ProbeEvidence."""
    at_us, minute, *fields, failed_us = values
    at = from_micros(int(str(at_us)))
    http = fields[1]
    ip, cert, date, request_id, traceparent, cf_ray = (
        None if v is None else str(v) for v in fields[2:]
    )
    seen = Corroboration(
        at, None if fields[0] is None else str(fields[0]),
        None if http is None else int(str(http)),
        ip, cert, date, request_id, traceparent, cf_ray,
        None if failed_us is None else from_micros(int(str(failed_us))),
    )  # fmt: skip
    return ProbeEvidence(service, source, int(str(minute)), seen)
