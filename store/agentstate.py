"""What an agent must remember across a restart (issue 16), one row set per source.

* ``agent_probes``: every probe result of the minutes the agent has not judged
  yet, written as they come, so a ``kill -9`` in the middle of a minute loses
  at most the probe in flight: the restarted agent folds the stored results
  together with its own for that minute, the verdict an agent that never
  stopped would have given.
* ``agent_state.judged_upto``: the last minute the agent judged, its guard
  against a wall clock set back (a minute already judged is never recorded
  again, across a restart too).
* ``agent_outages``: the outages it announced and has not seen end, so a
  restart in the middle of one sends no second ``start`` and the ``end`` still
  arrives.
* ``agent_notices``: the outage notifications that follow from the minutes
  written, not yet sent to every notifier. The agent sends one only once it is
  committed and forgets it once every notifier has had it, so a crash in
  between sends it again after the restart (same ``id``).
* ``agent_notice_marks``: which notifier has had which of those notices, so a
  notifier that is down gets them retried after a restart and the others do
  not get them twice.

The state is saved in the SAME transaction as the minutes it follows from
(``record_minutes(rows, state=...)``, ``spool_minutes``), or alone when no
minute goes with it (``save_agent_state``): a ``kill -9`` at any moment leaves
either both or neither. Saving replaces the state and forgets the probe
results up to ``judged_upto``: they are in the minute records by then.
"""

from __future__ import annotations

from collections.abc import Sequence

from store.base import StoreBase, from_micros, micros
from store.db import Conn
from store.rows import AgentState, Notice, OpenOutage, ProbeRecord, StateSave

_JOURNAL_SQL = (
    "INSERT INTO agent_probes (source_id, minute, service_id, at_us,"
    " status, latency_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (source_id, minute, service_id, at_us) DO NOTHING"
)


