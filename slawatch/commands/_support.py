"""Small helpers shared by the command modules that read or write the store.

Kept light on purpose: every command module imports this while the parser is
built, so asyncio, json and sqlite3 load only when a handler runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from core.errors import InputError
from core.percent import percent_text
from core.timeutil import parse_instant, parse_past, to_minute
from slawatch.tables import nothing_listed as nothing_listed
from slawatch.tables import table as table

if TYPE_CHECKING:
    from core.config import Config
    from slawatch.cli import Context
    from store import Store

T = TypeVar("T")


class View(Protocol):
    def to_json(self) -> Any: ...


V = TypeVar("V", bound=View)


def run(coro: Awaitable[T]) -> T:
    """Run a command's store work. A database another process keeps locked past the
    busy timeout is the store's ``StoreBusy`` (a ``SlawatchError``): one line, exit 2."""
    import asyncio

    async def _main() -> T:
        return await coro

    return asyncio.run(_main())


def with_store(
    config: Config, action: Callable[[Store], Awaitable[T]], *, readonly: bool = False
) -> T:
    """Open the configured store, run ``action(store)`` and close it: one command's
    write, or its read with ``readonly=True`` (no transaction held open)."""
    from store import open_store

    async def _go() -> T:
        async with await open_store(config, readonly=readonly) as store:
            return await action(store)

    return run(_go())


def show(
    args: argparse.Namespace,
    ctx: Context,
    read: Callable[[Store, Config, datetime], Awaitable[V]],
    render: Callable[[V], str],
) -> int:
    """Read one view from the store (``read(store, config, now)``) and print it:
    ``--json`` as JSON, else ``render(view)`` for people. Exit 0."""
    config = ctx.config
    now = ctx.now()
    view = with_store(config, lambda store: read(store, config, now), readonly=True)
    if args.json:
        print_json(view.to_json())
    else:
        print(render(view))
    return 0


def chosen_services(config: Config, name: str | None) -> list[str]:
    """What ``--service NAME`` picks: that service, checked against the config (an unknown
    one is one line, exit 2), or every configured service when it was not given."""
    from reads.reports import service_of

    return [service_of(config, name).name] if name is not None else list(config.services)


def time_or_now(text: str | None, now: datetime, option: str) -> datetime:
    """An optional past time (``time_option``): parsed and not after ``now``, else ``now``."""
    return parse_past(text, now, option) if text else now


def given_span(args: argparse.Namespace) -> tuple[datetime, datetime]:
    """``--from``/``--to`` (``span_options``) parsed; ``--to`` must come after ``--from``."""
    start, end = parse_instant(args.start, "--from"), parse_instant(args.end, "--to")
    if end <= start:
        raise InputError("--to", f"{args.end} is not after --from {args.start}")
    return start, end


def minute_span(start: datetime, end: datetime) -> tuple[int, int]:
    """The epoch minutes covering [start, end): the start's minute to the end's, rounded up."""
    lo = to_minute(start)
    hi = to_minute(end)
    if end.timestamp() > hi * 60:
        hi += 1
    return lo, hi


def print_json(value: Any) -> None:
    import json

    sys.stdout.write(json.dumps(value, indent=2) + "\n")  # one write, not one per token


def markdown(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], right: Sequence[int] = ()
) -> str:
    """A Markdown table (numbers right-aligned), one row a line whatever its width:
    deliberately not held to 100 columns as ``slawatch.tables.table`` is, since a
    Markdown row cannot be wrapped without breaking the table, and folding it into
    several tables would split each row over them where it is rendered."""
    head = "| " + " | ".join(headers) + " |"
    rule = "|" + "|".join("---:" if i in right else "---" for i in range(len(headers))) + "|"
    body = ["| " + " | ".join(_md_cell(c) for c in r) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def _md_cell(value: Any) -> str:
    return "" if value is None else str(value).replace("|", "\\|")


def pct(value: Decimal, places: int = 1) -> str:
    """A share that is neither an availability nor a credit (responses on time), cut:
    ``40.0 %``. Availabilities and credits go through ``core.percent``."""
    return f"{percent_text(value, places)} %"


def notes(*, coverage_low: bool, provisional: bool, not_recording: bool = False) -> str:
    """The NOTE cell: what a reader must know before trusting a month's figures."""
    said = (["NOT RECORDING"] if not_recording else []) + (["LOW COVERAGE"] if coverage_low else [])
    said += ["PROVISIONAL"] if provisional else []
    return ", ".join(said) or "-"


def when(ts: datetime | None) -> str:
    """A UTC time for people: ``2026-10-03 14:05Z``."""
    from core.timeutil import human_utc

    return human_utc(ts)


def after(ts: datetime | None, since: datetime) -> str:
    """A UTC time that follows ``since`` in the same row of a table: ``11-06 09:48Z``
    when it falls in ``since``'s year (written in full beside it), else as ``when``."""
    if ts is None or ts.astimezone(UTC).year != since.astimezone(UTC).year:
        return when(ts)
    return ts.astimezone(UTC).strftime("%m-%d %H:%MZ")


def left(deadline: datetime, now: datetime) -> str:
    """How long until a deadline, as the dashboard counts it down: ``1d 17h left``."""
    from core.durations import span_text

    return f"{span_text((deadline - now).total_seconds())} left"


def plural(count: int, noun: str) -> str:
    """``1 minute``, ``2 minutes``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def owed_text(agent: str, waiting: int, since: datetime | None) -> str:
    """The note on an agent's outage notifications still owed (``status``, ``fleet status``)."""
    return (
        f"agent {agent}: {waiting} outage notification(s) not yet delivered to every"
        f" notifier (the oldest of {when(since)}): retried until delivered, see the agent's log"
    )
