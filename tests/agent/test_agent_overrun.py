"""Runs that outlast their interval (docs/probes.md, "Runs that overrun"), against a
real loopback server that hangs, on a pinned clock that only the probes move.

Interval 60 s, timeout 30 s, 2 retries 5 s apart: a failing run takes 100 s. The
server leaves every request unanswered while the clock is inside its outage; an
attempt that timed out (for real, after 0.2 s) moves the clock 30 s on, the timeout
it sat through, before the agent hears of it; the pause between attempts moves it
5 s (the agent's injected sleep). The scheduler's slots are fired
through ``ProbeScheduler.fire``, its real busy check: a slot that finds the run still
going is skipped and told to the agent, as APScheduler's ``max_instances`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from agentkit import ConfigFactory, quick

from agent import Agent
from agent.probe import _Attempt
from core.config import Probe
from core.month import combine_sources
from core.outages import find_runs, run_table
from core.status import DOWN, UP
from core.timeutil import to_minute
from store.rows import ProbeEvidence, ProbeState
from store.sqlite import SqliteStore
from tests.conftest import run_cli

T0 = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)
M0 = to_minute(T0)
TIMEOUT = timedelta(seconds=30)  # on the clock; the real timeout is 0.2 s
Attempt = Callable[[Probe, Mapping[str, str] | None], Awaitable[_Attempt]]


class Bench:
    """The pinned clock, the hanging server and the scheduler's slots of one service."""

    def __init__(
        self, down_from: datetime, up_from: datetime, phase: int = 0, timeout: timedelta = TIMEOUT
    ) -> None:
        self.now = T0
        self.timeout = timeout
        self.down_from, self.up_from = down_from, up_from
        self.next_slot = T0 + timedelta(seconds=phase)
        self.agent: Agent | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None
        self.port = 0
        self.requests: list[datetime] = []
        self.votes: list[tuple[datetime, datetime, int]] = []  # (now, vote's at, its status)

    def clock(self) -> datetime:
        return self.now

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            self.requests.append(self.now)
            if self.down_from <= self.now < self.up_from:
                await asyncio.sleep(10)  # hangs; the probe's real timeout ends it
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        writer.close()

    def drive(self, agent: Agent) -> Agent:
        """``agent`` probes on this bench: its timeouts take ``TIMEOUT`` on the clock."""
        setattr(agent.prober, "attempt", self.timing_out(agent.prober.attempt))  # noqa: B010
        self.agent = agent
        return agent

    def timing_out(self, attempt: Attempt) -> Attempt:
        """The prober's ``attempt``, a timeout taking ``TIMEOUT`` on the clock."""

        async def timed(probe: Probe, headers: Mapping[str, str] | None = None) -> _Attempt:
            outcome = await attempt(probe, headers)
            if outcome.error == "timeout":
                await self.to(self.now + self.timeout)
            return outcome

        return timed

    async def sleep(self, seconds: float) -> None:
        """The pause before a retry, on the clock."""
        await self.to(self.now + timedelta(seconds=seconds))

    async def to(self, when: datetime) -> None:
        """Move the clock to ``when``, firing every slot passed on the way."""
        assert self.agent is not None
        while self.next_slot <= when:
            self.now = self.next_slot
            task = asyncio.get_running_loop().create_task(self.agent.scheduler.fire("web"))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            await asyncio.sleep(0)  # the run reads the clock (its minute) or is skipped
            self.next_slot += timedelta(seconds=60)
        self.now = max(self.now, when)

    async def idle(self) -> None:
        while self.tasks:
            await asyncio.wait(set(self.tasks))

    async def run_until(self, end: datetime) -> None:
        """Fire slot after slot, each once the run before it is over, then judge."""
        assert self.agent is not None
        while self.next_slot < end:
            await self.to(self.next_slot)
            await self.idle()
            await self.agent.tick()
            for vote in await votes(self.agent):
                self.votes.append((self.now, vote.at, vote.status))
        await self.to(end)
        await self.agent.tick()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            if hasattr(self.server, "close_clients"):  # Python 3.13
                self.server.close_clients()


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    b = Bench(T0 + timedelta(minutes=2), T0 + timedelta(minutes=7, seconds=15))
    yield b
    await b.close()


