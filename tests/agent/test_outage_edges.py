"""The agent's live outage tracker and rule 8 find the same edges in the same minutes.

Each case is a stream of one agent's minute verdicts. The tracker is fed them in
order (as the runner does); rule 8 (``core.outages.build_outages``) is run over the
same minutes as the store would hold them (a minute with no verdict is unknown).
Their starts, ends and minutes must agree. Before, an unknown minute (the canary
failed, or the agent was off) neither started nor ended the tracker's outage, so
a webhook said one outage where ``slawatch outages`` said two.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.incidents import OutageEvent, OutageTracker
from agent.verdict import Verdict
from core.config import Config
from core.configfile import load_config
from core.outages import build_outages, run_table
from core.status import DEGRADED, DOWN, UNKNOWN, UP
from core.timeutil import from_minute, to_minute
from tests import configs
from tests.conftest import write_config

ORIGIN = to_minute(datetime(2026, 10, 14, 12, 0, tzinfo=UTC))

CONFIG = configs.toml(
    storage="x.db",
    contracts=[configs.contract()],
    services=[configs.service(monthly_fee="100.00", probe="http://127.0.0.1:9/")],
)

D, U, G, Q, N = DOWN, UP, DEGRADED, UNKNOWN, None  # N: no verdict at all for that minute

STREAMS = [
    pytest.param([U, D, D, Q, D, D, U], id="unknown-minute-inside"),
    pytest.param([U, D, D, N, N, D, U], id="agent-off-inside"),
    pytest.param([D, D, G, D, U, U], id="degraded-ends-it"),
    pytest.param([U, D, Q, Q, U, D], id="unknown-then-up-then-down"),
    pytest.param([D, U, D, U, D, D, D], id="short-runs"),
]


def _verdicts(stream: list[int | None]) -> list[Verdict]:
    return [
        Verdict("portal", ORIGIN + i, s, None, "status:503" if s == DOWN else None, 1)
        for i, s in enumerate(stream)
        if s is not None
    ]


def _tracked(
    config: Config, stream: list[int | None]
) -> list[tuple[datetime, datetime | None, int]]:
    tracker = OutageTracker(config)
    events: list[OutageEvent] = []
    for v in _verdicts(stream):
        events += tracker.observe(v)
    events += tracker.observe(Verdict("portal", ORIGIN + len(stream), UP, None, None, 1))
    starts = [e for e in events if e.event == "start"]
    ends = [e for e in events if e.event == "end"]
    assert [e.start for e in ends] == [e.start for e in starts]  # each start has its end
    return [(e.start, e.end, e.minutes) for e in ends]


def _rule8(config: Config, stream: list[int | None]) -> list[tuple[datetime, datetime | None, int]]:
    contract = config.contract_for("portal")
    status = bytes(UNKNOWN if s is None else s for s in stream)
    marks = status.translate(run_table(contract.degraded_is_down))  # no windows here
    outages = build_outages(
        service="portal",
        marks=marks,
        origin=ORIGIN,
        month=(ORIGIN, ORIGIN + len(stream)),
        cases=(),
        report_within=contract.report_within,
    )
    return [(o.start, o.end, o.minutes) for o in outages]


@pytest.mark.parametrize("stream", STREAMS)
def test_tracker_and_rule_8_agree(tmp_path: Path, stream: list[int | None]) -> None:
    config = load_config(write_config(tmp_path, CONFIG))
    assert _tracked(config, stream) == _rule8(config, stream)


def test_unknown_minute_ends_the_live_outage(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, CONFIG))
    (first, second) = _tracked(config, [U, D, D, Q, D, U])
    assert first == (from_minute(ORIGIN + 1), from_minute(ORIGIN + 3), 2)
    assert second == (from_minute(ORIGIN + 4), from_minute(ORIGIN + 5), 1)


def test_a_probe_every_five_minutes_is_one_outage(tmp_path: Path) -> None:
    """The documented difference: no verdict is due between two probes five minutes apart."""
    config = load_config(write_config(tmp_path, CONFIG))
    svc = config.services["portal"]
    assert svc.probe is not None
    slow = replace(svc, probe=replace(svc.probe, interval=timedelta(minutes=5)))
    config = replace(config, services={"portal": slow})
    stream: list[int | None] = [D, N, N, N, N, D, N, N, N, N, D, N, N, N, N, U]
    assert _tracked(config, stream) == [(from_minute(ORIGIN), from_minute(ORIGIN + 11), 3)]
