"""Name lookups for the probes: one at a time per name, in threads of their own.

asyncio resolves names with the blocking ``socket.getaddrinfo`` in its default
thread pool (``min(32, CPUs + 4)`` threads: 6 on 2 cores), and a lookup cannot
be cancelled: a probe that gives up at its timeout leaves its thread waiting on
the resolver. One provider whose name servers do not answer (each lookup then
takes the resolver's 5-10 s) filled that pool with its probes' lookups, and
every other probe's lookup queued behind them until its own timeout: healthy
services down ``timeout``, blamed on their providers, for one provider's broken
DNS. Measured: 8 probes of such a name, then a probe of a healthy one, down
after its 2 s timeout.

``install`` gives the running loop a ``getaddrinfo`` (asyncio's streams, anyio
and the canary all ask the loop) that shares one lookup among every caller
asking the same thing while it runs, cancelled callers included (a name that
hangs holds one thread, not one per probe), on a pool of ``THREADS`` threads
used for nothing else (so distinct broken names are many before they starve the
rest). What the resolver answers is unchanged, errors included (``socket.gaierror``
is still the ``dns`` class).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import weakref
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

THREADS = 32

_Key = tuple[Any, Any, int, int, int, int]


class Lookups:
    """Single-flight ``getaddrinfo`` for one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="slawatch-dns")
        self._running: dict[_Key, asyncio.Future[Any]] = {}

    async def getaddrinfo(
        self,
        host: Any,
        port: Any,
        *,
        family: int = 0,
        type: int = 0,  # the loop's own parameter names
        proto: int = 0,
        flags: int = 0,
    ) -> Any:
        key = (host, port, family, type, proto, flags)
        lookup = self._running.get(key)
        if lookup is None:
            call = partial(socket.getaddrinfo, host, port, family, type, proto, flags)
            lookup = self._loop.run_in_executor(self._pool, call)
            self._running[key] = lookup
            lookup.add_done_callback(partial(self._done, key))
        return await asyncio.shield(lookup)  # a cancelled caller leaves it to the others

    def _done(self, key: _Key, lookup: asyncio.Future[Any]) -> None:
        if self._running.get(key) is lookup:
            del self._running[key]
        if not lookup.cancelled():
            lookup.exception()  # retrieved: every caller may have given up on it

    def close(self) -> None:
        """Give the loop its own ``getaddrinfo`` back; the threads end once idle (a
        lookup still hanging ends with the resolver's timeout, as it would have)."""
        if _INSTALLED.get(self._loop) is self:
            del _INSTALLED[self._loop]
            with contextlib.suppress(AttributeError):
                del self._loop.getaddrinfo  # the instance's: the class's shows again
        self._pool.shutdown(wait=False, cancel_futures=True)


_INSTALLED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Lookups] = (
    weakref.WeakKeyDictionary()
)


def install(loop: asyncio.AbstractEventLoop | None = None) -> Lookups:
    """Give ``loop`` (default: the running one) the probes' lookups, once (a second
    call returns the same); ``close`` them when done (the agent does, at its stop)."""
    loop = loop or asyncio.get_running_loop()
    lookups = _INSTALLED.get(loop)
    if lookups is None:
        lookups = _INSTALLED[loop] = Lookups(loop)
        loop.getaddrinfo = lookups.getaddrinfo  # type: ignore[method-assign]
    return lookups
