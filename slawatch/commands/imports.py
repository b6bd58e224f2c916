"""``slawatch import ...``: load minute records from files and other monitors.

- ``import minutes FILE.csv [--source NAME]``: slawatch's own CSV.
- ``import kuma KUMA.db [--monitor NAME_OR_ID=SERVICE ...] [--source NAME]``: an
  Uptime Kuma database, read-only (``slawatch.importers.kuma``).

Every import streams its records in batches into ONE transaction: a bad record
anywhere rejects the whole input (exit 2, naming the place) and nothing of it
is kept. Re-importing the same input changes nothing; each import says how
many records were new, unchanged or replaced. A record that would change a
minute already recorded refuses the whole import unless ``--replace`` is
given, and every replacement is kept in the audit trail (``slawatch audit``).
"""

from __future__ import annotations

import argparse
import gc
import gzip
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InputError
from slawatch.commands._args import Subparsers, group
from slawatch.commands._support import minute_span, plural, with_store
from slawatch.tables import on_screen

if TYPE_CHECKING:
    from core.config import Config
    from slawatch.cli import Context
    from store import Store
    from store.layout import Tally
    from store.rows import MinuteRow

DEFAULT_SOURCE = "import"
KUMA_SOURCE = "kuma"
PROMETHEUS_SOURCE = "prometheus"


def register(sub: Subparsers) -> None:
    actions = group(sub, "import", "load records from a file or another monitor")
    minutes = actions.add_parser(
        "minutes", help="minute records CSV: service,minute,status[,latency_ms]"
    )
    minutes.add_argument(
        "file",
        metavar="FILE.csv",
        type=Path,
        help="header service,minute,status[,latency_ms]; minute ISO 8601 with an offset, "
        "status up, down or degraded (a minute with no row is unknown)",
    )
    minutes.add_argument(
        "--source",
        default=DEFAULT_SOURCE,
        help=f"the source these records come from (default: {DEFAULT_SOURCE!r})",
    )
    _replace_option(minutes)
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
        "--since",
        metavar="TIME",
        help="import heartbeats from this time on (ISO 8601 with offset); Kuma 2.x keeps"
        " only changes of status after 24 hours, and days it thinned are refused",
    )
    kuma.add_argument(
        "--status-changes",
        action="store_true",
        help="rebuild the days Kuma 2.x thinned from the changes of status it kept, on"
        " the days its stat_daily shows checked whole (the others are left unknown)",
    )
    kuma.add_argument(
        "--source",
        default=KUMA_SOURCE,
        help=f"the source these records come from (default: {KUMA_SOURCE!r})",
    )
    _replace_option(kuma)
    kuma.set_defaults(handler=_kuma)

    prom = actions.add_parser(
        "prometheus",
        help="probe_success from Prometheus (blackbox exporter): a server or a saved answer",
    )
    given = prom.add_mutually_exclusive_group(required=True)
    given.add_argument("--url", metavar="URL", help="the Prometheus server, e.g. http://prom:9090")
    given.add_argument(
        "--file", type=Path, metavar="FILE.json", help="a saved query_range answer instead"
    )
    prom.add_argument(
        "--query", metavar="PROMQL", help="with --url, e.g. 'probe_success{job=\"blackbox\"}'"
    )
    prom.add_argument("--from", dest="start", metavar="TIME", help="start (with --url: required)")
    prom.add_argument("--to", dest="end", metavar="TIME", help="end, exclusive")
    prom.add_argument(
        "--service-label",
        required=True,
        metavar="LABEL",
        help="the label whose value names the service, e.g. instance",
    )
    prom.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="VALUE=SERVICE",
        help="a label value -> a service (repeatable; default: values that are service names)",
    )
    prom.add_argument(
        "--latency-query",
        metavar="PROMQL",
        help='with --url: latency in seconds, e.g. probe_duration_seconds{job="blackbox"}',
    )
    prom.add_argument(
        "--latency-file", type=Path, metavar="FILE.json", help="with --file: a saved latency answer"
    )
    prom.add_argument(
        "--source",
        default=PROMETHEUS_SOURCE,
        help=f"the source these records come from (default: {PROMETHEUS_SOURCE!r})",
    )
    _replace_option(prom)
    prom.set_defaults(handler=_prometheus)


def _replace_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--replace",
        action="store_true",
        help="replace minutes already recorded differently (each replacement is kept in the"
        " audit trail: see `slawatch audit`); without it such an import is refused",
    )


