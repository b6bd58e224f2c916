"""The agent's own health, as each agent (source) last reported it.

One row per source: when the agent last wrote it, how many minutes it holds
unwritten, how many it had to drop (its buffer is bounded), and its storage
problem: the current one (``cleared`` None) or the last one, with when it
started and cleared. ``slawatch status`` shows it, so an admin learns about a
full disk or a locked database from the tool, not only from the journal.
While the database itself cannot be written the row cannot be updated either:
readers see ``at`` getting old (the agent is silent), and the problem appears
with its start and end once writing works again.

Fleet mode (issue 10): an agent's forwarder writes the row into PostgreSQL
(``agent.forwarder``), adding what ``fleet status`` shows of the agent:
``at`` is its ``last_seen``; ``backlog_minutes`` the minutes recorded in its
spool and not yet forwarded (its outbox, ``store.outbox``);
``spool_only_minutes`` the minutes dropped from the outbox at its bound, kept
in the spool and forwarded again once the backlog is gone;
``clock_offset_seconds`` its clock minus PostgreSQL's ``now()`` (positive: the
agent is ahead), None until measured; ``version`` the slawatch version it runs.
A single-machine agent leaves them 0 / None. The forwarder also records
``notices_waiting`` / ``notices_since``: the outage notifications its spool
still owes some notifier (a webhook down, retried), which on a single machine
are read from the saved notifications themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.timeutil import from_minute
from store.base import StoreBase, from_micros, micros


@dataclass(frozen=True)
class AgentHealth:
    source: str
    at: datetime  # aware; when the agent wrote this
    pending: int  # minutes held in memory, not yet written
    dropped: int  # minutes dropped because the buffer was full (they read as unknown)
    problem: str | None = None  # the current or last storage problem
    problem_since: datetime | None = None
    problem_cleared: datetime | None = None  # None while the problem lasts
    backlog_minutes: int = 0  # fleet: minutes in the spool not yet forwarded
    spool_only_minutes: int = 0  # fleet: dropped from the outbox at its bound, still spooled
    clock_offset_seconds: float | None = None  # fleet: agent clock - PostgreSQL now()
    version: str | None = None  # the slawatch version the agent runs
    # How many of the agent's saved outage notifications (``store.agentstate``) not
    # every notifier has had yet (a receiver down: retried), and the minute the oldest
    # of them reports. Read from the saved notifications where the store holds them
    # (a single machine, an agent's spool); in a fleet's PostgreSQL, what the agent's
    # forwarder last recorded from its spool.
    notices_waiting: int = 0
    notices_since: datetime | None = None

    @property
    def last_seen(self) -> datetime:
        """When the agent last reported (``fleet status``)."""
        return self.at


def _us(ts: datetime | None) -> int | None:
    return None if ts is None else micros(ts)


def _at(us: int | None) -> datetime | None:
    return None if us is None else from_micros(us)


class HealthStore(StoreBase):
    """``record_health`` (the agent) and ``agent_health`` (status, the dashboard)."""

    async def record_health(self, health: AgentHealth) -> None:
        """Keep ``health`` as its source's latest word (added for issue 7)."""
        async with self._write() as db:
            src = await self._ensure("sources", health.source)
            await db.execute(
                "INSERT INTO agent_health (source_id, at_us, pending, dropped,"
                " problem, problem_since_us, problem_cleared_us, backlog_minutes,"
                " spool_only_minutes, clock_offset_ms, version, notices_waiting, notices_since_us)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (source_id) DO UPDATE SET at_us = excluded.at_us,"
                " pending = excluded.pending, dropped = excluded.dropped,"
                " problem = excluded.problem, problem_since_us = excluded.problem_since_us,"
                " problem_cleared_us = excluded.problem_cleared_us,"
                " backlog_minutes = excluded.backlog_minutes,"
                " spool_only_minutes = excluded.spool_only_minutes,"
                " clock_offset_ms = excluded.clock_offset_ms, version = excluded.version,"
                " notices_waiting = excluded.notices_waiting,"
                " notices_since_us = excluded.notices_since_us",
                (
                    src,
                    _us(health.at),
                    health.pending,
                    health.dropped,
                    health.problem,
                    _us(health.problem_since),
                    _us(health.problem_cleared),
                    health.backlog_minutes,
                    health.spool_only_minutes,
                    None
                    if health.clock_offset_seconds is None
                    else round(health.clock_offset_seconds * 1000),
                    health.version,
                    health.notices_waiting,
                    _us(health.notices_since),
                ),
            )

    async def agent_health(self) -> list[AgentHealth]:
        """Every agent's latest word, by source name."""
        rows = await self._fetchall(
            "SELECT s.name, h.at_us, h.pending, h.dropped, h.problem, h.problem_since_us,"
            " h.problem_cleared_us, h.backlog_minutes, h.spool_only_minutes, h.clock_offset_ms,"
            " h.version, h.notices_waiting, h.notices_since_us"
            " FROM agent_health h JOIN sources s ON s.id = h.source_id"
            " ORDER BY s.name"
        )
        # The saved notifications where the agent keeps them (a single machine's store,
        # a spool: SQLite). A fleet agent keeps its own in its spool and ships its word:
        # any in PostgreSQL were copied by ``store migrate`` from the single machine and
        # are never forgotten there, so they must not stand for the agent's word.
        waiting = (
            {
                str(name): (int(count), from_minute(int(seq) // 2))
                for name, count, seq in await self._fetchall(
                    "SELECT s.name, count(*), min(n.seq) FROM agent_notices n"
                    " JOIN sources s ON s.id = n.source_id GROUP BY s.name"
                )
            }
            if self.dialect == "sqlite"
            else {}
        )
        out = []
        for row in rows:
            name, at_us, pending, dropped, problem, since, cleared = row[:7]
            backlog, spool_only, offset_ms, version, owed, owed_since = row[7:]
            notices = waiting.get(str(name), (int(owed), _at(owed_since)))
            at = _at(at_us)
            assert at is not None
            out.append(
                AgentHealth(
                    str(name),
                    at,
                    int(pending),
                    int(dropped),
                    None if problem is None else str(problem),
                    _at(since),
                    _at(cleared),
                    int(backlog),
                    int(spool_only),
                    None if offset_ms is None else int(offset_ms) / 1000,
                    None if version is None else str(version),
                    *notices,
                )
            )
        return out
