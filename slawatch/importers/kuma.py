"""Reading an Uptime Kuma SQLite database (``kuma.db``, Kuma 1.x and 2.x) into minutes.

What is read (the same in 1.x and 2.x; 2.x adds columns and tables this reader
does not need, such as ``heartbeat.end_time``, ``heartbeat.retries`` and the
``stat_minutely`` / ``stat_hourly`` / ``stat_daily`` aggregates):

- ``monitor``: ``id``, ``name``, ``interval`` (seconds between heartbeats);
- ``heartbeat``: ``monitor_id``; ``status`` 0 down, 1 up, 2 pending (a failure
  Kuma is re-trying before it calls the monitor down), 3 maintenance (Kuma's
  own maintenance mode); ``time``, UTC text ``YYYY-MM-DD HH:MM:SS[.fff]``,
  when the check started; ``ping``, the answer time in ms or NULL.

Kuma 2.x thins its history: once a day it deletes every heartbeat older than
24 hours that is not ``important`` (a change of status: up -> down, down -> up,
to or from maintenance), keeping the last 100 of each monitor, and keeps the
counts in ``stat_daily`` (``up`` and ``down``, pending counted down, per UTC
day, for a year). A thinned day has one heartbeat per outage edge instead of
one per check, so read minute by minute nearly every minute of it, outages
included, would be unknown, which counts as available: silently the
provider's way. So a day whose ``stat_daily`` counts more checks than the day
has heartbeats left (beyond 1 %) refuses the import, naming the monitor, the
days and the counts; ``--since`` imports from a later time (the first day
kept whole, which the error names), and ``--status-changes`` rebuilds those
days from the changes of status kept (``KumaDatabase.changes``).

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

Speed (Kuma databases reach GBs; see ``benchmarks/import.py``): SQLite does the
per-heartbeat work. A monitor is read a window of days at a time (``WINDOW_DAYS``,
by the time text, through Kuma's own ``(monitor_id, time)`` index), and each
window comes back as ONE text value in which every heartbeat is three
characters: its minute (from the window's base), its status and its ping, as
code points (``char()``). Python turns that text into three integer lists at C
speed (``str.encode('utf-32-le')`` into an ``array``) instead of building a row
tuple per heartbeat; a window in which every minute has one heartbeat
(intervals of 60 s and more) becomes records without a Python loop; only
minutes with several heartbeats are folded one at a time. Records go to the
store in minute order, errors and all, so a monitor heard from every minute
is one run of consecutive minutes that the store copies into its hour blocks a
slice at a time (splitting off the few records with an error class made every
run gappy and sent each row through the store's minute-by-minute path); the
store picks the records with an error class out at C speed.
"""

from __future__ import annotations

import sqlite3
import sys
from array import array
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import groupby, repeat
from operator import itemgetter
from pathlib import Path
from urllib.parse import quote

from core.errors import InputError
from core.status import DEGRADED, DOWN, UNKNOWN, UP
from core.verdict import median_latency, minute_status
from store.rows import MinuteRow

MAINTENANCE_ERROR = "maintenance"
"""Error class of a minute recorded unknown because Kuma was in maintenance mode."""

