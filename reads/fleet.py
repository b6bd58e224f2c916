"""The fleet's read model: every agent, what it last said of itself and of the services.

``fleet(store, config, now) -> Fleet`` joins each agent's health row (its own
word: when, backlog, clock offset, version) with its latest probes (its votes):
what ``fleet status`` prints and the dashboard's agents screen shows. An agent
is listed once it has written either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.config import Config
from core.fleet import agent_flags, on_database_clock
from core.status import DOWN
from core.timeutil import iso_z
from core.vantage import Probe, Vantage, vantage
from store.health import AgentHealth
from store.rows import ProbeState
from store.store import Store


@dataclass(frozen=True)
class AgentView:
    name: str
    last_seen: datetime
    backlog_minutes: int
    clock_offset_seconds: float | None
    version: str | None
    services: int  # services it has a vote on
    down: tuple[str, ...]  # services it sees down now (fresh votes)
    dissents: tuple[str, ...]  # services where its fresh vote disagrees with the verdict
    flags: tuple[str, ...]  # core.fleet.agent_flags: clock, silent, backlog
    # Outage notifications it still owes some notifier (retried from its spool), and
    # the minute the oldest of them reports (None when none).
    notifications_waiting: int = 0
    notifications_waiting_since: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "last_seen": iso_z(self.last_seen),
            "backlog_minutes": self.backlog_minutes,
            "clock_offset_seconds": self.clock_offset_seconds,
            "version": self.version,
            "services": self.services,
            "down": list(self.down),
            "dissents": list(self.dissents),
            "flags": list(self.flags),
            "notifications_waiting": self.notifications_waiting,
            "notifications_waiting_since": iso_z(self.notifications_waiting_since),
        }


@dataclass(frozen=True)
class Fleet:
    now: datetime
    agents: tuple[AgentView, ...]
    vantage: Mapping[str, Vantage]  # per configured service
    probes: tuple[ProbeState, ...] = ()  # every agent's latest probe of each service

    def to_json(self) -> dict[str, Any]:
        return {"generated_at": iso_z(self.now), "agents": [a.to_json() for a in self.agents]}


def service_votes(
    config: Config, probes: Sequence[ProbeState], now: datetime
) -> dict[str, Vantage]:
    """Every configured service's votes as of ``now``."""
    by_service: dict[str, list[Probe]] = {}
    for p in probes:
        by_service.setdefault(p.service, []).append(Probe(p.source, p.status, p.at))
    out: dict[str, Vantage] = {}
    for name, svc in config.services.items():
        interval = svc.probe.cycle if svc.probe else None
        out[name] = vantage(by_service.get(name, ()), now, interval)
    return out


def by_database_clock(
    probes: Sequence[ProbeState], health: Sequence[AgentHealth]
) -> list[ProbeState]:
    """``probes`` (as the store keeps them: stamped by each agent's own clock) with each
    one's time on the database's clock (``core.fleet.on_database_clock``, by the offset
    its agent last measured). Every live read (``status``, ``fleet status``, the
    dashboard) ages the votes and shows the probe's age from these, so none can call
    one fresh that another calls stale, and an agent minutes off counts exactly as
    long as the others."""
    offsets = {h.source: h.clock_offset_seconds for h in health}
    return [
        p
        if offsets.get(p.source) is None
        else replace(p, at=on_database_clock(p.at, offsets[p.source]))
        for p in probes
    ]


async def latest_probes(store: Store) -> list[ProbeState]:
    """Every agent's latest probe of each service, on the database's clock
    (``by_database_clock``)."""
    return by_database_clock(await store.probe_states(), await store.agent_health())


def fleet_view(
    config: Config, health: Sequence[AgentHealth], probes: Sequence[ProbeState], now: datetime
) -> Fleet:
    """The fleet as of ``now`` from the store's rows (``probes`` as stored: each
    agent's own clock; read here on the database's, as ``now`` is)."""
    probes = by_database_clock(probes, health)
    votes = service_votes(config, probes, now)
    seen: dict[str, datetime] = {}
    for p in probes:
        if p.service in config.services and (p.source not in seen or p.at > seen[p.source]):
            seen[p.source] = p.at
    by_name = {h.source: h for h in health}
    agents = []
    for name in sorted(set(seen) | set(by_name)):
        h = by_name.get(name)
        offset = clock_offset_of(h)
        # Its probes and health are stamped by its own clock: in the database's (which
        # `now` follows), so that one off by minutes is silent 3 minutes after it stops,
        # not 3 minutes plus its offset (nor at once when behind).
        health_at = on_database_clock(h.at, offset) if h else None
        last = max(t for t in (seen.get(name), health_at) if t is not None)
        mine = {
            s: next(v for v in vt.votes if v.agent == name)
            for s, vt in votes.items()
            if any(v.agent == name for v in vt.votes)
        }
        backlog = backlog_of(h)
        agents.append(
            AgentView(
                name=name,
                last_seen=last,
                backlog_minutes=backlog,
                clock_offset_seconds=offset,
                version=version_of(h),
                services=len(mine),
                down=tuple(s for s, v in sorted(mine.items()) if v.code == DOWN),
                dissents=tuple(s for s, v in sorted(mine.items()) if v in votes[s].dissent()),
                flags=agent_flags(last, now, backlog, offset),
                notifications_waiting=h.notices_waiting if h else 0,
                notifications_waiting_since=h.notices_since if h else None,
            )
        )
    return Fleet(now, tuple(agents), votes, tuple(probes))


async def fleet(store: Store, config: Config, now: datetime) -> Fleet:
    """Every agent of the fleet as of ``now``."""
    return fleet_view(config, await store.agent_health(), await store.probe_states(), now)


# The agent's health row: what it holds unforwarded, its clock, its version.


def backlog_of(h: AgentHealth | None) -> int:
    """Minutes the agent holds that the database does not have yet: in its memory
    (``pending``), queued in its spool's outbox, and dropped from the outbox at its
    bound but kept in the spool (forwarded once the outbox is empty)."""
    if h is None:
        return 0
    return h.pending + h.backlog_minutes + h.spool_only_minutes


def clock_offset_of(h: AgentHealth | None) -> float | None:
    """The agent's clock minus the database's, as its forwarder last measured it."""
    return None if h is None else h.clock_offset_seconds


def version_of(h: AgentHealth | None) -> str | None:
    return None if h is None else h.version
