"""Tests that need a tool the machine may lack: skip outside CI, fail under ``CI=true``.

``.ci/run`` installs every tool the suite uses (systemd, tmux, PostgreSQL), and
CI runs as root, so under ``CI=true`` a missing tool or a refused tmpfs mount is
a broken CI image, not a reason to skip: the test fails and says what is missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing(message: str) -> NoReturn:
    """Skip with ``message``, or fail with it under ``CI=true``."""
    if in_ci():
        pytest.fail(f"{message} (CI=true: .ci/run must provide it)")
    pytest.skip(message)


def require(tool: str) -> str:
    """The path of ``tool``, or skip (fail under CI) when it is not installed."""
    found = shutil.which(tool)
    if found is None:
        missing(f"{tool} is not installed")
    return found


def proc_stats() -> Iterator[tuple[int, list[str]]]:
    """Every process's pid and the fields of its /proc/PID/stat after the command
    name (``fields[1]`` is the parent's pid, ``fields[11:13]`` utime and stime)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(entry.name), fields
