"""Reading an Uptime Kuma SQLite database (``kuma.db``, Kuma 1.x and 2.x) into minutes.

What is read (the same in 1.x and 2.x; 2.x adds columns and tables this reader
does not need, such as ``heartbeat.end_time``, ``heartbeat.retries`` and the
``stat_minutely`` / ``stat_hourly`` / ``stat_daily`` aggregates):

- ``monitor``: ``id``, ``name``, ``interval`` (seconds between heartbeats);
- ``heartbeat``: ``monitor_id``; ``status`` 0 down, 1 up, 2 pending (a failure
  Kuma is re-trying before it calls the monitor down), 3 maintenance (Kuma's
  own maintenance mode); ``time``, UTC text ``YYYY-MM-DD HH:MM:SS[.fff]``,
  when the check started; ``ping``, the answer time in ms or NULL.

Each heartbeat is one observation of its minute (the minute its ``time`` falls
in, as the agent files a probe under the minute its first attempt started in),
folded with the agent's own rule (``core.verdict``): down counts as failed,
pending as slow, so a retried failure alone makes a minute degraded and never
down. Maintenance heartbeats are no evidence either way, and certainly not of
the provider's scheduled maintenance: they are left out of the fold, and a
minute that had only maintenance heartbeats is recorded as unknown (error
class ``maintenance``). A minute with no heartbeat gets no record: unknown.

The file is never written: it is opened through a read-only URI, with
``immutable=1`` (no locks, no ``-shm``/``-wal`` created) unless a non-empty
``-wal`` beside it shows that a Kuma is running or stopped without
checkpointing; then the log must be read too, and plain ``mode=ro`` does that
without writing the database file.

Speed (Kuma databases reach GBs): SQLite does the per-heartbeat work (the time
to an epoch minute, which pings count), rows come in large chunks transposed
to columns, and a chunk in which every minute has one heartbeat (intervals of
60 s and more) is turned into records at C speed; only minutes with several
heartbeats go through the fold one minute at a time.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby, repeat
from operator import itemgetter
from pathlib import Path
from urllib.parse import quote

from core.errors import InputError
from core.status import DEGRADED, DOWN, UNKNOWN, UP
from core.verdict import median_latency, minute_status
from store.rows import MinuteRow

KUMA_DOWN, KUMA_UP, KUMA_PENDING, KUMA_MAINTENANCE = 0, 1, 2, 3
_CODES = {KUMA_DOWN: DOWN, KUMA_UP: UP, KUMA_PENDING: DEGRADED, KUMA_MAINTENANCE: UNKNOWN}
MAINTENANCE_ERROR = "maintenance"
"""Error class of a minute recorded unknown because Kuma was in maintenance mode."""
_ERRORS = {
    KUMA_DOWN: "down",
    KUMA_UP: None,
    KUMA_PENDING: "pending",
    KUMA_MAINTENANCE: MAINTENANCE_ERROR,
}
_KUMA_STATUSES = frozenset(_CODES)

CHUNK = 1 << 16
"""Heartbeats fetched from SQLite at a time (about 4 MB of row tuples)."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
_NEEDED = {"heartbeat": ("monitor_id", "status", "time", "ping"), "monitor": ("id", "name")}

# The minute of the heartbeat, its status, and its ping when it is an answer
# (up, or pending with a time: a pending check that got an answer, too slowly
# or wrong). Ordered by time through Kuma's own (monitor_id, time) index.
_HEARTBEATS = (
    "SELECT CAST(strftime('%s', time) AS INTEGER) / 60, status,"
    " CASE WHEN status IN (1, 2) THEN CAST(round(ping) AS INTEGER) END"
    " FROM heartbeat WHERE monitor_id = ? ORDER BY {order}"
)


@dataclass(frozen=True)
class Monitor:
    id: int
    name: str
    interval: int | None  # seconds