def _source(args: argparse.Namespace) -> str:
    source: str = args.source.strip()
    if not source:
        raise InputError("--source", "must not be empty")
    return source


def _load(
    config: Config,
    batches: Iterable[Sequence[MinuteRow]],
    args: argparse.Namespace,
    where: str,
    now: datetime,
) -> tuple[int, Tally]:
    """All ``batches`` into the store in one transaction: the number of records and
    how they compare with what was recorded (a conflict refuses it without --replace)."""
    from store.layout import Tally

    tally = Tally()

    async def load(store: Store) -> tuple[int, Tally]:
        count = await store.import_minutes(
            batches, replace=args.replace, tally=tally, where=where, at=now
        )
        return count, tally

    # Millions of short-lived row tuples would trigger the cyclic garbage collector
    # every few hundred allocations, tripling the import time; an import makes no
    # reference cycles worth collecting, so the collector sleeps until it is done.
    gc.disable()
    try:
        return with_store(config, load)
    finally:
        gc.enable()


def _counts(tally: Tally) -> str:
    """``12 new, 3 unchanged, 0 replaced``: how an import compared with the store."""
    return (
        f"{tally.new} new, {tally.unchanged} unchanged, {len(tally.conflicts)} replaced"
        f"{' (see slawatch audit)' if tally.conflicts else ''}"
    )


def _minutes(args: argparse.Namespace, ctx: Context) -> int:
    from store.csvfile import read_minutes

    config = ctx.config
    source = _source(args)
    path: Path = args.file
    name = str(path)
    try:
        with path.open("rb") as probe:
            compressed = probe.read(2) == b"\x1f\x8b"  # gzip's magic: a .csv.gz
        if compressed:
            # closed by the with below
            stream = gzip.open(path, "rt", encoding="utf-8-sig", newline="")  # noqa: SIM115
        else:
            stream = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except OSError as exc:
        raise InputError(name, f"cannot be read: {exc.strerror or exc}") from None

    with stream:
        batches = read_minutes(stream, name=name, source=source, services=config.services)
        count, tally = _load(config, batches, args, name, ctx.now())
    said = f"imported {plural(count, 'minute record')} from {name} (source {source!r}):"
    print(on_screen(f"{said} {_counts(tally)}", then="  "))
    return 0


def _kuma(args: argparse.Namespace, ctx: Context) -> int:
    from core.timeutil import parse_instant
    from slawatch.importers.kuma import KumaDatabase, KumaStats, resolve_monitors
    from slawatch.importers.prefetch import prefetch
    from slawatch.importers.progress import Progress

    config = ctx.config
    source = _source(args)
    path: Path = args.file
    since = parse_instant(args.since, "--since") if args.since else None
    with KumaDatabase(path) as kuma:
        monitors = kuma.monitors()
        plan = resolve_monitors(monitors, args.monitor, config.services, kuma.name)
        by_id = {m.id: m for m in monitors}
        stats = KumaStats()
        starts: dict[int, datetime] = {}
        rebuilt: dict[int, list[MinuteRow]] = {}
        for monitor_id, service in plan.items():
            thin = kuma.thinned(monitor_id, since)
            if thin is None:
                continue
            until = thin.last + timedelta(days=1)
            if not args.status_changes:
                days = plural(thin.days, "day")
                raise InputError(
                    f"{kuma.name}: monitor {by_id[monitor_id].name!r} (id {monitor_id})",
                    f"Kuma kept only its changes of status on {days} from {thin.first}"
                    f" to {thin.last} (UTC; stat_daily counts {thin.checks:,} checks on"
                    f" {thin.first}, {plural(thin.kept, 'heartbeat')} left): read minute by"
                    " minute, their outages would be unknown, counted available; rebuild"
                    " them with --status-changes, or import the days kept whole with"
                    f" --since {until}T00:00Z",
                )
            rebuilt[monitor_id] = kuma.changes(
                by_id[monitor_id], service, source, since, until, stats
            )
            starts[monitor_id] = datetime(until.year, until.month, until.day, tzinfo=UTC)
        progress = Progress(f"{path.name}: heartbeats", None)
        if progress.enabled:
            progress.total = kuma.count(plan)
        try:
            batches = kuma.minutes(
                plan, source=source, stats=stats, progress=progress.update, since=since,
                starts=starts, rebuilt=rebuilt,
            )  # fmt: skip
            count, tally = _load(config, prefetch(batches), args, str(path), ctx.now())
        finally:
            progress.close()
    said = (
        f"imported {plural(count, 'minute record')} from {kuma.name} (Uptime Kuma {kuma.version},"
        f" {plural(len(plan), 'monitor')}, {plural(stats.heartbeats, 'heartbeat')},"
        f" source {source!r}); {plural(stats.maintenance_heartbeats, 'maintenance heartbeat')},"
        f" {plural(stats.maintenance_minutes, 'minute')} recorded as unknown; {_counts(tally)}"
    )
    if rebuilt:
        said += (
            f"; {plural(stats.rebuilt_minutes, 'minute')} rebuilt from changes of status,"
            f" {plural(stats.unrebuilt_days, 'thinned day')} not checked whole left unknown"
        )
    print(on_screen(said, then="  "))
    return 0


