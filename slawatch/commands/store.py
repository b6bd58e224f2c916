"""``slawatch store init|migrate|verify``: the database itself.

``init`` creates or upgrades the schema of the configured database (SQLite or
PostgreSQL; for PostgreSQL also the fleet's roles and row-level security);
``migrate --to URL`` copies the SQLite store into an empty PostgreSQL database
and checks both; ``verify`` walks every hash chain and re-hashes the audit trail.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from slawatch.commands._args import Subparsers, group
from slawatch.commands._support import run, with_store

if TYPE_CHECKING:
    from core.config import Config
    from slawatch.cli import Context
    from store import Store
    from store.audit import AuditSummary
    from store.chain import ChainSummary


def register(sub: Subparsers) -> None:
    commands = group(sub, "store", "create, move and check the database")
    i = commands.add_parser(
        "init",
        help="create or upgrade the schema (PostgreSQL: also the fleet's roles); idempotent",
        description="Create or upgrade the schema of the configured database. With a"
        " PostgreSQL [storage] url (or $SLAWATCH_DATABASE_URL), run it as the database's"
        " owner: it also creates the roles slawatch_agent, slawatch_reader and"
        " slawatch_operator and the row-level security that keeps agents apart."
        " Example: slawatch store init",
    )
    i.set_defaults(handler=_init)
    m = commands.add_parser(
        "migrate",
        help="copy the whole SQLite store into an empty PostgreSQL database",
        description="Copy minutes, hash chains, cases, links, windows and settled credits"
        " from the configured SQLite file into the PostgreSQL database at URL (created or"
        " upgraded first), then walk the chains on both. Example: slawatch store migrate"
        " --to postgresql://slawatch@db.internal/slawatch",
    )
    m.add_argument("--to", required=True, metavar="URL", help="postgresql://user@host/db")
    m.add_argument(
        "--from",
        dest="source",
        metavar="FILE",
        type=Path,
        help="the SQLite file to copy (default: the config's [storage] path; required when"
        " the config already names a PostgreSQL url)",
    )
    m.set_defaults(handler=_migrate)
    v = commands.add_parser(
        "verify",
        help="walk the minute records' hash chains and the audit trail; exit 1 at a broken link",
        description="Walk every minute records' hash chain from its start, re-hash every"
        " audit trail entry and tree head, and report minute blocks found edited outside"
        " slawatch when a later write re-sealed their hour. Exit 1 naming each place that"
        " does not hold. Example: slawatch store verify",
    )
    v.set_defaults(handler=_verify)


def _where(config: Config) -> str:
    from core.dburl import mask_url

    return mask_url(config.storage_url) if config.storage_url else str(config.storage_path)


def _init(args: argparse.Namespace, ctx: Context) -> int:
    from core.dburl import mask_url

    url = _url_without_config(args, ctx)
    config = None if url is not None else ctx.config
    if config is not None:
        url = config.storage_url

    async def init() -> tuple[int, list[str]]:
        from store.schema import LATEST

        if url is None:
            from store.sqlite import SqliteStore

            assert config is not None
            async with await SqliteStore.open(config.storage_path):
                return LATEST, []
        from store.postgres import PostgresStore

        async with await PostgresStore.open(url, init=True) as store:
            return LATEST, await store.apply_roles()

    version, notes = run(init())
    for note in notes:
        print(f"note: {note}")
    where = _where(config) if config is not None else mask_url(url or "")
    print(f"{where}: schema version {version}: OK")
    return 0


def _url_without_config(args: argparse.Namespace, ctx: Context) -> str | None:
    """``$SLAWATCH_DATABASE_URL`` when no config file was named and none is here: the
    central database's server needs no config to create the schema and roles
    (deploy/fleet.md runs ``store init`` there with the URL alone)."""
    import os

    from core.configfile import check_database_url

    url = os.environ.get("SLAWATCH_DATABASE_URL")
    named = getattr(args, "config", None) or os.environ.get("SLAWATCH_CONFIG")
    if not url or named or ctx.config_path.exists():
        return None
    check_database_url(url, "$SLAWATCH_DATABASE_URL")
    return url


def _migrate(args: argparse.Namespace, ctx: Context) -> int:
    from core.configfile import check_database_url
    from core.dburl import mask_url
    from core.errors import InputError

    url: str = args.to
    check_database_url(url, "--to")
    source = _migrate_source(args.source, ctx)
    if not source.exists():
        raise InputError(str(source), "no SQLite database here to migrate")

    async def migrate() -> tuple[int, ChainSummary, ChainSummary]:
        from store.copy import copy_store
        from store.postgres import PostgresStore
        from store.sqlite import SqliteStore

        async with (
            await SqliteStore.open(source) as src,
            await PostgresStore.open(url, init=True) as dst,
        ):
            await dst.apply_roles()
            copied = await copy_store(src, dst)
            return copied.rows, await src.check_chains(), await dst.check_chains()

    rows, before, after = run(migrate())
    print(f"{source} -> {mask_url(url)}: {rows} rows copied")
    for name, summary in (("SQLite", before), ("PostgreSQL", after)):
        state = "OK" if not summary.breaks else f"{len(summary.breaks)} broken"
        print(f"  {name}: {summary.chains} chains, {summary.hours} sealed hours: {state}")
    return 0 if not (before.breaks or after.breaks) else 1


def _migrate_source(given: Path | None, ctx: Context) -> Path:
    """The SQLite file ``store migrate`` copies: ``--from``, else the config's ``[storage]
    path``. A config whose file names a PostgreSQL ``url`` names no SQLite file (its
    ``path`` is only the unused default, ``slawatch.db`` beside it): ``--from`` is needed."""
    from core.configfile import display_name, load_config
    from core.errors import InputError

    if given is not None:
        return given.expanduser().absolute()
    config = ctx.config
    if load_config(ctx.config_path).storage_url is not None:
        raise InputError(
            f"{display_name(config.path)}: storage",
            "this config uses PostgreSQL (url) and names no SQLite database to copy:"
            " give it with --from FILE, or run migrate with the config that names"
            " [storage] path",
        )
    return config.storage_path


def _verify(args: argparse.Namespace, ctx: Context) -> int:
    from core.errors import InputError

    config = ctx.config
    if config.storage_url is None and not config.storage_path.exists():
        raise InputError(str(config.storage_path), "no database here yet")

    async def check(store: Store) -> tuple[ChainSummary, AuditSummary]:
        return await store.check_chains(), await store.check_audit()

    summary, audit = with_store(config, check, readonly=True)
    where = _where(config)
    trail = f"{audit.entries} audit entries (head {audit.head.hex()[:16]})"
    if not summary.breaks and not audit.problems:
        print(f"{where}: {summary.chains} chains, {summary.hours} sealed hours: OK; {trail}: OK")
        return 0
    for found in summary.breaks:
        print(f"BROKEN {found.describe()}")
    for problem in audit.problems:
        print(f"BROKEN {problem.describe()}")
    if summary.breaks:
        first = summary.breaks[0]
        print(
            f"{where}: {len(summary.breaks)} of {summary.chains} chains broken; "
            f"first broken link: {first.describe()}"
        )
    if audit.problems:
        print(
            f"{where}: audit trail of {audit.entries} entries does not hold;"
            f" first: {audit.problems[0].describe()}"
        )
    return 1
