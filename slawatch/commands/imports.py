"""``slawatch import ...``: load minute records from files and other monitors.

- ``import minutes FILE.csv [--source NAME]``: slawatch's own CSV.
- ``import kuma KUMA.db [--monitor NAME_OR_ID=SERVICE ...] [--source NAME]``: an
  Uptime Kuma database, read-only (``slawatch.importers.kuma``).

Every import streams its records in batches into ONE transaction: a bad record
anywhere rejects the whole input (exit 2, naming the place) and nothing of it
is kept. Re-importing the same input changes nothing.
"""

from __future__ import annotations

import argparse
import gc
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InputError
from slawatch.commands._args import Subparsers, group
from slawatch.commands._support import plural, run

if TYPE_CHECKING:
    from core.config import Config
    from slawatch.cli import Context
    from store.rows import MinuteRow

DEFAULT_SOURCE = "import"
KUMA_SOURCE = "kuma"


def register(sub: Subparsers) -> None:
    actions = group(sub, "import", "load records from a file or another monitor")
    minutes = actions.add_parser(
        "minutes", help="minute records CSV: service,minute,status[,latency_ms]"
    )
    minutes.add_argument("file", metavar="FILE.csv", type=Path)
    minutes.add_argument(
        "--source",
        default=DEFAULT_SOURCE,
        help=f"the source these records come from (default: {DEFAULT_SOURCE!r})",
    )
    minutes.set_defaults(handler=_minutes)

    kuma = actions.add_parser(
        "kuma", help="an Uptime Kuma database (kuma.db, 1.x or 2.x), read-only"
    )
    kuma.add_argument("file", metavar="KUMA.db", type=Path)
    kuma.add_argument(
        "--monitor",
        action="append",
        default=[],
        metavar="NAME_OR_ID=SERVICE",
        help="which Kuma monitor feeds which service (repeatable; default: the monitors"
        " named exactly like a service)",
    )
    kuma.add_argument(
        "--source",
        default=KUMA_SOURCE,
        help=f"the source these records come from (default: {KUMA_SOURCE!r})",
    )
    kuma.set_defaults(handler=_kuma)


def _source(args: argparse.Namespace) -> str:
    source: str = args.source.strip()
    if not source:
        raise InputError("--source", "must not be empty")
    return source


def _load(config: Config, batches: Iterable[Sequence[MinuteRow]]) -> int:
    """All ``batches`` into the store in one transaction; the number of records."""
    from store import open_store

    async def load() -> int:
        async with await open_store(config) as store:
            return await store.import_minutes(batches)

    # Millions of short-lived row tuples would trigger the cyclic garbage collector
    # every few hundred allocations, tripling the import time; an import makes no
    # reference cycles worth collecting, so the collector sleeps until it is done.
    gc.disable()
    try:
        return run(load())
    finally:
        gc.enable()


def _minutes(args: argparse.Namespace, ctx: Context) -> int:
    from store.csvfile import read_minutes

    config = ctx.config
    source = _source(args)
    path: Path = args.file
    name = str(path)
    try:
        stream = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except OSError as exc:
        raise InputError(name, f"cannot be read: {exc.strerror or exc}") from None

    with stream:
        batches = read_minutes(stream, name=name, source=source, services=config.services)
        count = _load(config, batches)
    print(f"imported {plural(count, 'minute record')} from {name} (source {source!r})")
    return 0


def _kuma(args: argparse.Namespace, ctx: Context) -> int:
    from slawatch.importers.kuma import KumaDatabase, KumaStats, resolve_monitors
    from slawatch.importers.progress import Progress

    config = ctx.config
    source = _source(args)
    path: Path = args.file
    with KumaDatabase(path) as kuma:
        plan = resolve_monitors(kuma.monitors(), args.monitor, config.services, kuma.name)
        progress = Progress(f"{path.name}: heartbeats", None)
        if progress.enabled:
            progress.total = kuma.count(plan)
        stats = KumaStats()
        try:
            count = _load(
                config, kuma.minutes(plan, source=source, stats=stats, progress=progress.update)
            )
        finally:
            progress.close()
    print(
        f"imported {plural(count, 'minute record')} from {kuma.name} (Uptime Kuma {kuma.version},"
        f" {plural(len(plan), 'monitor')}, {plural(stats.heartbeats, 'heartbeat')},"
        f" source {source!r}); {plural(stats.maintenance_heartbeats, 'maintenance heartbeat')},"
        f" {plural(stats.maintenance_minutes, 'minute')} recorded as unknown"
    )
    return 0
