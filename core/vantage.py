"""Votes across vantage points: what each agent last saw of a service, and rule 3 over them.

In fleet mode every agent (vantage point) is a source: its latest probe of a
service is its vote. A vote older than ``STALE_PROBES`` probe intervals is
stale: the agent has stopped reporting the service (stopped, cut off, or its
forwarder is behind), so it reads as unknown and does not vote. The live
state is rule 3 (``core.month.combine_sources``) over the fresh votes, the
same rule that decides each recorded minute, so what the dashboard and
``status --json`` show now is what the month report will count.

``Vantage.summary`` is the one-line picture for a table: ``2/3 down`` (two
of the three agents with a fresh verdict say down). A service probed by one
agent has no summary: a single machine's dashboard looks as it always did.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.month import combine_sources
from core.status import DEGRADED, DOWN, UNKNOWN, UP, StatusName, name_of
from core.timeutil import iso_z

STALE_PROBES = 3  # a vote older than this many probe intervals is stale


@dataclass(frozen=True)
class Probe:
    """One agent's latest probe of one service (``status``: a ``core.status`` code)."""

    agent: str
    status: int
    at: datetime


@dataclass(frozen=True)
class Vote:
    """An agent's latest word on a service, as of some instant."""

    agent: str
    status: int
    at: datetime
    stale: bool

    @property
    def code(self) -> int:
        """The vote rule 3 counts: unknown once stale."""
        return UNKNOWN if self.stale else self.status

    @property
    def state(self) -> StatusName:
        return name_of(self.code)

    def to_json(self) -> dict[str, Any]:
        return {"agent": self.agent, "state": self.state, "last_probe_at": iso_z(self.at)}


@dataclass(frozen=True)
class Vantage:
    """Every agent's vote on one service (ordered by agent name) and the verdict."""

    votes: tuple[Vote, ...]

    @property
    def code(self) -> int:
        """Rule 3 over the votes: unknown when no agent has a fresh verdict."""
        if not self.votes:
            return UNKNOWN
        return combine_sources([bytes([v.code]) for v in self.votes])[0]

    @property
    def state(self) -> StatusName:
        return name_of(self.code)

    @property
    def stale(self) -> bool:
        """Every agent's vote is stale (none has probed the service lately)."""
        return bool(self.votes) and all(v.stale for v in self.votes)

    def count(self, code: int) -> int:
        return sum(v.code == code for v in self.votes)

    @property
    def voting(self) -> int:
        """Agents with a fresh verdict (the denominator of the summary)."""
        return sum(v.code != UNKNOWN for v in self.votes)

    @property
    def summary(self) -> str | None:
        """``2/3 down``: the worst word any fresh vote says, and how many say it.

        None for a service seen by fewer than two agents; ``0/3`` when three
        agents probe it and none has a fresh verdict.
        """
        if len(self.votes) < 2:
            return None
        n = self.voting
        for code in (DOWN, DEGRADED, UP):
            if k := self.count(code):
                return f"{k}/{n} {name_of(code)}"
        return f"0/{len(self.votes)} fresh"

    def dissent(self) -> tuple[Vote, ...]:
        """The fresh votes that disagree with the verdict."""
        verdict = self.code
        return tuple(v for v in self.votes if v.code not in (UNKNOWN, verdict))

    def to_json(self) -> list[dict[str, Any]]:
        return [v.to_json() for v in self.votes]


NO_VOTES = Vantage(())


def vantage(probes: Iterable[Probe], now: datetime, interval: timedelta | None) -> Vantage:
    """The votes of ``probes`` (one per agent: the latest wins) as of ``now``.

    ``interval`` is the service's probe interval; None (a service the agents
    do not probe, only imported) never goes stale.
    """
    latest: dict[str, Probe] = {}
    for p in probes:
        if now.tzinfo is None or p.at.tzinfo is None:
            raise ValueError("naive datetime")
        if p.agent not in latest or p.at > latest[p.agent].at:
            latest[p.agent] = p
    limit = None if interval is None else STALE_PROBES * max(interval, timedelta(seconds=1))
    votes = tuple(
        Vote(p.agent, p.status, p.at, limit is not None and now - p.at > limit)
        for p in sorted(latest.values(), key=lambda p: p.agent)
    )
    return Vantage(votes)
