"""A throwaway PostgreSQL cluster on loopback for the tests that need one.

The tests start it themselves: ``initdb`` into a folder in memory (``scratch()``), ``pg_ctl
start`` on a free 127.0.0.1 port with the socket in that folder, ``trust``
authentication (the cluster is reachable only from this machine, for this
run), and stop and remove it at the end of the session. ``initdb`` refuses to
run as root, so as root the cluster belongs to the ``postgres`` user.

Without PostgreSQL's binaries the tests skip, except under ``CI=true`` where
they fail: CI installs PostgreSQL (``.ci/run``) and must run them.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SUPERUSER = "slawatch_admin"


def pg_bin() -> Path | None:
    """The folder of PostgreSQL's server binaries (the newest installed), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def require_pg() -> Path:
    """``pg_bin()``, or skip (fail under CI) when PostgreSQL is not installed."""
    found = pg_bin()
    if found is None:
        message = "PostgreSQL server binaries (initdb) not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: .ci/run must install postgresql")
        pytest.skip(message)
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def url(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / argv[0]), *argv[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)

    def start(self) -> None:
        done = self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.data / "server.log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            "start",
        )  # fsync off: a test cluster is thrown away, a crash of it loses nothing of value
        if done.returncode != 0:
            log = (self.data / "server.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"pg_ctl start failed: {done.stderr}\n{log}")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def psql(self, sql: str, database: str = "postgres", user: str = SUPERUSER) -> str:
        done = subprocess.run(
            [
                str(self.bin / "psql"),
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-At",
                "-d",
                self.url(database, user),
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout

    def new_database(self) -> str:
        """A fresh, empty database; its name. Over a psycopg connection rather than
        ``psql``: a test of the PostgreSQL store makes one, and a process start each
        added up over the suite."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return name

    def drop_database(self, name: str) -> None:
        """Drop a test's database once the test is done (connections it left are
        closed), so a run's databases do not pile up in the cluster."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


MEMORY = Path("/dev/shm")


def scratch() -> Path:
    """Where the tests' clusters live: in memory (``/dev/shm``, a tmpfs) when it has
    room, else the temporary folder. On disk, a run's databases (a hundred of them,
    10 MB each) were written back to the disk half a minute after they were made, and
    removing them at the end took the worker 30-50 s (the disk is discarded block by
    block as files go); in memory, nothing of a throwaway cluster reaches the disk."""
    try:
        room = os.statvfs(MEMORY)
    except OSError:
        return Path(tempfile.gettempdir())
    if os.access(MEMORY, os.W_OK) and room.f_bavail * room.f_frsize >= 2 << 30:
        return MEMORY
    return Path(tempfile.gettempdir())


def reap_orphans(binaries: Path) -> None:
    """Stop and remove clusters left by runs that were killed (their owner is gone)."""
    roots = {MEMORY, Path(tempfile.gettempdir())}
    for folder in itertools.chain.from_iterable(r.glob("slawatch-pg-*") for r in roots):
        try:
            owner = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        if _alive(owner):
            continue
        Cluster(binaries, folder / "data", 0).stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def cluster(root: Path | None = None) -> Iterator[Cluster]:
    """Initialise and start a cluster in a new folder in ``root`` (the temporary
    folder by default; the tests pass ``scratch()``); stop it and remove its folder
    afterwards."""
    binaries = require_pg()
    reap_orphans(binaries)
    folder = Path(tempfile.mkdtemp(prefix="slawatch-pg-", dir=root))
    (folder / "owner.pid").write_text(str(os.getpid()))
    data = folder / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(data, "postgres")
    made = Cluster(binaries, data, free_port())
    try:
        done = made._run(
            "initdb", "-D", str(data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--no-sync"
        )
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr}")
        made.start()
        try:
            yield made
        finally:
            made.stop("immediate")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
