"""Rule 8: outages as maximal runs of down minutes, reported or not.

Runs are found on the *measured* status, before exclusions, with one regular
expression over a byte string, so a month is scanned at C speed:

- ``D`` down (or degraded, when it counts as down) and not excluded;
- ``E`` measured down but inside a maintenance window or an exclusion;
- ``X`` any other excluded minute (up, degraded, unknown);
- ``.`` anything else.

A run starts at its first measured-down minute (``D`` or ``E``) even when that
minute is excluded, so a failure that begins during maintenance and outlasts it
is one outage starting when it began, and a case opened during its excluded
part reports it. It ends after its last measured-down minute. An excluded
minute inside a run neither ends it nor counts; only ``D`` minutes count, and a
run with none (wholly inside windows) is no outage.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.calendar import report_by, report_within_text
from core.cases import Case
from core.config import ReportWithin
from core.status import DEGRADED, DOWN
from core.timeutil import from_minute, iso_z
from core.windows import EXCLUDED

_RUN_RE = re.compile(rb"[DE](?:X*[DE])*")
ONGOING_GRACE = 5  # minutes: an agent writes a minute's verdict shortly after it closes


@dataclass(frozen=True)
class Outage:
    id: str  # stable: f"{service}-{start:%Y%m%dT%H%MZ}"
    service: str
    start: datetime  # the first measured-down minute (maybe excluded, maybe last month)
    end: datetime  # exclusive: the minute after the last down minute
    minutes: int  # non-excluded down minutes inside the month being reported
    reported: bool
    case_id: int | None
    report_by: datetime  # start + the contract's report_within (``core.calendar.report_by``)
    # Still in progress: no verdict after its last down minute, which is recent
    # (``ONGOING_GRACE``). ``end`` is then where the records stop, not an end.
    ongoing: bool = False
    # Why a case that would have reported it does not (its channel is not one the
    # contract takes reports through); None otherwise.
    unreported_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "service": self.service,
            "start": iso_z(self.start),
            "end": None if self.ongoing else iso_z(self.end),
            "ongoing": self.ongoing,
            "minutes": self.minutes,
            "reported": self.reported,
            "case_id": self.case_id,
            "report_by": iso_z(self.report_by),
            # only when there is a reason: bundles exported before it still verify
            **({"unreported_reason": self.unreported_reason} if self.unreported_reason else {}),
        }

    def reportable(self, now: datetime) -> bool:
        """Unreported and still inside its report window: the dashboard's warning."""
        return not self.reported and now <= self.report_by


def run_table(degraded_is_down: bool) -> bytes:
    """``bytes.translate`` table: window code -> ``D``, ``E``, ``X`` or ``.``.

    A window code (``core.windows.window_codes``) is the measured status, with
    ``EXCLUDED`` or-ed in for a minute inside a window, so the measured status
    of an excluded minute is still there to start or continue a run.
    """
    table = bytearray(b"." * 256)
    bad = (DOWN, DEGRADED) if degraded_is_down else (DOWN,)
    for code in range(4):
        table[code | EXCLUDED] = ord("E") if code in bad else ord("X")
        if code in bad:
            table[code] = ord("D")
    return bytes(table)


def find_runs(marks: bytes) -> list[tuple[int, int]]:
    """[start, end) offsets of the maximal runs in a ``D``/``X``/``.`` string."""
    return [m.span() for m in _RUN_RE.finditer(marks)]


class CaseIndex:
    """One service's cases arranged to answer "which case reported [start, end)?" fast.

    A case linked to a span overlapping the outage comes first; otherwise the
    earliest case opened at or after its start and no later than
    ``report_within`` after it. Ties go to the earlier case, then the lower id.
    With ``channels`` (the contract's ``report_channels``), only a case opened
    through one of them reports anything; ``refused`` says which other case
    would have.
    """

    def __init__(
        self,
        cases: Sequence[Case],
        service: str,
        report_within: ReportWithin,
        channels: Collection[str] | None = None,
    ) -> None:
        own = sorted((c for c in cases if c.service == service), key=_case_order)
        self.channels = channels
        self._ok = _Reporters([c for c in own if channels is None or c.channel in channels])
        self._refused = _Reporters(
            [c for c in own if channels is not None and c.channel not in channels]
        )
        self._within = report_within

    def reporting_case(self, start: int, end: int) -> Case | None:
        return self._ok.find(start, end, self._within)

    def refused(self, start: int, end: int) -> Case | None:
        """The case that would have reported [start, end) but came through another channel."""
        return self._refused.find(start, end, self._within)


