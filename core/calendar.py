"""Business-hours arithmetic on a support calendar (rule 9).

A calendar's hours are wall-clock windows per weekday in its time zone. A
window that ends at or before its start (``08:00-02:00``) runs past midnight
and belongs to the day it starts on; a holiday removes the windows that start
on that date. Each day's windows are resolved to real UTC instants on that
date, so a DST change inside a window makes it an hour shorter or longer.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from core.config import BusinessWithin, Calendar, DayWindow, ReportWithin
from core.durations import REPORT_WITHIN_READING, Duration, format_timedelta

_DAY = timedelta(days=1)
_SEARCH_LIMIT = 3700  # days without hours before giving up (a year of holidays is fine)


@lru_cache(maxsize=64)
def _country_holidays(country: str, year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays(country, years=year).keys())


def public_holidays(country: str, years: frozenset[int]) -> frozenset[date] | None:
    """A country's public holidays over ``years`` (by the ``holidays`` package), or None
    when the package does not know the country (a bundle's word, checked by nobody)."""
    try:
        return frozenset().union(*(_country_holidays(country, y) for y in sorted(years)))
    except (NotImplementedError, KeyError, ValueError, TypeError):
        return None


#: The most days in a row a calendar may have without support hours (``closed_days``):
#: past that a deadline is never found (``_SEARCH_LIMIT``).
MAX_CLOSED_DAYS = 3650


def closed_days(hours: Mapping[int, tuple[DayWindow, ...]], holidays: frozenset[date]) -> int:
    """The most days in a row with no support hours: weekdays without windows and
    holidays (-1: none, every day closed)."""
    open_days = {day for day, windows in hours.items() if windows}
    if not open_days:
        return -1

    def step(day: date, by: timedelta) -> date:
        try:
            day += by
            while day.weekday() not in open_days:
                day += by
        except OverflowError:  # past 9999 or before year 1: nothing there
            return date.max if by > _DAY * 0 else date.min
        return day

    longest = 7 - len(open_days)  # the weekdays without hours, in a row at most
    shut = sorted(d for d in holidays if d.weekday() in open_days)
    i = 0
    while i < len(shut):
        j = i
        while j + 1 < len(shut) and step(shut[j], _DAY) == shut[j + 1]:
            j += 1
        longest = max(longest, (step(shut[j], _DAY) - step(shut[i], -_DAY)).days - 1)
        i = j + 1
    return longest


def is_holiday(cal: Calendar, day: date) -> bool:
    """True when ``day`` (a local date of the calendar) has no support hours by decree."""
    if day in cal.holidays:
        return True
    return cal.country is not None and day in _country_holidays(cal.country, day.year)


def day_spans(cal: Calendar, day: date) -> list[tuple[datetime, datetime]]:
    """The real [open, close) spans, in UTC, of the windows that start on ``day``."""
    if is_holiday(cal, day):
        return []
    spans = []
    for w in cal.hours.get(day.weekday(), ()):
        opens = datetime.combine(day, w.start, tzinfo=cal.timezone)
        closes = datetime.combine(
            day + _DAY if w.crosses_midnight else day, w.end, tzinfo=cal.timezone
        )
        a, b = opens.astimezone(UTC), closes.astimezone(UTC)
        if a < b:
            spans.append((a, b))
    return spans


def _spans_from(cal: Calendar, t: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Merged open spans in time order, starting with any that contains or follows ``t``."""
    day = t.astimezone(cal.timezone).date() - _DAY  # yesterday's window may run past midnight
    pending: tuple[datetime, datetime] | None = None
    idle = 0
    while idle < _SEARCH_LIMIT:
        spans = sorted(day_spans(cal, day))
        idle = 0 if spans else idle + 1
        for a, b in spans:
            if b <= t:
                continue
            if pending is None:
                pending = (a, b)
            elif a <= pending[1]:
                pending = (pending[0], max(pending[1], b))
            else:
                yield pending
                pending = (a, b)
        day += _DAY
    if pending is not None:
        yield pending
    raise ValueError(f"calendar {cal.name!r} has no support hours after {t.isoformat()}")


def next_opening(cal: Calendar, t: datetime) -> datetime:
    """``t`` itself when support is open at ``t``, else the next instant it opens."""
    a, _ = next(_spans_from(cal, t))
    return max(a, t)


def is_open(cal: Calendar, t: datetime) -> bool:
    """True when support is open at ``t``."""
    a, b = next(_spans_from(cal, t))
    return a <= t < b


def add_working(cal: Calendar, start: datetime, td: timedelta) -> datetime:
    """The instant at which ``td`` of working time has passed since ``start``.

    Zero working time from a closed instant is ``start`` itself (nothing is owed
    yet); any positive amount ends inside support hours.
    """
    if td < timedelta():
        raise ValueError("working time must not be negative")
    if td == timedelta():
        return start
    left = td
    for a, b in _spans_from(cal, start):
        a = max(a, start)
        if left <= b - a:
            return (a + left).astimezone(start.tzinfo)
        left -= b - a
    raise AssertionError("unreachable: _spans_from raises when it runs out")


def working_between(cal: Calendar, a: datetime, b: datetime) -> timedelta:
    """Working time inside [a, b); zero when b <= a."""
    total = timedelta()
    if b <= a:
        return total
    for x, y in _spans_from(cal, a):
        if x >= b:
            break
        total += min(y, b) - max(x, a)
    return total


def working_target(duration: Duration, cal: Calendar) -> timedelta:
    """The working time a duration stands for on ``cal``: ``Nbd`` is N x its business
    day, the rest as it is (``1bd4h`` on an 18 h day: 22 h of support hours)."""
    return duration.business_days * cal.business_day + duration.timedelta


def within_target(within: BusinessWithin) -> timedelta:
    """The working time of a business ``report_within``."""
    return working_target(within.duration, within.calendar)


def report_by(within: ReportWithin, start: datetime) -> datetime:
    """Rule 8's deadline for reporting an outage that began at ``start``: ``start +
    report_within``; with business days (``1bd``), that much working time on the
    contract's calendar (rule 9's arithmetic: its hours, windows past midnight,
    holidays), in ``start``'s time zone."""
    if isinstance(within, timedelta):
        return start + within
    return add_working(within.calendar, start, within_target(within))


def within_text(within: ReportWithin) -> str:
    """``report_within`` as the config writes it: ``72h``, ``1bd``, ``1bd4h``."""
    if isinstance(within, timedelta):
        return format_timedelta(within)
    rest = within.duration.timedelta
    return f"{within.duration.business_days}bd" + (format_timedelta(rest) if rest else "")


def report_within_text(within: ReportWithin) -> str:
    """``72h (report_within, the configured reading of the contract's "promptly")``;
    business days name their calendar: ``1bd of calendar "paris-support" (...)``."""
    on = "" if isinstance(within, timedelta) else f" of calendar {within.calendar.name!r}"
    return f"{within_text(within)}{on} (report_within, {REPORT_WITHIN_READING})"
