"""Restarts keep their word (issue 16, items 4 and 9): the real Agent and store, a
hand-turned clock, a loopback target and webhook receiver. A "crash" abandons an agent
without ``stop()``: nothing of its memory survives, only what it wrote as it went."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from agentkit import ConfigFactory, Target, quick

from agent import Agent, Server, runner
from agent.sink import StoreSink
from core.status import DOWN, UP
from core.timeutil import from_minute, to_minute
from store.sqlite import SqliteStore

T0 = datetime(2026, 11, 2, 9, 0, 10, tzinfo=UTC)
M0 = to_minute(T0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, minute: int, second: int = 10) -> None:
        self.now = from_minute(minute) + timedelta(seconds=second)


async def stored(path: Path, start: int, end: int) -> list[int]:
    async with await SqliteStore.open(path, readonly=True) as store:
        return list((await store.minutes("web", start, end)).get("probe-1", bytes(end - start)))


async def minute(agent: Agent, clock: Clock, m: int, probes: int = 1) -> None:
    for i in range(probes):
        clock.at(m, 10 + 15 * i)
        await agent.probe_service("web")
    clock.at(m + 1, 0)
    await agent.tick()


async def crash(agent: Agent) -> None:
    """What kill -9 leaves: no final judging, no last flush, no state saved at exit."""
    await agent.notifications.aclose(grace=2.0)
    await agent.prober.aclose()
    await agent._sink.close()  # type: ignore[attr-defined]


async def started(config: object, clock: Clock) -> Agent:
    agent = Agent(config, clock=clock)  # type: ignore[arg-type]
    await agent.restore()  # what start() does first, without the real scheduler
    return agent


async def test_a_restart_mid_outage_sends_one_start_and_one_end(
    make_config: ConfigFactory, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    hook = f'[[agent.notifier]]\nwebhook = "{target.url("/hook")}"'
    config = make_config({"web": quick(target.url("/flaky"))}, agent=hook)
    clock = Clock()
    target.flaky_failures = 3  # down for three probes, then up
    caplog.set_level(logging.INFO, logger="slawatch")
    first = await started(config, clock)
    await minute(first, clock, M0)
    await minute(first, clock, M0 + 1)
    await crash(first)  # killed in the middle of the outage
    second = await started(config, clock)
    await minute(second, clock, M0 + 2)
    await minute(second, clock, M0 + 3)  # up again
    assert await second.stop()
    assert [h["event"] for h in target.hooks] == ["start", "end"]
    # The journal too: no second "down since" from the new agent, and the recovery said.
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("web is ")]
    at, back = (from_minute(m).strftime("%Y-%m-%dT%H:%M:%SZ") for m in (M0, M0 + 3))
    assert said == [f"web is down since {at} (status:500)", f"web is up since {back}"]
    start, end = target.hooks
    assert start["start"] == end["start"] == from_minute(M0).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert end["minutes"] == 3
    assert await stored(config.storage_path, M0, M0 + 4) == [DOWN, DOWN, DOWN, UP]


async def test_a_graceful_restart_mid_outage_too(
    make_config: ConfigFactory, target: Target
) -> None:
    hook = f'[[agent.notifier]]\nwebhook = "{target.url("/hook")}"'
    config = make_config({"web": quick(target.url("/flaky"))}, agent=hook)
    clock = Clock()
    target.flaky_failures = 2
    first = await started(config, clock)
    await minute(first, clock, M0)
    assert await first.stop()  # systemctl restart
    second = await started(config, clock)
    await minute(second, clock, M0 + 1)
    await minute(second, clock, M0 + 2)
    assert await second.stop()
    assert [h["event"] for h in target.hooks] == ["start", "end"]


async def test_kill_9_mid_minute_loses_no_probe_and_the_minute_is_merged(
    make_config: ConfigFactory, target: Target
) -> None:
    config = make_config({"web": quick(target.url("/flaky"))})
    clock = Clock()
    target.flaky_failures = 2
    first = await started(config, clock)
    await minute(first, clock, M0 - 1)  # down, judged and written
    target.requests.clear()
    for second in (10, 25):  # two failed probes in the minute in progress...
        clock.at(M0, second)
        await first.probe_service("web")
    await first.tick()  # (what the journal task does as each probe ends)
    await crash(first)  # ...then kill -9 at M0:30
    target.flaky_failures = 0
    later = await started(config, clock)
    clock.at(M0, 45)
    await later.probe_service("web")  # the new agent's probe of the same minute: up
    clock.at(M0 + 1, 0)
    await later.tick()
    assert await later.stop()
    # Two down, one up: down. Without the stored probes it would read up (and the
    # dead agent's minute would otherwise be lost: unknown, counted available).
    assert await stored(config.storage_path, M0, M0 + 1) == [DOWN]


async def test_a_restart_within_the_minute_never_overwrites_down_with_up(
    make_config: ConfigFactory, target: Target
) -> None:
    config = make_config({"web": quick(target.url("/flaky"))})
    clock = Clock()
    target.flaky_failures = 2
    first = await started(config, clock)
    for second in (5, 20):
        clock.at(M0, second)
        await first.probe_service("web")
    clock.at(M0, 30)
    assert await first.stop()  # records the unfinished minute: down
    assert await stored(config.storage_path, M0, M0 + 1) == [DOWN]
    target.flaky_failures = 0
    again = await started(config, clock)
    clock.at(M0, 50)
    await again.probe_service("web")  # up
    clock.at(M0 + 1, 0)
    await again.tick()
    assert await again.stop()
    assert await stored(config.storage_path, M0, M0 + 1) == [DOWN]  # down, down, up


async def test_a_clock_set_back_across_a_restart_rewrites_no_minute(
    make_config: ConfigFactory, target: Target
) -> None:
    config = make_config({"web": quick(target.url("/flaky"))})
    clock = Clock()
    target.flaky_failures = 0
    first = await started(config, clock)
    for m in range(M0, M0 + 5):
        await minute(first, clock, m)
    assert await first.stop()
    before = await stored(config.storage_path, M0, M0 + 5)
    assert before == [UP] * 5
    target.flaky_failures = 100  # failing from now on
    again = await started(config, clock)
    for m in range(M0 + 1, M0 + 4):  # the clock went back 4 minutes over the restart
        await minute(again, clock, m)
    assert again.writer.written == 0  # not one minute re-recorded
    await minute(again, clock, M0 + 5)  # a new minute is recorded as measured
    assert await again.stop()
    assert await stored(config.storage_path, M0, M0 + 6) == [UP] * 5 + [DOWN]


async def test_an_outage_is_logged_at_warning_and_the_recovery_without_the_old_error(
    make_config: ConfigFactory, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 16 item 10: the journal says ``web is down since ... (status:500)`` at
    WARNING, once, and ``web is up since ...`` at INFO with no trace of the error."""
    config = make_config({"web": quick(target.url("/flaky"))})
    clock = Clock()
    target.flaky_failures = 2
    agent = await started(config, clock)
    with caplog.at_level(logging.INFO, logger="slawatch"):
        for m in range(M0, M0 + 4):
            await minute(agent, clock, m)
    assert await agent.stop()
    said = [(r.levelno, r.getMessage()) for r in caplog.records if "web is " in r.getMessage()]
    at = from_minute(M0).strftime("%Y-%m-%dT%H:%M:%SZ")
    back = from_minute(M0 + 2).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert said == [
        (logging.WARNING, f"web is down since {at} (status:500)"),
        (logging.INFO, f"web is up since {back}"),
    ]


