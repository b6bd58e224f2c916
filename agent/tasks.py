"""Tasks that end when told to, whatever they are waiting on.

A task cancelled while psycopg waits on PostgreSQL does not end at once: psycopg
answers the cancellation by asking the server to cancel the query (up to 5 s)
and then waiting for the query to end (up to 5 s more), so a server that hangs
(a frozen host, a half-open connection) holds the task for 10 s after every
``cancel()``, and ``asyncio.timeout`` around it overruns by as much. At a
SIGTERM that made the agent take 13 s to exit (systemd kills it at 15 s): a
second cancellation ends psycopg's wait at once, and the connection, left in an
unknown state, is closed by its owner afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger("slawatch.agent")

T = TypeVar("T")

GRACE_S = 1.0
"""After a cancellation, how long a task may take to end before it is cancelled again."""

TRIES = 20


async def cancel_within(task: asyncio.Future[Any], grace: float = GRACE_S) -> None:
    """Cancel ``task`` and wait until it has ended, cancelling it again every ``grace``
    seconds while it goes on (at most ``TRIES`` times, then it is left and logged)."""
    for _ in range(TRIES):
        if task.done():
            break
        task.cancel()
        await asyncio.wait({task}, timeout=grace)
    if not task.done():
        log.warning("a task did not end when cancelled %d times; leaving it", TRIES)
        return
    if not task.cancelled():
        with contextlib.suppress(BaseException):
            task.exception()  # retrieved: whatever it ended with is moot now


async def bounded(work: Coroutine[Any, Any, T], seconds: float) -> T:
    """``await work``, or ``TimeoutError`` after ``seconds`` with ``work`` ended by
    then (``cancel_within``): a bound that holds, unlike ``asyncio.timeout`` around
    a psycopg call."""
    task = asyncio.ensure_future(work)
    try:
        await asyncio.wait({task}, timeout=seconds)
    finally:
        late = not task.done()
        if late:
            await cancel_within(task)
    if late:
        raise TimeoutError
    return task.result()


async def open_once(
    lock: asyncio.Lock, held: Callable[[], T | None], opening: Callable[[], Awaitable[T]]
) -> tuple[T, bool]:
    """What ``held()`` returns, else what ``opening()`` opens (and keeps, for ``held``),
    with ``lock`` held so that callers asking at once share one open: two opens at
    once kept one SQLite connection and left the other's thread running, and a
    process with such a thread never exits (SIGTERM logged, the agent stopped, the
    process still there). Whether this call opened it."""
    async with lock:
        found = held()
        if found is not None:
            return found, False
        return await opening(), True
