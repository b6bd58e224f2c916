"""``slawatch demo`` for real, in a tmux terminal: live states, cases, credits, clean exit.

The seeded database holds no probe states, so a ``down`` or ``degraded`` word
on screen can only come from the agent probing the simulator live (search goes
down 20 s in; billing is slow from 10 s in).
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tools import proc_stats, require

TMUX = shutil.which("tmux")
pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def _tmux() -> None:
    require("tmux")  # skips without it, fails under CI=true


WANTED = {
    "a live down state": "✖ down",
    "a live degraded state": "▲ degraded",
    "an open case": "SUP-4720",
    "a breached case": "BREACHED",
    "a credit amount": "300.00 EUR",
    "an unreported outage": "unreported",
}


def _tmux(socket: str, *args: str) -> str:
    assert TMUX is not None
    done = subprocess.run(
        [TMUX, "-L", socket, *args], capture_output=True, text=True, check=True, timeout=10
    )
    return done.stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_demo_live_then_quit_leaves_nothing(tmp_path: Path) -> None:
    socket = f"slawatch-test-{os.getpid()}"
    temp = tmp_path / "tmp"
    temp.mkdir()
    exit_file = tmp_path / "exit-code"
    slawatch = Path(sys.executable).parent / "slawatch"
    command = (
        f"TMPDIR={shlex.quote(str(temp))} {shlex.quote(str(slawatch))} demo;"
        f" echo $? > {shlex.quote(str(exit_file))}"
    )
    _tmux(socket, "new-session", "-d", "-s", "demo", "-x", "160", "-y", "45", command)
    try:
        shell = int(_tmux(socket, "display-message", "-p", "-t", "demo", "#{pane_pid}"))
        screen, found, started = "", set[str](), time.monotonic()
        demo_pids: set[int] = set()
        while time.monotonic() - started < 45 and len(found) < len(WANTED):
            time.sleep(0.25)
            demo_pids |= _children(shell)
            screen = _tmux(socket, "capture-pane", "-p", "-t", "demo")
            found |= {what for what, text in WANTED.items() if text in screen}
        assert found == set(WANTED), f"missing {set(WANTED) - found} on screen:\n{screen}"
        assert demo_pids, "the demo process was never seen"

        _tmux(socket, "send-keys", "-t", "demo", "q")
        for _ in range(100):
            if exit_file.exists() and exit_file.read_text().strip():
                break
            time.sleep(0.1)
        assert exit_file.read_text().strip() == "0"
        assert not [pid for pid in demo_pids if _alive(pid)], "a demo process outlived q"
        assert list(temp.iterdir()) == [], "the demo left its temporary folder behind"
    finally:
        subprocess.run([TMUX or "tmux", "-L", socket, "kill-server"], capture_output=True)


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc), so the check covers grandchildren too."""
    out: set[int] = set()
    for child, fields in proc_stats():
        if int(fields[1]) == pid:
            out |= {child, *_children(child)}
    return out


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP"])
def test_demo_killed_or_hung_up_removes_its_temporary_folder(tmp_path: Path, how: str) -> None:
    """``kill`` (SIGTERM) and a closed terminal (SIGHUP: the tmux session killed) end the
    demo as ``q`` does: no process left, the temporary folder gone (after SIGHUP within
    ``HANGUP_GRACE_S`` even when the dashboard's shutdown waits on the lost terminal)."""
    socket = f"slawatch-test-{os.getpid()}-{how}"
    temp = tmp_path / "tmp"
    temp.mkdir()
    slawatch = Path(sys.executable).parent / "slawatch"
    command = f"TMPDIR={shlex.quote(str(temp))} exec {shlex.quote(str(slawatch))} demo"
    _tmux(socket, "new-session", "-d", "-s", "demo", "-x", "120", "-y", "35", command)
    try:
        demo = int(_tmux(socket, "display-message", "-p", "-t", "demo", "#{pane_pid}"))
        started, screen = time.monotonic(), ""
        while time.monotonic() - started < 45 and "Live status" not in screen:
            time.sleep(0.5)
            screen = _tmux(socket, "capture-pane", "-p", "-t", "demo")
        assert "Live status" in screen, screen
        assert [p.name[:14] for p in temp.iterdir()] == ["slawatch-demo-"]
        pids = {demo, *_children(demo)}
        if how == "SIGTERM":
            os.kill(demo, signal.SIGTERM)
        else:
            _tmux(socket, "kill-session", "-t", "demo")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and [p for p in pids if _alive(p)]:
            time.sleep(0.1)
        left = {p: _cmdline(p) for p in pids if _alive(p)}
        assert not left, f"the demo outlived {how}: {left}"
        assert list(temp.iterdir()) == [], f"{how} left the demo's temporary folder behind"
    finally:
        subprocess.run([TMUX or "tmux", "-L", socket, "kill-server"], capture_output=True)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"
