"""The two ways a user's input can be wrong, each rendered as one line.

``where`` names the place (a file, a file plus key path or line, a command-line
option); ``what`` says what is wrong. The command line turns either into a
one-line message on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations


class SlawatchError(Exception):
    """Base class for every error that is the user's to fix (exit code 2)."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}" if where else what)
        self.where = where
        self.what = what


class ConfigError(SlawatchError):
    """config.toml is wrong: ``where`` is ``file: key.path`` or ``file: line N``."""


class InputError(SlawatchError):
    """A command-line value, CSV file or bundle is wrong."""


class ConfigErrors(ConfigError):
    """Several mistakes in one config file, all found in one reading.

    ``where`` and ``what`` are the first one's (so it reads as one line, saying
    how many more there are); ``errors`` holds each, for ``config check``.
    """

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        more = len(errors) - 1
        what = first.what
        if more:
            what += f" (and {more} more: `slawatch config check` lists them all)"
        super().__init__(first.where, what)
        self.errors = tuple(errors)
