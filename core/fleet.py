"""What makes an agent of a fleet worth a look: pure flags over its last word.

- ``clock``: its clock is off by more than ``CLOCK_OFFSET_LIMIT`` seconds. An
  agent files each verdict under the epoch minute its own clock reads, so a
  clock 30 s off puts half its verdicts in the neighbouring minute, where rule
  3 counts them against the other agents' verdicts of a different minute. 5 s
  keeps the mis-filed share of a minute under a tenth while leaving room for
  the jitter of measuring the offset over a network; NTP keeps a healthy
  server within milliseconds, so an agent past 5 s has a real clock problem.
- ``silent``: nothing heard from it for longer than ``AGENT_SILENT`` (an
  agent records its health every minute): stopped, cut off from the
  database, or unable to write.
- ``backlog``: it holds minutes not yet in the database (its spool is
  forwarding, or the database is unreachable).
"""

from __future__ import annotations

from datetime import datetime, timedelta

CLOCK_OFFSET_LIMIT = 5.0  # seconds, either way
AGENT_SILENT = timedelta(minutes=3)


def clock_flagged(offset_seconds: float | None) -> bool:
    """Whether a measured clock offset is too large (None: not measured, not flagged)."""
    return offset_seconds is not None and abs(offset_seconds) > CLOCK_OFFSET_LIMIT


def offset_text(seconds: float | None) -> str:
    """A clock offset as the fleet's tables show it: ``+1.2 s``, ``-0.4 s``, ``+0.0 s``
    for anything that rounds to zero (never ``-0.0 s``, which reads as a fault), ``-``
    when not measured."""
    if seconds is None:
        return "-"
    shown = round(seconds, 1)
    return f"{shown + 0.0 if shown else 0.0:+.1f} s"


def on_database_clock(at: datetime, offset_seconds: float | None) -> datetime:
    """An instant an agent stamped by its own clock, read on the database's: less the
    offset its forwarder measured (the agent's clock minus the database's); as stamped
    when none is measured. Its last seen, and its votes' age (``core.vantage``), are
    judged on this clock, so an agent minutes off goes silent and stale on time; its
    minutes stay filed by its own clock (the ``clock`` flag warns of that)."""
    return at if offset_seconds is None else at - timedelta(seconds=offset_seconds)


def agent_flags(
    last_seen: datetime, now: datetime, backlog_minutes: int, clock_offset_seconds: float | None
) -> tuple[str, ...]:
    """The flags of one agent, in a fixed order: ``clock``, ``silent``, ``backlog``."""
    flags: list[str] = []
    if clock_flagged(clock_offset_seconds):
        flags.append("clock")
    if now - last_seen > AGENT_SILENT:
        flags.append("silent")
    if backlog_minutes > 0:
        flags.append("backlog")
    return tuple(flags)


def recording_lag(interval: timedelta | None) -> timedelta:
    """How far the newest recorded minute of a probed service may lag ``now`` before
    its figures are no longer current: an agent writes a minute once it is over
    (a minute, plus its flush), and a service probed less often than each minute
    has a record only where a probe fell; past ``AGENT_SILENT`` or three probe
    intervals, whichever is longer, the agent has stopped recording it."""
    return max(AGENT_SILENT, 3 * (interval or timedelta(0))) + timedelta(minutes=1)


def not_recording(
    recorded_until: datetime | None, now: datetime, interval: timedelta | None
) -> bool:
    """Whether a probed service's minutes have stopped arriving (``recorded_until``:
    the end of its newest recorded minute; None, nothing recorded: not flagged
    here, the month's coverage says it)."""
    return recorded_until is not None and now - recorded_until > recording_lag(interval)
