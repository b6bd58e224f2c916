"""Fleet mode: the agent's spool forwarded to the fleet's PostgreSQL database.

With ``[storage] url`` the agent records every minute, probe state and its
health in its local SQLite spool (``agent.sink.SpoolSink``), exactly as a
single machine records them in its store, and every minute is queued in the
spool's outbox in the same transaction (``store.outbox``). The forwarder is a
task beside the ticker that ships the outbox to PostgreSQL:

- oldest first, ``batch`` rows per ``record_minutes`` (one PostgreSQL
  transaction, an idempotent upsert of hour blocks plus their hash chains);
- a batch leaves the outbox only after PostgreSQL committed it; a crash or a
  timeout between the two sends it again, which changes nothing there (the
  upsert is keyed by service, source and minute): no minute lost, none twice;
- failing probes' corroboration (``store.evidence``), newer than what PostgreSQL
  holds of this agent's (with a look-back of ``EVIDENCE_LOOKBACK_US``: a slow
  probe is written after a quicker later one);
- the newest probe state of each service (only when newer than the last one
  sent) and the agent's health, with the outage notifications its spool still
  owes some notifier (``notices_waiting``, ``notices_since``), ``backlog_minutes`` (the outbox),
  ``spool_only_minutes`` (dropped from the outbox at its bound, still in the
  spool), ``clock_offset_seconds`` (this agent's clock minus PostgreSQL's,
  measured at the midpoint of a round trip) and ``version``;
- PostgreSQL down, restarting or unreachable: the failure is logged once, the
  agent keeps probing and spooling, and the forwarder tries again after 1, 2,
  4... ticks (at most ``MAX_BACKOFF_TICKS``, capped at 30 s), reconnecting
  each time; when it is back the backlog drains at full speed and that is
  logged once;
- once the outbox is empty, spans dropped at the bound are put back into it
  from the spool's minute blocks (``requeue_dropped``) and forwarded too;
- one agent per name: each connection first takes the name's lock in PostgreSQL
  (``PostgresStore.claim_agent_name``, a session-level advisory lock, freed when the
  session ends). Held by another session (the same ``--name`` running elsewhere, or
  twice here), the forwarder stops with ``NameInUse``, which names where the other
  runs, and the agent exits with code 2 (``claim`` checks it before the agent starts).
  A session this agent left (its own earlier connection, or the one the previous
  agent of its spool noted in ``SPOOL.session``) is ended and taken over; a session
  of another role (which cannot write this name's minutes) is logged and ignored.

The forwarder never speaks SQL: the spool's outbox and PostgreSQL are both
``store.Store`` objects. It connects as the role named in the URL; in a fleet
that is the agent's own role (``store.postgres.roles``), allowed to write only
rows of the source named as the role, which is this agent's name.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import gc
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from agent.probe import agent_version
from agent.tasks import bounded, open_once
from core.dburl import mask_url
from core.errors import SlawatchError
from core.timeutil import utc_now
from store import StoreBusy
from store.health import AgentHealth
from store.postgres import PostgresStore
from store.postgres.holders import NameHolder
from store.sqlite import DatabaseReplaced, SqliteStore

log = logging.getLogger("slawatch.agent.forwarder")

BATCH = 1000  # rows per PostgreSQL transaction
REQUEUE_MINUTES = 24 * 60  # a dropped span is put back into the outbox a day at a time
MAX_BACKOFF_TICKS = 30
MAX_BACKOFF_S = 30.0
STEP_TIMEOUT_S = 60.0  # one round, however the network behaves (a half-open connection)
TOLD_PER_EPISODE = 4  # reasons logged while forwarding fails: the first and 3 others
EVIDENCE_LOOKBACK_US = 15 * 60 * 1_000_000  # longer than any probe with its retries
HEALTH_EVERY_S = 30.0  # the health row is rewritten at least this often (last_seen)


VERSION = agent_version()
# The cyclic garbage collector's youngest generation is collected after this many
# new container objects (Python's default: 700). A forwarded batch makes tens of
# thousands (rows read from the spool and from PostgreSQL, tuples of ids), nearly
# all freed by reference counting; at 700 a collection ran every few hundred of
# them and took some 20 % of the forwarder's CPU (benchmarks/fleet.py).
GC_YOUNG = 20_000


def tune_gc() -> None:
    """Once the process has started: what it holds by now (modules, config, the
    scheduler) is moved out of the collector's way (``gc.freeze``), so collections
    look only at what came after, and they come less often (``GC_YOUNG``). Not a
    switch-off: reference cycles are still found, only in bigger steps. Once per
    process (the agent's forwarder task may be started again)."""
    global _gc_tuned
    if _gc_tuned:
        return
    _gc_tuned = True
    gc.collect()
    gc.freeze()
    young, older, oldest = gc.get_threshold()
    gc.set_threshold(max(GC_YOUNG, young), older, oldest)


_gc_tuned = False

OpenPostgres = Callable[[str], Awaitable[PostgresStore]]
CLAIM_TIMEOUT_S = 5.0  # at start: how long the name's check may hold up probing


class NameInUse(SlawatchError):
    """Another running agent holds this agent's name in the fleet's database."""


@contextlib.contextmanager
def spool_held(spool: Path, source: str) -> Iterator[None]:
    """One agent per spool on this machine, for as long as the process runs: an
    exclusive ``flock`` of ``SPOOL.lock`` (holding the pid). A second agent started
    with the same config here (PostgreSQL out of reach, so its name's lock cannot be
    checked yet) would write the same spool: ``NameInUse``, before it probes. A lock
    file that cannot be made (a read-only folder) is no lock; the spool's own error
    says why then."""
    lock = spool.with_name(spool.name + ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 20, 0).decode("ascii", "replace").strip() or "?"
            raise NameInUse(
                f"agent {source!r}",
                f"another agent is running on this machine with the spool {spool} (pid {other}):"
                " stop it, or give this one a name and a spool of its own"
                " (--name NAME --spool FILE)",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        yield
    finally:
        os.close(fd)  # the flock goes with it


def session_label(source: str, pid: int | None = None) -> str:
    """What this agent's PostgreSQL session calls itself (``application_name``,
    at most 63 bytes kept): another agent of the same name is told this."""
    return f"slawatch agent {source} on {socket.gethostname()} pid {pid or os.getpid()}"


def session_file(spool: Path) -> Path:
    """Where an agent notes the PostgreSQL session that holds its name (``SPOOL.session``:
    backend pid and start), for the next agent of this spool to end it if it was
    left behind (the process killed while cut off, its session still open)."""
    return spool.with_name(spool.name + ".session")


def _read_session(path: Path) -> tuple[int, datetime] | None:
    try:
        pid, since = path.read_text(encoding="ascii").split()
        return int(pid), datetime.fromisoformat(since)
    except (OSError, ValueError):
        return None


async def _open_postgres(url: str) -> PostgresStore:
    return await PostgresStore.open(url)


class Forwarder:
    """Ships the spool at ``spool_path`` to the PostgreSQL database at ``url``."""

    def __init__(
        self,
        spool_path: Path,
        url: str,
        source: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        tick: float = 1.0,
        batch: int = BATCH,
        budget: float = 0.5,
        open_postgres: OpenPostgres = _open_postgres,
        on_refused: Callable[[NameInUse], None] | None = None,
    ) -> None:
        self.spool_path = spool_path
        self.url = url
        self.where = mask_url(url)
        self.source = source
        self._clock = clock
        self._tick = tick
        self._batch = batch
        self._budget = budget
        self._open_postgres = open_postgres
        self._on_refused = on_refused
        self.refused: NameInUse | None = None  # another agent holds the name: stopped
        self._sessions: set[tuple[int, datetime]] = set()  # (backend pid, start) held
        self._spool: SqliteStore | None = None
        self._opening = asyncio.Lock()
        self._pg: PostgresStore | None = None
        self._probes_sent: dict[str, datetime] = {}  # service -> newest probe state sent
        self._evidence_cursor: int | None = None  # newest corroboration sent (epoch µs)
        # (service, at µs, minute) near the cursor: a request kept under two minutes
        # (docs/probes.md) is two rows of one instant.
        self._evidence_sent: set[tuple[str, int, int]] = set()
        self._lookback_at = -float("inf")
        self._health_at = -float("inf")
        self._owed: tuple[int, datetime | None] = (0, None)  # as last recorded
        self._failing: str | None = None  # the problem logged once per episode
        self._told: set[str] = set()  # each other reason of the episode, logged once
        self.forwarded = 0  # rows PostgreSQL committed, since start (re-sends included)
        self.backlog = 0  # distinct minutes queued, as of the last round
        self._others_told = False  # minutes of another agent queued here: said once
        self.clock_offset: float | None = None

    @property
    def problem(self) -> str | None:
        """Why forwarding fails now (None when it works)."""
        return self._failing

    # -- one round -------------------------------------------------------------

    async def step(self) -> int:
        """Forward what the outbox holds (for up to ``budget`` seconds), then the
        probe states and the health; returns the rows sent. Raises on failure
        (the caller backs off); nothing sent is forgotten before it committed."""
        spool = await self._spool_store()
        pg = await self._postgres()
        sent = 0
        stop_at = time.monotonic() + self._budget
        if not self._others_told:
            self._others_told = True
            await self._tell_others(spool)
        busy: StoreBusy | None = None
        try:
            while True:
                batch = await spool.outbox_batch(self._batch, self.source)
                if batch is None:
                    if not await spool.requeue_dropped(REQUEUE_MINUTES, self.source):
                        break
                    continue
                await pg.record_minutes(batch.rows)  # returns once PostgreSQL committed
                await spool.outbox_done(batch)
                sent += len(batch.rows)
                self.forwarded += len(batch.rows)
                if time.monotonic() >= stop_at:
                    break
        except StoreBusy as exc:
            # The minutes wait (the audit trail's lock held too long: another session's,
            # named in ``exc``); the probe states and the health row still go, so
            # ``fleet status`` shows this agent alive with its backlog growing.
            busy = exc
        await self._forward_probes(spool, pg)
        await self._forward_evidence(spool, pg)
        await self._forward_health(spool, pg, force=sent > 0)
        if busy is not None:
            raise busy
        if self._failing is not None:
            log.info(
                "forwarding to %s works again: %d minute record(s) of the backlog sent,"
                " %d minute(s) still queued",
                self.where,
                sent,
                self.backlog,
            )
            self._failing = None
        return sent

    async def _tell_others(self, spool: SqliteStore) -> None:
        """Minutes of another agent queued in this spool (``agent --once --name OTHER``
        run here, or this agent renamed with a backlog): the database takes from this
        agent its own minutes only, so they are left queued, said once, and never hold
        up its own."""
        for name, rows in (await spool.outbox_others(self.source)).items():
            log.warning(
                "%d queued minute record(s) of agent %r in the spool %s are not sent: this"
                " agent is %r and the database takes only its own (they stay in the spool;"
                " run agent %r with this spool to send them)",
                rows,
                name,
                self.spool_path,
                self.source,
                name,
            )

    async def _forward_probes(self, spool: SqliteStore, pg: PostgresStore) -> None:
        newer = [
            s
            for s in await spool.probe_states()
            if s.source == self.source
            and (s.service not in self._probes_sent or s.at > self._probes_sent[s.service])
        ]
        if newer:
            await pg.record_probes(newer)
            for s in newer:
                self._probes_sent[s.service] = s.at

    async def _forward_evidence(self, spool: SqliteStore, pg: PostgresStore) -> None:
        """New rows past the cursor each round; every ``HEALTH_EVERY_S`` also the
        look-back window behind it, for rows written late (a slow probe)."""
        if self._evidence_cursor is None:
            self._evidence_cursor = await pg.newest_evidence_us(self.source)
            self._evidence_sent = set()
            self._lookback_at = -float("inf")
        rows = await spool.evidence_after(self.source, self._evidence_cursor, self._batch)
        if time.monotonic() - self._lookback_at >= HEALTH_EVERY_S:
            self._lookback_at = time.monotonic()
            floor = self._evidence_cursor - EVIDENCE_LOOKBACK_US
            late = await spool.evidence_after(self.source, floor, self._batch)
            rows += [r for r in late if _us(r.seen.at) <= self._evidence_cursor]
            self._evidence_sent = {k for k in self._evidence_sent if k[1] > floor}
        rows = [r for r in rows if (r.service, _us(r.seen.at), r.minute) not in self._evidence_sent]
        if not rows:
            return
        await pg.record_evidence(rows)
        sent = {(r.service, _us(r.seen.at), r.minute) for r in rows}
        self._evidence_sent |= sent
        self._evidence_cursor = max(self._evidence_cursor, *(at for _, at, _ in sent))

    async def _forward_health(self, spool: SqliteStore, pg: PostgresStore, *, force: bool) -> None:
        counts = await spool.outbox_counts(self.source)
        own = [h for h in await spool.agent_health() if h.source == self.source]
        # The notifications still owed (a webhook down, retried) go with the row.
        owed = (own[0].notices_waiting, own[0].notices_since) if own else (0, None)
        changed = counts.backlog_minutes != self.backlog or owed != self._owed
        self.backlog = counts.backlog_minutes
        if not (force or changed) and time.monotonic() - self._health_at < HEALTH_EVERY_S:
            return
        before = self._clock()
        server = await pg.server_now()
        after = self._clock()
        self.clock_offset = round(((before + (after - before) / 2) - server).total_seconds(), 3)
        base = own[0] if own else AgentHealth(self.source, after, 0, 0)
        await pg.record_health(
            replace(
                base,
                at=after,
                backlog_minutes=counts.backlog_minutes,
                spool_only_minutes=counts.spool_only_minutes,
                clock_offset_seconds=self.clock_offset,
                version=VERSION,
            )
        )
        self._health_at = time.monotonic()
        self._owed = owed

    async def _spool_store(self) -> SqliteStore:
        # The rounds and the checkpointer (``oldest_queued``) both ask, at start at the
        # same moment: opened once (``open_once``), or the process could not exit.
        spool, opened = await open_once(self._opening, lambda: self._spool, self._open_spool)
        if not opened:
            try:
                await spool.check_file()
            except DatabaseReplaced:
                await self._close_spool()
                spool, _ = await open_once(self._opening, lambda: self._spool, self._open_spool)
        return spool

    async def _open_spool(self) -> SqliteStore:
        self._spool = await SqliteStore.open(self.spool_path)
        return self._spool

    async def _postgres(self) -> PostgresStore:
        if self.refused is not None:
            raise self.refused
        if self._pg is None:
            pg = await self._open_postgres(self.url)
            try:
                holder = await pg.claim_agent_name(self.source, session_label(self.source))
                if holder is not None and self._left_behind(holder):
                    log.warning(
                        "agent %r: ending a session of its own left in PostgreSQL (%s)",
                        self.source,
                        holder.describe(),
                    )
                    await pg.end_session(holder.pid)
                    holder = await pg.claim_agent_name(self.source, session_label(self.source))
                if holder is not None and not holder.same_role:
                    # Any role may take any advisory lock: a session of another role
                    # (another agent's, compromised) holding this name cannot write its
                    # minutes, and must not keep this vantage point from recording.
                    log.error(
                        "agent %r: the name's lock is held by a session of role %r (%s),"
                        " which is not this agent's and cannot write its minutes:"
                        " forwarding without the lock (lock that role out)",
                        self.source,
                        holder.role,
                        holder.describe(),
                    )
                    holder = None
                if holder is None:
                    await self._note_session(pg)
            except BaseException:
                await pg.close()
                raise
            if holder is not None:
                await pg.close()
                self.refused = NameInUse(
                    f"agent {self.source!r}",
                    f"another agent of this name is running ({holder.describe()}), forwarding to"
                    f" {self.where}: stop it, or give this one a name of its own (--name)",
                )
                raise self.refused
            self._pg = pg
            self._probes_sent = {}  # a new connection: say everything once more
            self._evidence_cursor = None
            self._health_at = -float("inf")
        return self._pg

    def _left_behind(self, holder: NameHolder) -> bool:
        """Whether ``holder`` is a session this agent left: one of this forwarder's own
        earlier connections (lost half-open, PostgreSQL not yet aware), or the one the
        previous agent of this spool noted (``session_file``; it is gone: this one holds
        the spool). Known by backend pid and start, which no other session shares;
        what a session calls itself (host, pid) is not proof: two containers sharing
        a host name run their agents at the same pid."""
        if holder.since is None or not holder.same_role:
            return False
        found = (holder.pid, holder.since)
        return found in self._sessions or found == _read_session(session_file(self.spool_path))

    async def _note_session(self, pg: PostgresStore) -> None:
        """Remember the session that now holds the name (``_left_behind``)."""
        pid, since = await pg.session()
        self._sessions.add((pid, since))
        with contextlib.suppress(OSError):
            session_file(self.spool_path).write_text(f"{pid} {since.isoformat()}\n", "ascii")

    async def claim(self) -> None:
        """Before the agent starts: take the name's lock if PostgreSQL answers within
        ``CLAIM_TIMEOUT_S``; ``NameInUse`` when another agent holds it. Unreachable:
        the agent starts (it spools) and the first connection takes the lock."""
        try:
            await bounded(self._postgres(), CLAIM_TIMEOUT_S)
        except NameInUse:
            raise
        except Exception:  # deliberately broad: the rounds retry and log it once
            await self._close_postgres()

    async def oldest_queued(self) -> int | None:
        """The oldest minute of the spool not yet forwarded (None: none)."""
        spool = await self._spool_store()
        return await spool.outbox_oldest(self.source)

    # -- the task ----------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Forward until ``stopping`` is set, backing off while forwarding fails."""
        delay = self._tick
        cap = min(MAX_BACKOFF_S, MAX_BACKOFF_TICKS * self._tick)
        tune_gc()
        while not stopping.is_set():
            try:
                sent = await bounded(self.step(), STEP_TIMEOUT_S)
            except NameInUse as exc:
                log.error("%s", exc)
                if self._on_refused is not None:
                    self._on_refused(exc)
                return
            except Exception as exc:  # deliberately broad: the spool keeps everything
                await self._failed(exc)
                delay = min(cap, delay * 2)
            else:
                delay = self._tick
                if sent and self.backlog:
                    await asyncio.sleep(0)  # more to send: go on, letting the loop breathe
                    continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await stopping.wait()

    async def final(self, within: float) -> bool:
        """At shutdown: one last round within ``within`` seconds; True when the
        outbox is empty afterwards. What is left is forwarded after the next start."""
        if within <= 0 or self.refused is not None:
            return False
        try:
            await bounded(self._drain(), within)
        except NameInUse as exc:
            log.error("%s", exc)
            return False
        except Exception as exc:
            await self._failed(exc)
            return False
        return self.backlog == 0

    async def queued(self) -> int:
        """The distinct minutes of this agent the spool has not forwarded yet, counted
        now (``backlog`` is as of the last round that reached PostgreSQL)."""
        spool = await self._spool_store()
        return (await spool.outbox_counts(self.source)).backlog_minutes

    async def _drain(self) -> None:
        while await self.step():
            pass

    async def _failed(self, exc: BaseException) -> None:
        problem = _one_line(exc).removeprefix(f"{self.where}: ")  # the line names it already
        if self._failing is None:
            log.error(
                "cannot forward to %s: %s; the minutes stay in the spool and forwarding is retried",
                self.where,
                problem,
            )
            self._told = {problem}
        elif problem not in self._told and len(self._told) < TOLD_PER_EPISODE:
            # Another reason than the one logged (the server stopped, then this role
            # may no longer log in, or `store init` of a newer slawatch ran): the first
            # one would otherwise stand in the log for the whole episode.
            log.error("forwarding to %s still fails, now: %s", self.where, problem)
            self._told.add(problem)
        self._failing = problem
        if not isinstance(exc, StoreBusy):
            await self._close_postgres()  # a lost or broken connection: reconnect next time

    async def reconnect(self) -> None:
        """The next round connects anew (the connection was left in an unknown state)."""
        await self._close_postgres()

    async def _close_postgres(self) -> None:
        pg, self._pg = self._pg, None
        if pg is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await pg.close()

    async def _close_spool(self) -> None:
        spool, self._spool = self._spool, None
        if spool is not None:
            with contextlib.suppress(Exception):
                await spool.close()

    async def close(self) -> None:
        await self._close_postgres()
        await self._close_spool()


def _us(ts: datetime) -> int:
    return round(ts.timestamp() * 1_000_000)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())
