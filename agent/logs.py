"""The agent's logging, configured in one place with ``logging.config.dictConfig``.

One event, one line, on stderr. Under systemd (``JOURNAL_STREAM`` is set) each
line starts with an ``sd-daemon`` priority prefix (``<4>`` for a warning) and
has no timestamp, since journald adds both as fields; in a terminal each line
starts with a UTC timestamp and the level name. Messages are flattened to one
line so an exception text with newlines cannot split an event.

Only ``run_agent`` (the ``slawatch agent`` process) calls ``configure_logging``;
an ``Agent`` embedded in another program (the demo) leaves logging to it.
"""

from __future__ import annotations

import logging
import logging.config
import os
import time
from collections.abc import Mapping

# sd-daemon(3) priorities by logging level.
_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class OneLineFormatter(logging.Formatter):
    """Flattens the message (and any exception) onto one line."""

    converter = staticmethod(time.gmtime)

    def __init__(self, fmt: str) -> None:
        super().__init__(fmt, datefmt="%Y-%m-%dT%H:%M:%SZ")

    def format(self, record: logging.LogRecord) -> str:
        record.priority = _PRIORITY.get(record.levelno, 6)
        text = super().format(record)
        return " | ".join(line.strip() for line in text.splitlines() if line.strip())


def logging_config(level: str = "INFO", env: Mapping[str, str] | None = None) -> dict[str, object]:
    env = os.environ if env is None else env
    journald = bool(env.get("JOURNAL_STREAM"))
    fmt = (
        "<%(priority)d>%(name)s: %(message)s"
        if journald
        else "%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "line": {"()": OneLineFormatter, "fmt": fmt},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                "stream": "ext://sys.stderr",
            },
        },
        "loggers": {
            "slawatch": {"level": level, "handlers": ["stderr"], "propagate": False},
            "apscheduler": {"level": "ERROR", "handlers": ["stderr"], "propagate": False},
            "apscheduler.executors": {"level": "CRITICAL"},
            "httpx": {"level": "WARNING", "handlers": ["stderr"], "propagate": False},
            # psycopg warns of its own cancellation of a query when the agent ends a
            # round on a hung PostgreSQL (a stop, a reload): the forwarder says why.
            "psycopg": {"level": "ERROR", "handlers": ["stderr"], "propagate": False},
        },
    }


def configure_logging(level: str | None = None) -> None:
    """Set up stderr logging for the agent process (level from ``SLAWATCH_LOG_LEVEL``)."""
    chosen = (level or os.environ.get("SLAWATCH_LOG_LEVEL") or "INFO").upper()
    if chosen not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        chosen = "INFO"
    logging.config.dictConfig(logging_config(chosen))
