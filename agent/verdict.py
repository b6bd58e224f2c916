"""Minute verdicts: the probes of one service in one minute folded into one status.

Pure functions, so the rules can be tested without a network or a clock:

* ``fold``: the minute rule of ``core.verdict``, shared with the importers:
  down when strictly more than half of the minute's probes failed, degraded
  when strictly more than half were slow or failed, else up. The latency is
  the median of the probes that answered; the error is the most common
  failure class (``"slow"`` for a degraded minute with no failure).
* a probe that failed with ``proxy`` (the agent's proxy could not be reached)
  measured nothing about the provider: it is left out of the fold like a probe
  that never ran, and a minute with nothing else is UNKNOWN (error ``proxy``),
  the same answer the canary rule gives for the agent's own broken network.
* ``apply_canary``: when every service probed in a minute failed, all in the
  same way (those already UNKNOWN left out), and the agent's canary failed too,
  the fault is the agent's own network, so each of those minutes becomes
  UNKNOWN instead of DOWN: the provider is not blamed for the customer's broken
  network.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from agent.probe import ProbeResult
from core.status import DEGRADED, DOWN, UNKNOWN
from core.verdict import median_latency, minute_status

CANARY_ERROR = "canary"
"""Error class of a minute made unknown by the canary rule (kept with the record)."""

AGENT_ERRORS = frozenset({"proxy"})
"""Failure classes that are the agent's own network's, never the provider's."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """One service's status for one minute, as this agent will record it."""

    service: str
    minute: int  # UTC epoch minute
    status: int  # core.status code
    latency_ms: int | None
    error: str | None
    probes: int  # how many probes the verdict folds


def fold(service: str, minute: int, results: Sequence[ProbeResult]) -> Verdict:
    """Fold one minute's probe results (at least one) into a verdict."""
    if not results:
        raise ValueError("a verdict needs at least one probe result")
    measured = [r for r in results if not (r.status == DOWN and r.error in AGENT_ERRORS)]
    if not measured:
        why = Counter(r.error for r in results).most_common(1)[0][0]
        return Verdict(service, minute, UNKNOWN, None, why, len(results))
    probes = len(results)
    results = measured
    n = len(results)
    failed = [r for r in results if r.status == DOWN]
    slow = sum(1 for r in results if r.status == DEGRADED)
    status = minute_status(n, len(failed), slow)
    answered = [r.latency_ms for r in results if r.status != DOWN and r.latency_ms is not None]
    latency = median_latency(answered)
    error: str | None = None
    if failed:
        error = Counter(r.error for r in failed).most_common(1)[0][0]
    elif status == DEGRADED:
        error = "slow"
    return Verdict(service, minute, status, latency, error, probes)


def all_failing_alike(verdicts: Sequence[Verdict]) -> bool:
    """Every verdict that measured something is DOWN, all with the same error class.
    UNKNOWN ones (a dead proxy: the agent's own network) measured nothing about
    their providers, so they neither count for nor against the rule."""
    measured = [v for v in verdicts if v.status != UNKNOWN]
    return (
        bool(measured)
        and all(v.status == DOWN for v in measured)
        and (len({v.error for v in measured}) == 1)
    )


def apply_canary(verdicts: Sequence[Verdict], canary_failed: bool | None) -> list[Verdict]:
    """The canary rule for one minute's verdicts (all services probed in that minute).

    ``canary_failed`` is None when no canary is configured: the rule needs the
    canary's word, so without one every DOWN stays DOWN.
    """
    if canary_failed and all_failing_alike(verdicts):
        return [
            v if v.status == UNKNOWN else replace(v, status=UNKNOWN, error=CANARY_ERROR)
            for v in verdicts
        ]
    return list(verdicts)
