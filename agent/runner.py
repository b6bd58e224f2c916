"""The agent's lifecycle: startup -> main loop -> shutdown (uvicorn's shape).

``Agent`` is the whole agent as an object that lives inside a running asyncio
loop: ``await agent.start()`` opens what it needs and starts the scheduler and
a ticker that judges finished minutes and flushes the writer every ``tick``
seconds; ``await agent.stop()`` stops probing, judges what was measured
(including the unfinished current minute: a probe that ran is never dropped),
writes it, and closes. It installs no signal handlers and configures no
logging, so another program (``slawatch demo``) can embed it.

``run_agent`` is the process around it for ``slawatch agent``: logging,
SIGTERM/SIGINT turned into a ``should_exit`` flag, sd_notify ``READY=1``,
``WATCHDOG=1`` while the ticker is alive, ``STOPPING=1``, and an exit within
``STOP_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import ssl
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from agent.canary import Canary
from agent.incidents import OutageTracker
from agent.logs import configure_logging
from agent.minutes import MinuteBook
from agent.notify import Notifications
from agent.probe import Prober, ProbeResult, resolve_headers
from agent.scheduler import ProbeScheduler
from agent.sink import StoreSink
from agent.systemd import SystemdNotifier
from agent.verdict import Verdict, all_failing_alike, apply_canary, fold
from agent.writer import MinuteSink, Writer
from core.config import Config, Probe
from core.status import NAMES, UP
from core.timeutil import from_minute, iso_z, to_minute, utc_now
from store.rows import ProbeState

log = logging.getLogger("slawatch.agent")

STOP_SECONDS = 10.0
"""SIGTERM to exit, at most (the unit's TimeoutStopSec leaves a margin above it)."""

Clock = Callable[[], datetime]

BUFFER_MINUTES = 7 * 24 * 60
"""Unwritten minutes the agent holds per service before dropping the oldest: a
week of a broken database (a row costs about 215 bytes: 50 services -> ~110 MB)."""


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
        where = f"{config.path}: service.{name}.probe"
        targets[name] = _Target(name, service.probe, resolve_headers(service.probe, env, where))
    return targets


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
    ) -> None:
        env = os.environ if env is None else env
        canary = config.agent.canary  # its form is checked by the config loader
        self.config = config
        self.source = config.agent.name
        self.targets = _targets(config, env)
        self._clock = clock
        self._tick = tick
        self._own_sink = sink is None
        self._sink: MinuteSink = sink if sink is not None else StoreSink(config.storage_path)
        self.prober = Prober(transport=transport, ssl_context=ssl_context, clock=clock)
        self.canary = Canary(canary, clock=clock)
        self.book = MinuteBook()
        self.writer = Writer(
            self._sink,
            self.source,
            limit=max(1, len(self.targets)) * BUFFER_MINUTES,
            clock=clock,
        )
        self.outages = OutageTracker(config)
        self.notifications = Notifications(
            config.agent.notifiers, self.source, transport=notify_transport, env=env
        )
        self.scheduler = ProbeScheduler(
            self.probe_service, {n: t.probe.interval for n, t in self.targets.items()}
        )
        self._probing: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._scheduling: asyncio.Task[None] | None = None
        self._last_tick = 0.0
        self._states: dict[str, int] = {}  # service -> last judged status, for the log
        self._judged_upto = -1  # the latest minute handed to the writer
        self._warned_clock = False
        self.probes_done = 0
        self.started = False

    # -- lifecycle -----------------------------------------------------------

    async def start(self) -> None:
        """Start probing every service on its schedule (returns at once)."""
        if self.started:
            raise RuntimeError("agent already started")
        self.started = True
        self._stopping.clear()
        self._last_tick = time.monotonic()
        if not self.targets:
            log.warning("no service has a [service.probe]: nothing to probe")
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())
        self._scheduling = asyncio.get_running_loop().create_task(self.scheduler.start())
        log.info(
            "agent %r probing %d service(s), writing to %s",
            self.source,
            len(self.targets),
            self.config.storage_path,
        )

    async def stop(self, within: float = STOP_SECONDS - 2) -> bool:
        """Stop probing, record everything measured, close. True when nothing was left
        unwritten. Finishes within ``within`` seconds (plus a moment to close)."""
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
            _done, pending = await asyncio.wait({self._ticker}, timeout=within / 2)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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
        await self.notifications.aclose(grace=max(0.1, min(2.0, deadline - time.monotonic())))
        await self.prober.aclose()
        if self._own_sink and isinstance(self._sink, StoreSink):
            await self._sink.close()
        if not written:
            log.error(
                "stopping with %d minute(s) unwritten: %s",
                self.writer.pending,
                self.writer.problem,
            )
        else:
            log.info("agent stopped; %d minute(s) written in all", self.writer.written)
        self.started = False
        return written

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
        filed = minute > self._judged_upto
        if filed:
            self.book.begin(minute)
        elif not self._warned_clock:
            log.warning("the clock went back to a minute already recorded; not re-recording it")
            self._warned_clock = True
        result: ProbeResult | None = None
        try:
            result = await self.prober.check(target.probe, target.headers, at=at)
            self._note(name, result, minute)
        finally:
            if filed:
                self.book.finish(minute, name, result)
            if task is not None:
                self._probing.discard(task)

    def _note(self, name: str, result: ProbeResult, minute: int) -> None:
        self.probes_done += 1
        self.writer.note_probe(
            ProbeState(name, self.source, result.at, result.status, result.latency_ms, result.error)
        )
        if result.failed:
            self.canary.on_failure(minute)

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
            for v in verdicts:
                self._log_change(v)
                for event in self.outages.observe(v):
                    self.notifications.send(event)
            judged.extend(verdicts)
            self.canary.forget_before(minute)
            self._judged_upto = max(self._judged_upto, minute)
        return judged

    def _log_change(self, v: Verdict) -> None:
        before = self._states.get(v.service)
        self._states[v.service] = v.status
        if before == v.status or (before is None and v.status == UP):
            return
        at = iso_z(from_minute(v.minute))
        why = f" ({v.error})" if v.error else ""
        log.info("%s is %s since %s%s", v.service, NAMES[v.status], at, why)

    async def tick(self) -> list[Verdict]:
        """One step of the ticker, done now: wait for the canary's word, judge the
        finished minutes, flush. What the ticker does every ``tick`` seconds; tests and
        embedders with their own clock call it directly."""
        await self.canary.settle()
        judged = self.judge()
        await self.writer.flush()
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
                self.scheduler.drain()
            except Exception:
                log.exception("agent tick failed; carrying on")

    # -- once ------------------------------------------------------------------

    async def run_once(self, *, write_timeout: float = 8.0) -> tuple[list[Verdict], bool]:
        """Probe every service once (concurrently), judge, write, close.

        Returns the verdicts and whether all of them were written.
        """
        at = self._clock()
        minute = to_minute(at)
        names = sorted(self.targets)
        targets = [self.targets[n] for n in names]
        results = await asyncio.gather(
            *(self.prober.check(t.probe, t.headers, at=at) for t in targets)
        )
        for name, result in zip(names, results, strict=True):
            self.probes_done += 1
            self.writer.note_probe(
                ProbeState(
                    name, self.source, result.at, result.status, result.latency_ms, result.error
                )
            )
        verdicts = [fold(n, minute, [r]) for n, r in zip(names, results, strict=True)]
        canary_failed = (
            await self.canary.check_now(minute) if all_failing_alike(verdicts) else False
        )
        verdicts = apply_canary(verdicts, canary_failed)
        self.writer.add(verdicts)
        written = await self._flush_until(time.monotonic() + write_timeout)
        await self.prober.aclose()
        if self._own_sink and isinstance(self._sink, StoreSink):
            await self._sink.close()
        return verdicts, written


