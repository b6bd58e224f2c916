"""``Store``: the one class that speaks SQL (see the package docstring for the API).

Its parts live one per module (minutes, probes, cases, windows and credits),
each a ``StoreBase`` subclass; ``Store`` joins them and owns opening the file.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType

import aiosqlite

from core.errors import SlawatchError
from store.agentstate import AgentStateStore
from store.cases import CaseStore
from store.health import HealthStore
from store.minutes import MinuteStore
from store.probes import ProbeStore
from store.schema import LATEST, current_version, migrate
from store.windows import CreditStore, WindowStore

# Why FULL rather than the usual WAL + NORMAL: writes here are few and batched
# (the agent commits once a minute, an import is one transaction), so the one
# fsync per commit costs next to nothing, while what is committed is evidence:
# a minute of downtime or a case's opening time behind a credit claim. With
# NORMAL a power cut can silently drop commits the agent already reported as
# written; with FULL a commit that returned is on disk.
SYNCHRONOUS = "FULL"
BUSY_TIMEOUT_MS = 5000


def _create_private(path: Path) -> None:
    """Create an empty database file readable by its owner only (0600), in a
    folder only its owner can enter (0700) when the folder is created here.

    SQLite gives the -wal and -shm files it creates later the same mode.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)


class Store(
    MinuteStore, ProbeStore, CaseStore, WindowStore, CreditStore, HealthStore, AgentStateStore
):
    """An open slawatch database. Create with ``await Store.open(path)``."""

    # -- lifecycle ---------------------------------------------------------

    @classmethod
    async def open(cls, path: Path, *, readonly: bool = False) -> Store:
        """Open (and create, 0600, and migrate) the database at ``path``.

        ``readonly=True`` is for readers: a missing file reads as an empty
        database (an in-memory one, nothing is created). A file whose schema is
        older than this code is migrated first by a short writing open: the one
        write a reader ever makes, so that a reader started right after an
        upgrade works.
        """
        path = Path(path)
        if readonly and not path.exists():
            db = await aiosqlite.connect(":memory:", isolation_level=None)
            await migrate(db)
            return cls(db, path, readonly=True)
        try:
            if readonly:
                db = await aiosqlite.connect(
                    f"{path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None
                )
            else:
                _create_private(path)
                db = await aiosqlite.connect(path, isolation_level=None)
        except OSError as exc:
            raise SlawatchError(str(path), f"cannot create database: {exc.strerror}") from None
        except aiosqlite.Error as exc:
            raise SlawatchError(str(path), f"cannot open database: {exc}") from None
        outdated = False
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if readonly:
                outdated = await current_version(db) < LATEST
            else:
                await db.execute("PRAGMA journal_mode = WAL")
                await db.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
                await db.execute("PRAGMA foreign_keys = ON")
                await migrate(db)
        except aiosqlite.DatabaseError as exc:
            await db.close()
            if "locked" in str(exc) or "busy" in str(exc):
                raise SlawatchError(
                    str(path), f"{exc}: another slawatch is writing, try again"
                ) from None
            raise SlawatchError(str(path), f"not a usable slawatch database ({exc})") from None
        except BaseException:
            await db.close()
            raise
        if outdated:
            await db.close()
            await (await cls.open(path)).close()
            return await cls.open(path, readonly=True)
        return cls(db, path, readonly)

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- maintenance -------------------------------------------------------

    async def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version`` for this connection: it changes whenever
        another connection commits, so a poller (the dashboard) can skip a refresh
        when nothing was written. Keep the same ``Store`` open between calls."""
        rows = await self._fetchall("PRAGMA data_version")
        return int(rows[0][0])

    async def checkpoint(self) -> None:
        """Fold the WAL back into the database file (benchmarks measure the file after this)."""
        await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
