"""Outage notifications across kill -9 at every point of write / save / send (issue 16,
items 4 and 9): a real agent process on a fast clock (``notice_proc.py``), a real
loopback target and webhook receiver. The agent saves its outage state and the
notifications in the same transaction as the minutes they follow from, sends a
notification only once that committed and forgets it once sent; killed anywhere in
that sequence, the receiver still gets one outage: one ``start`` id and one ``end``
id, a resend (same id) only after a kill between sending and forgetting."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from agentkit import Target

from core.configfile import load_config
from core.status import DOWN, UNKNOWN, UP
from core.timeutil import from_minute, iso_z
from store.sqlite import SqliteStore
from tests import configs

HERE = Path(__file__).parent
RATE = 120  # a minute of the agent's clock every half second
INTERVAL = 0.1  # a probe every 12 s of the agent's clock
M0 = 29_000_000  # 2025-02-20T13:20Z: the first minute of the first run


class Switch(Target):
    """``/switch`` answers 500 while ``down``, else 200; ``/hook`` records each POST."""

    down = True
    keys: list[str]
    posts: list[tuple[str, int]]  # each POST to /hook: its event, the status answered

    async def respond(
        self, method: str, path: str, headers: dict[str, str], body: bytes, writer: Any
    ) -> None:
        if path == "/hook":
            self.keys.append(headers.get("idempotency-key", ""))
            self.posts.append((json.loads(body)["event"], self.hook_status))
        if path != "/switch":
            await super().respond(method, path, headers, body, writer)
            return
        status = 500 if self.down else 200
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".encode()
        )
        await writer.drain()


@pytest.fixture
async def switch() -> AsyncIterator[Switch]:
    t = Switch()
    t.keys = []
    t.posts = []
    await t.start()
    yield t
    await t.close()


def write_config(tmp_path: Path, target: Target, fleet: bool) -> Path:
    hook = f'[[agent.notifier]]\nwebhook = "{target.url("/hook")}"\ntimeout = "2s"'
    svc = configs.service(
        "web", "c", "100.00", probe={"url": target.url("/switch"), "interval": "5s",
                                     "timeout": "1s", "retries": 0},
    )  # fmt: skip
    place: dict[str, Any] = {"storage": "data/slawatch.db"}
    if fleet:  # a PostgreSQL that refuses: the forwarder waits, the spool takes it all
        place = {"url": "postgresql://agent@127.0.0.1:9/none", "spool": "data/spool.db"}
    text = configs.toml(
        **place,
        agent=configs.agent("probe-1", hook),
        contracts=[configs.contract("c", bands=configs.TWO_BANDS, report_within="72h")],
        services=[svc],
    )
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


async def state_of(db: Path) -> tuple[int | None, int]:
    """The saved judged_upto and the newest minute with a stored probe result."""
    if not await asyncio.to_thread(db.exists):
        return None, -1
    async with await SqliteStore.open(db, readonly=True) as store:
        state = await store.agent_state("probe-1")
    newest = max((p.minute for p in state.probes), default=-1)
    return state.judged_upto, newest


async def run(config: Path, db: Path, point: str, until: Any = None) -> int:
    """One agent process, its clock picking up where the last one's left off (so no
    minute goes unprobed between runs): killed at ``point``, or stopped by SIGTERM
    once ``until()`` holds. Returns its exit status."""
    judged, newest = await state_of(db)
    start = M0 if judged is None else max(judged + 1, newest)
    base = from_minute(start).timestamp() + 1
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE / "notice_proc.py"), str(config), str(base), str(RATE),
        str(INTERVAL), point, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(HERE.parent.parent)},
    )  # fmt: skip
    try:
        if until is None:
            try:  # it kills itself within seconds; still running means it never did
                return await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                return 0
        for _ in range(300):
            if until():
                break
            await asyncio.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(proc.wait(), 15)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


@pytest.mark.parametrize("fleet", [False, True], ids=["sqlite", "spool"])
async def test_kill_9_at_every_point_of_write_save_send_keeps_one_start_and_one_end(
    tmp_path: Path, switch: Switch, fleet: bool
) -> None:
    config = write_config(tmp_path, switch, fleet)
    loaded = load_config(config)
    db = loaded.spool_path if fleet else loaded.storage_path
    assert db is not None
    killed = -signal.SIGKILL
    for point in ("write:start", "inside:start", "saved:start", "sent:start"):
        assert await run(config, db, point) == killed, point
    # Killed before the transaction, inside it, or after its commit before the send:
    # nothing sent yet; then the restarted agent sent the saved start, and was killed
    # before forgetting it.
    assert [h["event"] for h in switch.hooks] == ["start"]
    switch.down = False
    for point in ("write:end", "inside:end", "saved:end", "sent:end"):
        assert await run(config, db, point) == killed, point
    assert await run(config, db, "none", until=lambda: len(switch.hooks) >= 4) == 0
    events = [h["event"] for h in switch.hooks]
    # The start sent again once (killed between sending and forgetting it), and so the
    # end: at least once, never lost; every resend carries the same id.
    assert events == ["start", "start", "end", "end"], switch.hooks
    ids = [h["id"] for h in switch.hooks]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]
    assert switch.keys == ids  # the Idempotency-Key header is the id
    assert switch.hooks[0] == switch.hooks[1] and switch.hooks[2] == switch.hooks[3]
    start, end = switch.hooks[0], switch.hooks[2]
    async with await SqliteStore.open(db, readonly=True) as store:
        got = (await store.minutes("web", M0, M0 + 200)).get("probe-1", b"")
        left = await store.agent_state("probe-1")
    # The first minute probed: M0, unless the first process took longer than a minute of
    # its fast clock (half a second) to start (a loaded machine; in fleet mode it first
    # tries PostgreSQL for the name).
    first = M0 + next(i for i, status in enumerate(got) if status)
    assert first - M0 <= 3, got
    assert start["start"] == end["start"] == iso_z(from_minute(first))
    # One outage, as the store has it: every minute from its start to its end down.
    statuses = list(got[first - M0 :])
    assert statuses[: end["minutes"]] == [DOWN] * end["minutes"]
    # The next minute probed is up (a restart on a loaded machine can leave a minute
    # unprobed between the last down one and it; the outage still ends there).
    assert next(s for s in statuses[end["minutes"] :] if s != UNKNOWN) == UP, statuses
    assert end["end"] == iso_z(from_minute(first + end["minutes"]))
    assert left.notices == () and left.outages == ()  # all sent, all forgotten


async def test_a_receiver_failing_at_the_end_gets_it_once_after_a_restart(
    tmp_path: Path, switch: Switch
) -> None:
    """The real agent process: the receiver answers 503 when the outage ends; the agent
    retries (one WARNING), is restarted (SIGTERM) with the retries pending, and the
    next run delivers the end once the receiver is back: ``start`` and ``end`` each
    delivered exactly once."""
    config = write_config(tmp_path, switch, fleet=False)
    db = load_config(config).storage_path

    def delivered() -> list[str]:
        return [event for event, status in switch.posts if status == 200]

    def failed_end(times: int) -> bool:
        return switch.posts.count(("end", 503)) >= times

    def answering(status: int) -> bool:
        if delivered() == ["start"]:
            switch.hook_status, switch.down = status, False  # the receiver fails, web is up
        return failed_end(2)  # the end made, refused, retried

    assert await run(config, db, "none", until=lambda: answering(503)) == 0
    assert delivered() == ["start"] and failed_end(2)
    async with await SqliteStore.open(db, readonly=True) as store:
        kept = (await store.agent_state("probe-1")).notices
    assert [json.loads(n.payload)["event"] for n in kept] == ["end"]  # kept across the restart
    switch.hook_status = 200  # back
    assert await run(config, db, "none", until=lambda: "end" in delivered()) == 0
    assert delivered() == ["start", "end"]  # the start not again, the end once
    async with await SqliteStore.open(db, readonly=True) as store:
        assert (await store.agent_state("probe-1")).notices == ()
