"""Storage faults under a running agent: a full disk, a locked database, the file
removed or replaced, a read-only folder. The agent keeps probing, buffers, says so
once in its log and in the store's health record, and writes everything once the
fault clears. Real faults where the machine allows them (a size-limited tmpfs and a
read-only remount need root), an injected SQLITE_FULL everywhere."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tracemalloc
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostile import Hostile
from inproc import call
from rig import Clock, Rig, config_for

import store.sqlite.backend
from agent.sink import StoreSink
from agent.verdict import Verdict
from agent.writer import Writer
from core.status import UP
from core.timeutil import from_minute, iso_z, to_minute
from store.rows import MinuteRow, StateSave
from store.sqlite import SqliteStore
from tests.tools import missing


@pytest.fixture(autouse=True)
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        store.sqlite.backend, "BUSY_TIMEOUT_MS", 100
    )  # a lock fails fast, not in 5 s


@pytest.fixture
async def target() -> AsyncIterator[Hostile]:
    h = await Hostile().start()
    yield h
    await h.close()


@contextlib.contextmanager
def tmpfs(path: Path, size: str, *options: str) -> Iterator[Path]:
    """A size-limited filesystem of its own at ``path`` (root only; skips otherwise)."""
    path.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        missing("mounting a tmpfs needs root")
    opts = ",".join([f"size={size}", "mode=0700", *options])
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(path)], check=False)
    if done.returncode != 0:
        missing("this machine does not allow mounting a tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def remount_rw(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def stored(db: Path) -> dict[tuple[str, int], int]:
    out: dict[tuple[str, int], int] = {}
    async with await SqliteStore.open(db, readonly=True) as s:
        for name in ("svc0", "svc1"):
            bounds = await s.data_bounds(name)
            if bounds is None:
                continue
            data = (await s.minutes(name, *bounds)).get("probe-1", b"")
            out.update({(name, bounds[0] + i): c for i, c in enumerate(data) if c})
    return out


async def health(db: Path) -> list[tuple[str | None, bool]]:
    async with await SqliteStore.open(db, readonly=True) as s:
        return [(h.problem, h.problem_cleared is not None) for h in await s.agent_health()]


async def assert_all_written(rig: Rig, db: Path) -> None:
    got = await stored(db)
    missing = [k for k in rig.probed if got.get(k) != UP]
    assert not missing, f"{len(missing)} probed minutes missing, e.g. {missing[:3]}"
    assert set(got) == set(rig.probed)  # and nothing else


class FullSink(StoreSink):
    """The real sink, with SQLite's "database or disk is full" injected while ``full``."""

    full = False

    async def record_minutes(
        self, rows: Sequence[MinuteRow], *, state: StateSave | None = None
    ) -> None:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        await super().record_minutes(rows, state=state)


@pytest.mark.parametrize("how", ["injected SQLITE_FULL", "tmpfs full"])
async def test_disk_full_buffers_reports_once_and_writes_everything_after(
    how: str, tmp_path: Path, target: Hostile, caplog: pytest.LogCaptureFixture
) -> None:
    with contextlib.ExitStack() as stack:
        folder = tmp_path
        if how == "tmpfs full":
            folder = stack.enter_context(tmpfs(tmp_path / "disk", "1m"))
        db = folder / "slawatch.db"
        sink = FullSink(db)
        rig = Rig(config_for(tmp_path, db, target.url("/ok")), Clock(), sink)
        await rig.minutes(5)
        filler = folder / "filler"
        with caplog.at_level(logging.INFO, logger="slawatch"):
            if how == "tmpfs full":
                # Unbuffered, and the OSError caught outside the file: a buffered
                # file's close would flush the chunk that did not fit and raise
                # ENOSPC again, on whichever byte count the database left free.
                with contextlib.suppress(OSError), filler.open("wb", buffering=0) as f:
                    while True:
                        f.write(b"\0" * 65536)
            else:
                sink.full = True
            await rig.minutes(90)  # across an hour boundary: new pages are needed
            assert rig.agent.writer.pending >= 2 * 60, "the agent kept probing and buffering"
            assert "full" in (rig.agent.writer.problem or "")
            filler.unlink(missing_ok=True)
            sink.full = False
            await rig.minutes(2)
        assert rig.agent.writer.pending == 0
        assert len([e for e in errors(caplog) if "full" in e]) == 1
        assert "writing works again" in caplog.text
        await assert_all_written(rig, db)
        assert await health(db) == [("database or disk is full", True)]
        assert await rig.close()