WINDOW_DAYS = 7
"""Days of one monitor read per query (10,080 heartbeats at 60 s, 30,240 at 20 s)."""
BATCH = 1 << 16
"""Records handed to the store at a time."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
_NEEDED = {"heartbeat": ("monitor_id", "status", "time", "ping"), "monitor": ("id", "name")}

# The three code points of a heartbeat (never 0, never a UTF-16 surrogate):
#   minute - base + 1, where base is a day before the window's start; BAD_TIME
#       when the time is no time or lies outside [base, base + span);
#   status + 1 (Kuma's 0..3 -> 1..4), BAD_STATUS for anything else;
#   1 without a ping (down, maintenance, or none recorded), else ping + 2 with
#       ping clamped to the store's 0..65534 ms, moved past the surrogates.
BAD_TIME = 0xD7FF
BAD_STATUS = 9
_SURROGATES = 0xD800
_MAX_PING = 0xFFFE
_EPOCH_S = "unixepoch(time)" if sqlite3.sqlite_version_info >= (3, 38) else "strftime('%s', time)"
_WINDOW = f"""
SELECT count(*), group_concat(char(m, s, CASE WHEN q < {_SURROGATES} THEN q ELSE q + 2048 END), '')
FROM (
    SELECT
        CASE WHEN e IS NULL OR e / 60 < :base OR e / 60 >= :base + :span THEN {BAD_TIME}
             ELSE e / 60 - :base + 1 END AS m,
        CASE status WHEN 0 THEN 1 WHEN 1 THEN 2 WHEN 2 THEN 3 WHEN 3 THEN 4
             ELSE {BAD_STATUS} END AS s,
        CASE WHEN status NOT IN (1, 2) OR ping IS NULL THEN 1
             ELSE min(max(CAST(round(ping) AS INTEGER), 0), {_MAX_PING}) + 2 END AS q
    FROM (SELECT CAST({_EPOCH_S} AS INTEGER) AS e, status, ping FROM heartbeat
          WHERE monitor_id = :monitor AND time >= :lo AND time < :hi ORDER BY time)
)
"""
_DOWN, _UP, _PENDING, _MAINTENANCE = 1, 2, 3, 4  # the status code points
_TO_CODE = [UNKNOWN, DOWN, UP, DEGRADED, UNKNOWN]  # by status code point (1..4)
_TO_ERROR = [None, "down", None, "pending", MAINTENANCE_ERROR]
_SWAP = sys.byteorder == "big"


@dataclass(frozen=True)
class Monitor:
    id: int
    name: str
    interval: int | None  # seconds


@dataclass(frozen=True)
class Day:
    """A UTC day of a monitor as Kuma 2.x's ``stat_daily`` counts it."""

    day: date
    up: int
    down: int  # pending counted down, as Kuma counts them
    maintenance: int
    kept: int  # heartbeats of status 0-2 left that day

    @property
    def thinned(self) -> bool:
        checks = self.up + self.down
        return checks - self.kept > max(1, checks // 100)


@dataclass(frozen=True)
class Thinned:
    """Days of a monitor whose heartbeats Kuma 2.x has thinned to changes of status."""

    first: date
    last: date
    days: int
    checks: int  # of the first such day, by stat_daily
    kept: int  # heartbeats left that day


@dataclass
class KumaStats:
    """What an import read and wrote, for its summary line."""

    heartbeats: int = 0
    minutes: int = 0
    maintenance_heartbeats: int = 0
    maintenance_minutes: int = 0  # recorded as unknown
    rebuilt_minutes: int = 0  # of thinned days, from the changes of status
    unrebuilt_days: int = 0  # thinned days not checked whole: left unknown
    per_service: dict[str, int] = field(default_factory=dict)  # minutes per service


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
        stat = {row[1] for row in self._db.execute("PRAGMA table_info(stat_daily)")}
        self._stat_daily = {"monitor_id", "timestamp", "up", "down"} <= stat
        self._stat_extras = "extras" in stat
        if {"end_time", "retries"} & columns["heartbeat"] or "stat_minutely" in tables:
            return "2.x"
        return "1.x"

    def days(self, monitor_id: int, since: datetime | None) -> list[Day]:
        """What ``stat_daily`` says of each UTC day of a monitor (from ``since``'s day),
        with the heartbeats of status 0-2 the day has left; [] without ``stat_daily``
        (Kuma 1.x)."""
        if not self._stat_daily:
            return []
        first = 0 if since is None else int(since.timestamp()) // 86400 * 86400
        maintenance = (
            "coalesce(json_extract(extras, '$.maintenance'), 0)" if self._stat_extras else "0"
        )
        try:
            rows = self._db.execute(
                "SELECT d, up, down, mt, (SELECT count(*) FROM heartbeat WHERE monitor_id = :m"
                " AND status IN (0, 1, 2) AND time >= d AND time < date(d, '+1 day'))"
                " FROM (SELECT date(timestamp, 'unixepoch') AS d, sum(up) AS up,"
                f" sum(down) AS down, sum({maintenance}) AS mt"
                " FROM stat_daily WHERE monitor_id = :m AND timestamp >= :first GROUP BY d)"
                " ORDER BY d",
                {"m": monitor_id, "first": first},
            ).fetchall()
            return [
                Day(date.fromisoformat(d), int(up), int(down), int(mt), int(kept))
                for d, up, down, mt, kept in rows
            ]
        except (sqlite3.DatabaseError, TypeError, ValueError) as exc:
            raise InputError(f"{self.name}: table stat_daily", f"unreadable ({exc})") from None

    def thinned(self, monitor_id: int, since: datetime | None) -> Thinned | None:
        """The days (UTC, from ``since``'s day) whose heartbeats Kuma 2.x has thinned:
        ``stat_daily`` counts more checks (up + down, pending counted down) than the day
        has heartbeats of status 0-2 left, beyond 1 %. None when every day is whole or
        there is no ``stat_daily`` (Kuma 1.x)."""
        bad = [d for d in self.days(monitor_id, since) if d.thinned]
        if not bad:
            return None
        return Thinned(
            first=bad[0].day,
            last=bad[-1].day,
            days=len(bad),
            checks=bad[0].up + bad[0].down,
            kept=bad[0].kept,
        )

    def changes(
        self,
        monitor: Monitor,
        service: str,
        source: str,
        since: datetime | None,
        until: date,
        stats: KumaStats,
    ) -> list[MinuteRow]:
        """Minute records of a monitor's thinned days (from ``since`` to ``until``,
        exclusive), rebuilt from the changes of status Kuma kept (``--status-changes``).

        Kuma marks a heartbeat important when the status changes (up <-> down, pending
        -> down, to or from maintenance), so between two heartbeats left the status was
        the first one's: down stays down until the heartbeat saying up; up may have
        been up or pending (up -> pending -> up is not a change Kuma keeps), read as up;
        maintenance is unknown, as elsewhere. A Kuma that was stopped leaves no trace
        in the heartbeats, so only days ``stat_daily`` shows checked whole (checks x the
        interval cover 99 % of the day) are rebuilt, and only when the down minutes
        rebuilt could have been counted by the day's down checks; other days get no
        record (unknown), counted in ``stats.unrebuilt_days``."""
        interval = monitor.interval or 0
        if interval <= 0:
            raise InputError(
                f"{self.name}: monitor {monitor.name!r} (id {monitor.id})",
                f"interval {monitor.interval!r} is not a number of seconds",
            )
        lo_text = _since_text(since)
        hi_text = until.isoformat()
        try:
            retry_interval = 0
            if "retry_interval" in {r[1] for r in self._db.execute("PRAGMA table_info(monitor)")}:
                (retry_interval,) = self._db.execute(
                    "SELECT retry_interval FROM monitor WHERE id = ?", (monitor.id,)
                ).fetchone()
            before = self._db.execute(
                "SELECT time, status FROM heartbeat WHERE monitor_id = ? AND time < ?"
                " ORDER BY time DESC LIMIT 1",
                (monitor.id, lo_text),
            ).fetchall()
            beats = (
                before
                + self._db.execute(
                    "SELECT time, status FROM heartbeat WHERE monitor_id = ? AND time >= ?"
                    " AND time < ? ORDER BY time",
                    (monitor.id, lo_text, hi_text),
                ).fetchall()
            )
            after = self._db.execute(
                "SELECT min(time) FROM heartbeat WHERE monitor_id = ? AND time >= ?",
                (monitor.id, hi_text),
            ).fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.name}: table heartbeat", f"unreadable ({exc})") from None
        first = _minute_of(since) if since is not None else None
        end = _minute_of(datetime(until.year, until.month, until.day, tzinfo=UTC))
        if after is not None:
            end = min(end, self._minute(monitor.id, after))
        codes: dict[int, int] = {}  # minute -> Kuma status
        for i, (at, status) in enumerate(beats):
            if status not in (0, 1, 2, 3):
                self._bad_status(monitor.id)
            lo = self._minute(monitor.id, at)
            hi = end if i + 1 == len(beats) else self._minute(monitor.id, beats[i + 1][0])
            # Several heartbeats in one minute: the last one's status holds from it on.
            for minute in range(lo if first is None else max(lo, first), min(hi, end)):
                codes[minute] = status
        days: dict[int, list[int]] = {}  # day -> its minutes rebuilt, in order
        for minute in sorted(codes):
            days.setdefault(minute // 1440, []).append(minute)
        step = max(interval, retry_interval if isinstance(retry_interval, int) else 0)
        whole: set[int] = set()
        for day in self.days(monitor.id, since):
            number = _minute_of(datetime(day.day.year, day.day.month, day.day.day, tzinfo=UTC))
            minutes = days.get(number // 1440, [])
            down = [m for m in minutes if codes[m] == 0]
            edges = sum(1 for m in down if codes.get(m - 1) != 0)
            checks = day.up + day.down + day.maintenance
            if checks * interval >= 86400 * 99 // 100 and len(down) <= (
                day.down * step // 60 + 2 * edges + 1
            ):
                whole.add(number // 1440)
        stats.unrebuilt_days += len(days.keys() - whole)
        rows = []
        for minute in sorted(codes):
            if minute // 1440 not in whole or minute >= end:
                continue
            status = codes[minute]
            rows.append(
                MinuteRow(
                    service, source, minute, _TO_CODE[status + 1], None, _TO_ERROR[status + 1]
                )
            )
            stats.maintenance_minutes += status == 3
        stats.rebuilt_minutes += len(rows)
        stats.minutes += len(rows)
        stats.per_service[service] = stats.per_service.get(service, 0) + len(rows)
        return rows

    def _minute(self, monitor_id: int, text: object) -> int:
        """The epoch minute of a Kuma time text."""
        try:
            ts = datetime.fromisoformat(str(text)).replace(tzinfo=UTC)
        except ValueError:
            self._bad_time(monitor_id)
            raise  # not reached: _bad_time raises
        return _minute_of(ts)

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
        since: datetime | None = None,
        starts: Mapping[int, datetime] | None = None,
        rebuilt: Mapping[int, list[MinuteRow]] | None = None,
    ) -> Iterator[list[MinuteRow]]:
        """Batches of about ``BATCH`` minute records of the monitors in ``plan`` (monitor
        id -> service; from the minute of ``since``, or of the monitor's ``starts``,
        after its ``rebuilt`` records), each monitor's in minute order: a monitor heard
        from every
        minute is one run of consecutive minutes, which the store copies into its
        hour blocks a slice at a time (``store.layout``)."""
        batch: list[MinuteRow] = []
        try:
            for monitor_id, service in plan.items():
                batch += (rebuilt or {}).get(monitor_id, [])
                start = (starts or {}).get(monitor_id, since)
                for rows in self._monitor(monitor_id, service, source, stats, _since_text(start)):
                    progress(stats.heartbeats)
                    batch += rows
                    if len(batch) >= BATCH:
                        yield batch
                        batch = []
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.name}: table heartbeat", f"unreadable ({exc})") from None
        if batch:
            yield batch

    def _monitor(
        self, monitor_id: int, service: str, source: str, stats: KumaStats, since: str
    ) -> Iterator[list[MinuteRow]]:
        """One monitor's records, a window of days at a time, in minute order (from the
        time text ``since``)."""
        lo_text, hi_text = self._db.execute(
            "SELECT min(time), max(time) FROM heartbeat WHERE monitor_id = ? AND time >= ?",
            (monitor_id, since),
        ).fetchone()
        if lo_text is None:
            return
        day, last = self._day(monitor_id, lo_text), self._day(monitor_id, hi_text)
        span = (WINDOW_DAYS + 2) * 1440  # a day's margin either side of the window
        while day <= last:
            end = day + timedelta(days=WINDOW_DAYS)
            base = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) // 60
            base -= 1440
            count, text = self._db.execute(
                _WINDOW,
                {
                    "monitor": monitor_id,
                    "lo": max(day.isoformat(), since),
                    "hi": end.isoformat(),
                    "base": base,
                    "span": span,
                },
            ).fetchone()
            day = end
            if not count:
                continue
            codes = array("I")
            codes.frombytes(text.encode("utf-32-le"))
            if _SWAP:
                codes.byteswap()
            if len(codes) != 3 * count:
                raise InputError(f"{self.name}: heartbeat", "a heartbeat could not be read")
            offsets, statuses, pings = codes[0::3].tolist(), codes[1::3], codes[2::3].tolist()
            if BAD_TIME in offsets:
                self._bad_time(monitor_id)
            if max(statuses) > _MAINTENANCE:
                self._bad_status(monitor_id)
            stats.heartbeats += count
            yield _fold(service, source, base - 1, offsets, statuses.tolist(), pings, stats)

    def _day(self, monitor_id: int, text: object) -> date:
        """The UTC date a Kuma time text starts with."""
        try:
            return date.fromisoformat(str(text)[:10])
        except ValueError:
            self._bad_time(monitor_id)
            raise  # not reached: _bad_time raises

    def _bad_time(self, monitor_id: int) -> None:
        hid, text = self._db.execute(
            f"SELECT id, time FROM heartbeat WHERE monitor_id = ? AND ({_EPOCH_S} IS NULL"
            " OR substr(time, 5, 1) != '-') LIMIT 1",
            (monitor_id,),
        ).fetchone() or ("?", None)
        raise InputError(
            f"{self.name}: heartbeat {hid}",
            f"time {text!r} is not a time (expected UTC 'YYYY-MM-DD HH:MM:SS')",
        )

    def _bad_status(self, monitor_id: int) -> None:
        hid, status = self._db.execute(
            "SELECT id, status FROM heartbeat WHERE monitor_id = ?"
            " AND (status NOT IN (0, 1, 2, 3) OR status IS NULL) LIMIT 1",
            (monitor_id,),
        ).fetchone() or ("?", None)
        raise InputError(
            f"{self.name}: heartbeat {hid}",
            f"status {status!r} is not an Uptime Kuma status (0 down, 1 up, 2 pending,"
            " 3 maintenance)",
        )


