"""Log lines: one per event, with a priority prefix under journald."""

from __future__ import annotations

import logging
import logging.config
import sys

import pytest

from agent.logs import OneLineFormatter, logging_config


def record(msg: str, level: int = logging.WARNING) -> logging.LogRecord:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        exc_info = sys.exc_info()
    return logging.LogRecord("slawatch.agent", level, __file__, 1, msg, (), exc_info)


def test_journald_lines_carry_the_priority_and_stay_on_one_line() -> None:
    config = logging_config("INFO", env={"JOURNAL_STREAM": "8:1234"})
    fmt = config["formatters"]["line"]["fmt"]  # type: ignore[index]
    line = OneLineFormatter(fmt).format(record("two\nlines"))
    assert line.startswith("<4>slawatch.agent: two | lines | Traceback")
    assert "\n" not in line


def test_terminal_lines_are_timestamped_in_utc(capsys: pytest.CaptureFixture[str]) -> None:
    names = ("slawatch", "apscheduler", "apscheduler.executors", "httpx")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).propagate) for n in names}
    levels = {n: logging.getLogger(n).level for n in names}
    logging.config.dictConfig(logging_config("INFO", env={}))
    try:
        logging.getLogger("slawatch.agent.test").info("hello")
        logging.getLogger("slawatch.agent.test").debug("hidden")
    finally:
        for n, (handlers, propagate) in saved.items():
            logger = logging.getLogger(n)
            logger.handlers[:] = handlers
            logger.propagate = propagate
            logger.setLevel(levels[n])
    err = capsys.readouterr().err
    assert err.endswith("Z INFO slawatch.agent.test: hello\n")
    assert "hidden" not in err
