"""Runs that outlast their interval (docs/probes.md, "Runs that overrun"), against a
real loopback server that hangs, on a pinned clock that only the probes move.

Interval 60 s, timeout 30 s, 2 retries 5 s apart: a failing run takes 100 s. The
server, on each request it leaves unanswered, moves the clock 30 s on (the timeout
the probe sat through) before the real 0.3 s timeout fires; the pause between
attempts moves it 5 s (the agent's injected sleep). The scheduler's slots are fired
through ``ProbeScheduler.fire``, its real busy check: a slot that finds the run still
going is skipped and told to the agent, as APScheduler's ``max_instances`` does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from agentkit import ConfigFactory, quick

from agent import Agent
from core.outages import find_runs, run_table
from core.status import DOWN, UP
from core.timeutil import to_minute
from store.sqlite import SqliteStore

T0 = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)
M0 = to_minute(T0)
TIMEOUT = timedelta(seconds=30)  # on the clock; the real timeout is 0.3 s


class Bench:
    """The pinned clock, the hanging server and the scheduler's slots of one service."""

    def __init__(self, down_from: datetime, up_from: datetime, phase: int = 0) -> None:
        self.now = T0
        self.down_from, self.up_from = down_from, up_from
        self.next_slot = T0 + timedelta(seconds=phase)
        self.agent: Agent | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None
        self.port = 0
        self.requests: list[datetime] = []

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
                await self.to(self.now + TIMEOUT)  # no answer: the timeout passes
                await asyncio.sleep(10)  # hangs; the probe's real timeout ends it
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
        writer.close()

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


def agent_for(bench: Bench, make_config: ConfigFactory, retries: int = 2) -> Agent:
    probe = quick(
        f"http://127.0.0.1:{bench.port}/",
        interval=timedelta(seconds=60),
        timeout=timedelta(seconds=0.3),
        retries=retries,
        retry_delay=timedelta(seconds=5),
    )
    agent = Agent(make_config({"web": probe}), clock=bench.clock, sleep=bench.sleep)
    bench.agent = agent
    return agent


async def stored(agent: Agent, start: int, end: int) -> list[int]:
    async with await SqliteStore.open(agent.config.storage_path, readonly=True) as store:
        return list((await store.minutes("web", start, end)).get("probe-1", bytes(end - start)))


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
    async with await SqliteStore.open(agent.config.storage_path, readonly=True) as store:
        evidence = await store.evidence_between("web", M0, M0 + 9)
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
        # is up, though its attempt sent at 3:10 failed (as the run of minute 2 is up:
        # a failure counts only when every attempt of the run failed).
        (timedelta(minutes=3, seconds=40), 3, [UP, UP, UP, UP, UP]),
        # One retry: the run is 65 s, no attempt is sent in minute 3, but the one sent
        # at 2:35 times out at 3:05, in it: minute 3 is down.
        (timedelta(minutes=3), 1, [UP, UP, DOWN, DOWN, UP]),
    ],
)
async def test_recovery_in_the_middle_of_a_run(
    make_config: ConfigFactory, up_from: timedelta, retries: int, expected: list[int]
) -> None:
    bench = Bench(T0 + timedelta(minutes=2), T0 + up_from)
    try:
        await bench.start()
        agent = agent_for(bench, make_config, retries=retries)
        await bench.run_until(T0 + timedelta(minutes=5))
        assert await agent.stop()
        statuses = await stored(agent, M0, M0 + 5)
    finally:
        await bench.close()
    assert agent.scheduler.skipped_busy == 1  # the slot at 3:00
    assert statuses == expected  # before: minute 3 unknown (0)
