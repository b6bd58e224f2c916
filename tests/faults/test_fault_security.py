"""Nothing gets in, nothing leaks: private files, secrets that stay secret, a sandboxed
unit, and notifiers that never meet a shell."""

from __future__ import annotations

import ast
import asyncio
import glob
import json
import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from inproc import call

from agent.incidents import OutageEvent
from agent.notify import Notifications
from core.config import Notifier
from core.timeutil import YearMonth
from store.rows import MinuteRow
from store.sqlite import SqliteStore
from tests import configs
from tests.conftest import run_cli
from tests.loopback import QuietHandler, serve
from tests.tools import require

REPO = Path(__file__).resolve().parents[2]
SECRET = "Bearer sw-7c0ffee-TOP-SECRET-4242"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_database_and_keys_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask: without care, files would be world-readable
    try:
        db = tmp_path / "var" / "data" / "slawatch.db"
        async with await SqliteStore.open(db) as s:
            await s.record_minutes([MinuteRow("web", "probe-1", 29_000_000, 1)])
            assert mode(Path(f"{db}-wal")) == 0o600 and mode(Path(f"{db}-shm")) == 0o600
        assert mode(db) == 0o600 and mode(db.parent) == 0o700
        config = tmp_path / "config.toml"
        config.write_text(f'[storage]\npath = "{db}"\n')
        keys = tmp_path / "home-config" / "keys"
        code, _out, err = call(
            "--config", str(config), "key", "init", "--out", str(keys / "agent.key")
        )
        assert code == 0, err
        private = next(p for p in keys.iterdir() if not p.name.endswith(".pub"))
        assert mode(keys) == 0o700 and mode(private) == 0o600
        assert not (db.parent / "keys").exists()  # never next to the database
    finally:
        os.umask(old)


class _Auth(QuietHandler):
    def do_GET(self) -> None:
        self.answer(200 if self.headers.get("Authorization") == SECRET else 401)


@pytest.fixture
def auth_port() -> Iterator[int]:
    with serve(_Auth) as port:
        yield port


def test_header_secret_never_appears_in_logs_db_status_or_claims(
    tmp_path: Path, auth_port: int
) -> None:
    probe = {"retries": 1, "retry_delay": "1s", "timeout": "2s"}
    secret = {"header_env": {"Authorization": "PORTAL_TOKEN"}}
    services = [
        configs.service(name, "c", "10.00", probe=configs.probe(url, **probe, **secret))
        for name, url in [
            ("portal", f"http://127.0.0.1:{auth_port}/health"),
            ("broken", "http://127.0.0.1:9/health"),  # nothing listens: the error paths run too
            ("wronghost", f"https://127.0.0.1:{auth_port}/health"),  # TLS to a plain server
        ]
    ]
    config = tmp_path / "config.toml"
    config.write_text(
        configs.toml(
            storage="data/slawatch.db",
            agent=configs.agent("probe-1"),
            contracts=[configs.contract("c", bands=[configs.band(99.9, 0), configs.band(0.0, 50)])],
            services=services,
        )
    )
    env = {"PORTAL_TOKEN": SECRET, "SLAWATCH_LOG_LEVEL": "DEBUG"}
    agent = run_cli("--config", config, "agent", "--once", env=env, timeout=60)
    assert agent.returncode == 0, agent.stderr
    assert "portal\tup" in agent.stdout and "broken\tdown" in agent.stdout  # the secret worked

    month = str(YearMonth.of(datetime.now(UTC), ZoneInfo("UTC")))
    outputs = [agent.stdout, agent.stderr]
    for args in (
        ["status"],
        ["status", "--json"],
        ["report", "--month", month, "--format", "json"],
        ["outages", "--month", month, "--service", "broken", "--json"],
    ):
        code, out, err = call("--config", str(config), *args)
        assert code == 0, (args, err)
        outputs += [out, err]
    for fmt in ("json", "md"):
        bundle = tmp_path / f"claim.{fmt}"
        code, out, err = call(
            "--config",
            str(config),
            "claim",
            "export",
            "--service",
            "broken",
            "--month",
            month,
            "--out",
            str(bundle),
            "--format",
            fmt,
            "--provisional",  # the agent just recorded this month: it is not over
        )
        assert code == 0, err
        outputs += [out, err, bundle.read_text()]
    files = [p for p in (tmp_path / "data").iterdir() if p.is_file()]
    assert any(p.name == "slawatch.db" for p in files)
    secret_parts = [SECRET, SECRET.split()[1], SECRET.split()[1].encode().hex()]
    for text in outputs:
        assert not any(s in text for s in secret_parts), text[:500]
    for path in files:
        raw = path.read_bytes()
        assert not any(s.encode() in raw for s in secret_parts[:2]), path


def test_systemd_unit_exposure_score() -> None:
    require("systemd-analyze")  # skips without it, fails under CI=true
    done = subprocess.run(
        [
            "systemd-analyze",
            "security",
            "--offline=true",
            "--no-pager",
            str(REPO / "deploy" / "slawatch-agent.service"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", done.stdout)
    assert found, done.stdout[-500:] + done.stderr[-500:]
    score = float(found.group(1))
    print(f"\nsystemd-analyze security: exposure {score} {found.group(2)}")
    assert score <= 2.0  # "OK" is below 4.0; the unit leaves only the network open


def test_no_code_runs_a_shell() -> None:
    """No subprocess with shell=True, os.system, os.popen or create_subprocess_shell."""
    offenders = []
    for package in ("agent", "core", "store", "slawatch", "tui"):
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Call):
                    name = ast.unparse(node.func)
                    if name in ("os.system", "os.popen", "asyncio.create_subprocess_shell"):
                        offenders.append(f"{path}:{node.lineno} {name}")
                    for kw in node.keywords:
                        if kw.arg == "shell" and not (
                            isinstance(kw.value, ast.Constant) and kw.value.value is False
                        ):
                            offenders.append(f"{path}:{node.lineno} shell=")
    assert not offenders


async def test_notifier_values_never_reach_a_shell(tmp_path: Path) -> None:
    """A service name and an error made of shell syntax arrive as plain data."""
    hostile = "web$(touch PWNED1);touch PWNED2`touch PWNED3`|touch PWNED4 && echo"
    out = tmp_path / "got.json"
    script = tmp_path / "notify.py"
    script.write_text(
        "import json, os, sys\n"
        f"open({str(out)!r}, 'w').write(json.dumps({{'argv': sys.argv[1:],"
        " 'env': os.environ.get('SLAWATCH_SERVICE'), 'stdin': json.load(sys.stdin)}))\n"
    )
    command = (sys.executable, str(script), "--service", "{service}", "$SLAWATCH_SERVICE")
    notifications = Notifications(
        [Notifier(command=command, timeout=timedelta(seconds=20))], "probe-1", env={}
    )
    start = datetime(2026, 10, 3, 14, 0, tzinfo=UTC)
    event = OutageEvent("start", hostile, start, 3, start + timedelta(hours=72), error=hostile)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # where a shell would create the PWNED files
    try:
        assert await notifications.deliver(notifications._notifiers[0], event)
        await notifications.aclose()
        await asyncio.sleep(0)
    finally:
        os.chdir(cwd)
    got = json.loads(out.read_text())
    assert got["argv"] == ["--service", "{service}", "$SLAWATCH_SERVICE"]  # nothing expanded
    assert got["env"] == hostile and got["stdin"]["service"] == hostile
    assert got["stdin"]["error"] == hostile
    assert not glob.glob(str(tmp_path / "PWNED*"))
