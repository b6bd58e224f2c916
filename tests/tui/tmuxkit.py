"""The demo in a real tmux terminal: the helpers test_demo and test_demo_signals share."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.tools import proc_stats

TMUX = shutil.which("tmux")


def tmux(socket: str, *args: str) -> str:
    assert TMUX is not None
    done = subprocess.run(
        [TMUX, "-L", socket, *args], capture_output=True, text=True, check=True, timeout=10
    )
    return done.stdout


def kill_server(socket: str) -> None:
    subprocess.run([TMUX or "tmux", "-L", socket, "kill-server"], capture_output=True)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def children(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc), so the check covers grandchildren too."""
    out: set[int] = set()
    for child, fields in proc_stats():
        if int(fields[1]) == pid:
            out |= {child, *children(child)}
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"
