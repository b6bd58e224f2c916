"""Read ahead in a thread: an importer's reading overlaps the store's writing.

The store writes one batch while the reader prepares the next: SQLite (the
source database's and the store's) does its work with the GIL released, so on
a machine with two cores the two halves of an import run side by side.
Whatever the reader raises is raised to the consumer, in order, so a bad
record still rolls the whole import back; a consumer that stops early (the
store failed) stops the reader too, and the thread is always joined.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """``items``, produced by a thread that stays at most ``depth`` items ahead."""
    box: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(value: object) -> bool:
        while not stop.is_set():
            try:
                box.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Raised(exc))
            return
        put(_DONE)

    thread = threading.Thread(target=produce, name="slawatch-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            value = box.get()
            if value is _DONE:
                return
            if isinstance(value, _Raised):
                raise value.exc
            yield value  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


class _Raised:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
