"""The Textual dashboard. ``run_dashboard(config)`` is what ``slawatch dashboard`` calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from core.config import Config
from core.timeutil import YearMonth, utc_now

Exporter = Callable[[Config, str, YearMonth, datetime], Awaitable[str]]


def run_dashboard(
    config: Config,
    *,
    now: Callable[[], datetime] = utc_now,
    exporter: Exporter | None = None,
) -> int:
    """Run the dashboard in this terminal until the person quits; returns the exit code.

    ``exporter`` writes a month's claim bundle (the ``e`` key); the command line
    passes the one behind ``slawatch claim export``.
    """
    from tui.app import SlawatchApp  # textual loads only when the dashboard runs

    return SlawatchApp(config, now=now, exporter=exporter).run() or 0
