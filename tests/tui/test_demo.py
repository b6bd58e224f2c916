"""``slawatch demo`` for real, in a tmux terminal: live states, cases, credits, clean exit.

The seeded database holds no probe states, so a ``down`` or ``degraded`` word
on screen can only come from the agent probing the simulator live (search goes
down 20 s in; billing is slow from 10 s in).
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from pathlib import Path

import pytest

from tests.tools import require
from tests.tui.tmuxkit import alive, children, kill_server, tmux

pytestmark = [pytest.mark.slow]


@pytest.fixture(autouse=True)
def _needs_tmux() -> None:
    require("tmux")  # skips without it, fails under CI=true


WANTED = {
    "a live down state": "✖ down",
    "a live degraded state": "▲ degraded",
    "an open case": "SUP-4720",
    "a breached case": "BREACHED",
    "a credit amount": "300.00 EUR",
    "an unreported outage": "unreported",
}


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
    tmux(socket, "new-session", "-d", "-s", "demo", "-x", "160", "-y", "45", command)
    try:
        shell = int(tmux(socket, "display-message", "-p", "-t", "demo", "#{pane_pid}"))
        screen, found, started = "", set[str](), time.monotonic()
        demo_pids: set[int] = set()
        while time.monotonic() - started < 45 and len(found) < len(WANTED):
            time.sleep(0.25)
            demo_pids |= children(shell)
            screen = tmux(socket, "capture-pane", "-p", "-t", "demo")
            found |= {what for what, text in WANTED.items() if text in screen}
        assert found == set(WANTED), f"missing {set(WANTED) - found} on screen:\n{screen}"
        assert demo_pids, "the demo process was never seen"

        tmux(socket, "send-keys", "-t", "demo", "q")
        for _ in range(100):
            if exit_file.exists() and exit_file.read_text().strip():
                break
            time.sleep(0.1)
        assert exit_file.read_text().strip() == "0"
        assert not [pid for pid in demo_pids if alive(pid)], "a demo process outlived q"
        assert list(temp.iterdir()) == [], "the demo left its temporary folder behind"
    finally:
        kill_server(socket)
