"""Outage start and end, seen from the stream of one agent's minute verdicts.

An outage starts at the first minute a service is down (or degraded, when its
contract says ``degraded_is_down``) and ends at the first minute it is seen
available again. An unknown minute (no probe, or the canary rule) neither
starts nor ends one: we do not know. ``report_by`` is the contract's deadline
for reporting the outage to the provider (start + ``report_within``), the
figure a notified person needs most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from agent.verdict import Verdict
from core.config import Config
from core.status import DEGRADED, DOWN, UNKNOWN
from core.timeutil import from_minute, iso_z
from store.rows import OpenOutage

EventKind = Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class OutageEvent:
    event: EventKind
    service: str
    start: datetime
    minutes: int  # down minutes so far (start) or in all (end)
    report_by: datetime
    end: datetime | None = None  # exclusive; only on "end"
    error: str | None = None  # the failure class of the latest down minute

    def payload(self, source: str) -> dict[str, Any]:
        """The JSON body a webhook receives."""
        return {
            "event": self.event,
            "service": self.service,
            "start": iso_z(self.start),
            "end": iso_z(self.end),
            "minutes": self.minutes,
            "report_by": iso_z(self.report_by),
            "error": self.error,
            "source": source,
        }


@dataclass
class _Open:
    start: int
    last: int
    minutes: int
    error: str | None


class OutageTracker:
    """Turns verdicts, fed in minute order per service, into start/end events."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._open: dict[str, _Open] = {}

    def is_open(self, service: str) -> bool:
        return service in self._open

    def snapshot(self) -> list[OpenOutage]:
        """The open outages, to be kept across a restart."""
        return [
            OpenOutage(name, o.start, o.last, o.minutes, o.error)
            for name, o in sorted(self._open.items())
        ]

    def restore(self, outages: list[OpenOutage] | tuple[OpenOutage, ...]) -> None:
        """Take back the open outages of an earlier run (its ``start`` was sent)."""
        for o in outages:
            if o.service in self._config.services:
                self._open[o.service] = _Open(o.start, o.last, o.minutes, o.error)

    def observe(self, v: Verdict) -> OutageEvent | None:
        if v.status == UNKNOWN:
            return None
        contract = self._config.contract_for(v.service)
        down = v.status == DOWN or (v.status == DEGRADED and contract.degraded_is_down)
        current = self._open.get(v.service)
        if down:
            if current is None:
                self._open[v.service] = _Open(v.minute, v.minute, 1, v.error)
                return self._event("start", v.service, self._open[v.service])
            if v.minute > current.last:
                current.last, current.minutes, current.error = (
                    v.minute,
                    current.minutes + 1,
                    v.error,
                )
            return None
        if current is None or v.minute <= current.last:
            return None
        del self._open[v.service]
        return self._event("end", v.service, current)

    def _event(self, kind: EventKind, service: str, o: _Open) -> OutageEvent:
        start = from_minute(o.start)
        within = self._config.contract_for(service).report_within
        return OutageEvent(
            event=kind,
            service=service,
            start=start,
            minutes=o.minutes,
            report_by=start + within,
            end=from_minute(o.last + 1) if kind == "end" else None,
            error=o.error,
        )
