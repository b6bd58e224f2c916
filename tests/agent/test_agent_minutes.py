"""The agent judged minute by minute with an injected clock, against real targets and SQLite."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agentkit import ConfigFactory, Target, closed_port, quick

from agent import Agent
from agent.minutes import JudgedMinutes, MinuteBook
from agent.probe import ProbeResult
from agent.verdict import CANARY_ERROR, Verdict, apply_canary, fold
from core.status import DEGRADED, DOWN, UNKNOWN, UP
from core.timeutil import from_minute, to_minute
from store.rows import ProbeState
from store.sqlite import SqliteStore

T0 = datetime(2026, 11, 2, 9, 0, 10, tzinfo=UTC)
M0 = to_minute(T0)


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def to_minute(self, minute: int, second: int = 10) -> None:
        self.now = from_minute(minute) + timedelta(seconds=second)


def r(status: int, latency: int | None = 10, error: str | None = None) -> ProbeResult:
    return ProbeResult(T0, status, latency, error)


def test_fold_majorities() -> None:
    assert fold("s", M0, [r(UP), r(DOWN, None, "timeout"), r(DOWN, None, "timeout")]).status == DOWN
    half = fold("s", M0, [r(UP), r(DOWN, None, "timeout")])
    assert (half.status, half.error) == (UP, "timeout")  # one of two is not "most"
    slow = fold("s", M0, [r(DEGRADED, 900, "slow"), r(DOWN, None, "connect"), r(UP, 20)])
    assert (slow.status, slow.error, slow.latency_ms) == (DEGRADED, "connect", 460)
    assert fold("s", M0, [r(DEGRADED, 900, "slow")]).error == "slow"


def test_canary_rule_is_pure() -> None:
    alike = [Verdict(s, M0, DOWN, None, "connect", 1) for s in ("a", "b")]
    assert [v.status for v in apply_canary(alike, True)] == [UNKNOWN, UNKNOWN]
    assert {v.error for v in apply_canary(alike, True)} == {CANARY_ERROR}
    assert [v.status for v in apply_canary(alike, False)] == [DOWN, DOWN]
    assert [v.status for v in apply_canary(alike, None)] == [DOWN, DOWN]
    mixed = [alike[0], Verdict("b", M0, DOWN, None, "status:503", 1)]
    assert [v.status for v in apply_canary(mixed, True)] == [DOWN, DOWN]
    some_up = [alike[0], Verdict("b", M0, UP, 5, None, 1)]
    assert [v.status for v in apply_canary(some_up, True)] == [DOWN, UP]


def test_the_canary_rule_leaves_out_what_measured_nothing() -> None:
    """A service behind a dead proxy is already UNKNOWN (``proxy``: the agent's own
    network). With the canary failing too, the others failing alike are the agent's
    network as well; before, that one UNKNOWN made them stay DOWN, blamed on providers."""
    alike = [Verdict(s, M0, DOWN, None, "connect", 1) for s in ("a", "b")]
    proxied = Verdict("c", M0, UNKNOWN, None, "proxy", 1)
    out = apply_canary([*alike, proxied], True)
    assert [(v.status, v.error) for v in out] == [
        (UNKNOWN, CANARY_ERROR),
        (UNKNOWN, CANARY_ERROR),
        (UNKNOWN, "proxy"),
    ]
    assert [v.status for v in apply_canary([*alike, proxied], False)] == [DOWN, DOWN, UNKNOWN]
    assert apply_canary([proxied], True) == [proxied]  # nothing measured: nothing to change


def test_minute_book_waits_for_running_probes() -> None:
    book = MinuteBook()
    book.begin(M0)
    book.begin(M0 + 1)
    book.finish(M0 + 1, "a", r(UP))
    assert book.ready(M0 + 5) == []  # M0 still running holds back M0 + 1
    book.finish(M0, "a", r(UP))
    assert book.ready(M0 + 1) == [M0]  # the current minute is never ready
    assert book.ready(M0 + 5) == [M0, M0 + 1]


def test_judged_minutes_know_the_holes_a_clock_jump_left() -> None:
    judged = JudgedMinutes()
    assert not judged.covers(M0)
    for m in (M0, M0 + 1, M0 + 120):  # the clock ran two hours ahead
        judged.add(m)
    assert judged.covers(M0) and judged.covers(M0 + 1) and judged.covers(M0 + 120)
    assert not any(judged.covers(m) for m in range(M0 + 2, M0 + 120))  # never judged
    judged.add(M0 + 50)  # set right, the skipped minutes are judged as they come
    assert judged.covers(M0 + 50) and not judged.covers(M0 + 49) and not judged.covers(M0 + 51)
    assert not judged.covers(M0 + 121)
    for i in range(1, 40):  # many small holes later (a sparse interval)...
        judged.add(M0 + 120 + 3 * i)
    assert not judged.covers(M0 + 60)  # ...forget the smallest first, never the jump's
    assert len(judged._holes) == JudgedMinutes.MAX_HOLES


async def stored(path: Path, service: str, start: int, end: int) -> list[int]:
    async with await SqliteStore.open(path, readonly=True) as store:
        return list((await store.minutes(service, start, end)).get("probe-1", bytes(end - start)))


async def probe_minute(agent: Agent, clock: Clock, minute: int) -> list[Verdict]:
    clock.to_minute(minute)
    for name in sorted(agent.targets):
        await agent.probe_service(name)
    clock.to_minute(minute + 1, 0)
    return await agent.tick()


async def test_a_minute_is_written_once_it_is_over_and_gaps_stay_unknown(
    make_config: ConfigFactory, target: Target
) -> None:
    config = make_config({"web": quick(target.url("/ok"))})
    clock = Clock()
    agent = Agent(config, clock=clock)
    await agent.probe_service("web")
    assert await agent.tick() == []  # the minute is not over yet
    assert await stored(config.storage_path, "web", M0, M0 + 1) == [0]
    await probe_minute(agent, clock, M0 + 1)
    assert await agent.stop()
    # The agent is down for minutes M0+2..M0+4, then a new one starts.
    clock.to_minute(M0 + 5)
    again = Agent(config, clock=clock)
    await again.probe_service("web")
    assert await again.stop()  # shutdown judges the unfinished current minute too
    assert await stored(config.storage_path, "web", M0, M0 + 7) == [UP, UP, 0, 0, 0, UP, 0]


async def test_canary_turns_a_shared_failure_into_unknown(
    make_config: ConfigFactory, target: Target
) -> None:
    dead = f"tcp://127.0.0.1:{closed_port()}"
    probes = {"a": quick(f"http://127.0.0.1:{closed_port()}/"), "b": quick(dead)}
    config = make_config(probes, agent=f'canary = "{dead}"')
    clock = Clock()
    agent = Agent(config, clock=clock)
    verdicts = await probe_minute(agent, clock, M0)
    assert [(v.status, v.error) for v in verdicts] == [(UNKNOWN, CANARY_ERROR)] * 2
    # Same failures, but the canary answers: the providers really are down.
    live = make_config(probes, agent=f'canary = "{target.url("/").replace("http", "tcp")}"')
    agent2 = Agent(live, clock=clock)
    assert [v.status for v in await probe_minute(agent2, clock, M0 + 1)] == [DOWN, DOWN]
    # Canary failing but the targets fail in different ways: not our network.
    mixed = make_config({"a": probes["a"], "b": quick(target.url("/503"))}, f'canary = "{dead}"')
    agent3 = Agent(mixed, clock=clock)
    assert [v.status for v in await probe_minute(agent3, clock, M0 + 2)] == [DOWN, DOWN]
    for a in (agent, agent2, agent3):
        assert await a.stop()
    assert await stored(config.storage_path, "a", M0, M0 + 3) == [UNKNOWN, DOWN, DOWN]
    async with await SqliteStore.open(config.storage_path, readonly=True) as store:
        errors = await store.minute_errors("a", M0, M0 + 1)
        states = {s.service: s for s in await store.probe_states()}
    assert [e[2] for e in errors] == [CANARY_ERROR]
    assert states["a"].status == DOWN  # the live state still shows what the probe saw


async def test_notifiers_hear_start_and_end_and_a_failing_one_changes_nothing(
    make_config: ConfigFactory, target: Target, tmp_path: Path
) -> None:
    out = tmp_path / "command-got.json"
    script = "import sys; open(sys.argv[1], 'ab').write(sys.stdin.buffer.read() + bytes([10]))"
    notifiers = f"""