class AgentStateStore(StoreBase):
    """``record_probe_results``, ``save_agent_state``, ``agent_state``, ``mark_notice``,
    ``forget_notices`` (the agent only)."""

    async def record_probe_results(self, records: Sequence[ProbeRecord]) -> None:
        """Keep probe results of not-yet-judged minutes (recording one twice changes nothing).

        The agent calls this for every probe (or the few finishing together): once
        every name is known, it is one statement in a transaction of its own, on
        ``Conn.commit_rows`` with ``lazy_sync`` (a kill loses nothing committed; an
        operating-system crash or power cut, the commits since the last minute write)."""
        if not records:
            return
        ids = self._ids
        params = []
        for r in records:
            sid, src = ids.get(("services", r.service)), ids.get(("sources", r.source))
            if sid is None or src is None:  # a new name: the whole write path
                await self._record_probe_results(records)
                return
            params.append((src, r.minute, sid, micros(r.at), r.status, r.latency_ms, r.error))
        if self.readonly:
            raise RuntimeError("store opened read-only")
        async with self._write_lock:
            await self._db.commit_rows(_JOURNAL_SQL, params, lazy_sync=True)

    async def _record_probe_results(self, records: Sequence[ProbeRecord]) -> None:
        async with self._write() as db:
            await self._ensure_pairs((r.service, r.source) for r in records)
            params = []
            for r in records:
                sid, src = await self._id_pair(r.service, r.source)
                params.append((src, r.minute, sid, micros(r.at), r.status, r.latency_ms, r.error))
            await db.executemany(_JOURNAL_SQL, params)

    async def save_agent_state(
        self,
        source: str,
        judged_upto: int,
        outages: Sequence[OpenOutage],
        notices: Sequence[Notice] = (),
    ) -> None:
        """Replace ``source``'s state, add ``notices``; forget its probe results up to
        ``judged_upto``. In one transaction of its own (no minute goes with it)."""
        async with self._write() as db:
            await self._save_agent_state_in(
                db, StateSave(source, judged_upto, tuple(outages), tuple(notices))
            )

    async def _save_agent_state_in(self, db: Conn, state: StateSave) -> None:
        src = await self._ensure("sources", state.source)
        await db.execute(
            "INSERT INTO agent_state (source_id, judged_upto) VALUES (?, ?)"
            " ON CONFLICT (source_id) DO UPDATE SET judged_upto = excluded.judged_upto",
            (src, state.judged_upto),
        )
        await db.execute(
            "DELETE FROM agent_probes WHERE source_id = ? AND minute <= ?",
            (src, state.judged_upto),
        )
        await db.execute("DELETE FROM agent_outages WHERE source_id = ?", (src,))
        await self._ensure_sorted("services", (o.service for o in state.outages))
        rows = []
        for o in state.outages:
            sid = await self._ensure("services", o.service)
            rows.append((src, sid, o.start, o.last, o.minutes, o.error))
        await db.executemany(
            "INSERT INTO agent_outages (source_id, service_id, start_min, last_min, minutes,"
            " error) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        await db.executemany(
            "INSERT INTO agent_notices (source_id, id, seq, payload) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (source_id, id) DO NOTHING",
            [(src, n.id, n.seq, n.payload) for n in state.notices],
        )

    async def forget_notices(self, source: str, ids: Sequence[str]) -> None:
        """Every notifier has had these notices: they are not sent again."""
        if not ids:
            return
        async with self._write() as db:
            src = await self._lookup("sources", source)
            if src is None:
                return
            pairs = [(src, i) for i in ids]
            await db.executemany("DELETE FROM agent_notices WHERE source_id = ? AND id = ?", pairs)
            await db.executemany(
                "DELETE FROM agent_notice_marks WHERE source_id = ? AND notice_id = ?", pairs
            )

    async def mark_notice(self, source: str, notice_id: str, notifier: str) -> None:
        """One notifier has had this notice (the others not yet): a restart sends it
        only to them. A notice already forgotten gets no mark."""
        async with self._write() as db:
            src = await self._lookup("sources", source)
            if src is None:
                return
            await db.execute(
                "INSERT INTO agent_notice_marks (source_id, notice_id, notifier)"
                " SELECT source_id, id, ? FROM agent_notices WHERE source_id = ? AND id = ?"
                " ON CONFLICT (source_id, notice_id, notifier) DO NOTHING",
                (notifier, src, notice_id),
            )

    async def agent_state(self, source: str) -> AgentState:
        """``source``'s saved state and its probe results after ``judged_upto``."""
        src = await self._lookup("sources", source)
        if src is None:
            return AgentState(None)
        found = await self._fetchall(
            "SELECT judged_upto FROM agent_state WHERE source_id = ?", (src,)
        )
        judged = int(found[0][0]) if found else None
        outages = await self._fetchall(
            "SELECT s.name, o.start_min, o.last_min, o.minutes, o.error FROM agent_outages o"
            " JOIN services s ON s.id = o.service_id WHERE o.source_id = ? ORDER BY s.name",
            (src,),
        )
        probes = await self._fetchall(
            "SELECT s.name, p.minute, p.at_us, p.status, p.latency_ms, p.error"
            " FROM agent_probes p JOIN services s ON s.id = p.service_id"
            " WHERE p.source_id = ? AND p.minute > ? ORDER BY p.minute, p.at_us",
            (src, -1 if judged is None else judged),
        )
        notices = await self._fetchall(
            "SELECT id, seq, payload FROM agent_notices WHERE source_id = ? ORDER BY seq, id",
            (src,),
        )
        sent_to: dict[str, list[str]] = {}
        for notice_id, notifier in await self._fetchall(
            "SELECT notice_id, notifier FROM agent_notice_marks WHERE source_id = ?", (src,)
        ):
            sent_to.setdefault(str(notice_id), []).append(str(notifier))
        return AgentState(
            judged,
            tuple(
                OpenOutage(str(n), int(a), int(b), int(m), None if e is None else str(e))
                for n, a, b, m, e in outages
            ),
            tuple(
                ProbeRecord(
                    str(n),
                    source,
                    int(minute),
                    from_micros(at_us),
                    int(status),
                    None if lat is None else int(lat),
                    None if err is None else str(err),
                )
                for n, minute, at_us, status, lat, err in probes
            ),
            tuple(
                Notice(str(i), int(q), str(p), tuple(sorted(sent_to.get(str(i), ()))))
                for i, q, p in notices
            ),
        )