def agent_for(
    bench: Bench,
    make_config: ConfigFactory,
    retries: int = 2,
    name: str = "probe-1",
    retry_delay: timedelta = timedelta(seconds=5),
) -> Agent:
    probe = quick(
        f"http://127.0.0.1:{bench.port}/",
        interval=timedelta(seconds=60),
        timeout=timedelta(seconds=0.2),
        retries=retries,
        retry_delay=retry_delay,
    )
    config = make_config({"web": probe})
    config = replace(config, agent=replace(config.agent, name=name))
    agent = Agent(config, clock=bench.clock, sleep=bench.sleep)
    return bench.drive(agent)


async def votes(agent: Agent) -> list[ProbeState]:
    """This agent's latest probe of the service, as the store has it (its vote)."""
    async with await SqliteStore.open(agent.config.storage_path, readonly=True) as store:
        return [p for p in await store.probe_states() if p.source == agent.source]


async def stored(agent: Agent, start: int, end: int) -> list[int]:
    async with await SqliteStore.open(agent.config.storage_path, readonly=True) as store:
        return list((await store.minutes("web", start, end)).get("probe-1", bytes(end - start)))


async def kept(agent: Agent, start: int, end: int) -> list[ProbeEvidence]:
    """The evidence of the minutes [start, end) (failing requests, for claim bundles)."""
    async with await SqliteStore.open(agent.config.storage_path, readonly=True) as store:
        return await store.evidence_between("web", start, end)


