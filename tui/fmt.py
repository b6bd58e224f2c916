"""Small text formatters shared by the panels (plain strings, no widgets)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from core.durations import span_text
from core.money import format_money
from core.percent import availability_text, coverage_text, credit_text
from core.status import UP
from core.vantage import Probe, vantage

_BARS = "▁▂▃▄▅▆▇█"


def span(seconds: float) -> str:
    """A short human duration: ``42s``, ``7m 05s``, ``3h 12m``, ``2d 04h``."""
    return span_text(seconds)


def age(then: datetime | None, now: datetime) -> str:
    return "never" if then is None else span((now - then).total_seconds())


def countdown(due: datetime | None, now: datetime) -> str:
    """Time left until ``due`` (``in 12m 05s``), or how far past it, a missed deadline
    (``BREACHED +3m 10s``)."""
    if due is None:
        return "-"
    left = (due - now).total_seconds()
    return f"in {span(left)}" if left >= 0 else f"BREACHED +{span(-left)}"


def is_stale(last_probe_at: datetime | None, interval_s: float, now: datetime) -> bool:
    """Shown as stale: the vote staleness rule of ``core.vantage`` (which ``status``
    applies too), and a service never probed at all, marked the same way."""
    if last_probe_at is None:
        return True
    return vantage([Probe("", UP, last_probe_at)], now, timedelta(seconds=interval_s)).stale


def percent(value: Decimal | None) -> str:
    """An availability as every surface prints it (``core.percent``): 99.49979 reads
    ``99.4997 %``."""
    return "-" if value is None else availability_text(value)


def coverage(value: Decimal | None) -> str:
    """How much was measured, as every surface prints it: ``2.1 %``."""
    return "-" if value is None else coverage_text(value)


def credit_band(value: Decimal | None) -> str:
    """A credit percentage as the claim letter prints it, cut sooner (four places, where
    the letter cuts at ten) and marked: 54.8835125… reads ``54.8835… %``; 25 reads
    ``25 %`` on both."""
    if value is None:
        return "-"
    return credit_text(value, 4)


def band(number: int | None) -> str:
    """A band, numbered from 1 (the top band) as in JSON and the letter."""
    return "-" if number is None else str(number)


def money(amount: Decimal, currency: str) -> str:
    """An amount as the CLI, the claim line and the letter print it: ``1200.00 EUR``."""
    return f"{format_money(amount)} {currency}"


def latency(ms: int | None) -> str:
    return "-" if ms is None else f"{ms} ms"


def budget(minutes: int | None) -> str:
    if minutes is None:
        return "-"
    return f"{minutes:,} min"


def sparkline(values: Sequence[int | None], width: int) -> str:
    """Latency over time in block characters; a minute with no probe is a blank.

    The last ``width`` values are scaled between their own minimum and maximum,
    with a floor on that range (a fifth of the maximum) so a steady service
    draws a calm line rather than magnified jitter.
    """
    shown = list(values)[-width:]
    known = [v for v in shown if v is not None]
    if not known:
        return " " * width
    low, top = min(known), max(known)
    spread = max(top - low, top // 5, 1)
    cells = []
    for v in shown:
        if v is None:
            cells.append(" ")
        else:
            level = (v - low) * (len(_BARS) - 1) // spread
            cells.append(_BARS[min(len(_BARS) - 1, level)])
    return "".join(cells).rjust(width)


def when(ts: datetime | None) -> str:
    """A UTC instant for a table: ``11-03 14:05``."""
    return "-" if ts is None else ts.astimezone(UTC).strftime("%m-%d %H:%M")


def until(end: datetime | None, start: datetime) -> str:
    """The end of a span that began at ``start``: ``20:03`` on the same UTC day,
    else as ``when`` (``12-06 01:10``)."""
    if end is not None and end.astimezone(UTC).date() == start.astimezone(UTC).date():
        return end.astimezone(UTC).strftime("%H:%M")
    return when(end)


def clock(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def stamp(ts: datetime | None) -> str:
    """A UTC instant with its year, for a history: ``2026-11-03 14:05``."""
    return "-" if ts is None else ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
