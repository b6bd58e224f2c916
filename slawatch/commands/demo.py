"""``slawatch demo [--keep DIR]``: the whole product on one machine, no set-up."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slawatch.cli import Context


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="a simulated service, the agent probing it, a month of history and the dashboard",
    )
    p.add_argument(
        "--keep",
        metavar="DIR",
        type=Path,
        help="keep the demo's config and database in DIR (default: a temporary folder, removed)",
    )
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace, ctx: Context) -> int:
    from slawatch.demo import run_demo

    if args.keep is not None:
        _check_keep(args.keep)
    return run_demo(args.keep, ctx.clock)


def _check_keep(folder: Path) -> None:
    """The demo writes its own config and a made-up history: only into a new or empty
    folder, never over a real setup's config or into its database."""
    from core.errors import InputError

    if folder.exists() and not folder.is_dir():
        raise InputError("--keep", f"{folder} is not a folder")
    try:
        used = folder.is_dir() and any(folder.iterdir())
    except OSError as exc:
        raise InputError("--keep", f"cannot read {folder}: {exc.strerror}") from None
    if used:
        raise InputError(
            "--keep",
            f"{folder} is not empty: the demo writes its own config.toml and a made-up"
            " history there; give a new or empty folder",
        )