[[agent.notifier]]
webhook = "http://127.0.0.1:{closed_port()}/hook"
timeout = "2s"
[[agent.notifier]]
webhook = "{target.url("/hook")}"
[[agent.notifier]]
command = ["{sys.executable}", "-c", "{script}", "{out}"]
"""
    target.flaky_failures = 2  # down, down, then up
    config = make_config({"portal": quick(target.url("/flaky"))}, agent=notifiers)
    clock = Clock()
    agent = Agent(config, clock=clock)
    statuses = []
    for minute in (M0, M0 + 1, M0 + 2):
        statuses += [v.status for v in await probe_minute(agent, clock, minute)]
        await asyncio.sleep(0)
    assert statuses == [DOWN, DOWN, UP]
    assert await agent.stop()
    start = from_minute(M0)
    assert [h["event"] for h in target.hooks] == ["start", "end"]
    first, last = target.hooks
    assert first["service"] == "portal"
    assert first["start"] == start.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert first["minutes"] == 1
    assert first["report_by"] == (start + timedelta(hours=72)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (last["minutes"], last["end"]) == (2, from_minute(M0 + 2).strftime("%Y-%m-%dT%H:%M:%SZ"))
    lines = sorted(out.read_bytes().splitlines())
    assert [json.loads(x)["event"] for x in lines] == ["end", "start"]
    # The dead webhook: the start failed once; its end waits behind it (in order), and
    # both are kept to retry (after the restart too) while the live notifiers had both.
    assert agent.notifications.failed == 1
    assert list(agent.notifications.waiting().values()) == [2]
    assert agent.notifications.sent == 4


async def test_a_clock_going_back_never_records_a_minute_twice(
    make_config: ConfigFactory, target: Target
) -> None:
    target.flaky_failures = 0  # answers 200 ...
    config = make_config({"web": quick(target.url("/flaky"))})
    clock = Clock()
    agent = Agent(config, clock=clock)
    assert [v.status for v in await probe_minute(agent, clock, M0)] == [UP]
    target.flaky_failures = 100  # ... then 500 from now on
    clock.to_minute(M0, 40)  # the wall clock is set back into a minute already written
    await agent.probe_service("web")
    assert await agent.stop()
    assert await stored(config.storage_path, "web", M0, M0 + 2) == [UP, 0]
    async with await SqliteStore.open(config.storage_path, readonly=True) as store:
        (state,) = await store.probe_states()
    assert (state.status, state.error) == (DOWN, "status:500")  # live state still updates


async def test_embedded_agent_runs_in_the_callers_loop_without_signal_handlers(
    make_config: ConfigFactory, target: Target
) -> None:
    config = make_config({"web": quick(target.url("/ok"))})
    before = signal.getsignal(signal.SIGTERM)
    agent = Agent(config, tick=0.05)  # the real clock and scheduler, as `slawatch demo` runs it
    probed = asyncio.Event()
    note = agent.writer.note_probe

    def noting(state: ProbeState) -> None:
        note(state)
        probed.set()

    agent.writer.note_probe = noting  # type: ignore[method-assign]
    await agent.start()
    async with asyncio.timeout(5):
        await probed.wait()
    assert agent.healthy
    assert signal.getsignal(signal.SIGTERM) is before
    assert await agent.stop()
    minute = agent.writer.last_written.minute if agent.writer.last_written else -1
    assert await stored(config.storage_path, "web", minute, minute + 1) == [UP]
