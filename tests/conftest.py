"""Helpers every test area may use: a config file on disk and the real CLI in a subprocess."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

from tests.loopback import OkHandler, serve
from tests.pg import Cluster, cluster, scratch
from tests.schedule import Recorder, scheduler

if TYPE_CHECKING:
    from xdist.remote import Producer

    from store import Store

# Every Python the tests start (the CLI, agents, the demo: hundreds of them)
# compiles each module it imports again where the machine sets
# PYTHONDONTWRITEBYTECODE, as CI's does: that was more than half the suite's
# time. Python caches bytecode here as it does for an installed slawatch (the
# first process to import a module writes its .pyc; writes are atomic).
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    sys.dont_write_bytecode = False

# CI explores the same examples every run (a failure there is reproducible and
# never a coin toss that blocks a landing); developers' runs keep exploring anew.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]

# Signing keys default to $XDG_CONFIG_HOME/slawatch/keys: tests (and the CLI they
# start) get a private one, never the real home of whoever runs the suite.
_XDG = tempfile.mkdtemp(prefix="slawatch-test-xdg-")
os.environ["XDG_CONFIG_HOME"] = _XDG
atexit.register(shutil.rmtree, _XDG, True)

RunCli = Callable[..., "subprocess.CompletedProcess[str]"]
WriteConfig = Callable[..., Path]


def write_config(folder: Path, text: str, name: str = "config.toml") -> Path:
    """Write (dedented) config text to ``folder/name``; returns its path."""
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run_cli(
    *args: object,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m slawatch ARGS...`` and capture its output (never raises on exit codes).

    ``$SLAWATCH_CONFIG`` from the caller's environment is dropped unless ``env`` sets it.
    """
    environment = {k: v for k, v in os.environ.items() if k != "SLAWATCH_CONFIG"}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO), environment.get("PYTHONPATH")])
    )
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "slawatch", *map(str, args)],
        cwd=cwd or REPO,
        env=environment,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(name="write_config", scope="session")
def write_config_fixture() -> WriteConfig:
    """``write_config(folder, text, name="config.toml") -> Path``."""
    return write_config


@pytest.fixture(name="run_cli", scope="session")
def run_cli_fixture() -> RunCli:
    """``run_cli(*args, cwd=None, env=None, input=None) -> CompletedProcess[str]``."""
    return run_cli


@pytest.fixture
def http_port() -> Iterator[int]:
    """A loopback HTTP server answering 200 "ok"; its port."""
    with serve(OkHandler) as port:
        yield port


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-durations",
        action="store_true",
        help="write each test file's time to tests/durations.json (see tests/schedule.py)",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("record_durations") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(Recorder(), "record-durations")


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> object:
    """``--dist loadfile`` with the longest files handed out first (tests/schedule.py);
    None leaves it to xdist."""
    return scheduler(config, log)


_LEAKED: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A database connection (or any worker thread) left open by a test would keep the
    interpreter from exiting: the run would hang instead of failing. Name it and fail."""
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread.daemon:
            continue
        thread.join(timeout=5)
        if thread.is_alive():
            _LEAKED.append(thread.name)
    if _LEAKED:
        sys.stderr.write(f"\nthreads left running after the tests (not closed): {_LEAKED}\n")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        # An xdist worker's own exit status is not the run's: hand the names to the
        # controller (pytest_testnodedown below), which fails the run.
        output = getattr(session.config, "workeroutput", None)
        if output is not None:
            output["leaked_threads"] = list(_LEAKED)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """In the xdist controller: threads a worker found left running fail the run."""
    _LEAKED.extend((getattr(node, "workeroutput", None) or {}).get("leaked_threads", ()))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _LEAKED:  # they would block interpreter exit forever: leave now, failed
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(pytest.ExitCode.TESTS_FAILED))


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the whole run (tests/pg.py), in memory
    where the machine has room."""
    with cluster(scratch()) as made:
        yield made


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database (as its superuser) for one test;
    dropped after it."""
    name = pg_cluster.new_database()
    yield pg_cluster.url(name)
    pg_cluster.drop_database(name)


OpenDb = Callable[..., Awaitable["Store"]]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_db(request: pytest.FixtureRequest, tmp_path: Path) -> OpenDb:
    """``await open_db(readonly=False)``: the same fresh database each call, on
    SQLite (a file in tmp_path) or PostgreSQL (a new database in the test cluster)."""
    if request.param == "sqlite":
        from store.sqlite import SqliteStore

        async def sqlite(readonly: bool = False) -> Store:
            return await SqliteStore.open(tmp_path / "s.db", readonly=readonly)

        return sqlite
    url = request.getfixturevalue("pg_url")
    from store.postgres import PostgresStore

    async def postgres(readonly: bool = False) -> Store:
        return await PostgresStore.open(url, readonly=readonly, init=not readonly)

    return postgres
