"""A service's live state: the latest probe of each source, folded by rule 3.

``slawatch status`` and the dashboard both show it, from the same fold:

- ``fold_latest``: the newest probe of each source, combined as a minute's
  records are (rule 3: down only when strictly more than half the sources say
  so); the time is the newest probe's, the latency the sources' mean, the error
  the newest failing probe's;
- ``is_stale``: the newest probe is older than ``STALE_PROBES`` probe intervals,
  so the agent has stopped reporting; a service with no probe configured (its
  minutes are imported) is never stale, and one never probed is not stale but
  unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from core.month import combine_sources
from core.status import UP

STALE_PROBES = 3


class Probe(Protocol):
    """One source's latest probe of one service (``store.ProbeState`` is one)."""

    @property
    def source(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def status(self) -> int: ...
    @property
    def latency_ms(self) -> int | None: ...
    @property
    def error(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Live:
    status: int  # rule 3 over the newest probe of each source
    at: datetime  # the newest probe's time
    latency_ms: int | None  # the mean over the sources that measured one
    error: str | None  # the newest failing probe's error class, when the fold is not up


def fold_latest(probes: Iterable[Probe]) -> Live | None:
    """One service's probes (any sources, any order) folded; None when there are none."""
    newest: dict[str, Probe] = {}
    for p in probes:
        if p.source not in newest or p.at > newest[p.source].at:
            newest[p.source] = p
    if not newest:
        return None
    latest = sorted(newest.values(), key=lambda p: p.at, reverse=True)
    status = combine_sources([bytes([p.status]) for p in latest])[0]
    latencies = [p.latency_ms for p in latest if p.latency_ms is not None]
    failing = next((p.error for p in latest if p.error is not None), None)
    return Live(
        status=status,
        at=latest[0].at,
        latency_ms=round(sum(latencies) / len(latencies)) if latencies else None,
        error=None if status == UP else failing,
    )


def is_stale(last_probe_at: datetime | None, interval: timedelta | None, now: datetime) -> bool:
    """The newest probe is older than three probe intervals (the agent went quiet)."""
    if last_probe_at is None or interval is None:
        return False
    return now - last_probe_at > STALE_PROBES * interval
