"""Votes across vantage points (core.vantage) and the fleet's flags (core.fleet)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.fleet import AGENT_SILENT, CLOCK_OFFSET_LIMIT, agent_flags, clock_flagged
from core.status import DEGRADED, DOWN, UP
from core.vantage import Probe, vantage

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
EVERY = timedelta(seconds=30)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def test_one_agent_down_of_three_is_outvoted() -> None:
    v = vantage(
        [Probe("c", UP, ago(5)), Probe("b", DOWN, ago(3)), Probe("a", UP, ago(4))], NOW, EVERY
    )
    assert [x.agent for x in v.votes] == ["a", "b", "c"]
    assert [x.state for x in v.votes] == ["up", "down", "up"]
    assert v.state == "up"
    assert v.summary == "1/3 down"
    assert [x.agent for x in v.dissent()] == ["b"]
    assert v.to_json()[1] == {
        "agent": "b",
        "state": "down",
        "last_probe_at": "2026-11-22T09:29:57Z",
    }


def test_two_of_three_down_is_down() -> None:
    v = vantage(
        [Probe("a", DOWN, ago(5)), Probe("b", DOWN, ago(3)), Probe("c", UP, ago(4))], NOW, EVERY
    )
    assert (v.state, v.summary) == ("down", "2/3 down")
    assert [x.agent for x in v.dissent()] == ["c"]


def test_a_stale_vote_does_not_count_and_shrinks_the_denominator() -> None:
    # c went quiet more than three intervals ago while it saw the service down.
    probes = [Probe("a", DOWN, ago(5)), Probe("b", UP, ago(3)), Probe("c", DOWN, ago(91))]
    v = vantage(probes, NOW, EVERY)
    assert [x.state for x in v.votes] == ["down", "up", "unknown"]
    assert (v.state, v.summary, v.stale) == ("up", "1/2 down", False)
    # Exactly three intervals old is still fresh.
    assert vantage([Probe("c", DOWN, ago(90))], NOW, EVERY).state == "down"


def test_every_vote_stale_is_unknown_and_stale() -> None:
    v = vantage([Probe("a", UP, ago(600)), Probe("b", UP, ago(700))], NOW, EVERY)
    assert (v.state, v.stale, v.summary) == ("unknown", True, "0/2 fresh")


def test_degraded_by_quorum_and_the_latest_probe_of_an_agent_wins() -> None:
    probes = [
        Probe("a", DEGRADED, ago(2)),
        Probe("a", UP, ago(20)),  # older: ignored
        Probe("b", DOWN, ago(2)),
        Probe("c", UP, ago(2)),
    ]
    v = vantage(probes, NOW, EVERY)
    assert [x.state for x in v.votes] == ["degraded", "down", "up"]
    assert (v.state, v.summary) == ("degraded", "1/3 down")  # 2 of 3 say degraded or worse


def test_single_agent_has_no_summary_and_no_interval_never_goes_stale() -> None:
    v = vantage([Probe("agent", DOWN, ago(10_000))], NOW, None)
    assert (v.state, v.summary, v.stale) == ("down", None, False)
    assert vantage([], NOW, EVERY).state == "unknown"


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        vantage([Probe("a", UP, datetime(2026, 11, 22, 9, 29))], NOW, EVERY)  # noqa: DTZ001


def test_clock_flag_past_the_limit_either_way() -> None:
    assert CLOCK_OFFSET_LIMIT == 5.0
    assert not clock_flagged(None)
    assert not clock_flagged(5.0) and not clock_flagged(-4.9)
    assert clock_flagged(5.1) and clock_flagged(-12.0)


def test_agent_flags() -> None:
    assert agent_flags(NOW, NOW, 0, 0.2) == ()
    assert agent_flags(NOW - AGENT_SILENT, NOW, 0, None) == ()
    late = NOW - AGENT_SILENT - timedelta(seconds=1)
    assert agent_flags(late, NOW, 17, -8.0) == ("clock", "silent", "backlog")


def test_a_clock_offset_that_rounds_to_zero_is_never_shown_negative() -> None:
    """`fleet status` showed '-0.0 s' for an agent 1 ms behind, which reads as a fault."""
    from core.fleet import offset_text

    assert offset_text(-0.001) == "+0.0 s" and offset_text(-0.049) == "+0.0 s"
    assert offset_text(0.0) == "+0.0 s" and offset_text(None) == "-"
    assert offset_text(-0.2) == "-0.2 s" and offset_text(31.04) == "+31.0 s"
