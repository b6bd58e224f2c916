"""``slawatch`` run in-process: the console script's own ``main``, output captured."""

from __future__ import annotations

import contextlib
import io

from slawatch.cli import main


def call(*args: str) -> tuple[int, str, str]:
    """``slawatch ARGS``: exit code, stdout, stderr. An exception that escapes ``main``
    (what would be a traceback for the user) propagates and fails the test."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()