def _since_text(since: datetime | None) -> str:
    """``since`` as Kuma's UTC time text, at the start of its minute ('' for all)."""
    if since is None:
        return ""
    return since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:00")


def _minute_of(ts: datetime) -> int:
    return int(ts.timestamp()) // 60


def _pings(codes: Sequence[int]) -> dict[int, int | None]:
    """Ping code points back to milliseconds (1: none)."""
    return {c: None if c == 1 else (c - 2 if c < _SURROGATES else c - 2 - 2048) for c in set(codes)}


def _fold(
    service: str,
    source: str,
    base: int,
    offsets: list[int],
    statuses: list[int],
    pings: list[int],
    stats: KumaStats,
) -> list[MinuteRow]:
    """One window of one monitor's heartbeats (status and ping as code points) -> one
    record per minute, in minute order."""
    maintenance = statuses.count(_MAINTENANCE)
    stats.maintenance_heartbeats += maintenance
    latency = _pings(pings)
    minutes = list(map(base.__add__, offsets))
    if any(map(int.__gt__, minutes, minutes[1:])):  # not in time order: odd time texts
        order = sorted(range(len(minutes)), key=minutes.__getitem__)
        minutes = [minutes[i] for i in order]
        statuses = [statuses[i] for i in order]
        pings = [pings[i] for i in order]
    if len(set(minutes)) == len(minutes):
        # One heartbeat a minute: the rule gives the heartbeat's own status.
        stats.maintenance_minutes += maintenance
        fields = zip(
            repeat(service),
            repeat(source),
            minutes,
            map(_TO_CODE.__getitem__, statuses),
            map(latency.__getitem__, pings),
            map(_TO_ERROR.__getitem__, statuses),
        )
        # tuple.__new__ builds each MinuteRow in C (the NamedTuple's own __new__ is Python).
        rows = list(map(tuple.__new__, repeat(MinuteRow), fields))
        stats.minutes += len(rows)
        stats.per_service[service] = stats.per_service.get(service, 0) + len(rows)
        return rows
    beats = zip(minutes, statuses, map(latency.__getitem__, pings), strict=True)
    rows = [
        _fold_minute(service, source, minute, list(group), stats)
        for minute, group in groupby(beats, key=itemgetter(0))
    ]
    stats.minutes += len(rows)
    stats.per_service[service] = stats.per_service.get(service, 0) + len(rows)
    return rows


def _fold_minute(
    service: str,
    source: str,
    minute: int,
    beats: list[tuple[int, int, int | None]],
    stats: KumaStats,
) -> MinuteRow:
    """The record of a minute from its heartbeats: (minute, status code point, latency)."""
    if len(beats) == 1:
        status, latency = beats[0][1], beats[0][2]
        stats.maintenance_minutes += status == _MAINTENANCE
        return MinuteRow(service, source, minute, _TO_CODE[status], latency, _TO_ERROR[status])
    kinds = [b[1] for b in beats]
    observed = len(kinds) - kinds.count(_MAINTENANCE)
    if observed == 0:
        stats.maintenance_minutes += 1
        return MinuteRow(service, source, minute, UNKNOWN, None, MAINTENANCE_ERROR)
    failed = kinds.count(_DOWN)
    code = minute_status(observed, failed, kinds.count(_PENDING))
    latency = median_latency([b[2] for b in beats if b[2] is not None])
    error = "down" if failed else ("pending" if code == DEGRADED else None)
    return MinuteRow(service, source, minute, code, latency, error)


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
