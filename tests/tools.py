"""Tests that need a tool the machine may lack: skip outside CI, fail under ``CI=true``.

``.ci/run`` installs every tool the suite uses (systemd, tmux, PostgreSQL), and
CI runs as root, so under ``CI=true`` a missing tool or a refused tmpfs mount is
a broken CI image, not a reason to skip: the test fails and says what is missing.
"""

from __future__ import annotations

import os
import shutil
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