# -- the process -----------------------------------------------------------------


def run_agent(config: Config, *, once: bool = False, clock: Clock = utc_now) -> int:
    """``slawatch agent [--once]``: 0 on a clean exit, 1 when verdicts were left unwritten.
    The probe limits (interval 5 s to 1 h, ...) are checked by the config loader."""
    configure_logging()
    if once:
        return asyncio.run(_once(config, clock))
    return asyncio.run(Server(config, clock=clock).serve())


async def _once(config: Config, clock: Clock) -> int:
    agent = Agent(config, clock=clock)
    verdicts, written = await agent.run_once()
    for v in verdicts:
        latency = f"{v.latency_ms} ms" if v.latency_ms is not None else "-"
        print(f"{v.service}\t{NAMES[v.status]}\t{latency}\t{v.error or ''}".rstrip())
    if not written:
        log.error("could not record: %s", agent.writer.problem)
        return 1
    return 0


class Server:
    """``Agent`` + signals + systemd, for the foreground process."""

    def __init__(self, config: Config, *, clock: Clock = utc_now, **agent_options: Any) -> None:
        self.config = config
        self.clock = clock
        self.agent_options = agent_options
        self.should_exit = asyncio.Event()
        self.systemd = SystemdNotifier()

    def handle_exit(self, sig: int) -> None:
        if self.should_exit.is_set():
            return
        log.info("received %s, stopping", signal.Signals(sig).name)
        self.should_exit.set()

    async def serve(self) -> int:
        agent = Agent(self.config, clock=self.clock, **self.agent_options)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.handle_exit, sig)
        try:
            await agent.start()
            self.systemd.ready()
            await self.main_loop(agent)
        finally:
            self.systemd.stopping()
            ok = await agent.stop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        sys.stderr.flush()
        return 0 if ok else 1

    async def main_loop(self, agent: Agent) -> None:
        beat = self.systemd.watchdog_interval or 5.0
        while not self.should_exit.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(beat):
                    await self.should_exit.wait()
            if agent.healthy:
                problem = agent.writer.problem
                self.systemd.notify(
                    f"WATCHDOG=1\nSTATUS={len(agent.targets)} service(s), "
                    f"{agent.probes_done} probe(s), {agent.writer.pending} minute(s) unwritten"
                    + (f"; cannot write: {problem}" if problem else "")
                )
            elif not agent.started:
                break
