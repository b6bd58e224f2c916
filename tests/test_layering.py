"""The import directions of docs/architecture.md, proven in fresh interpreters.

Each package and every one of its modules is imported in a subprocess, then
``sys.modules`` is inspected: core stays pure, the agent never pulls in the
dashboard and the dashboard never pulls in the agent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools import missing

ROOT = Path(__file__).resolve().parents[1]

IMPORT_ALL = """
import importlib, json, pkgutil, sys
package = importlib.import_module(sys.argv[1])
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    importlib.import_module(info.name)
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
"""

FORBIDDEN = {
    "core": {
        "agent",
        "tui",
        "store",
        "reads",
        "slawatch",
        "textual",
        "httpx",
        "aiosqlite",
        "psycopg",
    },
    "store": {"agent", "tui", "slawatch", "reads"},
    "reads": {"agent", "tui", "slawatch", "textual", "httpx"},
    "agent": {"tui"},
    "tui": {"agent"},
}


def imported_by(package: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, package],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_import_directions(package: str) -> None:
    if not (ROOT / package / "__init__.py").exists():
        missing(f"{package}/ does not exist")
    leaked = imported_by(package) & FORBIDDEN[package]
    assert not leaked, f"{package} imports {sorted(leaked)}"
