"""The agent's journal of probe results (store.agentstate) on SQLite: one transaction
per call, in one trip to the connection's thread once every name is known
(``Conn.commit_rows``), with the same guarantees as the ordinary write path."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store import StoreBusy
from store.rows import ProbeRecord
from store.sqlite import SqliteStore

AT = datetime(2026, 11, 1, 12, 0, 5, tzinfo=UTC)
MINUTE = int(AT.timestamp()) // 60


def record(service: str, seconds: int, status: int = 1) -> ProbeRecord:
    at = AT + timedelta(seconds=seconds)
    return ProbeRecord(service, "paris-1", MINUTE, at, status, 12, None if status else "timeout")


async def test_journalled_results_are_kept_once_and_read_back_after_reopening(
    tmp_path: Path,
) -> None:
    path = tmp_path / "agent.db"
    store = await SqliteStore.open(path)
    try:
        await store.record_probe_results([record("a", 0), record("b", 1)])  # new names
        assert ("services", "a") in store._ids  # known now: the next calls take one trip
        await store.record_probe_results([record("a", 20, status=0)])
        await store.record_probe_results([record("a", 20, status=0)])  # again: no change
        await store.record_probe_results([record("b", 21), record("c", 22)])  # c is new
        synchronous = await store._db.fetchall("PRAGMA synchronous")
        assert synchronous == [(2,)]  # FULL again for every other write
    finally:
        await store.close()
    reopened = await SqliteStore.open(path)  # what a restarted agent reads
    try:
        state = await reopened.agent_state("paris-1")
    finally:
        await reopened.close()
    kept = sorted((r.service, r.at, r.status, r.error) for r in state.probes)
    wanted = [record("a", 0), record("b", 1), record("a", 20, 0), record("b", 21), record("c", 22)]
    assert kept == sorted((r.service, r.at, r.status, r.error) for r in wanted)


async def test_a_held_lock_is_store_busy_and_leaves_no_transaction_open(tmp_path: Path) -> None:
    path = tmp_path / "agent.db"
    store = await SqliteStore.open(path)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        await store.record_probe_results([record("a", 0)])
        await store._db.execute("PRAGMA busy_timeout = 50")
        other.execute("BEGIN IMMEDIATE")  # another writer holds the database
        with pytest.raises(StoreBusy):
            await store.record_probe_results([record("a", 10)])
        other.execute("ROLLBACK")
        await store.record_probe_results([record("a", 20)])  # the connection still works
        state = await store.agent_state("paris-1")
        assert [r.at for r in state.probes] == [record("a", 0).at, record("a", 20).at]
    finally:
        other.close()
        await store.close()
