"""The small text formats of config.toml: durations, times of day, day windows.

Each parser takes the ``where`` of the value (file and key path) so a mistake is
reported exactly where the user wrote it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta

from core.errors import ConfigError

# Units in the order they may appear: ``1bd4h``, ``8h30m``, ``2d``, ``90s``.
_UNITS: tuple[tuple[str, int], ...] = (("bd", 0), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_MAX_SECONDS = 100 * 366 * 86400
_TOKEN_RE = re.compile(r"(\d+)(bd|d|h|m|s)")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
DAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Duration:
    """A parsed duration: real time plus business days of a calendar (``1bd``)."""

    seconds: int = 0
    business_days: int = 0

    @property
    def timedelta(self) -> timedelta:
        return timedelta(seconds=self.seconds)


_DURATION_HELP = "expected a duration like 90s, 30m, 8h30m, 2d or 1bd"


def parse_duration(text: str, where: str, *, business_days: bool = True) -> Duration:
    """Parse ``90s``, ``30m``, ``8h30m``, ``2d``, ``1bd`` (units combinable, largest first).

    ``business_days=False`` rejects ``bd`` where business days mean nothing
    (probe intervals, a calendar's own ``business_day``).
    """
    if not isinstance(text, str):
        raise ConfigError(where, f"{_DURATION_HELP}, got {text!r}")
    raw = text.strip().lower()
    pos = 0
    seconds = 0
    bdays = 0
    last_unit = -1
    order = [unit for unit, _ in _UNITS]
    for m in _TOKEN_RE.finditer(raw):
        if m.start() != pos:
            break
        unit = m.group(2)
        rank = order.index(unit)
        if rank <= last_unit:
            raise ConfigError(where, f"{text!r}: units must appear once each, largest first")
        last_unit = rank
        if len(m.group(1)) > 9:
            raise ConfigError(where, f"{text!r}: too long a duration")
        value = int(m.group(1))
        if unit == "bd":
            bdays = value
        else:
            seconds += value * _UNITS[rank][1]
        pos = m.end()
    if not raw or pos != len(raw):
        raise ConfigError(where, f"{_DURATION_HELP}, got {text!r}")
    if seconds > _MAX_SECONDS or bdays > _MAX_SECONDS // 86400:
        raise ConfigError(where, f"{text!r}: too long a duration (at most 100 years)")
    if bdays and not business_days:
        raise ConfigError(where, f"{text!r}: business days (bd) are not allowed here")
    return Duration(seconds=seconds, business_days=bdays)


def parse_timedelta(text: str, where: str, *, positive: bool = True) -> timedelta:
    """A real-time duration (no ``bd``); ``positive`` rejects zero."""
    d = parse_duration(text, where, business_days=False)
    if positive and d.seconds <= 0:
        raise ConfigError(where, f"{text!r}: must be longer than zero")
    return d.timedelta


_MS_RE = re.compile(r"^(.*?)(\d{1,9})ms$")


def parse_latency(text: object, where: str) -> timedelta:
    """A latency threshold: a duration (``2s``) that may end in milliseconds
    (``500ms``, ``1s500ms``), or a bare integer read as milliseconds."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text <= 0:
            raise ConfigError(where, f"{text!r}: must be longer than zero")
        return timedelta(milliseconds=min(text, _MAX_SECONDS * 1000))
    m = _MS_RE.match(text.strip().lower()) if isinstance(text, str) else None
    if m is None:
        return parse_timedelta(text, where)  # type: ignore[arg-type]  # it names non-text
    head = parse_timedelta(m.group(1), where, positive=False) if m.group(1) else timedelta()
    total = head + timedelta(milliseconds=int(m.group(2)))
    if total <= timedelta():
        raise ConfigError(where, f"{text!r}: must be longer than zero")
    return total


def parse_time_of_day(text: str, where: str, *, allow_24: bool = False) -> time:
    """``HH:MM`` on a 24-hour clock; ``24:00`` (end of day) only when ``allow_24``."""
    m = _TIME_RE.match(text.strip()) if isinstance(text, str) else None
    if m:
        hour, minute = int(m.group(1)), int(m.group(2))
        if allow_24 and hour == 24 and minute == 0:
            return time(0, 0)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise ConfigError(where, f"expected a time of day HH:MM (00:00 to 23:59), got {text!r}")


def parse_span(text: str, where: str) -> tuple[time, time]:
    """``HH:MM-HH:MM``; an end at or before the start runs past midnight."""
    if not isinstance(text, str) or text.count("-") != 1:
        raise ConfigError(where, f"expected hours like 08:00-17:30 or 08:00-02:00, got {text!r}")
    a, b = text.split("-")
    return parse_time_of_day(a, where), parse_time_of_day(b, where, allow_24=True)


def parse_day(text: str, where: str) -> int:
    """A weekday name (``mon`` or ``monday`` ... ``sun``, any case) as 0 = Monday."""
    key = text.strip().lower() if isinstance(text, str) else ""
    for index, name in enumerate(DAY_NAMES):
        if key in (name, _FULL_DAY_NAMES[index]):
            return index
    raise ConfigError(where, f"expected a weekday ({', '.join(DAY_NAMES)}), got {text!r}")


def format_timedelta(value: timedelta) -> str:
    """A duration as the config writes it, in hours at most: ``72h``, ``1h30m``, ``45s``."""
    total = int(value.total_seconds())
    parts = [(total // 3600, "h"), (total % 3600 // 60, "m"), (total % 60, "s")]
    return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


def span_text(seconds: float) -> str:
    """A short human duration, as every surface counts one down: ``42s``, ``7m 05s``,
    ``3h 12m``, ``2d 04h`` (negative reads as zero)."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600:02d}h"


# How ``report_within`` is to be read wherever it is shown: the contracts say only
# that an interruption must be reported "promptly"; the figure is the config's.
REPORT_WITHIN_READING = 'the configured reading of the contract\'s "promptly"'
