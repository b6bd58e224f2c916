"""The agent's spool outbox (fleet mode): minutes recorded locally, not yet forwarded.

In fleet mode the agent's store is a local SQLite spool (``[storage] spool``):
``spool_minutes`` records a batch exactly as ``record_minutes`` does (hour
blocks, hash chains) and, in the SAME transaction, appends each row to the
outbox, so a minute is never in the spool without being queued, nor queued
without being in the spool. The forwarder (``agent.forwarder``) reads the
outbox oldest first (``outbox_batch``), upserts the rows into PostgreSQL and
only after PostgreSQL committed deletes them (``outbox_done``); a crash in
between re-sends them, which the upsert makes harmless.

The outbox is bounded in time (``trim_outbox(max_minutes)``): entries older
than the newest recorded minute minus ``max_minutes`` leave the outbox. They
stay in the spool's own hour blocks (the evidence is kept, hash chain
included); their span is noted in ``outbox_dropped`` and counted
(``outbox_counts``), and ``requeue_dropped`` puts them back into the outbox
from the blocks once the outbox has drained, a span at a time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from store.blocks import BLOCK, NO_LATENCY, decode_latency
from store.minutes import MinuteStore
from store.rows import MinuteRow, StateSave

_OF_SOURCE = "source_id IN (SELECT id FROM sources WHERE name = ?)"
_QUEUE = (
    "INSERT INTO outbox (service_id, source_id, minute, status, latency_ms, error)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class OutboxBatch:
    """The oldest entries of the outbox: their rows and the id span to delete once sent."""

    first_id: int
    last_id: int
    rows: tuple[MinuteRow, ...]
    source: str | None = None  # only this source's rows were read (and are deleted)


@dataclass(frozen=True)
class OutboxCounts:
    backlog_minutes: int  # distinct minutes queued, not yet forwarded
    spool_only_minutes: int  # minutes dropped from the outbox at its bound, still in the spool


class OutboxStore(MinuteStore):
    """The outbox of a spool; every method runs on the spool (SQLite), never on PostgreSQL."""

    async def spool_minutes(
        self, rows: Sequence[MinuteRow], *, state: StateSave | None = None
    ) -> None:
        """``record_minutes`` plus queueing every row for the forwarder, in one transaction
        (with ``state``, the agent's state that follows from them, in it too)."""
        if not rows:
            await self.record_minutes((), state=state)
            return
        async with self._write() as db:
            await self._upsert(db, rows)  # adds the rows' new names, in sorted order
            await db.executemany(
                _QUEUE,
                [
                    (
                        *await self._id_pair(r.service, r.source),
                        r.minute,
                        r.status,
                        r.latency_ms,
                        r.error,
                    )
                    for r in rows
                ],
            )
            if state is not None:
                await self._save_agent_state_in(db, state)

    async def outbox_batch(self, limit: int, source: str | None = None) -> OutboxBatch | None:
        """The ``limit`` oldest queued rows (in the order they were recorded), or None;
        with ``source``, only that source's (an agent forwards its own minutes only)."""
        mine = "" if source is None else " WHERE src.name = ?"
        rows = await self._fetchall(
            "SELECT o.id, s.name, src.name, o.minute, o.status, o.latency_ms, o.error"
            " FROM outbox o JOIN services s ON s.id = o.service_id"
            f" JOIN sources src ON src.id = o.source_id{mine} ORDER BY o.id LIMIT ?",
            (limit,) if source is None else (source, limit),
        )
        if not rows:
            return None
        return OutboxBatch(
            int(rows[0][0]),
            int(rows[-1][0]),
            source=source,
            rows=tuple(
                MinuteRow(
                    str(service),
                    str(source),
                    int(minute),
                    int(status),
                    None if latency is None else int(latency),
                    None if error is None else str(error),
                )
                for _id, service, source, minute, status, latency, error in rows
            ),
        )

    async def outbox_done(self, batch: OutboxBatch) -> None:
        """Forget a batch PostgreSQL has committed."""
        where, args = "", tuple[object, ...]((batch.first_id, batch.last_id))
        if batch.source is not None:  # another source's rows queued in between stay
            where, args = f" AND {_OF_SOURCE}", (*args, batch.source)
        async with self._write() as db:
            await db.execute(f"DELETE FROM outbox WHERE id >= ? AND id <= ?{where}", args)

    async def outbox_oldest(self, source: str | None = None) -> int | None:
        """The oldest minute still to be forwarded (with ``source``: of that source):
        queued, or dropped from the outbox at its bound and to be queued again (None:
        nothing)."""
        mine = "" if source is None else f" WHERE {_OF_SOURCE}"
        args = () if source is None else (source,)
        found = [
            int(r[0])
            for sql in (
                f"SELECT MIN(minute) FROM outbox{mine}",
                f"SELECT MIN(start_min) FROM outbox_dropped{mine}",
            )
            for r in await self._fetchall(sql, args)
            if r[0] is not None
        ]
        return min(found, default=None)

    async def outbox_counts(self, source: str | None = None) -> OutboxCounts:
        """What is queued and dropped (with ``source``: of that source only)."""
        mine = (
            "" if source is None else " WHERE source_id IN (SELECT id FROM sources WHERE name = ?)"
        )
        args = () if source is None else (source,)
        backlog = await self._fetchall(f"SELECT COUNT(DISTINCT minute) FROM outbox{mine}", args)
        dropped = await self._fetchall(
            f"SELECT COALESCE(SUM(minutes), 0) FROM outbox_dropped{mine}", args
        )
        return OutboxCounts(int(backlog[0][0]), int(dropped[0][0]))

    async def outbox_others(self, source: str) -> dict[str, int]:
        """Rows queued of sources other than ``source``: source name -> rows."""
        rows = await self._fetchall(
            "SELECT src.name, COUNT(*) FROM outbox o JOIN sources src ON src.id = o.source_id"
            " WHERE src.name <> ? GROUP BY src.name ORDER BY src.name",
            (source,),
        )
        return {str(name): int(n) for name, n in rows}

    async def trim_outbox(self, max_minutes: int) -> int:
        """Keep the outbox within ``max_minutes`` of the newest queued minute: older
        entries leave it (noted in ``outbox_dropped``); returns how many minutes left."""
        bounds = await self._fetchall("SELECT MIN(minute), MAX(minute) FROM outbox")
        if not bounds or bounds[0][0] is None:
            return 0
        oldest, newest = int(bounds[0][0]), int(bounds[0][1])
        cutoff = newest - max_minutes + 1  # minutes >= cutoff stay
        if oldest >= cutoff:
            return 0
        dropped = 0
        async with self._write() as db:
            spans = await db.fetchall(
                "SELECT source_id, MIN(minute), COUNT(DISTINCT minute) FROM outbox"
                " WHERE minute < ? GROUP BY source_id",
                (cutoff,),
            )
            for source_id, first, count in spans:
                # Merge with the spans it overlaps or touches (a span requeued while
                # PostgreSQL was back, dropped again when it went away once more).
                lo, hi, total = int(first), cutoff, int(count)
                merged = await db.fetchall(
                    "SELECT start_min, end_min, minutes FROM outbox_dropped"
                    " WHERE source_id = ? AND start_min <= ? AND end_min >= ?",
                    (source_id, hi, lo),
                )
                for old_start, old_end, old_minutes in merged:
                    lo, hi = min(lo, int(old_start)), max(hi, int(old_end))
                    total += int(old_minutes)
                await db.executemany(
                    "DELETE FROM outbox_dropped WHERE source_id = ? AND start_min = ?",
                    [(source_id, int(m[0])) for m in merged],
                )
                await db.execute(
                    "INSERT INTO outbox_dropped (source_id, start_min, end_min, minutes)"
                    " VALUES (?, ?, ?, ?)",
                    (source_id, lo, hi, total),
                )
                dropped += int(count)
            await db.execute("DELETE FROM outbox WHERE minute < ?", (cutoff,))
        return dropped

    async def requeue_dropped(self, max_minutes: int, source: str | None = None) -> int:
        """Put up to ``max_minutes`` of the oldest dropped span (with ``source``: of that
        source) back into the outbox, from the spool's hour blocks; returns the number
        of rows queued."""
        mine = (
            "" if source is None else " WHERE source_id IN (SELECT id FROM sources WHERE name = ?)"
        )
        spans = await self._fetchall(
            f"SELECT source_id, start_min, end_min, minutes FROM outbox_dropped{mine}"
            " ORDER BY start_min, source_id LIMIT 1",
            () if source is None else (source,),
        )
        if not spans:
            return 0
        source_id, start, end, minutes = (int(v) for v in spans[0])
        stop = min(end, start + max_minutes)
        errors: dict[tuple[int, int], str] = {}
        for service_id, minute, text in await self._fetchall(
            "SELECT e.service_id, e.minute, t.text FROM minute_errors e"
            " JOIN error_texts t ON t.id = e.error_id"
            " WHERE e.source_id = ? AND e.minute >= ? AND e.minute < ?",
            (source_id, start, stop),
        ):
            errors[(int(service_id), int(minute))] = str(text)
        queued: list[tuple[int, int, int, int, int | None, str | None]] = []
        per_minute: dict[int, int] = defaultdict(int)
        for service_id, hour, status, latency in await self._fetchall(
            "SELECT service_id, hour, status, latency FROM minute_blocks"
            " WHERE source_id = ? AND hour >= ? AND hour <= ? ORDER BY hour, service_id",
            (source_id, start // BLOCK, (stop - 1) // BLOCK),
        ):
            lat = decode_latency(bytes(latency))
            for i, code in enumerate(bytes(status)):
                minute = int(hour) * BLOCK + i
                if code and start <= minute < stop:
                    ms = None if lat[i] == NO_LATENCY else int(lat[i])
                    sid = int(service_id)
                    queued.append((sid, source_id, minute, code, ms, errors.get((sid, minute))))
                    per_minute[minute] += 1
        queued.sort(key=lambda q: (q[2], q[0]))  # oldest first, as they were recorded
        async with self._write() as db:
            await db.executemany(_QUEUE, queued)
            await db.execute(
                "DELETE FROM outbox_dropped WHERE source_id = ? AND start_min = ?",
                (source_id, start),
            )
            if stop < end:
                await db.execute(
                    "INSERT INTO outbox_dropped (source_id, start_min, end_min, minutes)"
                    " VALUES (?, ?, ?, ?)",
                    (source_id, stop, end, max(0, minutes - len(per_minute))),
                )
        return len(queued)
