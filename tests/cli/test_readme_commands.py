"""README's command table names every command and every action of the real parser:
a command landed without its row (``demo``, ``store migrate``, ``case reopen``) fails here."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from slawatch.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_command_and_action_has_a_row_in_the_readme_table() -> None:
    rows = [line for line in README.read_text(encoding="utf-8").splitlines()
            if line.startswith("| `slawatch ")]  # fmt: skip
    missing = []
    for command, sub in _choices(build_parser()).items():
        mine = [row for row in rows if f"`slawatch {command}" in row or f"`{command} " in row]
        if not mine:
            missing.append(command)
            continue
        words = set(re.findall(r"[a-z-]+", " ".join(mine)))
        missing += [f"{command} {a}" for a in _choices(sub) if a not in words]
    assert missing == [], f"README.md's command table lacks: {', '.join(missing)}"