async def test_long_reader_does_not_stop_writing(tmp_path: Path, target: Hostile) -> None:
    db = tmp_path / "slawatch.db"
    rig = Rig(config_for(tmp_path, db, target.url("/ok")), Clock())
    await rig.minutes(2)
    reader = sqlite3.connect(db, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM minute_blocks").fetchone()  # holds a snapshot
    for _ in range(30):
        await rig.minutes(1)
        assert rig.agent.writer.pending == 0  # WAL: a reader never blocks the writer
    reader.execute("COMMIT")
    reader.close()
    await assert_all_written(rig, db)
    assert await rig.close()


async def test_database_locked_by_another_writer(
    tmp_path: Path, target: Hostile, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "slawatch.db"
    rig = Rig(config_for(tmp_path, db, target.url("/ok")), Clock())
    await rig.minutes(2)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    with caplog.at_level(logging.INFO, logger="slawatch"):
        await rig.minutes(10)
        assert rig.agent.writer.pending == 20
        holder.execute("COMMIT")
        holder.close()
        await rig.minutes(1)
    assert rig.agent.writer.pending == 0
    assert len(errors(caplog)) == 1 and "locked" in errors(caplog)[0]
    await assert_all_written(rig, db)
    assert await health(db) == [("database is locked", True)]
    assert await rig.close()
    config = str(rig.agent.config.path)
    code, out, _err = await asyncio.to_thread(call, "--config", config, "status", "--json")
    agents = json.loads(out)["agents"]
    assert code == 0 and [a["storage_problem"] for a in agents] == ["database is locked"]
    assert agents[0]["problem_cleared"] is not None and agents[0]["unwritten_minutes"] == 0
    code, out, _err = await asyncio.to_thread(call, "--config", config, "status")
    assert "agent probe-1: storage problem" in out and "database is locked" in out


def remove(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


async def test_database_removed_while_running(
    tmp_path: Path, target: Hostile, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "slawatch.db"
    rig = Rig(config_for(tmp_path, db, target.url("/ok")), Clock())
    await rig.minutes(3)
    remove(db)  # the agent's connection still points at the unlinked file
    rig.probed.clear()  # what was in the removed file is the remover's doing
    with caplog.at_level(logging.INFO, logger="slawatch"):
        await rig.minutes(5)
    assert len(errors(caplog)) == 1 and "removed or replaced" in errors(caplog)[0]
    await assert_all_written(rig, db)  # every minute since, in the new file
    assert await rig.close()


async def test_database_replaced_by_a_copy_then_by_garbage(
    tmp_path: Path, target: Hostile, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "slawatch.db"
    rig = Rig(config_for(tmp_path, db, target.url("/ok")), Clock())
    await rig.minutes(3)
    backup = tmp_path / "backup.db"
    with sqlite3.connect(db) as src, sqlite3.connect(backup) as dst:
        src.backup(dst)  # a restore from backup: same minutes, a different file
    os.replace(backup, db)
    await rig.minutes(3)
    await assert_all_written(rig, db)  # the restored file got the new minutes too
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"this is not a database" * 100)
    os.replace(garbage, db)
    caplog.clear()  # count the garbage episode's lines alone
    with caplog.at_level(logging.INFO, logger="slawatch"):
        await rig.minutes(4)
        assert rig.agent.writer.pending == 8
        remove(db)  # the admin takes the garbage away
        await rig.minutes(1)
    assert rig.agent.writer.pending == 0
    assert len(errors(caplog)) == 1  # the garbage file: reported once, not every minute
    got = await stored(db)
    assert set(got) == set(rig.probed[-10:])  # the 5 minutes since the garbage, 2 services
    assert await rig.close()


async def test_read_only_folder_then_writable(
    tmp_path: Path, target: Hostile, caplog: pytest.LogCaptureFixture
) -> None:
    with contextlib.ExitStack() as stack:
        if os.geteuid() == 0:  # root ignores permissions: a read-only mount instead
            folder = stack.enter_context(tmpfs(tmp_path / "ro", "4m", "ro"))
        else:
            folder = tmp_path / "ro"
            folder.mkdir(mode=0o500)
        db = folder / "slawatch.db"
        rig = Rig(config_for(tmp_path, db, target.url("/ok")), Clock())
        with caplog.at_level(logging.INFO, logger="slawatch"):
            await rig.minutes(5)
            assert rig.agent.writer.pending == 10
            if os.geteuid() == 0:
                remount_rw(folder)
            else:
                folder.chmod(0o700)
            await rig.minutes(1)
        assert rig.agent.writer.pending == 0
        assert len(errors(caplog)) == 1
        await assert_all_written(rig, db)
        assert await rig.close()


class Broken:
    async def record_minutes(self, rows: Sequence[MinuteRow]) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    async def record_probe(self, state: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")


async def test_buffer_is_bounded_drops_oldest_and_says_so_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    writer = Writer(Broken(), "probe-1", limit=100)
    with caplog.at_level(logging.INFO, logger="slawatch"):
        for minute in range(250):
            writer.add([Verdict("svc0", minute, UP, 10, None, 1)])
            if minute % 10 == 0:
                assert not await writer.flush()
    assert writer.pending == 100 and writer.dropped == 150
    overflow = [e for e in errors(caplog) if "buffer is full" in e]
    assert len(overflow) == 1
    assert writer.health().dropped == 150 and writer.health().pending == 100


def test_a_buffered_minute_costs_about_215_bytes() -> None:
    """The figure behind agent.runner.BUFFER_MINUTES (printed, and kept honest)."""
    n = 100_000
    writer = Writer(Broken(), "probe-1")
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for minute in range(n):
        writer.add([Verdict(f"svc{minute % 50}", 29_000_000 + minute, UP, minute % 900, None, 1)])
    per_row = (tracemalloc.get_traced_memory()[0] - before) / n
    tracemalloc.stop()
    print(f"\nbuffer: {per_row:.0f} bytes per unwritten minute")
    assert per_row < 300


async def test_status_says_when_the_agent_cannot_write_rather_than_a_clean_month(
    tmp_path: Path, target: Hostile
) -> None:
    """Issue 16 item 10: the real agent, its database locked by another writer for 25
    minutes. Nothing it measures reaches the database (its health row neither), so
    what is not recorded reads as unknown and the month alone would say 100 %:
    ``status`` must say the figures stopped, since when, and which agent is silent;
    once the lock goes, everything is written and ``status`` is current again."""
    wall = datetime.now(UTC)
    start = wall.replace(second=30, microsecond=0) - timedelta(minutes=30)
    db = tmp_path / "slawatch.db"
    rig = Rig(config_for(tmp_path, db, target.url("/ok")), Clock(start))
    config = str(rig.agent.config.path)
    await rig.minutes(5)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # e.g. an admin's sqlite3 shell left in a transaction
    try:
        await rig.minutes(25)  # the agent's clock is the wall clock again
        assert rig.agent.writer.pending == 50 and rig.agent.writer.problem == "database is locked"
        code, out, _err = await asyncio.to_thread(call, "--config", config, "status", "--json")
        assert code == 0
        services = json.loads(out)["services"]
        stopped = from_minute(to_minute(start) + 5)  # the end of the last minute written
        for s in services:
            assert s["recording"] is False, s
            assert s["recorded_until"] == iso_z(stopped)
            assert s["not_recording"].startswith(f"nothing recorded since {iso_z(stopped)}")
            assert "agent probe-1 silent since" in s["not_recording"]
            assert "cannot write" in s["not_recording"]
            assert s["month_availability_percent"] == 100.0  # the rule: unknown is available
        code, text, _err = await asyncio.to_thread(call, "--config", config, "status")
        assert code == 0
        table = text.split("\n\n")[0]
        for name in ("svc0", "svc1"):
            row = next(line for line in table.splitlines() if line.startswith(name))
            assert "NOT RECORDING" in row
            assert f"? 100.0000 % to {stopped:%H:%M}Z (" in row and "measured)" in row
            assert f"  {name}: nothing recorded since" in text  # under the table
        assert "agent probe-1: silent since" in text
    finally:
        holder.execute("COMMIT")
        holder.close()
    await rig.minutes(1)
    assert rig.agent.writer.pending == 0
    await assert_all_written(rig, db)
    code, out, _err = await asyncio.to_thread(call, "--config", config, "status", "--json")
    view = json.loads(out)
    assert [s["recording"] for s in view["services"]] == [True, True]
    assert [s["not_recording"] for s in view["services"]] == [None, None]
    assert [a["storage_problem"] for a in view["agents"]] == ["database is locked"]
    code, text, _err = await asyncio.to_thread(call, "--config", config, "status")
    assert "NOT RECORDING" not in text and "?" not in text.split("\n\n")[0]
    assert await rig.close()
