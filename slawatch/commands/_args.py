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


def positive_id(text: str) -> int:
    """An ``ID`` argument: a positive whole number (argparse's one-line error otherwise)."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"ID must be a positive whole number, not {text!r}")
    return int(text)
