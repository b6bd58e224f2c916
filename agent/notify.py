"""Notifiers: tell people when an outage starts and when it ends.

Each configured notifier runs on its own, in the background: a webhook that
times out or a command that fails never delays probing, writing or the other
notifiers.

Outage notifications (``start`` / ``end``) are retried until delivered, per
notifier (``Notifications.queue``): each notifier has its own queue, sent in
order (an outage's ``start`` before its ``end``), so a dead receiver holds back
neither the others nor later notifications to them. A failure (connection
refused, timeout, HTTP 5xx, 408, 429, a command's non-zero exit) is tried
again after ``RETRY_FIRST`` seconds, doubling up to ``RETRY_CAP``; the first
failure is one WARNING, the recovery (or giving up) one line, the retries in
between at DEBUG. A notification is given up once ``GIVE_UP_AFTER`` has passed
since the minute it reports (the outage's start, or its end). Any other HTTP
4xx is the receiver refusing it for good: one WARNING, dropped, the next one
sent. What each notifier has had is kept in the database with the
notification (``store.agentstate``), so retries go on after a restart and the
live notifiers get nothing twice. Certificate expiry warnings are sent once.

* ``webhook``: a JSON POST of ``OutageEvent.payload`` (id, service, start, minutes,
  report_by, event...). An outage's ``start`` and ``end`` are sent once the state
  they follow from is in the database, and sent again after a crash that came
  before every notifier had them, with the same ``id`` (also the
  ``Idempotency-Key`` header): at least once, dedupable (``agent.runner``).
* ``command``: an argv run directly, never through a shell, so nothing from a
  probe or a service name can be interpreted as shell syntax. It gets the
  same JSON on stdin and the main fields as ``SLAWATCH_*`` environment
  variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import httpx

from agent.incidents import OutageEvent
from core.config import Notifier
from core.timeutil import from_minute, iso_z, utc_now
from store.rows import Notice

log = logging.getLogger("slawatch.agent.notify")

RETRY_FIRST = 10.0
"""Seconds before a failed notification is tried again; doubled after each failure ..."""
RETRY_CAP = 600.0
"""... up to this (10 min)."""
GIVE_UP_AFTER = timedelta(hours=24)
"""A notification still failing this long after the minute it reports is given up."""


class Outcome(enum.Enum):
    SENT = "sent"
    RETRY = "retry"  # refused, timed out, 5xx, 408, 429, a command failing: tried again
    REFUSED = "refused"  # any other 4xx: the receiver will never take it


class Refused(Exception):
    """A receiver's HTTP answer: ``permanent`` for a 4xx other than 408 and 429."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.permanent = 400 <= status < 500 and status not in (408, 429)


def notifier_key(notifier: Notifier) -> str:
    """A notifier's name in the database: a hash of what it sends to (a webhook URL
    may hold a token), the same across restarts while its configuration is."""
    what = json.dumps([notifier.webhook, list(notifier.command or ())])
    return hashlib.sha256(what.encode()).hexdigest()[:16]


class Event(Protocol):
    """What a notifier is told: an outage start or end, or a certificate near expiry."""

    @property
    def event(self) -> str: ...

    @property
    def service(self) -> str: ...

    def payload(self, source: str) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class TlsExpiry:
    """A probed certificate expires within ``tls_warn_days`` (or has expired)."""

    service: str
    expires_at: datetime
    seen_at: datetime
    event: str = "tls_expiry"

    def payload(self, source: str) -> dict[str, Any]:
        left = self.expires_at - self.seen_at
        return {
            "event": self.event,
            "service": self.service,
            "tls_expires_at": iso_z(self.expires_at),
            "days_left": left.days,
            "source": source,
        }


@dataclass(frozen=True, slots=True)
class SavedNotice:
    """An outage notification as the store kept it (``store.rows.Notice``): sent again
    exactly as it was made, ``id`` included."""

    body: dict[str, Any]

    @property
    def event(self) -> str:
        return str(self.body["event"])

    @property
    def service(self) -> str:
        return str(self.body["service"])

    def payload(self, source: str) -> dict[str, Any]:
        return dict(self.body)


@dataclass(eq=False)
class _Lane:
    """One notifier's queue of outage notifications, sent in order, retried."""

    notifier: Notifier
    key: str
    name: str
    queue: dict[str, Notice] = field(default_factory=dict)  # in sending order
    task: asyncio.Task[None] | None = None
    failing_since: datetime | None = None  # the first failure of the current run of them
    attempts: int = 0  # failed attempts since then
    delay: float = 0.0  # the next wait before a retry