def exported(config: Path, folder: Path) -> list[tuple[str, str, str | None]]:
    """``claim export`` of November then ``claim verify`` through the real CLI (it must
    hold): the bundle's failing requests, (minute, sent, failed_at)."""
    out = folder / "claim.json"
    done = run_cli("--config", config, "claim", "export", "--service", "web",
                   "--month", "2026-11", "--out", out)  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = run_cli("--config", config, "claim", "verify", out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "corroboration probe-1" in done.stdout
    bundle = json.loads(out.read_text())
    return [(c["minute"], c["at"], c.get("failed_at")) for c in bundle["corroboration"]]


def outages(statuses: list[int]) -> list[tuple[int, int]]:
    """Rule 8's runs of down minutes ([start, end) offsets; unknown ends one)."""
    return find_runs(bytes(statuses).translate(run_table(False)))


async def test_a_five_minute_outage_with_overrunning_runs_is_one_outage(
    bench: Bench, make_config: ConfigFactory
) -> None:
    await bench.start()
    agent = agent_for(bench, make_config)
    await bench.run_until(T0 + timedelta(minutes=9))
    assert await agent.stop()
    statuses = await stored(agent, M0, M0 + 9)
    # Down from 2:00 to 7:15: the runs of 2:00, 4:00, 6:00 each take 100 s, the slots
    # of minutes 3, 5, 7 are skipped; the attempts sent at 3:10, 5:10, 7:10 stand in.
    assert statuses == [UP, UP, DOWN, DOWN, DOWN, DOWN, DOWN, DOWN, UP]
    assert outages(statuses) == [(2, 8)]  # before: three one-minute outages, 3, 5, 7 unknown
    assert agent.scheduler.skipped_busy == 3
    # Each down minute's bundle evidence holds a request sent in that minute.
    evidence = await kept(agent, M0, M0 + 9)
    by_minute: dict[int, list[datetime]] = {}
    for e in evidence:
        by_minute.setdefault(e.minute, []).append(e.seen.at)
    assert sorted(by_minute) == [M0 + m for m in range(2, 8)]
    for minute, sent in by_minute.items():
        assert any(to_minute(at) == minute for at in sent), (minute, sent)
    assert len({at for ats in by_minute.values() for at in ats}) == len(evidence)  # once each


@pytest.mark.parametrize(
    ("up_from", "retries", "expected"),
    [
        # Attempts sent at 2:00, 2:35, 3:10 all time out (the slot at 3:00 skipped):
        # minute 3 is down by the one sent at 3:10; minute 4's own run answers.
        (timedelta(minutes=3, seconds=20), 2, [UP, UP, DOWN, DOWN, UP]),
        # A fourth attempt, sent at 3:45, is answered: minute 3 saw it recover, so it
        # is up, though its attempt sent at 3:10 failed. Minute 2 is down: both its
        # attempts (2:00, 2:35) failed; the answer came after the slot of 3:00, for
        # minute 3, not as a quick retry of minute 2 (before: up, 100 s of outage lost).
        (timedelta(minutes=3, seconds=40), 3, [UP, UP, DOWN, UP, UP]),
        # One retry: the run is 65 s, no attempt is sent in minute 3, but the one sent
        # at 2:35 times out at 3:05, in it: minute 3 is down.
        (timedelta(minutes=3), 1, [UP, UP, DOWN, DOWN, UP]),
    ],
)
async def test_recovery_in_the_middle_of_a_run(
    make_config: ConfigFactory,
    tmp_path: Path,
    up_from: timedelta,
    retries: int,
    expected: list[int],
) -> None:
    bench = Bench(T0 + timedelta(minutes=2), T0 + up_from)
    try:
        await bench.start()
        agent = agent_for(bench, make_config, retries=retries)
        await bench.run_until(T0 + timedelta(minutes=5))
        assert await agent.stop()
        statuses = await stored(agent, M0, M0 + 5)
        evidence = await kept(agent, M0, M0 + 5)
    finally:
        await bench.close()
    assert agent.scheduler.skipped_busy == 1  # the slot at 3:00
    assert statuses == expected  # before: minute 3 unknown (0)
    # Each down minute has a failed request of its own in the evidence (with one retry,
    # minute 3's is the one sent at 2:35 that timed out at 3:05, also kept under minute
    # 2, when it was sent, as the bundle's check requires); each request once otherwise.
    held: dict[int, list[datetime]] = {}
    for e in evidence:
        held.setdefault(e.minute - M0, []).append(e.seen.at)
    assert {m for m, s in enumerate(statuses) if s == DOWN} <= set(held)
    sent_in = [e for e in evidence if e.seen.failed_at is None]
    assert len({e.seen.at for e in sent_in}) == len(sent_in) == len({e.seen.at for e in evidence})
    assert all(to_minute(e.seen.at) == e.minute for e in sent_in)
    if retries == 1:
        assert held[3] == [T0 + timedelta(minutes=2, seconds=35)]
        (late,) = [e for e in evidence if e.seen.failed_at is not None]
        assert (late.minute, late.seen.failed_at) == (M0 + 3, T0 + timedelta(minutes=3, seconds=5))
        # Before: kept under minute 3 alone, a request sent before its minute, so the
        # bundle's corroboration check refused the claim (DOES NOT HOLD, exit 1).
        assert exported(agent.config.path, tmp_path) == [
            ("2026-11-02T09:02:00Z", "2026-11-02T09:02:00.000Z", None),
            ("2026-11-02T09:02:00Z", "2026-11-02T09:02:35.000Z", None),
            ("2026-11-02T09:03:00Z", "2026-11-02T09:02:35.000Z", "2026-11-02T09:03:05.000Z"),
        ]


async def test_the_fleet_has_every_agents_vote_on_every_minute(make_config: ConfigFactory) -> None:
    """Three agents, two of which see the outage (their runs overrunning), one not: each
    minute is down by two votes of three. Before, the minutes whose slot the two
    skipped had the third's vote alone (up), so the outage came out as three
    one-minute outages. The votes of the two were renewed in the minutes overrun."""
    outage = (T0 + timedelta(minutes=2), T0 + timedelta(minutes=7, seconds=15))
    renewed: dict[str, list[tuple[datetime, datetime, int]]] = {}
    for name, (down_from, up_from) in (
        ("probe-1", outage), ("probe-2", outage), ("probe-3", (T0, T0)),
    ):  # fmt: skip
        bench = Bench(down_from, up_from)
        try:
            await bench.start()
            agent = agent_for(bench, make_config, name=name)
            await bench.run_until(T0 + timedelta(minutes=9))
            assert await agent.stop()
        finally:
            await bench.close()
        renewed[name] = bench.votes
    async with await SqliteStore.open(agent.config.storage_path, readonly=True) as store:
        by_source = await store.minutes("web", M0, M0 + 9)
    assert sorted(by_source) == ["probe-1", "probe-2", "probe-3"]
    combined = list(combine_sources(by_source.values()))
    assert combined == [UP, UP, DOWN, DOWN, DOWN, DOWN, DOWN, DOWN, UP]
    assert outages(combined) == [(2, 8)]
    # After the run of 2:00 (over at 3:40), probe-1's vote is the attempt sent at 3:10,
    # down: a vote for minute 3, not the 2:00 one of before.
    after_2 = [(at, status) for now, at, status in renewed["probe-1"] if to_minute(now) == M0 + 3]
    assert after_2 == [(T0 + timedelta(minutes=3, seconds=10), DOWN)]


async def test_kill_9_after_an_overrun_keeps_the_minute_it_overran(
    bench: Bench, make_config: ConfigFactory
) -> None:
    """The overrun minute's result is journaled as the run ends: an agent killed before
    judging it leaves it to the next, which judges it down from the store."""
    await bench.start()
    first = agent_for(bench, make_config)
    await first.restore()  # what start() does first, without the real scheduler
    await bench.run_until(T0 + timedelta(minutes=3, seconds=50))  # run of 2:00 over at 3:40
    assert await stored(first, M0, M0 + 4) == [UP, UP, DOWN, 0]  # minute 3 not judged yet
    # kill -9: no final judging, no last flush, no state saved at exit
    await first.prober.aclose()
    await first._sink.close()  # type: ignore[attr-defined]
    later = bench.drive(Agent(first.config, clock=bench.clock, sleep=bench.sleep))
    await later.restore()
    await bench.run_until(T0 + timedelta(minutes=5))  # the run of 4:00 overruns minute 5
    assert await later.stop()
    assert await stored(later, M0, M0 + 6) == [UP, UP, DOWN, DOWN, DOWN, DOWN]


async def test_the_vote_after_a_run_that_recovered_is_up(make_config: ConfigFactory) -> None:
    """A run that overran a minute, then was answered in the next: the agent's vote is
    what it saw last (up, at 4:00), not the overrun minute's older failures. Slots at
    :50; down until 3:58; the run of 2:50 tries at 2:50 and 3:25 (both time out, the
    slot at 3:50 skipped: minute 3 down) and 4:00 (answered). Before, the vote stayed
    down (the attempt of 3:25) until the run of 4:50: fleet status saw it down."""
    bench = Bench(T0 + timedelta(minutes=2), T0 + timedelta(minutes=3, seconds=58), phase=50)
    try:
        await bench.start()
        agent = agent_for(bench, make_config)
        await bench.run_until(T0 + timedelta(minutes=4, seconds=30))
        assert await agent.stop()
        statuses = await stored(agent, M0, M0 + 4)
    finally:
        await bench.close()
    assert agent.scheduler.skipped_busy == 1  # the slot at 3:50
    # Minutes 2 and 3 down: each saw only failed attempts (2:50; 2:50 ended and 3:25);
    # the answer of 4:00 does not make minute 2 up (before: up, its outage lost).
    assert statuses == [UP, UP, DOWN, DOWN]
    after_run = [(at, status) for now, at, status in bench.votes if to_minute(now) == M0 + 4]
    assert after_run == [(T0 + timedelta(minutes=4), UP)]


async def test_a_stop_mid_run_keeps_the_minutes_the_run_can_no_longer_change(
    make_config: ConfigFactory,
) -> None:
    """Down from 2:00, 4 retries: the run of 2:00 tries at 2:00, 2:35, 3:10, 3:45 (over
    at 4:15) and 4:20, the slots of 3:00 and 4:00 skipped. Stopped (SIGTERM, a reload)
    with the attempt of 4:20 in flight: minutes 2 and 3 saw only failed attempts and
    none can come, so they are recorded down; minute 4 (the attempt in flight) is not.
    Before, the run filed nothing: both unknown, an outage cut by a restart."""
    bench = Bench(T0 + timedelta(minutes=2), T0 + timedelta(minutes=9))
    try:
        await bench.start()
        agent = agent_for(bench, make_config, retries=4)
        await agent.restore()
        await bench.run_until(T0 + timedelta(minutes=2))
        await bench.to(T0 + timedelta(minutes=2))  # the run of 2:00 starts
        for _ in range(500):  # real timeouts of 0.2 s move the clock 30 s each
            if bench.now >= T0 + timedelta(minutes=4, seconds=20):
                break
            await asyncio.sleep(0.01)
        assert bench.now == T0 + timedelta(minutes=4, seconds=20)
        assert await agent.stop()
        statuses = await stored(agent, M0, M0 + 5)
        evidence = await kept(agent, M0, M0 + 5)
    finally:
        await bench.close()
    assert agent.scheduler.skipped_busy == 2  # the slots of 3:00 and 4:00
    assert statuses == [UP, UP, DOWN, DOWN, 0]
    held = {e.minute - M0 for e in evidence}
    assert held == {2, 3}  # each down minute has a failed request of its own


async def test_a_minute_down_by_a_timeout_alone_has_that_request_as_evidence(
    make_config: ConfigFactory, tmp_path: Path
) -> None:
    """Timeout 55 s, retries 15 s apart, slots at :05, down 3:00-7:00: the run of 3:05
    tries at 3:05, 4:15 and 5:25 (failing at 6:20), the slots of 4:05, 5:05 and 6:05
    skipped. Minute 6 is down by the attempt sent at 5:25 alone, which timed out in it:
    it is kept under minute 6 too, with the instant it failed, and the claim holds.
    Before, it was kept under minute 5 only: minute 6 was down in the bundle with no
    failing request of its own."""
    bench = Bench(
        T0 + timedelta(minutes=3), T0 + timedelta(minutes=7), phase=5,
        timeout=timedelta(seconds=55),
    )  # fmt: skip
    try:
        await bench.start()
        agent = agent_for(bench, make_config, retry_delay=timedelta(seconds=15))
        await bench.run_until(T0 + timedelta(minutes=8))
        assert await agent.stop()
        statuses = await stored(agent, M0, M0 + 8)
    finally:
        await bench.close()
    assert agent.scheduler.skipped_busy == 3
    assert statuses == [UP, UP, UP, DOWN, DOWN, DOWN, DOWN, UP]
    assert exported(agent.config.path, tmp_path) == [
        ("2026-11-02T09:03:00Z", "2026-11-02T09:03:05.000Z", None),
        ("2026-11-02T09:04:00Z", "2026-11-02T09:04:15.000Z", None),
        ("2026-11-02T09:05:00Z", "2026-11-02T09:05:25.000Z", None),
        ("2026-11-02T09:06:00Z", "2026-11-02T09:05:25.000Z", "2026-11-02T09:06:20.000Z"),
    ]
