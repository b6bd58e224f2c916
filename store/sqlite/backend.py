"""``SqliteStore``: the store in one SQLite file, opened with aiosqlite.

``open`` creates the file (mode 0600, parent folders as needed), turns on WAL,
``synchronous = FULL`` (why: see ``SYNCHRONOUS``), a 5 s busy timeout, and
runs pending forward migrations. Readers open their own connection and never
hold a transaction open; a read-only open of a missing file reads as empty.
Every write is one short ``BEGIN IMMEDIATE`` transaction.

A removed or replaced file raises no error by itself: SQLite keeps writing
into the old, unlinked file, and everything written there would vanish when
the connection closes. So the store remembers which file it opened (device and
inode) and ``check_file`` looks again: the agent calls it before and after each
write, counts a write into a stale file as failed (it keeps the rows) and opens
whatever the path names now. Before letting go of the old file its WAL is
checkpointed empty, since the ``-wal`` file goes by the path and would
otherwise be replayed onto the new one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import aiosqlite

from core.errors import SlawatchError
from store.db import StoreBusy
from store.schema import LATEST, current_version, migrate
from store.sqlite.conn import SYNCHRONOUS, SqliteConn, SqliteError, is_busy
from store.store import Store

BUSY_TIMEOUT_MS = 5000


class DatabaseReplaced(OSError):
    """The database file was removed or replaced while the agent had it open."""


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


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class SqliteStore(Store):
    """An open SQLite database. Create with ``await SqliteStore.open(path)``."""

    path: Path
    _file: tuple[int, int] | None = None

    @classmethod
    async def open(cls, path: Path, *, readonly: bool = False) -> SqliteStore:
        """Open (and create, 0600, and migrate) the database at ``path``.

        ``readonly=True`` is for readers: a missing file reads as an empty
        database (an in-memory one, nothing is created). A file whose schema is
        older than this code is migrated first by a short writing open: the one
        write a reader ever makes, so that a reader started right after an
        upgrade works.
        """
        path = Path(path)
        where = str(path)
        if readonly and not path.exists():
            db = await aiosqlite.connect(":memory:", isolation_level=None)
            conn = SqliteConn(db, where)
            await migrate(conn)
            return cls._made(conn, path, readonly=True)
        try:
            if readonly:
                db = await aiosqlite.connect(
                    f"{path.absolute().as_uri()}?mode=ro", uri=True, isolation_level=None
                )
            else:
                _create_private(path)
                db = await aiosqlite.connect(path, isolation_level=None)
        except OSError as exc:
            raise SlawatchError(where, f"cannot create database: {exc.strerror}") from None
        except aiosqlite.Error as exc:
            raise SlawatchError(where, f"cannot open database: {exc}") from None
        conn = SqliteConn(db, where)
        outdated = False
        try:
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if readonly:
                outdated = await current_version(conn) < LATEST
            else:
                await db.execute("PRAGMA journal_mode = WAL")
                await db.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
                await db.execute("PRAGMA foreign_keys = ON")
                await migrate(conn)
        except (aiosqlite.DatabaseError, SlawatchError) as exc:
            await db.close()
            reason = exc.what if isinstance(exc, StoreBusy | SqliteError) else exc
            if isinstance(exc, SlawatchError) and reason is exc:
                raise
            if isinstance(exc, StoreBusy) or is_busy(exc):
                raise SlawatchError(
                    where, f"{reason}: another slawatch is writing, try again"
                ) from None
            raise SlawatchError(where, f"not a usable slawatch database ({reason})") from None
        except BaseException:
            await db.close()
            raise
        if outdated:
            await db.close()
            await (await cls.open(path)).close()
            return await cls.open(path, readonly=True)
        return cls._made(conn, path, readonly)

    @classmethod
    def _made(cls, conn: SqliteConn, path: Path, readonly: bool) -> SqliteStore:
        store = cls(conn, str(path), readonly)
        store.path = path
        store._file = None if readonly else _identity(path)
        return store

    async def data_version(self) -> int:
        """SQLite's ``PRAGMA data_version`` for this connection: it changes whenever
        another connection commits. Keep the same store open between calls."""
        rows = await self._fetchall("PRAGMA data_version")
        return int(rows[0][0])

    async def checkpoint(self) -> None:
        """Fold the WAL back into the database file (benchmarks measure the file after this)."""
        await self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    async def check_file(self) -> None:
        if self.readonly or _identity(self.path) == self._file:
            return
        # Empty the old file's WAL first: the -wal file lives at the path, and
        # SQLite would replay what is left in it onto whatever file is there now.
        with contextlib.suppress(Exception):
            await self.checkpoint()
        raise DatabaseReplaced(
            f"the database file {self.path} was removed or replaced while open;"
            " reopening it and writing again"
        )