class _Reporters:
    def __init__(self, ordered: Sequence[Case]) -> None:
        self._links = [(a, b, c) for c in ordered for a, b in c.links]
        self._opened = [c.opened_at for c in ordered]
        self._cases = ordered

    def find(self, start: int, end: int, within: ReportWithin) -> Case | None:
        linked = [c for a, b, c in self._links if a < end and start < b]
        if linked:
            return min(linked, key=_case_order)
        first = from_minute(start)
        i = bisect_left(self._opened, first)
        if i < len(self._opened) and self._opened[i] <= report_by(within, first):
            return self._cases[i]
        return None


def _case_order(case: Case) -> tuple[datetime, int]:
    return (case.opened_at, case.id)


def reporting_case(
    cases: Sequence[Case],
    service: str,
    start: int,
    end: int,
    report_within: ReportWithin,
    channels: Collection[str] | None = None,
) -> Case | None:
    """The case that reported the outage [start, end) (epoch minutes), if any (rule 8)."""
    return CaseIndex(cases, service, report_within, channels).reporting_case(start, end)


def reporting_rule(within: ReportWithin, channels: Collection[str] | None) -> str:
    """Rule 8's reporting condition in words: ``reported within 72h (report_within, the
    configured reading of the contract's "promptly"), by email``."""
    by = "" if channels is None else f", by {' or '.join(channels)}"
    return f"reported within {report_within_text(within)}{by}"


def refusal(case: Case, channels: Collection[str]) -> str:
    """Why ``case`` reports nothing: the channel it came through is not the contract's."""
    return (
        f"case {case.id} was opened by {case.channel}; the contract takes reports "
        f"by {' or '.join(channels)} only"
    )


# The agent's live tracker (``agent.incidents``) notifies outage starts and ends by
# these edges as the minutes come in: an unknown minute, or a minute with no verdict
# where one was due, ends a run there as it does here. It differs only where it
# cannot know what this rule reads from the store (maintenance and exclusions: its
# ``minutes`` count excluded down minutes too) and for probes less often than once a
# minute (it bridges the minutes no probe was due in); its docstring says exactly.
def build_outages(
    *,
    service: str,
    marks: bytes,
    origin: int,
    month: tuple[int, int],
    cases: Sequence[Case],
    report_within: ReportWithin,
    horizon: int | None = None,
    now: int | None = None,
    report_channels: Collection[str] | None = None,
) -> tuple[Outage, ...]:
    """The outages with down minutes inside ``month`` ([start, end) epoch minutes).

    ``marks`` covers the minutes from ``origin`` and may reach before and after the
    month, so an outage that crosses a month boundary keeps its true start and end
    while ``minutes`` counts only its own minutes in this month.

    ``horizon`` is the epoch minute after the last minute any source recorded; an
    outage ending there is ongoing when ``now`` (epoch minute) is at most
    ``ONGOING_GRACE`` minutes past it: nothing says it has ended.
    """
    lo, hi = month[0] - origin, month[1] - origin
    index = CaseIndex(cases, service, report_within, report_channels)
    out = []
    for a, b in find_runs(marks):
        if b <= lo or a >= hi:
            continue
        minutes = marks.count(b"D", max(a, lo), min(b, hi))
        if minutes == 0:
            continue
        start, end = origin + a, origin + b
        case = index.reporting_case(start, end)
        refused = None if case is not None else index.refused(start, end)
        first = from_minute(start)
        out.append(
            Outage(
                id=f"{service}-{first:%Y%m%dT%H%MZ}",
                service=service,
                start=first,
                end=from_minute(end),
                minutes=minutes,
                reported=case is not None,
                case_id=None if case is None else case.id,
                report_by=report_by(report_within, first),
                ongoing=(
                    horizon is not None
                    and now is not None
                    and end == horizon
                    and now - horizon <= ONGOING_GRACE
                ),
                unreported_reason=(
                    None
                    if refused is None or report_channels is None
                    else refusal(refused, report_channels)
                ),
            )
        )
    return tuple(out)
