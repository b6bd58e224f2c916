"""Notifiers: tell people when an outage starts and when it ends.

Each configured notifier runs once per event, on its own, in the background:
a webhook that times out or a command that fails is logged in one line and
never delays probing, writing or the other notifiers.

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
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx

from agent.incidents import OutageEvent
from core.config import Notifier
from core.timeutil import iso_z

log = logging.getLogger("slawatch.agent.notify")


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


def describe(notifier: Notifier) -> str:
    """How a notifier is named in logs: the webhook's host, or the program's name."""
    if notifier.webhook:
        return f"webhook {httpx.URL(notifier.webhook).host}"
    if notifier.command:
        return f"command {os.path.basename(notifier.command[0])}"
    return "notifier"


def event_env(event: Event, source: str) -> dict[str, str]:
    payload = event.payload(source)
    return {f"SLAWATCH_{k.upper()}": "" if v is None else str(v) for k, v in payload.items()}


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
    ) -> None:
        self._notifiers = tuple(notifiers)
        self._source = source
        self._transport = transport
        self._env = dict(os.environ if env is None else env)
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
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

    async def deliver_all(self, event: Event) -> None:
        """Run every notifier for ``event`` at once; returns when all have finished."""
        await asyncio.gather(*(self.deliver(n, event) for n in self._notifiers))

    async def deliver(self, notifier: Notifier, event: Event) -> bool:
        """Run one notifier for one event; True when it succeeded. Never raises."""
        name = describe(notifier)
        try:
            async with asyncio.timeout(notifier.timeout.total_seconds()):
                if notifier.webhook:
                    await self._post(notifier.webhook, event)
                if notifier.command:
                    await self._run(notifier.command, event)
        except asyncio.CancelledError:
            raise
        except TimeoutError:
            return self._failure(name, event, f"no answer within {notifier.timeout}")
        except Exception as exc:
            return self._failure(name, event, " ".join(str(exc).split()) or type(exc).__name__)
        self.sent += 1
        log.info("notified %s: %s of %s", name, _what(event), event.service)
        return True

    def _failure(self, name: str, event: Event, why: str) -> bool:
        self.failed += 1
        log.warning("%s failed for %s of %s: %s", name, _what(event), event.service, why)
        return False

    async def _post(self, url: str, event: Event) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, trust_env=False)
        payload = event.payload(self._source)
        # The event's id also as the header receivers (and proxies) dedupe retries on.
        headers = {"Idempotency-Key": str(payload["id"])} if payload.get("id") else None
        response = await self._client.post(url, json=payload, headers=headers)
        if response.status_code >= 400:
            raise RuntimeError(f"HTTP {response.status_code}")

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
        """Give running notifiers ``grace`` seconds to finish, then cancel them."""
        if self._tasks:
            _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
                log.warning("%d notification(s) cancelled at shutdown", len(pending))
        if self._client is not None:
            await self._client.aclose()
            self._client = None
