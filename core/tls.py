"""Certificate expiry warnings: one rule for the agent's log and notifiers,
``status`` and the dashboard.

A certificate warns once its ``notAfter`` is ``warn_days`` away or nearer (an
expired one warns too); ``warn_days`` is the probe's own ``tls_warn_days`` or
the agent's (``Config.tls_warn_days_for``). Time is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta


def soonest(expiries: Iterable[datetime | None]) -> datetime | None:
    """The earliest certificate expiry seen (each agent reports its own), or None."""
    known = [e for e in expiries if e is not None]
    return min(known) if known else None


def warns(expires_at: datetime | None, now: datetime, warn_days: int) -> bool:
    """Whether a certificate expiring at ``expires_at`` is to be warned about at ``now``."""
    return expires_at is not None and expires_at - now <= timedelta(days=warn_days)


def left_text(expires_at: datetime, now: datetime) -> str:
    """``5 days left``, ``1 day left``, ``6 h left``, or ``expired`` (short, for tables)."""
    left = expires_at - now
    if left <= timedelta(0):
        return "expired"
    if left >= timedelta(days=1):
        days = left.days
        return f"{days} day{'s' if days != 1 else ''} left"
    return f"{max(1, int(left.total_seconds() // 3600))} h left"


def warning_line(expires_at: datetime, now: datetime) -> str:
    """The sentence the agent logs and ``status`` prints for a certificate that warns."""
    at = expires_at.astimezone(UTC)
    if expires_at <= now:
        return f"its TLS certificate expired on {at:%Y-%m-%d %H:%M}Z"
    return f"its TLS certificate expires on {at:%Y-%m-%d %H:%M}Z ({left_text(expires_at, now)})"
