"""A one-line progress meter for long imports, on stderr and only on a terminal.

Redirected output (a script, CI, ``2> log``) gets nothing: the summary line the
command prints at the end is the whole record of the run.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``update(done)`` at will; redraws at most every ``every`` seconds."""

    def __init__(
        self, label: str, total: int | None, *, stream: TextIO | None = None, every: float = 0.2
    ) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = _is_tty(self.stream)
        self.label = label
        self.total = total
        self.every = every
        self._drawn_at = 0.0
        self._width = 0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn_at < self.every:
            return
        self._drawn_at = now
        if self.total:
            share = min(100, 100 * done // self.total)
            text = f"{self.label}: {done:,} / {self.total:,} ({share}%)"
        else:
            text = f"{self.label}: {done:,}"
        self._width = max(self._width, len(text))
        self.stream.write("\r" + text.ljust(self._width))
        self.stream.flush()

    def close(self) -> None:
        """Erase the meter (the summary line takes its place)."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
