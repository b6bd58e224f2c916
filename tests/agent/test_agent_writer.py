"""The writer keeps every verdict through a locked or unreachable database, then writes it."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

import store.sqlite.backend
from agent.sink import StoreSink
from agent.verdict import Verdict
from agent.writer import Writer
from core.status import DOWN, UP
from store.sqlite import SqliteStore

M0 = 29_400_000


def verdicts(n: int, start: int = M0) -> list[Verdict]:
    return [Verdict("web", start + i, UP if i % 3 else DOWN, 12, None, 1) for i in range(n)]


async def stored(path: Path, n: int) -> list[int]:
    async with await SqliteStore.open(path, readonly=True) as s:
        return list((await s.minutes("web", M0, M0 + n)).get("probe-1", b""))


async def test_locked_database_keeps_the_buffer_logs_once_and_recovers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store.sqlite.backend, "BUSY_TIMEOUT_MS", 100)  # fail fast instead of in 5 s
    path = tmp_path / "db.sqlite"
    await (await SqliteStore.open(path)).close()  # create and migrate it
    sink = StoreSink(path)
    writer = Writer(sink, "probe-1", batch=4)
    writer.add(verdicts(2))
    assert await writer.flush()  # the store is open; now someone holds the lock
    writer.add(verdicts(8, M0 + 2))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    with caplog.at_level(logging.INFO, logger="slawatch.agent"):
        assert not await writer.flush()
        assert not await writer.flush()
        assert writer.pending == 8 and writer.problem is not None
        holder.execute("COMMIT")
        holder.close()
        assert await writer.flush()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "locked" in errors[0].getMessage()
    assert "works again" in caplog.text
    assert writer.pending == 0 and writer.written == 10
    assert await stored(path, 10) == [v.status for v in verdicts(2) + verdicts(8, M0 + 2)]
    await sink.close()


async def test_unreachable_database_folder_then_fixed(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the database folder should be")
    path = blocker / "slawatch.db"
    sink = StoreSink(path)
    writer = Writer(sink, "probe-1")
    writer.add(verdicts(3))
    assert not await writer.flush()
    writer.add(verdicts(2, M0 + 3))  # probing goes on meanwhile
    assert not await writer.flush()
    blocker.unlink()
    assert await writer.flush()
    assert await stored(path, 5) == [v.status for v in verdicts(5)]
    await sink.close()
