"""Outage notifications are retried until delivered (issue 16, item 4): the real Agent
and SQLite store, a hand-turned clock, a loopback target and real webhook receivers
that go down (connection refused), answer 503 or 400, and come back. Each notifier
has its own queue, in order (a ``start`` before its ``end``); a dead one holds back
neither the others nor their later notifications; a 4xx other than 408/429 is dropped
in one line; what each notifier has had is in the database, so a restart goes on
retrying where it was and the live ones get nothing twice."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from agentkit import ConfigFactory, Target, closed_port, quick
from test_agent_restarts import M0, Clock, crash, minute, started

from agent import Agent
from agent.notify import notifier_key
from core.config import Config
from core.timeutil import from_minute
from store.sqlite import SqliteStore
from tests.conftest import RunCli

FAST = 0.05  # seconds before the first retry in these tests (10 s in production)


class Receiver:
    """A webhook receiver on a fixed loopback port: ``down`` (nothing listening, the
    connection refused), else answering ``status`` and recording each POST."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.status = 200
        self.got: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def events(self) -> list[str]:
        return [g["event"] for g in self.got]

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def down(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        pairs = (h.split(":", 1) for h in head[1:] if h)
        headers = {k.strip().lower(): v.strip() for k, v in pairs}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if self.status < 300:
            self.got.append(json.loads(body))
            self.keys.append(headers.get("idempotency-key", ""))
        writer.write(
            f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver(closed_port())
    await r.up()
    yield r
    await r.down()


async def until(what: Callable[[], bool], within: float = 5.0) -> None:
    stop = time.monotonic() + within
    while not what():
        assert time.monotonic() < stop, "not within the time allowed"
        await asyncio.sleep(0.01)


def hooks(*urls: str) -> str:
    return "\n".join(f'[[agent.notifier]]\nwebhook = "{u}"\ntimeout = "1s"' for u in urls)


async def quick_agent(config: Config, clock: Clock, *, fast: bool = True) -> Agent:
    """An agent as started, retrying after FAST seconds up to 4 * FAST (``fast``), or
    with the production backoff."""
    agent = await started(config, clock)
    if fast:
        agent.notifications.retry_first = FAST
        agent.notifications.retry_cap = 4 * FAST
    return agent


async def saved_notices(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    async with await SqliteStore.open(path, readonly=True) as store:
        state = await store.agent_state("probe-1")
    return [(json.loads(n.payload)["event"], n.sent_to) for n in state.notices]


def said(caplog: pytest.LogCaptureFixture, level: int = logging.INFO) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "slawatch.agent.notify" and r.levelno >= level
    ]


async def watching(
    make_config: ConfigFactory,
    target: Target,
    caplog: pytest.LogCaptureFixture,
    *urls: str,
    failures: int,
) -> tuple[Config, Clock, Agent]:
    """An agent probing ``web`` (down for ``failures`` probes, then up), notifying each
    webhook in ``urls``, retrying FAST; the notify log captured down to DEBUG."""
    config = make_config({"web": quick(target.url("/flaky"))}, agent=hooks(*urls))
    clock = Clock()
    target.flaky_failures = failures
    caplog.set_level(logging.DEBUG, logger="slawatch")
    return config, clock, await quick_agent(config, clock)


async def test_a_receiver_down_during_the_end_gets_it_once_back_up(
    make_config: ConfigFactory,
    target: Target,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config, clock, agent = await watching(
        make_config, target, caplog, receiver.url, failures=2
    )  # down, down, up
    await minute(agent, clock, M0)
    await until(lambda: receiver.events() == ["start"])
    await receiver.down()  # connection refused ...
    await minute(agent, clock, M0 + 1)
    await minute(agent, clock, M0 + 2)  # up: the end, refused
    await until(lambda: agent.notifications.failed >= 3)  # tried, retried, retried
    receiver.status = 503  # ... then a 5xx: tried again too
    await receiver.up()
    await until(lambda: agent.notifications.failed >= 5)
    assert receiver.events() == ["start"]
    receiver.status = 200  # back
    await until(lambda: receiver.events() == ["start", "end"])
    await until(lambda: not agent.notifications.waiting())
    await asyncio.sleep(4 * FAST)  # nothing more comes
    assert receiver.events() == ["start", "end"]  # the end once, the start not again
    assert len(set(receiver.keys)) == 2
    assert receiver.got[1]["minutes"] == 2
    warnings = said(caplog, logging.WARNING)
    assert len(warnings) == 2, warnings  # one on the first failure, one on the recovery
    assert warnings[0].startswith(f"webhook 127.0.0.1:{receiver.port} failed for the outage end")
    assert "retrying" in warnings[0]
    assert "delivers again: outage end of web after" in warnings[1]
    assert agent.notifications.waiting() == {}
    assert await agent.stop()
    assert await saved_notices(config.storage_path) == []  # every notifier had both


async def test_one_dead_notifier_holds_back_nothing_and_a_restart_goes_on_retrying(
    make_config: ConfigFactory,
    target: Target,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
    run_cli: RunCli,
) -> None:
    dead = Receiver(closed_port())  # nothing listening until the restart
    config = make_config({"web": quick(target.url("/flaky"))}, agent=hooks(dead.url, receiver.url))
    clock = Clock()
    target.flaky_failures = 2
    caplog.set_level(logging.INFO, logger="slawatch")
    agent = await quick_agent(config, clock, fast=False)  # 10 s, doubling to 10 min
    began = time.monotonic()
    await minute(agent, clock, M0)
    await minute(agent, clock, M0 + 1)
    await minute(agent, clock, M0 + 2)
    # The live receiver has both at once: neither waits for the dead one's retries.
    await until(lambda: receiver.events() == ["start", "end"])
    assert time.monotonic() - began < 5.0
    # The receiver has the end a moment before the agent has its answer and marks it.
    owed = {f"webhook 127.0.0.1:{dead.port}": 2}
    await until(lambda: agent.notifications.waiting() == owed)
    live = notifier_key(config.agent.notifiers[1])
    marked = [("start", (live,)), ("end", (live,))]  # the live one's, saved just after
    for _ in range(500):
        if await saved_notices(config.storage_path) == marked:
            break
        await asyncio.sleep(0.01)
    await crash(agent)  # kill -9 while the dead one's retries are pending
    assert await saved_notices(config.storage_path) == marked
    assert [m for m in said(caplog, logging.WARNING) if "failed" in m] == [
        f"webhook 127.0.0.1:{dead.port} failed for the outage start of web: All connection"
        " attempts failed; retrying (backing off to every 10 min, in order, 1 notification(s)"
        " waiting) until delivered or 24 h after the event"
    ]

    # status says so, from the notifications saved in the database.
    shown = await asyncio.to_thread(run_cli, "--config", config.path, "status", "--json")
    agents = json.loads(shown.stdout)["agents"]
    assert [(a["notifications_waiting"], a["notifications_waiting_since"]) for a in agents] == [
        (2, from_minute(M0).strftime("%Y-%m-%dT%H:%M:%SZ"))
    ]
    text = await asyncio.to_thread(run_cli, "--config", config.path, "status")
    assert "agent probe-1: 2 outage notification(s) not yet delivered to every notifier" in (
        " ".join(text.stdout.split())
    )

    await dead.up()  # back while the agent was down
    try:
        again = await quick_agent(config, clock)
        await again.notifications.aclose(grace=3.0)  # the restored ones, sent at once
        assert dead.events() == ["start", "end"]  # in order
        assert [g["id"] for g in dead.got] == [g["id"] for g in receiver.got]
        assert receiver.events() == ["start", "end"]  # nothing twice
        assert await again.stop()
    finally:
        await dead.down()
    assert await saved_notices(config.storage_path) == []


async def test_a_400_is_dropped_in_one_line_and_the_next_one_is_sent(
    make_config: ConfigFactory,
    target: Target,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config, clock, agent = await watching(make_config, target, caplog, receiver.url, failures=1)
    receiver.status = 400  # refuses the start for good
    await minute(agent, clock, M0)
    await until(lambda: not agent.notifications.waiting())
    receiver.status = 200
    await minute(agent, clock, M0 + 1)
    await until(lambda: receiver.events() == ["end"])
    await asyncio.sleep(4 * FAST)
    assert agent.notifications.failed == 1  # the 400, tried once, never retried
    assert said(caplog, logging.WARNING) == [
        f"webhook 127.0.0.1:{receiver.port} refused the outage start of web (HTTP 400):"
        " dropped, not retried"
    ]
    assert await agent.stop()
    assert await saved_notices(config.storage_path) == []


async def test_a_notification_failing_for_a_day_is_given_up_in_one_line(
    make_config: ConfigFactory, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/hook"
    config, clock, agent = await watching(make_config, target, caplog, dead, failures=1)
    await minute(agent, clock, M0)
    await until(lambda: agent.notifications.failed >= 2)
    clock.now += timedelta(hours=24)  # a day after the outage began: the start given up
    await until(lambda: not agent.notifications.waiting())
    warnings = said(caplog, logging.WARNING)
    assert len(warnings) == 2, warnings
    assert "failed for the outage start of web" in warnings[0]
    assert "gave up on the outage start of web after" in warnings[1]
    assert ", 24 h after it happened: All connection attempts failed" in warnings[1]
    await agent.stop()
    assert await saved_notices(config.storage_path) == []


async def test_a_reload_hands_the_waiting_notifications_on(
    make_config: ConfigFactory,
    target: Target,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SIGHUP (``Server.reload``: the old agent stops, the new one takes over in the
    same process): what the dead notifier is still owed goes on with the new agent,
    in order before what the new one makes."""
    dead = Receiver(closed_port())
    config, clock, old = await watching(
        make_config, target, caplog, dead.url, receiver.url, failures=1
    )  # down, up
    await minute(old, clock, M0)
    await until(lambda: receiver.events() == ["start"] and old.notifications.failed >= 1)
    assert await old.stop(handing_over=True)
    assert "not delivered yet, kept to retry" in said(caplog, logging.WARNING)[-1]
    await dead.up()
    try:
        fresh = Agent(config, clock=clock)
        fresh.take_over(old)
        await fresh.restore()
        await minute(fresh, clock, M0 + 1)  # up: the end
        await until(lambda: dead.events() == receiver.events() == ["start", "end"])
        assert await fresh.stop()
    finally:
        await dead.down()
    assert [g["id"] for g in dead.got] == [g["id"] for g in receiver.got]
    assert await saved_notices(config.storage_path) == []
