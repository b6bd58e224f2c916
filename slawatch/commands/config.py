"""``slawatch config check``: validate the config file (exit 0, or 2 with the key at fault)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from slawatch.commands._args import Subparsers, group
from slawatch.commands._support import plural

if TYPE_CHECKING:
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    check = group(sub, "config", "work with the config file").add_parser(
        "check", help="validate the config; exit 0 or 2"
    )
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace, ctx: Context) -> int:
    import os
    import sys

    from agent.limits import check_probes, missing_secrets

    config = ctx.config
    check_probes(config)  # every limit the agent applies before it starts
    for line in missing_secrets(config, os.environ):
        print(f"{config.path}: warning: {line} (the agent needs it)", file=sys.stderr)
    print(
        f"{config.path}: ok ({plural(len(config.services), 'service')},"
        f" {plural(len(config.contracts), 'contract')},"
        f" {plural(len(config.calendars), 'calendar')}; database {config.storage_path})"
    )
    return 0