@dataclass
class KumaStats:
    """What an import read and wrote, for its summary line."""

    heartbeats: int = 0
    minutes: int = 0
    maintenance_heartbeats: int = 0
    maintenance_minutes: int = 0  # recorded as unknown
    per_service: dict[str, int] = field(default_factory=dict)  # minutes per service


class _Unordered(Exception):
    """The heartbeats of a monitor did not come out in time order (odd time texts)."""


class KumaDatabase:
    """An open, read-only Uptime Kuma database. Use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self._check_file()
        wal = path.with_name(path.name + "-wal")
        self.live = wal.exists() and wal.stat().st_size > 0
        uri = "file:" + quote(str(path.absolute())) + "?mode=ro"
        if not self.live:
            uri += "&immutable=1"
        try:
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            raise InputError(self.name, f"cannot be opened: {exc}") from None
        try:
            self.version = self._check_schema()
        except BaseException:
            self._db.close()
            raise

    def __enter__(self) -> KumaDatabase:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # -- what is in it ---------------------------------------------------------

    def _check_file(self) -> None:
        try:
            with self.path.open("rb") as f:
                magic = f.read(len(_SQLITE_MAGIC))
        except FileNotFoundError:
            raise InputError(self.name, "no such file") from None
        except IsADirectoryError:
            raise InputError(self.name, "is a folder, not an Uptime Kuma database") from None
        except OSError as exc:
            raise InputError(self.name, f"cannot be read: {exc.strerror or exc}") from None
        if magic != _SQLITE_MAGIC:
            raise InputError(
                self.name,
                "not an SQLite database (Uptime Kuma keeps kuma.db in its data folder)",
            )

    def _check_schema(self) -> str:
        """``"1.x"`` or ``"2.x"``; InputError when this is no Kuma database."""
        try:
            tables = {
                name
                for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            columns = {
                table: {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
                for table in _NEEDED
                if table in tables
            }
        except sqlite3.DatabaseError as exc:
            raise InputError(self.name, f"not a readable SQLite database ({exc})") from None
        for table, needed in _NEEDED.items():
            if table not in columns:
                raise InputError(self.name, f"not an Uptime Kuma database: no table {table!r}")
            missing = [c for c in needed if c not in columns[table]]
            if missing:
                raise InputError(
                    self.name,
                    f"not an Uptime Kuma database: table {table!r} has no column"
                    f" {', '.join(map(repr, missing))}",
                )
        if {"end_time", "retries"} & columns["heartbeat"] or "stat_minutely" in tables:
            return "2.x"
        return "1.x"

    def monitors(self) -> list[Monitor]:
        has_interval = "interval" in {
            row[1] for row in self._db.execute("PRAGMA table_info(monitor)")
        }
        query = "SELECT id, name, {} FROM monitor ORDER BY id".format(
            "interval" if has_interval else "NULL"
        )
        try:
            return [
                Monitor(int(i), "" if name is None else str(name), interval)
                for i, name, interval in self._db.execute(query)
            ]
        except (sqlite3.DatabaseError, TypeError, ValueError) as exc:
            raise InputError(f"{self.name}: table monitor", f"unreadable ({exc})") from None

    def count(self, monitor_ids: Collection[int]) -> int:
        """How many heartbeats those monitors have (for the progress meter)."""
        marks = ",".join("?" * len(monitor_ids))
        query = f"SELECT count(*) FROM heartbeat WHERE monitor_id IN ({marks})"
        try:
            return int(self._db.execute(query, tuple(monitor_ids)).fetchone()[0])
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.name}: table heartbeat", f"unreadable ({exc})") from None

    # -- minutes ---------------------------------------------------------------

    def minutes(
        self,
        plan: Mapping[int, str],
        *,
        source: str,
        stats: KumaStats,
        progress: Callable[[int], None] = lambda done: None,
    ) -> Iterator[list[MinuteRow]]:
        """Batches of minute records of the monitors in ``plan`` (monitor id -> service)."""
        for monitor_id, service in plan.items():
            before = (stats.heartbeats, stats.minutes, stats.maintenance_heartbeats)
            before_unknown = stats.maintenance_minutes
            try:
                try:
                    yield from self._monitor(monitor_id, service, source, stats, progress, "time")
                except _Unordered:
                    # Undo this monitor's counts and read it again sorted by minute:
                    # the records already given are given again, and the last win.
                    stats.heartbeats, stats.minutes, stats.maintenance_heartbeats = before
                    stats.maintenance_minutes = before_unknown
                    stats.per_service[service] = 0
                    yield from self._monitor(monitor_id, service, source, stats, progress, "1")
            except sqlite3.DatabaseError as exc:
                raise InputError(f"{self.name}: table heartbeat", f"unreadable ({exc})") from None

    def _monitor(
        self,
        monitor_id: int,
        service: str,
        source: str,
        stats: KumaStats,
        progress: Callable[[int], None],
        order: str,
    ) -> Iterator[list[MinuteRow]]:
        cursor = self._db.execute(_HEARTBEATS.format(order=order), (monitor_id,))
        carry: tuple[tuple[int, ...], tuple[int, ...], tuple[int | None, ...]] = ((), (), ())
        last = -1  # the latest minute already folded
        try:
            while True:
                chunk = cursor.fetchmany(CHUNK)
                if chunk:
                    mins, statuses, pings = zip(*chunk, strict=True)
                    self._check(monitor_id, mins, statuses)
                    stats.heartbeats += len(chunk)
                    progress(stats.heartbeats)
                    mins = carry[0] + mins
                    statuses = carry[1] + statuses
                    pings = carry[2] + pings
                else:
                    mins, statuses, pings = carry
                if not mins:
                    return
                if mins[0] <= last or any(map(int.__gt__, mins, mins[1:])):
                    raise _Unordered
                cut = bisect_left(mins, mins[-1]) if chunk else len(mins)
                if cut == 0:  # one minute so far: wait for the rest of it
                    carry = (mins, statuses, pings)
                    continue
                carry = (mins[cut:], statuses[cut:], pings[cut:])
                rows = _fold(service, source, mins[:cut], statuses[:cut], pings[:cut], stats)
                last = mins[cut - 1]
                stats.minutes += len(rows)
                stats.per_service[service] = stats.per_service.get(service, 0) + len(rows)
                yield rows
                if not chunk:
                    return
        finally:
            cursor.close()

    def _check(
        self, monitor_id: int, mins: Sequence[int | None], statuses: Sequence[object]
    ) -> None:
        """Every heartbeat of the chunk has a readable time and a Kuma status."""
        if None in mins:
            hid, text = self._db.execute(
                "SELECT id, time FROM heartbeat WHERE monitor_id = ?"
                " AND strftime('%s', time) IS NULL LIMIT 1",
                (monitor_id,),
            ).fetchone() or (None, None)
            raise InputError(
                f"{self.name}: heartbeat {hid}",
                f"time {text!r} is not a time (expected UTC 'YYYY-MM-DD HH:MM:SS')",
            )
        if not _KUMA_STATUSES.issuperset(statuses):
            bad = next(s for s in statuses if s not in _KUMA_STATUSES)
            row = self._db.execute(
                "SELECT id FROM heartbeat WHERE monitor_id = ? AND status IS ? LIMIT 1",
                (monitor_id, bad),
            ).fetchone()
            raise InputError(
                f"{self.name}: heartbeat {row[0] if row else '?'}",
                f"status {bad!r} is not an Uptime Kuma status (0 down, 1 up, 2 pending,"
                " 3 maintenance)",
            )


def _fold(
    service: str,
    source: str,
    mins: Sequence[int],
    statuses: Sequence[int],
    pings: Sequence[int | None],
    stats: KumaStats,
) -> list[MinuteRow]:
    """One monitor's heartbeats (in time order, whole minutes) -> one record per minute."""
    maintenance = statuses.count(KUMA_MAINTENANCE)
    stats.maintenance_heartbeats += maintenance
    if len(set(mins)) == len(mins):
        # One heartbeat a minute: the rule gives the heartbeat's own status.
        codes = list(map(_CODES.__getitem__, statuses))
        errors = map(_ERRORS.__getitem__, statuses)
        stats.maintenance_minutes += maintenance
        fields = zip(repeat(service), repeat(source), mins, codes, pings, errors)
        # tuple.__new__ builds each MinuteRow in C (the NamedTuple's own __new__ is Python).
        return list(map(tuple.__new__, repeat(MinuteRow), fields))
    rows: list[MinuteRow] = []
    for minute, group in groupby(zip(mins, statuses, pings, strict=True), key=itemgetter(0)):
        beats = list(group)
        if len(beats) == 1:
            status = beats[0][1]
            rows.append(
                MinuteRow(service, source, minute, _CODES[status], beats[0][2], _ERRORS[status])
            )
            stats.maintenance_minutes += status == KUMA_MAINTENANCE
            continue
        kinds = [b[1] for b in beats]
        observed = len(kinds) - kinds.count(KUMA_MAINTENANCE)
        if observed == 0:
            rows.append(MinuteRow(service, source, minute, UNKNOWN, None, MAINTENANCE_ERROR))
            stats.maintenance_minutes += 1
            continue
        failed = kinds.count(KUMA_DOWN)
        code = minute_status(observed, failed, kinds.count(KUMA_PENDING))
        latency = median_latency([b[2] for b in beats if b[2] is not None])
        error = "down" if failed else ("pending" if code == DEGRADED else None)
        rows.append(MinuteRow(service, source, minute, code, latency, error))
    return rows


