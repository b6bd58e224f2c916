"""``slawatch config check``: validate the config file (exit 0, or 2 with the key at fault)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slawatch.cli import Context


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("config", help="work with the config file")
    actions = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate the config; exit 0 or 2")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace, ctx: Context) -> int:
    config = ctx.config
    print(
        f"{config.path}: ok ({len(config.services)} services, {len(config.contracts)} contracts,"
        f" {len(config.calendars)} calendars; database {config.storage_path})"
    )
    return 0
