"""Argument set-up the command modules share: command groups and the common options.

Only argparse here: building the parser must not load the store, asyncio or
the rules (``slawatch report --help`` and every command's start-up stay fast).
"""

from __future__ import annotations

import argparse
from typing import Any, TypeAlias

# A string: argparse._SubParsersAction cannot be subscripted at run time.
Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def group(sub: Subparsers, name: str, help: str, **kwargs: Any) -> Subparsers:
    """A command group (``slawatch case ...``) whose action is required."""
    p = sub.add_parser(name, help=help, **kwargs)
    return p.add_subparsers(dest=f"{name}_action", metavar="ACTION", required=True)


def service_option(p: argparse.ArgumentParser, *, required: bool = True, help: str = "") -> None:
    p.add_argument(
        "--service", required=required, metavar="NAME", help=help or "the service's name"
    )


def month_option(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    p.add_argument(
        "--month", required=required, metavar="YYYY-MM", help="a month of the contract's calendar"
    )


def span_options(p: argparse.ArgumentParser) -> None:
    """``--from TIME --to TIME``: a half-open span; times need an offset."""
    p.add_argument(
        "--from", dest="start", required=True, metavar="TIME", help="start, e.g. 2026-10-03T14:05Z"
    )
    p.add_argument("--to", dest="end", required=True, metavar="TIME", help="end (exclusive)")


def json_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def time_option(
    p: argparse.ArgumentParser, flag: str = "--at", help: str = "when (default: now)"
) -> None:
    """An optional time (``--at TIME``) that defaults to now (``_support.time_or_now``)."""
    p.add_argument(flag, metavar="TIME", help=help)


_MAX_ID = 2**63 - 1  # the largest id a database row has (SQLite and PostgreSQL bigint)


def id_argument(p: argparse.ArgumentParser, what: str = "ID") -> None:
    """The positional ``ID`` of a stored thing (a case, a window): a positive whole number;
    ``what`` names it in the error (``case ID must be a positive whole number, not 'x'``)."""

    def parse(text: str) -> int:
        if not text.isdigit() or int(text) < 1:
            raise argparse.ArgumentTypeError(
                f"{what} must be a positive whole number, not {text!r}"
            )
        if int(text) > _MAX_ID:
            raise argparse.ArgumentTypeError(f"{what} must be at most {_MAX_ID}, not {text!r}")
        return int(text)

    p.add_argument("id", metavar="ID", type=parse)
