"""``slawatch import minutes FILE.csv [--source NAME]``: load minute records.

The file is streamed in batches into ONE transaction: a bad row anywhere
rejects the whole file (exit 2, naming the line) and nothing of it is kept.
Re-importing the same file changes nothing.
"""

from __future__ import annotations

import argparse
import gc
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InputError
from slawatch.commands._args import Subparsers, group
from slawatch.commands._support import plural, run

if TYPE_CHECKING:
    from slawatch.cli import Context

DEFAULT_SOURCE = "import"


def register(sub: Subparsers) -> None:
    minutes = group(sub, "import", "load records from a file").add_parser(
        "minutes", help="minute records CSV: service,minute,status[,latency_ms]"
    )
    minutes.add_argument("file", metavar="FILE.csv", type=Path)
    minutes.add_argument(
        "--source",
        default=DEFAULT_SOURCE,
        help=f"the source these records come from (default: {DEFAULT_SOURCE!r})",
    )
    minutes.set_defaults(handler=_minutes)


def _minutes(args: argparse.Namespace, ctx: Context) -> int:
    from store import open_store
    from store.csvfile import read_minutes

    config = ctx.config
    source = args.source.strip()
    if not source:
        raise InputError("--source", "must not be empty")
    path: Path = args.file
    name = str(path)
    try:
        stream = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except OSError as exc:
        raise InputError(name, f"cannot be read: {exc.strerror or exc}") from None

    async def load() -> int:
        async with await open_store(config) as store:
            batches = read_minutes(stream, name=name, source=source, services=config.services)
            return await store.import_minutes(batches)

    # Millions of short-lived row tuples would trigger the cyclic garbage collector
    # every few hundred allocations, tripling the import time; an import makes no
    # reference cycles worth collecting, so the collector sleeps until it is done.
    gc.disable()
    try:
        with stream:
            count = run(load())
    finally:
        gc.enable()
    print(f"imported {plural(count, 'minute record')} from {name} (source {source!r})")
    return 0