async def test_a_service_removed_mid_outage_gets_its_end_once(
    make_config: ConfigFactory, target: Target
) -> None:
    """SIGHUP (or a restart) with a config that no longer has a service in the middle of
    its outage: no verdict will ever end it, so before this the receiver kept it open for
    ever (one ``start``, no ``end``). It ends at the minute after its last down minute,
    as rule 8 reads the store (the minute of the reload included: it is recorded down);
    the contract is gone with the service, so no report_by."""
    hook = f'[[agent.notifier]]\nwebhook = "{target.url("/hook")}"'
    probes = {"web": quick(target.url("/500")), "api": quick(target.url("/ok"))}
    config = make_config(probes, agent=hook)
    clock = Clock()
    first = await started(config, clock)
    for m in (M0, M0 + 1):  # web down two minutes
        clock.at(m, 10)
        await first.probe_service("web")
        await first.probe_service("api")
        clock.at(m + 1, 0)
        await first.tick()
    clock.at(M0 + 2, 10)
    await first.probe_service("web")  # still down in the minute of the reload
    clock.at(M0 + 2, 20)
    assert await first.stop()  # the reload stops the running agent...
    reloaded = make_config({"api": quick(target.url("/ok"))}, agent=hook)
    second = await started(reloaded, clock)  # ...and starts one without "web"
    clock.at(M0 + 2, 30)
    await second.probe_service("api")
    clock.at(M0 + 3, 0)
    await second.tick()
    assert await second.stop()
    third = await started(reloaded, clock)  # a later restart: the end is not sent again
    assert await third.stop()
    assert [(h["event"], h["service"]) for h in target.hooks] == [
        ("start", "web"),
        ("end", "web"),
    ]
    end = target.hooks[1]
    assert end["start"] == from_minute(M0).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert end["end"] == from_minute(M0 + 3).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (end["minutes"], end["report_by"]) == (3, None)
    assert await stored(config.storage_path, M0, M0 + 3) == [DOWN, DOWN, DOWN]


