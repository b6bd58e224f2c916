"""The ``slawatch`` process's entry: stop signals noted from the first moment of
``slawatch agent``, before its own handlers; then the command line (``slawatch.cli``).

The agent's event loop handles SIGTERM, SIGINT and SIGHUP (``agent.runner.Server``),
but it runs only after a second or more of start-up (Python's imports, the config,
the agent's modules). Until then the default handlers applied: a SIGTERM (``systemctl
stop`` right after a start) killed the process with no log line at all, a SIGINT
printed a traceback, a SIGHUP killed it too. ``slawatch agent`` installs these
handlers before anything else (``run``, the console script's and ``python -m
slawatch``'s entry, before even the command line's imports): a signal is only noted,
and the
agent acts on it as soon as its loop runs (``received SIGTERM, stopping``, exit 0, as
a stop at any later moment). After the loop's handlers are removed at exit, they note
again, so a signal during the last of the exit is not a kill either.

Standard library only: imported before everything else. What is left is Python's own
start (some tens of milliseconds), before any of slawatch's code runs.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import NoReturn

NOTED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class EarlySignals:
    """The signals of ``NOTED`` received while installed, in order, until taken."""

    def __init__(self) -> None:
        self.installed = False
        self._received: list[int] = []

    def install(self) -> None:
        for sig in NOTED:
            signal.signal(sig, self._note)
        self.installed = True

    def _note(self, signum: int, frame: FrameType | None) -> None:
        self._received.append(signum)

    def take(self) -> list[int]:
        """The signals noted since the last call, oldest first."""
        got, self._received = self._received, []
        return got


EARLY = EarlySignals()
"""The process's own (``slawatch agent`` installs it; nothing else does)."""


def runs_the_agent(argv: Sequence[str]) -> bool:
    """``argv`` (without the program) runs the foreground agent: ``agent``, not
    ``agent --once`` (which has no handlers of its own: a stop ends it as before)."""
    args = list(argv)
    i = 0
    while i < len(args):
        if args[i] == "--config":
            i += 2
        elif args[i].startswith("-"):
            i += 1
        else:
            return args[i] == "agent" and "--once" not in args[i + 1 :]
    return False


def run() -> NoReturn:
    """``slawatch ...``: the signals first when it runs the agent, then the command."""
    if runs_the_agent(sys.argv[1:]):
        EARLY.install()
    from slawatch.cli import main

    sys.exit(main())
