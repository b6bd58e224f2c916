"""The plain records that go into and come out of the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from core.corroboration import Corroboration


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
    tls_expires_at: datetime | None = None  # the certificate's notAfter (HTTPS probes)


class ProbeRecord(NamedTuple):
    """One probe result of a minute an agent has not judged yet (``store.agentstate``)."""

    service: str
    source: str
    minute: int  # UTC epoch minute the probe is filed under
    at: datetime  # aware: when the probe started
    status: int
    latency_ms: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class OpenOutage:
    """An outage an agent announced (``start`` sent) and has not seen end yet."""

    service: str
    start: int  # first down minute
    last: int  # latest down minute seen
    minutes: int  # down minutes so far
    error: str | None = None


@dataclass(frozen=True)
class Notice:
    """A notification made durable before it is sent (``store.agentstate``): kept until
    every notifier has had it, so a crash before that sends it again after a restart."""

    id: str  # the same for every send of it: what a receiver dedupes on
    seq: int  # the order to send in (an outage's start before its end)
    payload: str  # the JSON body, as sent
    sent_to: tuple[str, ...] = ()  # the notifiers (``agent.notify.notifier_key``) done with it


@dataclass(frozen=True)
class AgentState:
    """What an agent must remember across a restart (``store.agentstate``)."""

    judged_upto: int | None  # the last minute it judged; None: never saved
    outages: tuple[OpenOutage, ...] = ()
    probes: tuple[ProbeRecord, ...] = ()  # results of minutes after ``judged_upto``
    notices: tuple[Notice, ...] = ()  # saved, not yet sent to every notifier


@dataclass(frozen=True)
class StateSave:
    """An agent's state as it follows from the minutes written with it: saved in the
    same transaction as those minutes (``record_minutes(rows, state=...)``), or alone."""

    source: str
    judged_upto: int
    outages: tuple[OpenOutage, ...]
    notices: tuple[Notice, ...] = ()  # new ones, to send once this is committed


class ProbeEvidence(NamedTuple):
    """A failing probe's corroboration (``store.evidence``): what the provider can find."""

    service: str
    source: str
    minute: int  # UTC epoch minute the probe is filed under
    seen: Corroboration  # its ``at`` (aware) is when the request was sent