def _prometheus(args: argparse.Namespace, ctx: Context) -> int:
    from core.timeutil import parse_instant
    from slawatch.importers import prometheus as prom

    config = ctx.config
    source = _source(args)
    mapping = prom.parse_map(args.map, config.services)
    span: tuple[int, int] | None = None
    if args.start or args.end:
        if not (args.start and args.end):
            raise InputError("--from" if not args.start else "--to", "give both --from and --to")
        span = minute_span(parse_instant(args.start, "--from"), parse_instant(args.end, "--to"))
        if span[1] <= span[0]:
            raise InputError("--to", "must be after --from")
    label = args.service_label
    if args.url:
        if not args.query:
            raise InputError("--query", "required with --url")
        if span is None:
            raise InputError("--from", "required with --url (and --to)")
        if args.latency_file:
            raise InputError("--latency-file", "goes with --file; use --latency-query")
        where = args.url
        success = _fetch_range(args.url, args.query, span, label)
        latency = (
            _fetch_range(args.url, args.latency_query, span, label) if args.latency_query else None
        )
    else:
        if args.query or args.latency_query:
            raise InputError("--query", "goes with --url; a saved answer holds its query")
        where = str(args.file)
        success = prom.parse_answer(_read(args.file), where, label)
        latency = None
        if args.latency_file:
            latency = prom.parse_answer(_read(args.latency_file), str(args.latency_file), label)
    stats = prom.PromStats()
    rows = prom.minute_rows(
        success, latency, mapping=mapping, services=config.services, source=source,
        span=span, where=where, stats=stats,
    )  # fmt: skip
    if not stats.series:
        shown = ", ".join(repr(v) for v in sorted(stats.skipped)[:10]) or "none"
        raise InputError(
            where,
            f"no series maps to a service of the config; map {label} values with"
            f" --map VALUE=SERVICE (values: {shown})",
        )
    count, tally = _load(config, [rows], args, where, ctx.now())
    skipped = f"; {len(stats.skipped)} series mapped to no service" if stats.skipped else ""
    said = (
        f"imported {plural(count, 'minute record')} from {where} ({stats.series} series,"
        f" {plural(stats.samples, 'sample')}, source {source!r}){skipped}: {_counts(tally)}"
    )
    print(on_screen(said, then="  "))
    return 0


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot be read: {exc.strerror or exc}") from None


def _fetch_range(
    url: str, query: str, span: tuple[int, int], label: str
) -> dict[str, dict[int, float]]:
    """``query`` over the minutes of ``span`` from a Prometheus server, chunk by chunk."""
    import httpx

    from slawatch.importers import prometheus as prom

    endpoint = url.rstrip("/") + "/api/v1/query_range"
    out: dict[str, dict[int, float]] = {}
    try:
        with httpx.Client(timeout=60.0, follow_redirects=True) as client:
            for start, end in prom.chunks(*span):
                params = {"query": query, "start": str(start), "end": str(end), "step": "60"}
                answer = client.get(endpoint, params=params)
                where = f"{url} (query_range {query!r})"
                if answer.status_code != 200:
                    try:
                        why = str(answer.json().get("error") or "")
                    except ValueError:
                        why = ""
                    why = why or answer.text.strip()[:200] or answer.reason_phrase
                    raise InputError(where, f"HTTP {answer.status_code}: {why}")
                prom.merge(out, prom.parse_answer(answer.content, where, label))
    except httpx.InvalidURL as exc:
        raise InputError("--url", f"{url!r} is not a URL ({exc})") from None
    except httpx.UnsupportedProtocol:
        raise InputError("--url", f"{url!r} is not an http:// or https:// URL") from None
    except httpx.HTTPError as exc:
        raise InputError(url, f"cannot reach Prometheus: {exc or type(exc).__name__}") from None
    return out
