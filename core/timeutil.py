"""Instants, epoch minutes and calendar months.

Every datetime in slawatch is timezone-aware. Minutes are integer UTC epoch
minutes (``int(ts.timestamp()) // 60``). A month is the span from local
midnight on the 1st to local midnight on the 1st of the next month in a
contract's time zone, so its length in real minutes varies with DST.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from core.errors import InputError

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
# ISO 8601 extended format, strict: datetime.fromisoformat alone also takes
# forms like "14:240Z" (read as 14:24:00) that are not ISO 8601.
_INSTANT_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?$",
    re.IGNORECASE,
)


def parse_instant(text: str, where: str = "time") -> datetime:
    """Parse ISO 8601 with an offset or ``Z``; a time without an offset is rejected."""
    raw = text.strip()
    try:
        if not _INSTANT_RE.match(raw):
            raise ValueError(raw)
        value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise InputError(
            where, f"{text!r} is not an ISO 8601 time (e.g. 2026-10-03T14:05:00Z)"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(where, f"{text!r} has no UTC offset; add Z or +HH:MM")
    try:
        value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00 is in year 0 in UTC
        raise InputError(where, f"{text!r} is out of range in UTC (years 1-9999)") from None
    if not FIRST_INSTANT <= value < END_INSTANT:  # a window's end rounded up, a deadline,
        raise InputError(  # the next month's start: each must still be a datetime
            where,
            f"{text!r} is outside the times slawatch records"
            f" ({FIRST_INSTANT:%Y-%m-%d} to {END_INSTANT:%Y-%m-%d} UTC)",
        )
    return value


FIRST_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
"""The first instant a time given to slawatch may name (epoch minute 0; months from 1970-01)."""
END_INSTANT = datetime(9999, 12, 1, tzinfo=UTC)
"""The end (exclusive) of the times given to slawatch: the end of ``LAST_MONTH`` in UTC."""


def parse_past(text: str, now: datetime, where: str = "time") -> datetime:
    """``parse_instant``, and not after ``now``: what happened to a case (opened, answered,
    resolved, waited on) cannot have happened yet. The CLI and the dashboard's forms both
    refuse a time in the future through here."""
    at = parse_instant(text, where)
    if at > now:
        raise InputError(where, f"{iso_z(at)} is in the future (now is {iso_z(now)})")
    return at


def to_minute(ts: datetime) -> int:
    """The UTC epoch minute containing an aware instant."""
    if ts.tzinfo is None:
        raise ValueError("naive datetime")
    return int(ts.timestamp()) // 60


def from_minute(minute: int) -> datetime:
    """The aware UTC instant at the start of an epoch minute."""
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def iso_z(ts: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z`` (the JSON form of every time), or None."""
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, order=True)
class YearMonth:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str, where: str = "--month") -> YearMonth:
        m = _MONTH_RE.match(text.strip())
        if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1970:
            raise InputError(where, f"{text!r} is not a month; expected YYYY-MM, e.g. 2026-10")
        month = cls(int(m.group(1)), int(m.group(2)))
        if month > LAST_MONTH:  # it ends on 1 January 10000, past what a datetime holds
            raise InputError(
                where, f"{text!r} is past the last month slawatch computes, {LAST_MONTH}"
            )
        return month

    @classmethod
    def of(cls, ts: datetime, tz: ZoneInfo) -> YearMonth:
        local = ts.astimezone(tz)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> YearMonth:
        return YearMonth(self.year + (self.month == 12), 1 if self.month == 12 else self.month + 1)

    def prev(self) -> YearMonth:
        return YearMonth(self.year - (self.month == 1), 12 if self.month == 1 else self.month - 1)

    def start(self, tz: ZoneInfo) -> datetime:
        """Local midnight on the 1st, as an aware datetime in ``tz``."""
        return datetime(self.year, self.month, 1, tzinfo=tz)

    def bounds(self, tz: ZoneInfo) -> tuple[int, int]:
        """[start, end) of the month as UTC epoch minutes (end is the next month's start)."""
        return to_minute(self.start(tz)), to_minute(self.next().start(tz))

    def minutes(self, tz: ZoneInfo) -> int:
        start, end = self.bounds(tz)
        return end - start


LAST_MONTH = YearMonth(9999, 11)
"""The last month whose end (the next month's first day) a datetime can hold."""


def human_utc(ts: datetime | None) -> str:
    """A UTC time for people: ``2026-10-03 14:05Z`` (``-`` for none)."""
    if ts is None:
        return "-"
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def utc_now() -> datetime:
    """The only place slawatch reads the wall clock; rules take ``now`` as an argument."""
    return datetime.now(tz=UTC)


def minutes_td(minutes: int) -> timedelta:
    return timedelta(minutes=minutes)
