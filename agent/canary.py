"""The canary: a check of the agent's own connectivity.

Configured as ``[agent] canary = "tcp://192.168.1.1:53"`` (something on the
way out, such as the default gateway or a DNS server) or ``"dns:example.com"``
(a name lookup). It is asked only when probes fail, at most once every
``min_gap`` seconds, and remembers which minutes it failed in, so that the
minute closer can tell "every provider is down" from "our network is down".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable
from datetime import datetime

from agent.probe import tcp_connect
from core.timeutil import to_minute, utc_now

log = logging.getLogger("slawatch.agent.canary")


async def probe_canary(spec: str, limit: float) -> bool:
    """True when the canary answers within ``limit`` seconds."""
    try:
        async with asyncio.timeout(limit):
            if spec.startswith("dns:"):
                loop = asyncio.get_running_loop()
                await loop.getaddrinfo(spec[4:], None, type=socket.SOCK_STREAM)
            else:
                await tcp_connect(spec)
    except (OSError, TimeoutError, ValueError):
        return False
    return True


class Canary:
    """Single-flight canary checks, remembered per minute.

    A check's answer applies to the minutes of the failed probes that asked for
    it and to the minute it ran in; an answer younger than ``min_gap`` seconds
    is reused rather than asking again, so 10,000 failing targets cost one check.
    """

    def __init__(
        self,
        spec: str | None,
        *,
        timeout: float = 3.0,
        min_gap: float = 10.0,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.spec = spec
        self._timeout = timeout
        self._min_gap = min_gap
        self._clock = clock
        self._last: tuple[float, bool] | None = None  # (loop time, answered)
        self._task: asyncio.Task[None] | None = None
        self._waiting: set[int] = set()  # minutes waiting for the running check
        self._failed_minutes: set[int] = set()
        self._down = False

    def on_failure(self, minute: int) -> None:
        """A probe of ``minute`` failed: make sure the canary's word on it is known."""
        if self.spec is None:
            return
        if self.busy:
            self._waiting.add(minute)
            return
        now = asyncio.get_running_loop().time()
        if self._last is not None and now - self._last[0] < self._min_gap:
            if not self._last[1]:
                self._failed_minutes.add(minute)
            return
        self._waiting.add(minute)
        self._task = asyncio.get_running_loop().create_task(self._check())

    async def check_now(self, minute: int) -> bool | None:
        """Check at once for ``minute`` (``--once`` mode); None when no canary is set."""
        if self.spec is None:
            return None
        self._waiting.add(minute)
        await self._check()
        return minute in self._failed_minutes

    async def _check(self) -> None:
        assert self.spec is not None
        ok = await probe_canary(self.spec, self._timeout)
        self._last = (asyncio.get_running_loop().time(), ok)
        minutes = self._waiting | {to_minute(self._clock())}
        self._waiting = set()
        if not ok:
            self._failed_minutes |= minutes
        if self._down != (not ok):
            self._down = not ok
            if ok:
                log.info("canary %s answers again", self.spec)
            else:
                log.warning("canary %s is failing: this machine's network may be down", self.spec)

    async def settle(self) -> None:
        """Wait for a check in flight, if any."""
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def failed_in(self, minute: int) -> bool | None:
        """The canary's word on a minute: None when no canary is configured."""
        if self.spec is None:
            return None
        return minute in self._failed_minutes

    def forget_before(self, minute: int) -> None:
        self._failed_minutes = {m for m in self._failed_minutes if m >= minute}

    async def aclose(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
