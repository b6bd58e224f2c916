"""``slawatch demo`` ended by ``kill`` or a closed terminal, in a real tmux terminal.

(Apart from test_demo.py so the two spread over both test workers.)
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.tools import require
from tests.tui.tmuxkit import alive, children, cmdline, kill_server, tmux

pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def _needs_tmux() -> None:
    require("tmux")  # skips without it, fails under CI=true


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
    tmux(socket, "new-session", "-d", "-s", "demo", "-x", "120", "-y", "35", command)
    try:
        demo = int(tmux(socket, "display-message", "-p", "-t", "demo", "#{pane_pid}"))
        started, screen = time.monotonic(), ""
        while time.monotonic() - started < 45 and "Live status" not in screen:
            time.sleep(0.5)
            screen = tmux(socket, "capture-pane", "-p", "-t", "demo")
        assert "Live status" in screen, screen
        assert [p.name[:14] for p in temp.iterdir()] == ["slawatch-demo-"]
        pids = {demo, *children(demo)}
        if how == "SIGTERM":
            os.kill(demo, signal.SIGTERM)
        else:
            tmux(socket, "kill-session", "-t", "demo")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and [p for p in pids if alive(p)]:
            time.sleep(0.1)
        left = {p: cmdline(p) for p in pids if alive(p)}
        assert not left, f"the demo outlived {how}: {left}"
        assert list(temp.iterdir()) == [], f"{how} left the demo's temporary folder behind"
    finally:
        kill_server(socket)
