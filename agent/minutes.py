"""The minute book: probe results grouped by minute until the minute can be judged.

A probe belongs to the minute its first attempt started in. A minute is ready
to be judged once the clock has moved past it and none of its probes is still
running (confirmation retries can carry a probe into the next minute), and
minutes are handed out strictly in order, so the outage tracker sees each
service's minutes in sequence.
"""

from __future__ import annotations

from collections import Counter

from agent.probe import ProbeResult


class MinuteBook:
    def __init__(self) -> None:
        self._results: dict[int, dict[str, list[ProbeResult]]] = {}
        self._running: Counter[int] = Counter()

    def begin(self, minute: int) -> None:
        """A probe of ``minute`` started."""
        self._running[minute] += 1

    def finish(self, minute: int, service: str, result: ProbeResult | None) -> None:
        """A probe of ``minute`` ended (``result`` None when it was cancelled)."""
        self._running[minute] -= 1
        if self._running[minute] <= 0:
            del self._running[minute]
        if result is not None:
            self._results.setdefault(minute, {}).setdefault(service, []).append(result)

    def add(self, minute: int, service: str, result: ProbeResult) -> None:
        """File a result measured earlier (by this agent before a restart)."""
        self._results.setdefault(minute, {}).setdefault(service, []).append(result)

    @property
    def running(self) -> int:
        return sum(self._running.values())

    def ready(self, now_minute: int) -> list[int]:
        """Minutes before ``now_minute`` that can be judged, oldest first, without gaps
        in readiness: a minute with a probe still running holds back the later ones."""
        out: list[int] = []
        for minute in sorted(set(self._results) | set(self._running)):
            if minute >= now_minute or self._running.get(minute):
                break
            if minute in self._results:
                out.append(minute)
        return out

    def take(self, minute: int) -> dict[str, list[ProbeResult]]:
        """Remove and return a minute's results, by service."""
        return self._results.pop(minute, {})

    def remaining(self) -> list[int]:
        """Every minute still holding results, oldest first (used at shutdown)."""
        return sorted(self._results)


class JudgedMinutes:
    """The clock-back guard: the minutes this agent has judged, so that none is ever
    recorded twice, however the wall clock moves.

    Minutes are judged in order, so this is the latest one judged (``upto``, kept in
    the database across a restart) and the stretches below it that were never judged
    (``holes``): a clock that ran ahead (an RTC kept in local time, NTP not yet synced
    at boot) judged minutes hours ahead, and once it is set right the minutes it
    skipped, never recorded, are recorded as measured rather than dropped as if they
    had been. At most ``MAX_HOLES`` holes are kept, the smallest forgotten first (a
    service probed every 5 minutes leaves 4-minute holes; a clock jump, one large one).
    The holes live in memory: after a restart only ``upto`` is known.
    """

    MAX_HOLES = 16

    def __init__(self) -> None:
        self.upto = -1
        self._holes: list[tuple[int, int]] = []  # (first, last) never judged, below upto

    def covers(self, minute: int) -> bool:
        """Whether ``minute`` was judged already (or is below what is known)."""
        if minute > self.upto:
            return False
        return not any(first <= minute <= last for first, last in self._holes)

    def add(self, minute: int) -> None:
        """``minute`` has been judged."""
        if minute > self.upto:
            if self.upto >= 0 and minute > self.upto + 1:
                self._holes.append((self.upto + 1, minute - 1))
                if len(self._holes) > self.MAX_HOLES:
                    self._holes.remove(min(self._holes, key=lambda h: h[1] - h[0]))
            self.upto = minute
            return
        for i, (first, last) in enumerate(self._holes):
            if first <= minute <= last:
                rest = [(a, b) for a, b in ((first, minute - 1), (minute + 1, last)) if a <= b]
                self._holes[i : i + 1] = rest
                return
