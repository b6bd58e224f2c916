"""The ``slawatch`` command line.

Each command group lives in its own module under ``slawatch.commands`` and
exposes ``register(subparsers)``; the parser it adds sets a ``handler`` default,
``handler(args, ctx) -> int``. Modules are imported lazily by name so that a
command's heavy dependencies (textual, httpx) load only when it runs.

Exit codes (interfaces.md): 0 success, 1 the answer is "no", 2 bad usage,
config or input, with one line on stderr and never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from core.errors import SlawatchError
from core.timeutil import utc_now

if TYPE_CHECKING:
    from core.config import Config

# Command modules, in the order their commands appear in --help.
COMMAND_MODULES: tuple[str, ...] = (
    "slawatch.commands.demo",
    "slawatch.commands.agent",
    "slawatch.commands.dashboard",
    "slawatch.commands.status",
    "slawatch.commands.report",
    "slawatch.commands.outages",
    "slawatch.commands.imports",
    "slawatch.commands.case",
    "slawatch.commands.windows",
    "slawatch.commands.credit",
    "slawatch.commands.audit",
    "slawatch.commands.claim",
    "slawatch.commands.key",
    "slawatch.commands.store",
    "slawatch.commands.checkpoint",
    "slawatch.commands.timestamp",
    "slawatch.commands.fleet",
    "slawatch.commands.config",
    "slawatch.commands.service",
    "slawatch.commands.completion",
)

Handler = Callable[[argparse.Namespace, "Context"], int]


@dataclass
class Context:
    """What every command handler gets: where the config is, and the clock."""

    config_path: Path
    clock: Callable[[], datetime] = utc_now
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        """The parsed config, loaded on first use (a ConfigError becomes exit 2)."""
        if self._config is None:
            from core.configfile import load_config

            self._config = with_database_url(
                load_config(self.config_path), os.environ.get("SLAWATCH_DATABASE_URL")
            )
        return self._config

    def now(self) -> datetime:
        return self.clock()


_ARGV: list[str] = []  # what main() parses, for help that reads the config (priorities)


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, without importing shutil (and lzma, bz2) for the terminal
    width every time an option is added: the width is only looked up here."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24) -> None:
        try:
            columns = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size().columns
        except (ValueError, OSError):
            columns = 80
        super().__init__(prog, indent_increment, max_help_position, width=max(columns - 2, 40))

    def _expand_help(self, action: argparse.Action) -> str:
        """An option's help, with the priorities it accepts named from the config
        (``helptext.PRIORITIES``): looked up only when help is shown."""
        text = super()._expand_help(action)
        from slawatch import helptext

        if helptext.PRIORITIES in text:
            config = resolve_config_path(helptext.config_arg(_ARGV))
            text = text.replace(helptext.PRIORITIES, helptext.priorities_text(config))
        return text

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        """Paragraphs wrapped at spaces only: a file name or an option in an example
        (``claim-portal-2026-10.json``) is never split at its hyphens."""
        import textwrap

        text = " ".join(text.split())
        return textwrap.fill(
            text, width, initial_indent=indent, subsequent_indent=indent,
            break_on_hyphens=False, break_long_words=False,
        )  # fmt: skip


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exit code 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    argv: Sequence[str] = ()  # what main() parses: to name an unknown option before a command

    def error(self, message: str) -> NoReturn:
        if message.endswith("required: COMMAND"):
            # `slawatch --bogus`: argparse blames the missing command; the option is the mistake.
            unknown = [a for a in self.argv if a.startswith("-")
                       and a.split("=", 1)[0] not in self._option_string_actions]  # fmt: skip
            if unknown:
                message = f"unrecognized arguments: {unknown[0]}"
        self.exit(2, f"slawatch: {message} (see '{self.prog} --help')\n")


def with_database_url(config: Config, url: str | None) -> Config:
    """``$SLAWATCH_DATABASE_URL``, when set, overrides ``[storage] url`` (and ``path``)."""
    if not url:
        return config
    import dataclasses

    from core.configfile import check_database_url

    check_database_url(url, "$SLAWATCH_DATABASE_URL")
    return dataclasses.replace(config, storage_url=url)


def version() -> str:
    """The installed slawatch's version (``0+unknown`` when run from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("slawatch")
    except PackageNotFoundError:
        return "0+unknown"


class _Version(argparse.Action):
    """``--version``: looked up only when asked for (importlib.metadata is not free)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        sys.stdout.write(f"slawatch {version()}\n")
        parser.exit(0)


def resolve_config_path(arg: str | None) -> Path:
    """--config FILE, else $SLAWATCH_CONFIG, else ./config.toml."""
    raw = arg or os.environ.get("SLAWATCH_CONFIG") or "config.toml"
    return Path(raw).expanduser().absolute()


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="slawatch",
        description="Hold hosted-service providers to their SLA.",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="config file (default: $SLAWATCH_CONFIG or ./config.toml)"
    )
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command group has not been written yet
                continue
            raise
        module.register(sub)
    _config_after_the_command(parser)
    from slawatch import helptext

    helptext.complete(parser)
    return parser


def _config_after_the_command(parser: argparse.ArgumentParser) -> None:
    """``slawatch config check --config FILE`` as well as ``slawatch --config FILE config
    check``: every command takes ``--config`` after its name too. Not given there, it
    leaves the one before the command (or none) as it was."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                if not any(isinstance(a, argparse._SubParsersAction) for a in child._actions):
                    child.add_argument(
                        "--config",
                        metavar="FILE",
                        default=argparse.SUPPRESS,
                        help="config file, as before the command",
                    )
                _config_after_the_command(child)


def main(argv: Sequence[str] | None = None, clock: Callable[[], datetime] | None = None) -> int:
    """Run one command; ``clock`` stands in for the wall clock (tests re-run a report
    as of another day)."""
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # a shell asks for completions (slawatch completion)
        import argcomplete

        argcomplete.autocomplete(parser)
    _ARGV[:] = sys.argv[1:] if argv is None else argv
    if isinstance(parser, _Parser):
        parser.argv = list(_ARGV)
    args = parser.parse_args(argv)
    ctx = Context(config_path=resolve_config_path(args.config))
    if clock is not None:
        ctx.clock = clock
    handler: Handler = args.handler
    try:
        return handler(args, ctx)
    except SlawatchError as exc:
        from slawatch.tables import visible

        print(f"slawatch: {visible(str(exc))}", file=sys.stderr)  # (it may quote a file)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def run() -> NoReturn:
    """The console script's entry before ``slawatch.start`` (an install not yet refreshed
    still calls it): the command, without the early stop signals."""
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
