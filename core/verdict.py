"""The minute rule: several observations of one service in one minute -> one status.

The one rule every recorder of minutes shares, so that a minute means the same
whoever measured it: the agent's own probes (``agent.verdict.fold``) and the
histories imported from other monitors (``slawatch.importers``: Uptime Kuma
heartbeats, Prometheus samples).

Of ``observations`` in the minute, ``failed`` failed and ``slow`` worked but
slowly (or, for an imported monitor, failed without being confirmed yet):

* down when strictly more than half failed;
* degraded when strictly more than half failed or were slow;
* up otherwise.

The minute's latency is the median of the latencies of the observations that
got an answer (rounded to the millisecond), None when none did.

A minute with no observation has no verdict (unknown): it is never passed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import median

from core.status import DEGRADED, DOWN, UP


def minute_status(observations: int, failed: int, slow: int) -> int:
    """The ``core.status`` code of a minute with at least one observation."""
    if observations <= 0:
        raise ValueError("a minute's verdict needs at least one observation")
    if failed < 0 or slow < 0 or failed + slow > observations:
        raise ValueError("failed and slow must be counts within the observations")
    if 2 * failed > observations:
        return DOWN
    if 2 * (failed + slow) > observations:
        return DEGRADED
    return UP


def median_latency(answered: Sequence[int]) -> int | None:
    """The minute's latency in ms from the answered observations' latencies."""
    return round(median(answered)) if answered else None
