"""The agent's lifecycle: startup -> main loop -> shutdown (uvicorn's shape).

``Agent`` is the whole agent as an object that lives inside a running asyncio
loop: ``await agent.start()`` opens what it needs and starts the scheduler and
a ticker that judges finished minutes and flushes the writer every ``tick``
seconds; ``await agent.stop()`` stops probing, judges what was measured
(including the unfinished current minute: a probe that ran is never dropped),
writes it, and closes. It installs no signal handlers and configures no
logging, so another program (``slawatch demo``) can embed it.

``run_agent`` is the process around it for ``slawatch agent``: logging,
SIGTERM/SIGINT turned into a ``should_exit`` flag, SIGHUP into a config reload
(a bad new config is refused in one log line and the running one kept),
sd_notify ``READY=1`` once the database is open and written to, ``WATCHDOG=1``
while the ticker is alive, ``STOPPING=1``, and an exit within ``STOP_SECONDS``.

Restarts keep their word (issue 16): each probe result is written to the store
as it comes (``store.agentstate``), and after every judged minute the agent
saves the last minute it judged (its clock-back guard) and the outages it
announced. A restarted agent takes all of that back before it probes: the
minute the old one was killed in is judged from both agents' probes, a minute
already judged is never recorded again however the clock moved, and an outage
running across the restart gets no second ``start``; its ``end`` still comes.

The state (clock-back guard, open outages, and the outage notifications that
follow from the minutes judged) is saved in the same transaction as the last
batch of those minutes (``Writer.state``), so a ``kill -9`` leaves both or
neither: killed before the commit, the restarted agent judges those minutes
again from the stored probe results and makes the same notifications; after it,
it has them. A notification is sent only once it is committed, and forgotten
only once every notifier has had it: killed in between, the restarted agent
sends it again, with the same ``id`` (at least once; a receiver dedupes on the
``id``). While the database cannot be written for ``UNDURABLE_AFTER`` seconds,
notifications go out without waiting for it (a broken disk must not silence
an outage), without that guarantee.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import ssl
import sys
import time
from collections.abc import Callable, Container, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from agent import resolver
from agent.canary import Canary
from agent.checkpoints import Checkpointer
from agent.forwarder import Forwarder, NameInUse, spool_held
from agent.incidents import OutageEvent, OutageTracker
from agent.limits import MAX_INTERVAL, MAX_RETRIES, MIN_INTERVAL, check_probes
from agent.logs import configure_logging
from agent.minutes import JudgedMinutes, MinuteBook
from agent.notify import Notifications, TlsExpiry
from agent.probe import (
    Prober,
    ProbeResult,
    Sleep,
    proxy_from_env,
    resolve_headers,
    tls_warning,
)
from agent.scheduler import ProbeScheduler
from agent.sink import SpoolSink, StoreSink
from agent.systemd import SystemdNotifier
from agent.tasks import cancel_within
from agent.verdict import AGENT_ERRORS, Verdict, all_failing_alike, apply_canary, fold
from agent.writer import MinuteSink, Writer
from core.config import Config, Probe
from core.configfile import load_config
from core.corroboration import Corroboration
from core.dburl import mask_url, with_default_user
from core.errors import ConfigError, SlawatchError
from core.status import DOWN, NAMES, UNKNOWN, UP
from core.timeutil import from_minute, iso_z, to_minute, utc_now
from core.tomlview import named
from store.rows import (
    AgentState,
    Notice,
    OpenOutage,
    ProbeEvidence,
    ProbeRecord,
    ProbeState,
    StateSave,
)

__all__ = [
    "MAX_INTERVAL",
    "MAX_RETRIES",
    "MIN_INTERVAL",
    "Agent",
    "Server",
    "check_probes",
    "run_agent",
]

if TYPE_CHECKING:
    from agent.metrics import AgentMetrics

log = logging.getLogger("slawatch.agent")

STOP_SECONDS = 10.0
"""SIGTERM to exit, at most (the unit's TimeoutStopSec leaves a margin above it)."""

RELOAD_STOP_SECONDS = 2.0
"""SIGHUP: how long the running agent may take to stop (what it cannot write, the new
one takes over)."""

Clock = Callable[[], datetime]

UNDURABLE_AFTER = 10.0
"""Seconds the database may fail to take the agent's state before outage notifications
are sent without waiting for it (then without the restart guarantee)."""

BUFFER_MINUTES = 7 * 24 * 60
"""Unwritten minutes the agent holds per service before dropping the oldest: a
week of a broken database (a row costs about 215 bytes: 50 services -> ~110 MB)."""


@dataclass
class _Run:
    """A service's run in progress: the minute it is filed under (its start), whether
    it is filed at all (not a minute already judged), each attempt's own outcome so
    far (``at``: when that attempt was sent) with the instant it ended, and the
    later minutes whose slot it overran (``Agent.overran``)."""

    minute: int
    filed: bool
    attempts: list[tuple[ProbeResult, datetime]] = field(default_factory=list)  # and ended
    covers: list[int] = field(default_factory=list)


def _failed_in_own(run: _Run) -> ProbeResult | None:
    """Down for ``run``'s own minute, when it overran later minutes and every attempt
    sent or ended in its own minute failed (else None: the run's result stands). Such a
    minute is judged as the minutes it overran are (``Agent._stand_in``): an answer to
    a retry sent after the next slot stands in for those, and does not make its own
    minute up; its confirmation retries are the quick ones, not a success minutes later."""
    if not run.covers or not run.attempts:
        return None
    mine = [a for a, ended in run.attempts if run.minute in (to_minute(a.at), to_minute(ended))]
    if not mine or any(not a.failed for a in mine):
        return None
    return replace(mine[-1], at=run.attempts[0][0].at, attempts=len(mine))


def _settled(run: _Run) -> int:
    """For ``run`` cancelled midway: the minutes before this one can no longer change,
    as the attempt in flight (or the next) is sent no earlier than the minute the last
    attempt ended in. Only a run that overran files any (``run.minute`` otherwise)."""
    return to_minute(run.attempts[-1][1]) if run.covers and run.attempts else run.minute


@dataclass(frozen=True)
class _Target:
    name: str
    probe: Probe
    headers: Mapping[str, str]  # secret values included: never log this


def _targets(config: Config, env: Mapping[str, str]) -> dict[str, _Target]:
    targets: dict[str, _Target] = {}
    for name, service in config.services.items():
        if service.probe is None:
            continue
        where = f"{config.path}: {named('service', name)}.probe"
        probe = replace(service.probe, proxy=_proxy_for(service.probe, config, env))
        targets[name] = _Target(name, probe, resolve_headers(probe, env, where))
    return targets


def _proxy_for(probe: Probe, config: Config, env: Mapping[str, str]) -> str:
    """The probe's own ``proxy``, else ``[agent] proxy``, else the environment's
    (``$HTTPS_PROXY``, ``$HTTP_PROXY``, ``$NO_PROXY``); ``""`` means direct."""
    if probe.kind == "tcp":
        return ""
    if probe.proxy is not None:
        return probe.proxy
    if config.agent.proxy is not None:
        return config.agent.proxy
    return proxy_from_env(probe.url, env) or ""


def _metrics(config: Config, source: str, backlog: Callable[[], int]) -> AgentMetrics | None:
    """The metrics of ``[agent] metrics`` (prometheus-client loads only when they are on)."""
    if config.agent.metrics is None:
        return None
    from agent.metrics import AgentMetrics

    return AgentMetrics(source, backlog=backlog)


def as_agent(config: Config, name: str, env: Mapping[str, str]) -> Config:
    """``config`` whose PostgreSQL URL logs in as agent ``name`` when it names no role
    (and ``$PGUSER`` is unset), as the forwarder does: what the agent reads back (its
    checkpoints' heads) it reads as itself, not as the OS user it runs as."""
    if config.storage_url is None:
        return config
    return replace(config, storage_url=with_default_user(config.storage_url, name, env))


class Agent:
    """The probe agent, embeddable in a running asyncio loop."""

    def __init__(
        self,
        config: Config,
        *,
        sink: MinuteSink | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        notify_transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utc_now,
        env: Mapping[str, str] | None = None,
        tick: float = 1.0,
        forwarder: Forwarder | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        env = os.environ if env is None else env
        canary = config.agent.canary  # its form is checked by the config loader
        self.config = config
        self.source = config.agent.name
        self.targets = _targets(config, env)
        self._clock = clock
        self._tick = tick
        self._own_sink = sink is None
        self._sink: MinuteSink = sink if sink is not None else _default_sink(config)
        # Fleet mode: the sink is the local spool and this ships it to PostgreSQL.
        self.forwarder: Forwarder | None = forwarder
        if forwarder is None and config.storage_url is not None:
            assert config.spool_path is not None
            # A URL naming no role logs in as the agent's name (its role, deploy/fleet.md).
            url = as_agent(config, self.source, env).storage_url
            assert url is not None
            self.forwarder = Forwarder(
                config.spool_path, url, self.source, clock=clock, tick=tick,
                on_refused=self._name_refused,
            )  # fmt: skip
        # Another agent of this name holds it in PostgreSQL: set, and ``on_refused``
        # called (the Server exits with code 2).
        self.refused: NameInUse | None = None
        self.on_refused: Callable[[NameInUse], None] | None = None
        self._forwarding: asyncio.Task[None] | None = None
        # [agent.checkpoint]: the signed heads sent out (a missing key is a ConfigError now).
        self.checkpointer: Checkpointer | None = None
        if config.agent.checkpoint is not None:
            self.checkpointer = Checkpointer(
                as_agent(config, self.source, env), config.agent.checkpoint, self.source,
                clock=clock, transport=notify_transport, unsettled=self._unsettled_from,
            )  # fmt: skip
        self._checkpointing: asyncio.Task[None] | None = None
        self.prober = Prober(
            transport=transport, ssl_context=ssl_context, clock=clock, agent_name=self.source,
            sleep=sleep,  # the pause between a failed attempt and its retry
        )  # fmt: skip
        # Clients (trust store, proxies) built now, so the first probe's timing is the
        # target's alone; a bad ca_file is a ConfigError before anything starts.
        self.prober.prepare(t.probe for t in self.targets.values())
        self.canary = Canary(canary, clock=clock)
        self.book = MinuteBook()
        self.metrics = _metrics(config, self.source, lambda: self.writer.pending)
        self.writer = Writer(
            self.metrics.counting(self._sink, clock) if self.metrics else self._sink,
            self.source,
            limit=max(1, len(self.targets)) * BUFFER_MINUTES,
            clock=clock,
        )
        self.outages = OutageTracker(config)
        self.notifications = Notifications(
            config.agent.notifiers, self.source, transport=notify_transport, env=env, clock=clock
        )
        self.scheduler = ProbeScheduler(
            self.probe_service,
            {n: t.probe.interval for n, t in self.targets.items()},
            on_busy=self.overran,
        )
        self._runs: dict[str, _Run] = {}  # service -> its run in progress
        self._probing: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._scheduling: asyncio.Task[None] | None = None
        self._last_tick = 0.0
        self._states: dict[str, int] = {}  # service -> last judged status, for the log
        self._judged = JudgedMinutes()  # the clock-back guard
        self._warned_clock = False
        self._journal: list[ProbeRecord] = []  # probe results not yet in the store
        self._journal_wake = asyncio.Event()
        self._journaling: asyncio.Task[None] | None = None
        self._journal_on = getattr(self._sink, "record_probe_results", None) is not None
        self._saved: tuple[int, tuple[object, ...]] | None = None  # the state last saved
        # Outage notifications: made, not yet saved (sent once they are) ...
        self._unsaved: list[Notice] = []
        # ... saved: queued per notifier (``Notifications.queue``), each notifier's
        # delivery marked in the store, the notice forgotten once every one had it.
        self._stateful = getattr(self._sink, "save_agent_state", None) is not None
        if self._stateful:
            self.writer.state = self._state_now
            self.writer.state_saved = self._state_saved
            self.notifications.on_marked = self._mark_notice
            self.notifications.on_done = self._forget_notices
        self._tls_warned: dict[str, str] = {}  # service -> the day its warning was given
        self.restored: AgentState | None = None
        self.probes_done = 0
        self.probed: dict[str, ProbeResult] = {}  # run_once: each service's probe result
        self._lookups: resolver.Lookups | None = None
        self._predecessor: Agent | None = None  # a stopped agent this one takes over from
        self.started = False

    # -- lifecycle -----------------------------------------------------------

    async def claim_name(self) -> None:
        """Fleet mode, before ``start``: ``NameInUse`` (this agent closed) when another
        running agent holds this name in PostgreSQL (``Forwarder.claim``)."""
        if self.forwarder is None:
            return
        try:
            await self.forwarder.claim()
        except NameInUse:
            await self.discard()
            raise

    async def discard(self) -> None:
        """Close what an agent never started holds (told to exit while it claimed its name)."""
        if self.forwarder is not None:
            await self.forwarder.close()
        await self.prober.aclose()
        if self._own_sink and isinstance(self._sink, StoreSink):
            await self._sink.close()

    def _name_refused(self, exc: NameInUse) -> None:
        self.refused = exc
        if self.on_refused is not None:
            self.on_refused(exc)

    async def start(self) -> None:
        """Start probing every service on its schedule (returns at once)."""
        if self.started:
            raise RuntimeError("agent already started")
        self._serve_metrics()
        self.started = True
        self._stopping.clear()
        self._last_tick = time.monotonic()
        if not self.targets:
            log.warning("no service has a [service.probe]: nothing to probe")
        await self.restore()
        loop = asyncio.get_running_loop()
        # One provider's dead name servers must not starve the other probes' lookups.
        self._lookups = resolver.install(loop)
        if self._journal_on:
            self._journaling = loop.create_task(self._journal_loop())
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())
        self._scheduling = asyncio.get_running_loop().create_task(self.scheduler.start())
        if self.checkpointer is not None:
            self._checkpointing = loop.create_task(self.checkpointer.run(self._stopping))
        if self.forwarder is not None:
            self._forwarding = asyncio.get_running_loop().create_task(
                self.forwarder.run(self._stopping)
            )
            log.info(
                "agent %r probing %d service(s), spooling to %s, forwarding to %s",
                self.source,
                len(self.targets),
                self.config.spool_path,
                self.forwarder.where,
            )
            return
        log.info(
            "agent %r probing %d service(s), writing to %s",
            self.source,
            len(self.targets),
            self.config.storage_path,
        )

    def _serve_metrics(self) -> None:
        if self.metrics is None or self.metrics.port is not None or not self.config.agent.metrics:
            return
        host, port = self.config.agent.metrics
        try:
            self.metrics.serve(host, port)
        except OSError as exc:
            raise ConfigError(
                f"{self.config.path}: agent.metrics",
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            ) from None

    async def stop(self, within: float = STOP_SECONDS - 2, *, handing_over: bool = False) -> bool:
        """Stop probing, record everything measured, close. True when nothing was left
        unwritten. Finishes within ``within`` seconds (plus a moment to close).
        ``handing_over``: a successor in this process takes what is left (``take_over``)."""
        deadline = time.monotonic() + within
        if self._scheduling is not None:
            self._scheduling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scheduling
        self.scheduler.shutdown()
        if self._ticker is not None:
            # Let a write in progress finish (cancelling it would only make the
            # rows be written again), but do not wait for a stuck one for long.
            self._stopping.set()
            await asyncio.wait({self._ticker}, timeout=within / 2)
            await cancel_within(self._ticker)
            self._ticker = None
        for task in list(self._probing):
            task.cancel()
        if self._probing:
            await asyncio.wait(set(self._probing), timeout=1.0)
        with contextlib.suppress(TimeoutError):  # its word on the last minutes, if quick
            async with asyncio.timeout(max(0.0, min(3.0, deadline - time.monotonic() - 4))):
                await self.canary.settle()
        await self.canary.aclose()
        self.judge(final=True)
        written = await self._flush_until(deadline)
        if self._journaling is not None:
            self._journaling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._journaling
            self._journaling = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                await self._write_journal()
                if written:
                    await self._save_state()
        await self._stop_forwarding(deadline)
        if self._checkpointing is not None:
            await cancel_within(self._checkpointing)  # it may be reading PostgreSQL
            self._checkpointing = None
        await self.notifications.aclose(grace=max(0.1, min(2.0, deadline - time.monotonic())))
        await self.prober.aclose()
        if self._lookups is not None:
            self._lookups.close()
            self._lookups = None
        if self._own_sink and isinstance(self._sink, StoreSink):
            await self._sink.close()
        if self.forwarder is not None:
            await self.forwarder.close()
        if not written and handing_over:
            log.info("%d minute(s) not yet written go on with the new config", self.writer.pending)
        elif not written:
            log.error(
                "stopping with %d minute(s) unwritten: %s",
                self.writer.pending,
                self.writer.problem,
            )
        else:
            log.info("agent stopped; %d minute(s) written in all", self.writer.written)
        if self.metrics:
            self.metrics.close()
        self.started = False
        return written

    async def _stop_forwarding(self, deadline: float) -> None:
        """The forwarder's last round (what is left goes after the next start)."""
        if self._forwarding is not None:
            # ``_stopping`` is set: a round under way finishes (a cancelled one would
            # only be sent again), unless it is stuck.
            await asyncio.wait({self._forwarding}, timeout=1.0)
            cut = not self._forwarding.done()
            await cancel_within(self._forwarding)  # a hung PostgreSQL: at once
            self._forwarding = None
            if cut and self.forwarder is not None:
                # Its connection was left mid-query: the last round takes a new one.
                await self.forwarder.reconnect()
        if self.forwarder is not None:
            within = max(0.5, min(3.0, deadline - time.monotonic() - 1))
            # Counted in the spool: the last round's count said 0 when every round had
            # failed since the agent started (or since the minutes it holds).
            if not await self.forwarder.final(within) and (left := await self.forwarder.queued()):
                log.warning(
                    "%d minute(s) not yet forwarded stay in the spool: forwarded after the"
                    " next start",
                    left,
                )

    async def _flush_until(self, deadline: float) -> bool:
        while True:
            if await self.writer.flush():
                return True
            if time.monotonic() + 0.5 >= deadline:
                return False
            await asyncio.sleep(0.5)

    @property
    def healthy(self) -> bool:
        """The ticker is alive and ticked recently (what the systemd watchdog vouches for)."""
        return (
            self._ticker is not None
            and not self._ticker.done()
            and time.monotonic() - self._last_tick < max(10.0, 5 * self._tick)
        )

    # -- probing -------------------------------------------------------------

    async def probe_service(self, name: str) -> None:
        """One scheduled probe of one service (with confirmation), filed under its minute."""
        target = self.targets[name]
        task = asyncio.current_task()
        if task is not None:
            self._probing.add(task)
        at = self._clock()
        minute = to_minute(at)
        # A minute already judged (the wall clock went back) is never recorded twice.
        filed = not self._judged.covers(minute)
        if filed:
            self.book.begin(minute)
        elif not self._warned_clock:
            log.warning("the clock went back to a minute already recorded; not re-recording it")
            self._warned_clock = True
        result: ProbeResult | None = None
        own: ProbeResult | None = None  # what its minute gets (``_own_minute``)
        run = self._runs[name] = _Run(minute, filed)
        try:
            result = await self.prober.check(
                target.probe, target.headers, at=at, on_attempt=lambda a: self._attempted(run, a)
            )
            # A run that overran later minutes files its failed attempts' evidence
            # request by request (``_stand_in``), not as one row.
            own = result if result.failed else _failed_in_own(run) or result
            self._note(name, own, minute, filed, evidence=not run.covers)
            if own is not result and result.tls_expires_at is not None:
                self._check_tls(name, result)
        finally:
            if self._runs.get(name) is run:
                del self._runs[name]
            # Cancelled (a stop, a reload) after it overran: the minutes it can no
            # longer change, before the one its last attempt ended in, are filed.
            settled = _settled(run) if result is None else None
            if settled is not None and minute < settled:
                own = _failed_in_own(run)
                if own is not None:
                    self._note(name, own, minute, filed, evidence=False)
            if filed:
                self.book.finish(minute, name, own)
            self._stand_in(name, run, settled=settled)
            if task is not None:
                self._probing.discard(task)

    def _attempted(self, run: _Run, attempt: ProbeResult) -> None:
        run.attempts.append((attempt, self._clock()))

    def overran(self, name: str) -> None:
        """A slot of ``name`` fell due while its previous run was still going (the
        scheduler skipped it): the minute it fell in, when it is not the run's own,
        gets its verdict from that run's attempts sent or ended in it (``_stand_in``),
        once the run ends. Until then the minute is held back from judging."""
        run = self._runs.get(name)
        if run is None:
            return
        minute = to_minute(self._clock())
        if minute <= run.minute or minute in run.covers or self._judged.covers(minute):
            return
        run.covers.append(minute)
        self.book.begin(minute)

    def _stand_in(self, name: str, run: _Run, *, settled: int | None = None) -> None:
        """File each minute ``run`` overran (docs/probes.md, "Runs that overrun"). Its
        attempts sent in that minute, and those sent before it that ended in it, stand
        in for the run the scheduler skipped: up (or degraded) when one of them was
        answered, down when they all failed, nothing (unknown) when there is none. Each
        failed attempt is kept as evidence under the minute it was sent in when the run
        overran that one, else under the run's own; a minute down with no request sent
        in it also keeps the one that failed in it last (sent before it, with the
        instant it failed): each down minute has the evidence it was judged from. A
        run cancelled by a stop files only the minutes before ``settled``
        (``_settled``); None: it ended, every minute is filed."""
        if not run.covers:
            return
        relevant: dict[int, list[tuple[ProbeResult, datetime]]] = {}
        owner: list[int] = []  # each attempt's evidence minute
        for i, (attempt, ended) in enumerate(run.attempts):
            sent = to_minute(attempt.at)
            for minute in {sent, to_minute(ended)} & set(run.covers):
                relevant.setdefault(minute, []).append((attempt, ended))
            owner.append(sent if i and sent in run.covers else run.minute)
        failed_in: list[tuple[int, ProbeResult, datetime]] = []  # down, none sent in it
        for minute in run.covers:
            seen = relevant.get(minute, []) if settled is None or minute < settled else []
            result = next((a for a, _ in seen if not a.failed), seen[-1][0] if seen else None)
            self.book.finish(minute, name, result)
            if result is None:
                continue
            self._file(name, minute, result, evidence=False)
            if result.failed:
                self.canary.on_failure(minute)
                if minute not in owner:
                    failed_in.append((minute, *seen[-1]))
        if settled is None:
            # The agent's vote: what it saw last, the run's outcome as its last attempt
            # was sent (not an overrun minute's older failures once it was answered).
            self._note_state(name, run.attempts[-1][0])
        for (attempt, _ended), minute in zip(run.attempts, owner, strict=True):
            if (run.filed or minute != run.minute) and (settled is None or minute < settled):
                self._keep_evidence(name, minute, attempt)
        for minute, attempt, ended in failed_in:
            self._keep_evidence(name, minute, attempt, failed_at=ended)

    def _note(
        self,
        name: str,
        result: ProbeResult,
        minute: int,
        filed: bool = True,
        *,
        evidence: bool = True,
    ) -> None:
        self.probes_done += 1
        if self.metrics:
            self.metrics.probe(name, result)
        self._note_state(name, result)
        if filed:
            self._file(name, minute, result, evidence=evidence)
        if result.failed:
            self.canary.on_failure(minute)
        if result.tls_expires_at is not None:
            self._check_tls(name, result)

    def _file(self, name: str, minute: int, result: ProbeResult, *, evidence: bool) -> None:
        """A result of ``minute`` into the journal (the store keeps it as it comes: a
        restarted agent judges the minute from it), and its evidence when it failed."""
        if self._journal_on:
            self._journal.append(
                ProbeRecord(
                    name,
                    self.source,
                    minute,
                    result.at,
                    result.status,
                    result.latency_ms,
                    result.error,
                )
            )
            self._journal_wake.set()
        if evidence:
            self._keep_evidence(name, minute, result)

    def _note_state(self, name: str, result: ProbeResult) -> None:
        """The service's latest probe, for ``status`` and the dashboard (both paths). A
        failure of the agent's own network (its proxy) measured nothing about the
        provider: unknown, as its minute is, so it never votes the service down."""
        ours = result.status == DOWN and result.error in AGENT_ERRORS
        self.writer.note_probe(
            ProbeState(
                name,
                self.source,
                result.at,
                UNKNOWN if ours else result.status,
                result.latency_ms,
                result.error,
                result.tls_expires_at,
            )
        )

    def _keep_evidence(
        self, name: str, minute: int, result: ProbeResult, failed_at: datetime | None = None
    ) -> None:
        """A failing probe's corroboration, for the provider to look up in its logs
        (``failed_at``: kept under a later minute than it was sent in, the one it failed in)."""
        if result.status == UP:
            return
        seen = result.seen or Corroboration(result.at)  # no answer: its instant and error
        seen = replace(seen, error=result.error, failed_at=failed_at)
        self.writer.note_evidence(ProbeEvidence(name, self.source, minute, seen))

    def _check_tls(self, name: str, result: ProbeResult) -> None:
        """Warn (log and notifiers) once a day while a certificate nears its expiry."""
        now = self._clock()
        why = tls_warning(result, self.config.tls_warn_days_for(name), now)
        if why is None:
            self._tls_warned.pop(name, None)
            return
        today = now.date().isoformat()
        if self._tls_warned.get(name) == today:
            return
        self._tls_warned[name] = today
        log.warning("%s: %s", name, why)
        assert result.tls_expires_at is not None
        self.notifications.send(TlsExpiry(name, result.tls_expires_at, now))

    # -- durability across restarts (store.agentstate) -------------------------

    def take_over(self, old: Agent) -> None:
        """Before ``start``: this agent replaces ``old`` (stopped) in this process, a
        SIGHUP reload. What ``old`` could not write (the database failing: up to a week
        of minutes), its probe results not yet stored, its clock-back guard and its open
        outages, fresher than what the store holds, go on with this one."""
        self._predecessor = old

    async def restore(self) -> None:
        """Take back what an earlier run of this agent saved: the clock-back guard, the
        open outages, and the probe results of the minutes it did not judge; and what
        the agent it takes over from (``take_over``) held in memory."""
        state = await self._read_state()
        if state.judged_upto is not None and state.judged_upto < 0:
            # Saved before any minute was judged (``writable`` at start): none judged.
            state = replace(state, judged_upto=None)
        old, self._predecessor = self._predecessor, None
        if state.judged_upto is not None:
            self._judged.add(state.judged_upto)
        outages = state.outages
        if old is not None:
            self._adopt(old)
            outages = tuple(old.outages.snapshot())
        # An outage of a service no longer probed ends after the minutes its stored probe
        # results say were still down (the stop's last minutes: recorded, not notified).
        outages = _carried(outages, [*state.probes, *self._journal], self.targets)
        for event in self.outages.restore(outages):  # services no longer probed
            log.info(
                "%s is no longer probed: its outage since %s ends at %s",
                event.service,
                iso_z(event.start),
                iso_z(event.end),
            )
            self._announce(event)
        for o in self.outages.snapshot():  # down: its recovery is logged when it comes
            self._states.setdefault(o.service, DOWN)
        self._queue(state.notices)  # saved, never (or not surely) sent: sent now
        kept = self._refile(state.probes)
        if state.judged_upto is not None or kept or state.outages:
            log.info(
                "restored this agent's state: judged up to %s, %d open outage(s), "
                "%d probe result(s) of unjudged minutes",
                "-" if state.judged_upto is None else iso_z(from_minute(state.judged_upto)),
                len(state.outages),
                kept,
            )
        # What the store holds: whatever differs from it (an outage ended above) is saved.
        self._saved = (-1 if state.judged_upto is None else state.judged_upto, state.outages)

    async def _read_state(self) -> AgentState:
        read = getattr(self._sink, "agent_state", None)
        if read is None:
            return AgentState(None)
        try:
            state: AgentState = await read(self.source)
        except Exception as exc:
            log.warning("cannot read this agent's saved state (%s); starting afresh", exc)
            return AgentState(None)
        self.restored = state
        return state

    def _adopt(self, old: Agent) -> None:
        """``take_over``: ``old``'s unwritten rows and probe results, and its guard."""
        self.writer.adopt(old.writer)
        self._states.update(old._states)  # for the log: no second "down since", the "up"
        self._tls_warned.update(old._tls_warned)  # once a day, reloads or not
        pending, old._journal = old._journal, []
        self._journal[:0] = pending
        if pending:
            self._journal_wake.set()
        if old._judged.upto >= self._judged.upto:
            self._judged = old._judged  # the store's is older, and holds no holes
        self._refile(pending)
        self._unsaved[:0] = old._unsaved  # its minutes' notifications, saved with them
        old._unsaved = []
        self._queue(old.notifications.pending())  # saved, not every notifier had them

    def _refile(self, records: Iterable[ProbeRecord]) -> int:
        """File probe results measured earlier under their minutes (those not judged
        yet: judged with this agent's own probes); how many."""
        kept = 0
        for r in records:
            if r.service in self.targets and not self._judged.covers(r.minute):
                self.book.add(r.minute, r.service, _result_of(r))
                kept += 1
        return kept

    async def _journal_loop(self) -> None:
        """Write each probe result as it comes (coalescing those that arrive meanwhile)."""
        while True:
            await self._journal_wake.wait()
            self._journal_wake.clear()
            await asyncio.sleep(0)  # let the probes finishing at the same moment join in
            if not await self._write_journal():
                await asyncio.sleep(max(self._tick, 0.5))  # broken store: retry, not spin

    async def _write_journal(self) -> bool:
        record = getattr(self._sink, "record_probe_results", None)
        if record is None or not self._journal:
            return True
        batch, self._journal = self._journal, []
        try:
            await record(batch)
        except Exception as exc:
            self._journal[:0] = batch[-100_000:]  # kept for the next try (bounded)
            log.debug("cannot write probe results yet: %s", exc)
            return False
        return True

    async def _save_state(self) -> None:
        """Save the state on its own once every judged minute is written (when no minute
        went with it: the writer saves it with the last batch of minutes)."""
        save = getattr(self._sink, "save_agent_state", None)
        if save is None or self.writer.pending:
            return
        state = self._state_now()
        if state is None:
            return
        try:
            await save(state.source, state.judged_upto, state.outages, state.notices)
        except Exception as exc:
            log.debug("cannot save the agent's state yet: %s", exc)
            return
        self._state_saved(state)

    def _state_now(self) -> StateSave | None:
        """The state that follows from every minute judged so far; None when the store
        already has it."""
        if self._judged.upto < 0:
            return None
        outages = tuple(self.outages.snapshot())
        if (self._judged.upto, outages) == self._saved and not self._unsaved:
            return None
        return StateSave(self.source, self._judged.upto, outages, tuple(self._unsaved))

    def _state_saved(self, state: StateSave) -> None:
        """``state`` is committed: its notifications may go out now."""
        self._saved = (state.judged_upto, state.outages)
        saved = {n.id for n in state.notices}
        self._unsaved = [n for n in self._unsaved if n.id not in saved]
        self._queue(state.notices)

    def _announce(self, event: OutageEvent) -> None:
        """An outage starts or ends: sent once saved with the minutes it follows from
        (at once when the sink keeps no state: then retried in memory only)."""
        payload = event.payload(self.source)
        notice = Notice(payload["id"], event.seq(), json.dumps(payload))
        if self._stateful:
            self._unsaved.append(notice)
        else:
            self._queue([notice])

    def _queue(self, notices: Iterable[Notice]) -> None:
        """Send these (saved) notices to each notifier, in order after those already
        queued for it, retried until delivered (``Notifications.queue``)."""
        self.notifications.queue(notices)

    async def _mark_notice(self, notice_id: str, notifier: str) -> None:
        """One notifier is done with a notice, others not yet: a restart sends it to
        them only (a crash before this: to this one again, same id)."""
        mark = getattr(self._sink, "mark_notice", None)
        if mark is None:
            return
        try:
            await mark(self.source, notice_id, notifier)
        except Exception as exc:  # sent again after a restart: at least once
            log.debug("cannot mark a sent notification yet: %s", exc)

    async def _forget_notices(self, ids: list[str]) -> None:
        """Every notifier is done with these: forgotten in the store (a crash before
        that: sent again after the restart, same id)."""
        forget = getattr(self._sink, "forget_notices", None)
        if forget is None:
            return
        try:
            await forget(self.source, ids)
        except Exception as exc:  # sent again after a restart: at least once
            log.debug("cannot forget a sent notification yet: %s", exc)

    def _send_undurable(self) -> None:
        """The database has failed for ``UNDURABLE_AFTER`` seconds: notifications go out
        now rather than wait for it (without the restart guarantee)."""
        since = self.writer.problem_since_monotonic
        if not self._unsaved or since is None or time.monotonic() - since < UNDURABLE_AFTER:
            return
        unsaved, self._unsaved = self._unsaved, []
        log.warning(
            "sending %d outage notification(s) before they could be saved: %s",
            len(unsaved),
            self.writer.problem,
        )
        self._queue(unsaved)

    async def _unsettled_from(self) -> int | None:
        """The oldest minute this agent measured that the store its checkpoints read does
        not hold yet: buffered by the writer, or in fleet mode still in the spool's
        outbox. A checkpoint signs only the hours before it."""
        waiting = [self.writer.oldest_pending]
        if self.forwarder is not None:
            waiting.append(await self.forwarder.oldest_queued())
        return min((m for m in waiting if m is not None), default=None)

    async def writable(self) -> str | None:
        """Open the store and write to it (this agent's state): None when that worked,
        else the problem. ``Server`` sends READY=1 only after None."""
        save = getattr(self._sink, "save_agent_state", None)
        if save is None:
            return None
        try:
            await save(self.source, self._judged.upto, self.outages.snapshot())
        except Exception as exc:
            return " ".join(str(exc).split()) or type(exc).__name__
        return None

    # -- judging minutes -------------------------------------------------------

    def judge(self, *, final: bool = False) -> list[Verdict]:
        """Fold every finished minute into verdicts, hand them to the writer and the
        outage tracker. ``final`` (shutdown) also judges the unfinished current minute."""
        if final:
            minutes = self.book.remaining()
        else:
            if self.canary.busy:  # its word on these minutes is still coming
                return []
            minutes = self.book.ready(to_minute(self._clock()))
        judged: list[Verdict] = []
        for minute in minutes:
            by_service = self.book.take(minute)
            verdicts = [fold(s, minute, rs) for s, rs in sorted(by_service.items())]
            verdicts = apply_canary(verdicts, self.canary.failed_in(minute))
            self.writer.add(verdicts)
            if self.metrics:
                self.metrics.verdicts(verdicts)
            for v in verdicts:
                self._log_change(v)
                if final and self._journal_on:
                    # Provisional: the next start judges this minute again from the
                    # stored probes and its own; notified now, a minute that the merge
                    # turns from up to down split one outage in two (end, then start).
                    continue
                for event in self.outages.observe(v):
                    self._announce(event)
            judged.extend(verdicts)
            self.canary.forget_before(minute)
            if not final:  # a minute judged at shutdown may still get probes after a restart
                self._judged.add(minute)
        return judged

    def _log_change(self, v: Verdict) -> None:
        before = self._states.get(v.service)
        self._states[v.service] = v.status
        if before == v.status or (before is None and v.status == UP):
            return
        at = iso_z(from_minute(v.minute))
        if v.status == UP:  # a recovery, without the old error
            log.info("%s is up since %s", v.service, at)
            return
        why = f" ({v.error})" if v.error else ""
        log.warning("%s is %s since %s%s", v.service, NAMES[v.status], at, why)

    async def tick(self) -> list[Verdict]:
        """One step of the ticker, done now: wait for the canary's word, judge the
        finished minutes, flush. What the ticker does every ``tick`` seconds; tests and
        embedders with their own clock call it directly."""
        await self.canary.settle()
        judged = self.judge()
        await self.writer.flush()
        await self._write_journal()
        await self._save_state()
        self._send_undurable()
        return judged

    async def _tick_loop(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick):
                    await self._stopping.wait()
            if self._stopping.is_set():
                return
            self._last_tick = time.monotonic()
            try:
                self.judge()
                await self.writer.flush(budget=self._tick / 4)
                await self._save_state()
                self._send_undurable()
                self.scheduler.drain()
            except Exception:
                log.exception("agent tick failed; carrying on")

    # -- once ------------------------------------------------------------------

    async def run_once(self, *, write_timeout: float = 8.0) -> tuple[list[Verdict], bool]:
        """Probe every service once (concurrently), judge, write, close.

        Returns the verdicts and whether all of them were written.
        """
        lookups = resolver.install()
        at = self._clock()
        minute = to_minute(at)
        names = sorted(self.targets)
        targets = [self.targets[n] for n in names]
        results = await asyncio.gather(
            *(self.prober.check(t.probe, t.headers, at=at) for t in targets)
        )
        self.probed = dict(zip(names, results, strict=True))
        for name, result in zip(names, results, strict=True):
            self.probes_done += 1
            self._note_state(name, result)
            self._keep_evidence(name, minute, result)
            if result.tls_expires_at is not None:
                self._check_tls(name, result)
        verdicts = [fold(n, minute, [r]) for n, r in zip(names, results, strict=True)]
        canary_failed = (
            await self.canary.check_now(minute) if all_failing_alike(verdicts) else False
        )
        verdicts = apply_canary(verdicts, canary_failed)
        self.writer.add(verdicts)
        written = await self._flush_until(time.monotonic() + write_timeout)
        await self.notifications.aclose(grace=2.0)
        await self.prober.aclose()
        lookups.close()
        if self._own_sink and isinstance(self._sink, StoreSink):
            await self._sink.close()
        if self.forwarder is not None:
            await self._stop_forwarding(time.monotonic() + write_timeout)
            await self.forwarder.close()
        return verdicts, written


def _result_of(r: ProbeRecord) -> ProbeResult:
    """A probe result as the store's journal kept it."""
    return ProbeResult(r.at, r.status, r.latency_ms, r.error)


def _carried(
    outages: Iterable[OpenOutage], records: Iterable[ProbeRecord], probed: Container[str]
) -> tuple[OpenOutage, ...]:
    """Each outage of a service not in ``probed``, carried through the minutes right
    after its last that its probe results (``records``) fold to down."""
    stored: dict[str, dict[int, list[ProbeResult]]] = {}
    for r in records:
        if r.service not in probed:
            stored.setdefault(r.service, {}).setdefault(r.minute, []).append(_result_of(r))
    out = []
    for o in outages:
        minutes = stored.get(o.service, {})
        while (
            o.last + 1 in minutes
            and fold(o.service, o.last + 1, minutes[o.last + 1]).status == DOWN
        ):
            o = replace(o, last=o.last + 1, minutes=o.minutes + 1)
        out.append(o)
    return tuple(out)


def _one_per_spool(config: Config) -> contextlib.AbstractContextManager[None]:
    """Fleet mode: this process holds its spool (``spool_held``); else nothing."""
    if config.spool_path is None or config.storage_url is None:
        return contextlib.nullcontext()
    return spool_held(config.spool_path, config.agent.name)


def _default_sink(config: Config) -> StoreSink:
    """The store the agent writes: its SQLite file, or in fleet mode its spool."""
    if config.storage_url is not None:
        assert config.spool_path is not None
        return SpoolSink(config.spool_path, config.agent.spool_max_minutes)
    return StoreSink(config.storage_path)


# -- the process -----------------------------------------------------------------


class NotedSignals(Protocol):
    """Signals noted before the event loop's handlers (``slawatch.start``)."""

    def take(self) -> list[int]: ...

    def install(self) -> None: ...


def run_agent(
    config: Config,
    *,
    once: bool = False,
    clock: Clock = utc_now,
    early: NotedSignals | None = None,
) -> int:
    """``slawatch agent [--once]``: 0 on a clean exit, 1 when verdicts were left unwritten.
    ``early``: the stop signals noted since the process started (acted on at once)."""
    check_probes(config)
    configure_logging()
    if once:
        return asyncio.run(_once(config, clock))
    return asyncio.run(Server(config, clock=clock, early=early).serve())


async def _once(config: Config, clock: Clock) -> int:
    with _one_per_spool(config):
        return await _once_held(config, clock)


async def _once_held(config: Config, clock: Clock) -> int:
    agent = Agent(config, clock=clock)
    await agent.claim_name()  # NameInUse: exit 2 before probing
    verdicts, written = await agent.run_once()
    for v in verdicts:
        # The probe's own latency, as recorded with its state and shown by ``status``
        # (a refused answer took time too); the minute's median counts answers only.
        ms = agent.probed[v.service].latency_ms
        latency = f"{ms} ms" if ms is not None else "-"
        print(f"{v.service}\t{NAMES[v.status]}\t{latency}\t{v.error or ''}".rstrip())
    if not written:
        log.error("could not record: %s", agent.writer.problem)
        return 1
    return 0


_FIXED_KEYS = ("[agent] name", "[storage]")


def _fixed_in_file(path: Path) -> tuple[object, object] | None:
    """The file's own ``[agent] name`` and ``[storage]`` (None: unreadable now)."""
    try:
        return _fixed(load_config(path))
    except SlawatchError:
        return None


def _fixed(config: Config) -> tuple[object, object]:
    return (config.agent.name, (config.storage_path, config.storage_url, config.spool_path))


def _storage_text(config: Config) -> str:
    if config.storage_url is None:
        return f"writing {config.storage_path}"
    return f"spooling to {config.spool_path}, forwarding to {mask_url(config.storage_url)}"


class Server:
    """``Agent`` + signals + systemd, for the foreground process."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = utc_now,
        reload: Callable[[], Config] | None = None,
        early: NotedSignals | None = None,
        **agent_options: Any,
    ) -> None:
        self.config = config
        self.early = early
        self.clock = clock
        self.agent_options = agent_options
        self.should_exit = asyncio.Event()
        self.should_reload = False
        self.systemd = SystemdNotifier()
        self.reload_config = reload or self._read_config
        self.agent: Agent | None = None
        self.refused: NameInUse | None = None  # another agent of this name runs: exit 2
        self.reloads = 0
        self._wake = asyncio.Event()  # a signal came that the main loop must act on
        # What the file said at start of what a reload does not apply (the agent's name
        # and its storage), to say so when a reload finds them changed.
        self._fixed = _fixed_in_file(config.path)

    def _read_config(self) -> Config:
        """The config file as it is now, keeping the running agent's name (its records'
        source: a new name takes a restart) and its storage (``--name`` and
        ``$SLAWATCH_DATABASE_URL`` were applied at start, not in the file)."""
        fresh = load_config(self.config.path)
        now_fixed = _fixed(fresh)
        if self._fixed is not None and now_fixed != self._fixed:
            was = self._fixed
            changed = [k for i, k in enumerate(_FIXED_KEYS) if was[i] != now_fixed[i]]
            log.warning(
                "config reload: %s changed in %s: not applied until the agent restarts"
                " (still agent %r, %s)",
                " and ".join(changed),
                self.config.path,
                self.config.agent.name,
                _storage_text(self.config),
            )
        self._fixed = now_fixed
        return replace(
            fresh,
            agent=replace(fresh.agent, name=self.config.agent.name),
            storage_path=self.config.storage_path,
            storage_url=self.config.storage_url,
            spool_path=self.config.spool_path,
        )

    def handle_exit(self, sig: int) -> None:
        if self.should_exit.is_set():
            return
        log.info("received %s, stopping", signal.Signals(sig).name)
        self.should_exit.set()

    def handle_reload(self) -> None:
        self.should_reload = True
        self._wake.set()

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.handle_exit, sig)
        loop.add_signal_handler(signal.SIGHUP, self.handle_reload)
        # A stop or a reload sent while the process was starting, before these.
        for noted in self.early.take() if self.early is not None else ():
            if noted == signal.SIGHUP:
                self.handle_reload()
            else:
                self.handle_exit(noted)
        ok = True
        held = contextlib.ExitStack()
        try:
            held.enter_context(_one_per_spool(self.config))  # NameInUse: exit 2
            agent = Agent(self.config, clock=self.clock, **self.agent_options)
            # NameInUse: exit 2 before anything is probed. A SIGTERM while it waits for
            # PostgreSQL (up to CLAIM_TIMEOUT_S) ends it there: nothing is started.
            # A stop noted while the process started (``early``) is acted on here too.
            if not await self._unless_exit(agent.claim_name()) or self.should_exit.is_set():
                await agent.discard()
                return 0
            self.agent = self._watch(agent)
            await self.agent.start()
            if await self._wait_writable(self.agent):
                self.systemd.ready()
                await self.main_loop(self.agent)
        finally:
            self.systemd.stopping()
            if self.agent is not None and self.agent.started:
                ok = await self.agent.stop()
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            if self.early is not None:  # not the default handlers (a kill) while exiting
                self.early.install()
            held.close()
        sys.stderr.flush()
        if self.refused is not None:
            return 2
        return 0 if ok else 1

    async def _unless_exit(self, work: Coroutine[Any, Any, None]) -> bool:
        """``await work``, unless SIGTERM or SIGINT comes first: then ``work`` is ended at
        once (``cancel_within``) and False returned."""
        task = asyncio.ensure_future(work)
        exiting = asyncio.ensure_future(self.should_exit.wait())
        try:
            await asyncio.wait({task, exiting}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exiting.cancel()
            if not task.done():
                await cancel_within(task)
        if task.cancelled():
            return False
        task.result()  # NameInUse
        return True

    def _watch(self, agent: Agent) -> Agent:
        agent.on_refused = self._refused
        return agent

    def _refused(self, exc: NameInUse) -> None:
        """The forwarder found this agent's name held by another running agent (one
        that took it while PostgreSQL was out of reach): stop, exit code 2."""
        self.refused = exc
        self.should_exit.set()

    async def _wait_writable(self, agent: Agent) -> bool:
        """READY=1 only once the database is open and written to: until then systemd
        sees the unit starting (and its start timeout applies), not running. Probing
        goes on meanwhile. False when told to exit first."""
        problem = await agent.writable()
        if problem is None:
            return True
        log.error("cannot write to the database yet: %s; not ready until it works", problem)
        while not self.should_exit.is_set():
            self.systemd.status(f"waiting for the database: {problem}")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await self.should_exit.wait()
            if self.should_exit.is_set():
                return False
            problem = await agent.writable()
            if problem is None:
                log.info("the database is writable; ready")
                return True
        return False

    async def reload(self) -> bool:
        """SIGHUP: read the config again; a good one replaces the running agent (which
        stops as at a restart, so nothing measured is lost), a bad one is refused in
        one log line and the running config kept."""
        self.should_reload = False
        self.systemd.notify("RELOADING=1")
        try:
            try:
                config = self.reload_config()
                check_probes(config)
                fresh = self._watch(Agent(config, clock=self.clock, **self.agent_options))
            except SlawatchError as exc:
                log.error("config reload refused, keeping the running config: %s", exc)
                return False
            old = self.agent
            if old is not None:
                # Not the exit's long wait on a failing database: what the old agent cannot
                # write now, the new one takes over and writes once it can.
                await old.stop(within=RELOAD_STOP_SECONDS, handing_over=True)
                fresh.take_over(old)
            self.config, self.agent = config, fresh
            await fresh.start()
            self.reloads += 1
            log.info("config reloaded from %s: %d service(s)", config.path, len(fresh.targets))
            return True
        finally:
            self.systemd.notify("READY=1\nSTATUS=probing")

    async def main_loop(self, agent: Agent) -> None:
        beat = self.systemd.watchdog_interval or 5.0
        while not self.should_exit.is_set():
            self._wake.clear()
            if self.should_reload:  # a SIGHUP came before (during startup or a reload)
                self._wake.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(beat):
                    waiters = [
                        asyncio.ensure_future(self.should_exit.wait()),
                        asyncio.ensure_future(self._wake.wait()),
                    ]
                    try:
                        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for w in waiters:
                            w.cancel()
            if self.should_exit.is_set():
                break
            if self.should_reload:
                await self.reload()
                agent = self.agent or agent
            if agent.healthy:
                problem = agent.writer.problem
                self.systemd.notify(
                    f"WATCHDOG=1\nSTATUS={len(agent.targets)} service(s), "
                    f"{agent.probes_done} probe(s), {agent.writer.pending} minute(s) unwritten"
                    + (f"; cannot write: {problem}" if problem else "")
                )
            elif not agent.started:
                break
