"""``slawatch config check``: validate the config file (exit 0, or 2 with the key at fault).

Beyond the loader's rules (every mistake of the file at once), it checks what
the agent would trip on when it starts: no service to watch, a database (or
spool) it cannot write, a ``ca_file`` that is no certificate, a ``header_env``
variable that is not set. Errors exit 2; warnings (a service left on the
default contract, an enterprise calendar without holidays, a secret not set in
this shell) are printed and leave the exit code 0.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from slawatch.commands._args import Subparsers, group
from slawatch.commands._support import plural

if TYPE_CHECKING:
    from core.config import Config
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    check = group(sub, "config", "work with the config file").add_parser(
        "check",
        help="validate the config; exit 0 or 2",
        description=(
            "Validate the config file and what the agent needs to start: every mistake "
            "is listed (exit 2); warnings alone exit 0."
        ),
        epilog="example: slawatch config check --env-file /etc/slawatch/agent.env",
    )
    check.add_argument(
        "--env-file",
        metavar="FILE",
        type=Path,
        help="the agent's environment file (KEY=VALUE lines, as systemd reads it): "
        "a header_env variable set in neither it nor this shell is an error",
    )
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace, ctx: Context) -> int:
    from agent.limits import missing_secrets, probe_errors
    from agent.systemd import ENVIRONMENT_FILE
    from core.configfile import display_name
    from core.errors import ConfigErrors

    try:
        config = ctx.config
    except ConfigErrors as exc:
        for error in exc.errors:
            print(f"slawatch: {error}", file=sys.stderr)
        return 2
    shown = display_name(config.path)
    env: dict[str, str] = dict(os.environ)
    if args.env_file is not None:
        env.update(_env_file(args.env_file))
    errors = [str(e) for e in probe_errors(config)]
    if not config.services:
        errors.append(f"{shown}: service: no [[service]] given: the agent has nothing to probe")
    errors += _storage_errors(config, shown)
    errors += _checkpoint_key_errors(config, env)
    secrets = [f"{shown}: {line}" for line in missing_secrets(config, env)]
    warnings = list(config.warnings)
    login = None
    if config.storage_url and not errors:
        login, said = _agent_login(config, env, shown)
        warnings += said
    if args.env_file is not None:
        errors += [f"{line} (in neither {args.env_file} nor this shell)" for line in secrets]
    else:
        # Under systemd the agent's secrets come from the unit's EnvironmentFile, which
        # this shell need not have: not an error here, but said, since the agent refuses
        # to start without them (exit 2); --env-file makes it one.
        warnings += [
            line.replace(": $", ": warning: $", 1)
            + " in this shell: the agent refuses to start without it (under systemd it comes"
            f" from the unit's EnvironmentFile: check with --env-file {ENVIRONMENT_FILE})"
            for line in secrets
        ]
    for line in warnings:
        print(line, file=sys.stderr)
    for line in errors:
        print(f"slawatch: {line}", file=sys.stderr)
    if errors:
        return 2
    print(
        f"{config.path}: ok ({plural(len(config.services), 'service')},"
        f" {plural(len(config.contracts), 'contract')},"
        f" {plural(len(config.calendars), 'calendar')}; {_database(config, login)})"
    )
    return 0


def _database(config: Config, login: str | None = None) -> str:
    """Where the commands read and write: the SQLite file, or in fleet mode the
    PostgreSQL URL the agent logs in with (its password masked) and its spool."""
    from core.dburl import mask_url

    if config.storage_url:
        url = mask_url(login or config.storage_url)
        return f"database {url}, agent spool {config.spool_path}"
    return f"database {config.storage_path}"


def _agent_login(config: Config, env: Mapping[str, str], shown: str) -> tuple[str, list[str]]:
    """Fleet mode: log in as the agent will (its name as the role, unless the URL or
    ``$PGUSER`` names one) and look that the role is an agent's: (the URL, warnings).
    Warnings, not errors: the agent still probes and spools, and forwards once it can
    (PostgreSQL may only be away for now)."""
    import asyncio

    from core.dburl import with_default_user
    from core.errors import SlawatchError
    from slawatch.commands.agent import named
    from store.postgres import PostgresStore
    from store.postgres.backend import login_role
    from store.postgres.roles import agent_role_sql

    assert config.storage_url is not None
    name = named(config, None, env).agent.name
    url = with_default_user(config.storage_url, name, env)
    # libpq reads PGPASSWORD... from here: the --env-file's win over this shell's, as
    # under systemd (the owner's PGPASSWORD left exported from `store init` made the
    # check log in as the agent with the owner's password, the file's unused).
    for key, value in env.items():
        if key.startswith("PG"):
            os.environ[key] = value

    async def schema() -> None:
        async with await PostgresStore.open(url, readonly=True):
            pass

    where = f"{shown}: storage.url: warning: agent {name!r}"
    then = "it will probe and spool, and forward nothing until it can"
    try:
        user, agent = asyncio.run(login_role(url))
    except SlawatchError as exc:
        create = agent_role_sql(name).removesuffix(";")
        role = f"{create} PASSWORD '...', as the database's owner: deploy/fleet.md"
        hint = ""
        if f'role "{name}" does not exist' in str(exc):
            hint = f" (its role: {role})"
        elif "password authentication failed" in str(exc):
            # PostgreSQL answers a role that does not exist this way too, on purpose.
            hint = (
                " (a wrong password (PGPASSWORD in --env-file, or PGPASSFILE), or no such"
                f" role, which PostgreSQL does not tell apart: {role})"
            )
        return url, [f"{where} cannot log in: {exc}; {then}{hint}"]
    if not agent:
        return url, [
            f"{where} logs in as {user!r}, which is not a member of slawatch_agent: the"
            f' database will refuse its minutes (GRANT slawatch_agent TO "{user}", as the'
            " database's owner)"
        ]
    try:
        asyncio.run(schema())
    except SlawatchError as exc:
        return url, [f"{where} cannot use the database: {exc}; {then}"]
    return url, []


def _storage_errors(config: Config, shown: str) -> list[str]:
    """The SQLite file the commands (or, in fleet mode, the agent's spool) will write."""
    key, path = (
        ("storage.spool", config.spool_path)
        if config.storage_url
        else ("storage.path", config.storage_path)
    )
    if path is None:
        return []
    problem = _unwritable(path)
    return [] if problem is None else [f"{shown}: {key}: {path} {problem}"]


def _checkpoint_key_errors(config: Config, env: Mapping[str, str]) -> list[str]:
    """The agent refuses to start without a readable ``[agent.checkpoint]`` key (its
    name from ``$SLAWATCH_AGENT_NAME`` or ``[agent] name``, as the agent reads it)."""
    from agent.checkpoints import key_path, load_key
    from core.configfile import display_name
    from core.errors import SlawatchError
    from slawatch.commands.agent import named

    settings = config.agent.checkpoint
    if settings is None:
        return []
    try:
        name = named(config, None, env).agent.name
        load_key(key_path(settings, name), f"{display_name(config.path)}: agent.checkpoint.key")
    except SlawatchError as exc:
        return [str(exc)]
    return []


def _unwritable(path: Path) -> str | None:
    """Why SQLite could not create or write ``path`` (and its journal beside it), or None."""
    if path.is_dir():
        return "is a folder, not a database file"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return "cannot be written by this user"
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the commands create missing folders below this one
    if not folder.is_dir():
        return f"cannot be created: {folder} is not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot be created or journalled: {folder} is not writable by this user"
    # os.access answers yes to root everywhere, and knows nothing of /proc or /sys:
    # try it (a temporary file, removed at once, in the folder SQLite will write).
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        return f"cannot be created or journalled in {folder}: {e.strerror or e}"
    return None


def _env_file(path: Path) -> Mapping[str, str]:
    """``KEY=VALUE`` lines of a systemd ``EnvironmentFile`` (comments, ``export``, quotes)."""
    from core.errors import InputError

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise InputError("--env-file", f"cannot read {path}: {why}") from None
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.removeprefix("export ").partition("=")
        if sep:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            out[key.strip()] = value
    return out