async def test_a_restart_in_a_minute_that_flips_keeps_one_outage(
    make_config: ConfigFactory, target: Target
) -> None:
    """Down, then a restart in a minute whose first probe (before it) was up and whose
    later ones (after it) are down: the minute is DOWN (merged, 3 of 4), so the outage
    never ended. The stopping agent judged that minute on its one probe, UP, and sent
    ``end``; the new agent then sent a second ``start`` for the same minute: two outages
    in the notifications where the store (and rule 8) has one."""
    hook = f'[[agent.notifier]]\nwebhook = "{target.url("/hook")}"'
    config = make_config({"web": quick(target.url("/flaky"))}, agent=hook)
    clock = Clock()
    target.flaky_failures = 1000
    first = await started(config, clock)
    await minute(first, clock, M0)  # down: start
    target.flaky_failures = 0
    clock.at(M0 + 1, 5)
    await first.probe_service("web")  # up, once...
    clock.at(M0 + 1, 10)
    assert await first.stop()  # ...then systemctl restart (or SIGHUP)
    target.flaky_failures = 1000
    second = await started(config, clock)
    for s in (20, 35, 50):  # down again for the rest of the minute
        clock.at(M0 + 1, s)
        await second.probe_service("web")
    clock.at(M0 + 2, 0)
    await second.tick()
    await minute(second, clock, M0 + 2)  # down
    target.flaky_failures = 0
    await minute(second, clock, M0 + 3)  # up: the end
    assert await second.stop()
    assert await stored(config.storage_path, M0, M0 + 4) == [DOWN, DOWN, DOWN, UP]
    assert [h["event"] for h in target.hooks] == ["start", "end"], target.hooks
    assert target.hooks[1]["minutes"] == 3
    assert target.hooks[1]["end"] == from_minute(M0 + 3).strftime("%Y-%m-%dT%H:%M:%SZ")


class DiskFull(StoreSink):
    """The real sink, failing every write while ``full``."""

    full = False

    async def _use(self, action: Any) -> Any:
        if self.full:
            raise OSError(28, "No space left on device")
        return await super()._use(action)