def resolve_monitors(
    monitors: Sequence[Monitor], pairs: Sequence[str], services: Collection[str], name: str
) -> dict[int, str]:
    """Which monitor feeds which service: ``--monitor NAME_OR_ID=SERVICE`` pairs, or, with
    none, every monitor named exactly like a service of the config."""
    by_id = {m.id: m for m in monitors}
    plan: dict[int, str] = {}
    if not pairs:
        for m in monitors:
            if m.name in services:
                if sum(1 for other in monitors if other.name == m.name) > 1:
                    raise InputError(
                        name,
                        f"several monitors are named {m.name!r}; choose one with"
                        f" --monitor ID={m.name}",
                    )
                plan[m.id] = m.name
        if not plan:
            shown = ", ".join(repr(m.name) for m in monitors[:10]) or "none"
            raise InputError(
                name,
                "no monitor is named like a service of the config; map them with"
                f" --monitor NAME_OR_ID=SERVICE (monitors: {shown})",
            )
        return plan
    for pair in pairs:
        key, eq, service = pair.rpartition("=")
        key, service = key.strip(), service.strip()
        if not eq or not key or not service:
            raise InputError("--monitor", f"{pair!r} is not NAME_OR_ID=SERVICE")
        if service not in services:
            raise InputError("--monitor", f"{pair!r}: no service {service!r} in the config")
        if key.isdigit() and int(key) in by_id:
            monitor = by_id[int(key)]
        else:
            named = [m for m in monitors if m.name == key]
            if not named:
                raise InputError("--monitor", f"{pair!r}: {name} has no monitor {key!r}")
            if len(named) > 1:
                ids = ", ".join(str(m.id) for m in named)
                raise InputError(
                    "--monitor", f"{pair!r}: several monitors are named {key!r} (ids {ids})"
                )
            monitor = named[0]
        if monitor.id in plan:
            raise InputError("--monitor", f"monitor {monitor.name!r} is given twice")
        plan[monitor.id] = service
    feeding: dict[str, int] = {}
    for monitor_id, service in plan.items():
        if service in feeding:
            raise InputError(
                "--monitor",
                f"two monitors feed service {service!r}; import the second with its own --source",
            )
        feeding[service] = monitor_id
    return plan
