"""The plain records that go into and come out of the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple


class MinuteRow(NamedTuple):
    """One source's verdict on one minute of one service.

    A NamedTuple rather than a dataclass: an import creates millions of them
    and a tuple is several times cheaper to build.
    """

    service: str
    source: str
    minute: int  # UTC epoch minute
    status: int  # core.status code
    latency_ms: int | None = None
    error: str | None = None  # error class, e.g. "timeout", "http 503"


@dataclass(frozen=True)
class ProbeState:
    """The latest probe of one service from one source (what the dashboard shows live)."""

    service: str
    source: str
    at: datetime  # aware
    status: int
    latency_ms: int | None = None
    error: str | None = None