async def test_a_reload_while_the_database_cannot_be_written_loses_nothing(
    make_config: ConfigFactory, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGHUP while the disk is full: the running agent holds the minutes it could not
    write (up to a week's), and the reload stopped it and threw them away. The new agent
    takes them over (with the unwritten probe results, the clock-back guard and the
    open outages, fresher than the store's) and writes them once the database works."""
    hook = f'[[agent.notifier]]\nwebhook = "{target.url("/hook")}"'
    config = make_config({"web": quick(target.url("/flaky"))}, agent=hook)
    clock = Clock()
    target.flaky_failures = 3  # down three minutes, then up
    caplog.set_level(logging.INFO, logger="slawatch")
    sink = DiskFull(config.storage_path)
    server = Server(config, clock=clock, reload=lambda: config, sink=sink, tick=3600.0)
    first = Agent(config, clock=clock, sink=sink, tick=3600.0)
    await first.restore()
    server.agent = first
    await minute(first, clock, M0)  # down, written: start
    sink.full = True
    for m in (M0 + 1, M0 + 2):  # down, judged, not written
        await minute(first, clock, m)
    assert first.writer.pending == 2
    clock.at(M0 + 3, 5)
    assert await server.reload()  # systemctl reload, the disk still full
    sink.full = False  # space freed
    fresh = server.agent
    assert fresh is not None and fresh is not first
    await fresh.tick()
    assert fresh.writer.pending == 0
    await minute(fresh, clock, M0 + 3)  # up: the end
    assert await fresh.stop()
    await sink.close()
    assert await stored(config.storage_path, M0, M0 + 4) == [DOWN, DOWN, DOWN, UP]
    assert [h["event"] for h in target.hooks] == ["start", "end"]
    assert target.hooks[1]["minutes"] == 3
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("web is ")]
    at = from_minute(M0).strftime("%Y-%m-%dT%H:%M:%SZ")
    back = from_minute(M0 + 3).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert said == [f"web is down since {at} (status:500)", f"web is up since {back}"]


async def test_an_outage_starting_while_the_database_is_broken_is_still_notified(
    make_config: ConfigFactory, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    """A notification waits until it is saved with its minutes, but a broken disk must not
    silence an outage: once writing has failed for ``UNDURABLE_AFTER`` seconds it goes
    out anyway (one WARNING), and is not sent again once the database works."""
    hook = f'[[agent.notifier]]\nwebhook = "{target.url("/hook")}"'
    config = make_config({"web": quick(target.url("/flaky"))}, agent=hook)
    clock = Clock()
    target.flaky_failures = 1000
    sink = DiskFull(config.storage_path)
    agent = Agent(config, clock=clock, sink=sink)
    await agent.restore()
    sink.full = True
    await minute(agent, clock, M0)  # down, not written: the start waits
    await agent.notifications.aclose()
    assert target.hooks == []
    since = agent.writer.problem_since_monotonic
    assert since is not None
    agent.writer.problem_since_monotonic = since - runner.UNDURABLE_AFTER  # 10 s later
    with caplog.at_level(logging.WARNING, logger="slawatch"):
        await minute(agent, clock, M0 + 1)
    await agent.notifications.aclose()
    assert [h["event"] for h in target.hooks] == ["start"]
    assert any("before they could be saved" in r.getMessage() for r in caplog.records)
    sink.full = False
    target.flaky_failures = 0
    await minute(agent, clock, M0 + 2)  # written at last; up: the end, saved first
    assert await agent.stop()
    await sink.close()
    assert [h["event"] for h in target.hooks] == ["start", "end"]
    assert await stored(config.storage_path, M0, M0 + 3) == [DOWN, DOWN, UP]


async def test_a_restart_of_an_agent_that_judged_nothing_claims_no_1970_minute(
    make_config: ConfigFactory, target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    """Started (its state saved once, to know the store takes writes) and stopped
    before a minute was judged: the next start said it had 'judged up to
    1969-12-31T23:59:00Z' (seen on every SIGHUP reload of a fresh agent)."""
    config = make_config({"web": quick(target.url("/ok"))})
    clock = Clock()
    caplog.set_level(logging.INFO, logger="slawatch")
    first = await started(config, clock)
    assert await first.writable() is None  # what Server checks before READY=1
    await crash(first)
    second = await started(config, clock)
    assert second._judged.upto == -1
    assert not any("1969" in r.getMessage() or "1970" in r.getMessage() for r in caplog.records)
    await crash(second)
