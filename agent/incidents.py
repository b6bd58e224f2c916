"""Outage start and end, seen from the stream of one agent's minute verdicts.

The edges are rule 8's (``core.outages``), so a webhook's ``start``, ``end``
and ``minutes`` are those ``slawatch outages`` shows for the same minutes: an
outage is a run of consecutive down minutes (or degraded, when the contract
says ``degraded_is_down``). It starts at its first down minute and ends at the
first minute after its last that is not down: an up or degraded minute, an
unknown minute (the canary failed), or a minute with no verdict at all where
one was due (the agent was not running). ``end`` is the minute after the last
down minute, as in rule 8.

Where the tracker still differs from rule 8, and why:

- it does not read the store, so it does not know one-off maintenance or
  exclusions: ``minutes`` counts every down minute, and a failure wholly inside
  a window is notified (rule 8 drops it); the start is the same either way,
  since rule 8 starts a run at its first measured-down minute even when that
  minute is excluded; and an unknown minute inside a window does not end a
  run under rule 8 (excluded, measured or not) while it ends the tracker's;
- a service probed less often than once a minute has verdicts only for the
  minutes it was probed in, so the minutes between are unknown in the store
  and rule 8 sees one run per probe; the tracker bridges a gap shorter than
  the probe interval (no verdict was due) rather than notify every probe.

``report_by`` is the contract's deadline for reporting the outage to the
provider (start + ``report_within``), the figure a notified person needs most
(null in the ``end`` of an outage whose service was removed from the config).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from agent.verdict import Verdict
from core.calendar import report_by as deadline
from core.config import Config
from core.status import DEGRADED, DOWN
from core.timeutil import from_minute, iso_z, to_minute
from store.rows import OpenOutage

EventKind = Literal["start", "end"]


@dataclass(frozen=True, slots=True)
class OutageEvent:
    event: EventKind
    service: str
    start: datetime
    minutes: int  # down minutes so far (start) or in all (end)
    report_by: datetime | None  # None: the service is no longer in the config
    end: datetime | None = None  # exclusive; only on "end"
    error: str | None = None  # the failure class of the latest down minute

    def id(self, source: str) -> str:
        """The same for every send of this event (a resend after a crash, by any run of
        the agent): what a receiver dedupes on. One per outage start and one per end."""
        return f"{source}/{self.service}/{iso_z(self.start)}/{self.event}"

    def seq(self) -> int:
        """The order to send in: by the minute it happened at, an end before a start."""
        at = self.end if self.event == "end" and self.end is not None else self.start
        return to_minute(at) * 2 + (self.event == "start")

    def payload(self, source: str) -> dict[str, Any]:
        """The JSON body a webhook receives."""
        return {
            "id": self.id(source),
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

    def restore(self, outages: list[OpenOutage] | tuple[OpenOutage, ...]) -> list[OutageEvent]:
        """Take back the open outages of an earlier run (its ``start`` was sent).

        Returns the ``end`` of each one whose service this config no longer probes
        (removed, or its probe removed, over a restart or a SIGHUP): no verdict will
        come to end it, and a receiver must not keep it open for ever. It ends, as
        rule 8 reads the store, at the minute after its last down minute."""
        ended = []
        for o in outages:
            kept = _Open(o.start, o.last, o.minutes, o.error)
            service = self._config.services.get(o.service)
            if service is not None and service.probe is not None:
                self._open[o.service] = kept
            else:
                ended.append(self._event("end", o.service, kept))
        return ended

    def observe(self, v: Verdict) -> list[OutageEvent]:
        """The events this verdict causes: none, a start, an end, or an end and a start
        (a down minute after a gap in which a verdict was due)."""
        current = self._open.get(v.service)
        if current is not None and v.minute <= current.last:
            return []  # a minute already seen
        contract = self._config.contract_for(v.service)
        down = v.status == DOWN or (v.status == DEGRADED and contract.degraded_is_down)
        events = []
        if current is not None and (not down or v.minute - current.last > self._due(v.service)):
            del self._open[v.service]
            events.append(self._event("end", v.service, current))
            current = None
        if down:
            if current is None:
                self._open[v.service] = _Open(v.minute, v.minute, 1, v.error)
                events.append(self._event("start", v.service, self._open[v.service]))
            else:
                current.last, current.minutes, current.error = (
                    v.minute,
                    current.minutes + 1,
                    v.error,
                )
        return events

    def _due(self, service: str) -> int:
        """Minutes between two verdicts of ``service`` when nothing is missing."""
        probe = self._config.services[service].probe
        return max(1, -(-int(probe.interval.total_seconds()) // 60)) if probe else 1

    def _event(self, kind: EventKind, service: str, o: _Open) -> OutageEvent:
        start = from_minute(o.start)
        report_by = None  # a service no longer in the config: its contract is unknown
        if service in self._config.services:
            report_by = deadline(self._config.contract_for(service).report_within, start)
        return OutageEvent(
            event=kind,
            service=service,
            start=start,
            minutes=o.minutes,
            report_by=report_by,
            end=from_minute(o.last + 1) if kind == "end" else None,
            error=o.error,
        )