def describe(notifier: Notifier) -> str:
    """How a notifier is named in logs: the webhook's host (and port, when the URL
    names one), or the program's name. Never the path or query: they may hold a token."""
    if notifier.webhook:
        url = httpx.URL(notifier.webhook)
        return f"webhook {url.host}" + ("" if url.port is None else f":{url.port}")
    if notifier.command:
        return f"command {os.path.basename(notifier.command[0])}"
    return "notifier"


def event_env(event: Event, source: str) -> dict[str, str]:
    payload = event.payload(source)
    return {f"SLAWATCH_{k.upper()}": "" if v is None else str(v) for k, v in payload.items()}


def _span(delta: timedelta) -> str:
    """``10 min``, ``24 h``, ``45 s``: a duration in a log line."""
    seconds = int(delta.total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _what(event: Event) -> str:
    outage = isinstance(event, OutageEvent) or event.event in ("start", "end")
    return f"outage {event.event}" if outage else event.event


class Notifications:
    """Dispatches outage events to every notifier, each in its own task."""

    def __init__(
        self,
        notifiers: Sequence[Notifier],
        source: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._notifiers = tuple(notifiers)
        self._source = source
        self._transport = transport
        self._env = dict(os.environ if env is None else env)
        self._clock = clock
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._lanes = [_Lane(n, notifier_key(n), describe(n)) for n in self._notifiers]
        self._owed: dict[str, set[str]] = {}  # notice id -> the notifiers still owed it
        self._closing = asyncio.Event()
        self.retry_first = RETRY_FIRST
        self.retry_cap = RETRY_CAP
        self.give_up_after = GIVE_UP_AFTER
        # Told when one notifier is done with a notice (others still owed it), and when
        # every notifier is: the agent marks it, then forgets it, in the store.
        self.on_marked: Callable[[str, str], Awaitable[None]] | None = None
        self.on_done: Callable[[list[str]], Awaitable[None]] | None = None
        self.sent = 0
        self.failed = 0

    def send(self, event: Event) -> None:
        """Start delivering ``event`` to every notifier; returns at once."""
        for notifier in self._notifiers:
            self.track(asyncio.get_running_loop().create_task(self.deliver(notifier, event)))

    def track(self, task: asyncio.Task[Any]) -> None:
        """A task delivering notifications: ``aclose`` waits for it (then cancels it)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def deliver(self, notifier: Notifier, event: Event) -> bool:
        """Run one notifier for one event, once; True when it succeeded. Never raises."""
        name = describe(notifier)
        outcome, why = await self.attempt(notifier, event)
        if outcome is not Outcome.SENT:
            log.warning("%s failed for %s of %s: %s", name, _what(event), event.service, why)
            return False
        log.info("notified %s: %s of %s", name, _what(event), event.service)
        return True

    async def attempt(self, notifier: Notifier, event: Event) -> tuple[Outcome, str]:
        """Run one notifier for one event, once: what came of it, and why it failed.
        Never raises (but for cancellation); counts ``sent`` and ``failed``."""
        try:
            async with asyncio.timeout(notifier.timeout.total_seconds()):
                if notifier.webhook:
                    await self._post(notifier.webhook, event)
                if notifier.command:
                    await self._run(notifier.command, event)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            self.failed += 1
            return Outcome.RETRY, f"no answer within {notifier.timeout}"
        except Refused as exc:
            self.failed += 1
            return (Outcome.REFUSED if exc.permanent else Outcome.RETRY), str(exc)
        except Exception as exc:
            self.failed += 1
            return Outcome.RETRY, " ".join(str(exc).split()) or type(exc).__name__
        self.sent += 1
        return Outcome.SENT, ""

    # -- outage notifications: per notifier, in order, retried -------------------

    def queue(self, notices: Iterable[Notice]) -> None:
        """Send these saved notices to every notifier that has not had them
        (``Notice.sent_to``), in order after those already queued; retried until
        delivered, refused for good, or given up. Returns at once."""
        done: list[str] = []
        for n in sorted(notices, key=lambda n: (n.seq, n.id)):
            if n.id in self._owed:
                continue  # queued already
            owed = {lane.key for lane in self._lanes} - set(n.sent_to)
            if not owed:
                done.append(n.id)  # every notifier had it: only forgetting it is left
                continue
            self._owed[n.id] = owed
            for lane in self._lanes:
                if lane.key in owed:
                    lane.queue[n.id] = n
        if done and self.on_done is not None:
            self.track(asyncio.get_running_loop().create_task(self._forget(done)))
        self._kick()

    def pending(self) -> list[Notice]:
        """The notices some notifier is still owed, with who has had them (a SIGHUP
        reload hands them on to the new agent's notifiers)."""
        keys = {lane.key for lane in self._lanes}
        seen: dict[str, Notice] = {}
        for lane in self._lanes:
            for n in lane.queue.values():
                seen.setdefault(n.id, n)
        return [
            replace(n, sent_to=tuple(sorted(set(n.sent_to) | (keys - self._owed[n.id]))))
            for n in sorted(seen.values(), key=lambda n: (n.seq, n.id))
        ]

    def waiting(self) -> dict[str, int]:
        """Notifier name -> outage notifications it is still owed (0 not listed)."""
        return {lane.name: len(lane.queue) for lane in self._lanes if lane.queue}

    def _kick(self) -> None:
        loop = asyncio.get_running_loop()
        for lane in self._lanes:
            if lane.queue and (lane.task is None or lane.task.done()):
                lane.task = loop.create_task(self._run_lane(lane))
                self.track(lane.task)

    async def _run_lane(self, lane: _Lane) -> None:
        while lane.queue:
            notice = next(iter(lane.queue.values()))
            event = SavedNotice(json.loads(notice.payload))
            outcome, why = await self.attempt(lane.notifier, event)
            what = f"{_what(event)} of {event.service}"
            if outcome is Outcome.RETRY:
                age = self._clock() - from_minute(notice.seq // 2)
                if age < self.give_up_after:
                    if not await self._failed(lane, what, why):
                        return  # shutting down: the rest after the restart
                    continue
                log.warning(
                    "%s: gave up on the %s after %d failed attempt(s), %s after it"
                    " happened: %s",
                    lane.name, what, lane.attempts + 1, _span(age), why,
                )  # fmt: skip
                lane.attempts = 0  # the next one gets its own attempts
            elif outcome is Outcome.REFUSED:
                log.warning("%s refused the %s (%s): dropped, not retried", lane.name, what, why)
            elif lane.failing_since is not None:
                log.warning(
                    "%s delivers again: %s after %d failed attempt(s) since %s",
                    lane.name, what, lane.attempts, iso_z(lane.failing_since),
                )  # fmt: skip
                lane.failing_since, lane.attempts = None, 0
            else:
                log.info("notified %s: %s", lane.name, what)
            lane.delay = 0.0
            lane.queue.pop(notice.id, None)
            await self._settle(notice.id, lane.key)

    async def _failed(self, lane: _Lane, what: str, why: str) -> bool:
        """A failed attempt: the WARNING if it is the first, then the wait before the
        next. False when the wait was cut short by ``aclose``."""
        lane.attempts += 1
        lane.delay = min(self.retry_cap, lane.delay * 2 if lane.delay else self.retry_first)
        if lane.failing_since is None:
            lane.failing_since = self._clock()
            log.warning(
                "%s failed for the %s: %s; retrying (backing off to every %s, in order,"
                " %d notification(s) waiting) until delivered or %s after the event",
                lane.name, what, why, _span(timedelta(seconds=self.retry_cap)),
                len(lane.queue), _span(self.give_up_after),
            )  # fmt: skip
        else:
            log.debug("%s failed again for the %s: %s", lane.name, what, why)
        if self._closing.is_set():
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(lane.delay):
                await self._closing.wait()
        return not self._closing.is_set()

    async def _settle(self, notice_id: str, key: str) -> None:
        owed = self._owed.get(notice_id)
        if owed is None:
            return
        owed.discard(key)
        if owed:
            if self.on_marked is not None:
                await self.on_marked(notice_id, key)
            return
        del self._owed[notice_id]
        await self._forget([notice_id])

    async def _forget(self, ids: list[str]) -> None:
        if self.on_done is not None:
            await self.on_done(ids)

    async def _post(self, url: str, event: Event) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, trust_env=False)
        payload = event.payload(self._source)
        # The event's id also as the header receivers (and proxies) dedupe retries on.
        headers = {"Idempotency-Key": str(payload["id"])} if payload.get("id") else None
        response = await self._client.post(url, json=payload, headers=headers)
        if response.status_code >= 400:
            raise Refused(response.status_code)

    async def _run(self, argv: Sequence[str], event: Event) -> None:
        data = json.dumps(event.payload(self._source)).encode()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env={**self._env, **event_env(event, self._source)},
        )
        try:
            await proc.communicate(data)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            raise
        if proc.returncode != 0:
            raise RuntimeError(f"exit status {proc.returncode}")

    async def aclose(self, grace: float = 3.0) -> None:
        """Give running notifiers ``grace`` seconds to finish, then cancel them; a
        notifier waiting to retry stops at once (its notices stay queued: ``queue``
        again, or a restart, goes on with them)."""
        self._closing.set()
        try:
            if self._tasks:
                _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
                for task in pending:
                    task.cancel()
                if pending:
                    await asyncio.wait(pending)
                    log.warning("%d notification(s) cancelled at shutdown", len(pending))
            for name, count in self.waiting().items():
                log.warning(
                    "%s: %d outage notification(s) not delivered yet, kept to retry", name, count
                )
        finally:
            self._closing.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
