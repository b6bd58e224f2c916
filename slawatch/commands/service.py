"""``slawatch service install [--print] [--name NAME]``: the systemd unit that runs the agent.

With ``--name`` the unit runs ``slawatch agent --name NAME``: one vantage point of a
fleet (deploy/fleet.md), the name in the unit itself rather than in an environment
file. In fleet mode (``[storage] url``) the folder the unit may write is the spool's.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InputError
from slawatch.commands._args import Subparsers, group

if TYPE_CHECKING:
    from core.config import Config
    from slawatch.cli import Context


# Same as agent.systemd.DEFAULT_UNIT_PATH, repeated so that building the parser
# does not import the agent (and httpx) for every command.
DEFAULT_UNIT_PATH = Path("/etc/systemd/system/slawatch-agent.service")


def register(sub: Subparsers) -> None:
    install = group(sub, "service", "install the agent as a systemd service").add_parser(
        "install",
        help="write (or print) the systemd unit for the agent",
        description="Write a sandboxed systemd unit that runs 'slawatch agent' with this "
        "config, as a dedicated user, restarted on failure and watched by systemd.",
    )
    install.add_argument("--print", action="store_true", help="print the unit instead of writing")
    install.add_argument(
        "--path",
        metavar="FILE",
        default=str(DEFAULT_UNIT_PATH),
        help=f"where to write the unit (default: {DEFAULT_UNIT_PATH})",
    )
    install.add_argument(
        "--user",
        default="slawatch",
        help="the dedicated user the agent runs as (default: slawatch)",
    )
    install.add_argument(
        "--name",
        metavar="NAME",
        help="the agent's name, for one vantage point of a fleet: the unit runs "
        "'slawatch agent --name NAME' (the name of its PostgreSQL role too)",
    )
    install.add_argument(
        "--spool",
        metavar="FILE",
        help="the agent's spool (default: [storage] spool): the unit runs 'slawatch agent "
        "--spool FILE' and may write its folder; a second agent of one config on this "
        "machine needs one of its own",
    )
    install.set_defaults(handler=_install)


def slawatch_argv() -> list[str]:
    """The absolute command that runs this slawatch: the console script next to the
    running interpreter when there is one (a venv or pipx install), else ``python -m``."""
    script = Path(sys.executable).parent / "slawatch"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "slawatch"]


def _install(args: argparse.Namespace, ctx: Context) -> int:
    import slawatch
    from agent.systemd import ENVIRONMENT_FILE, unit_text
    from slawatch.commands.agent import check_agent_name, spooled

    name = None if args.name is None else check_agent_name(args.name, "--name")
    # ctx.config validates the config: a unit for a broken config is no use
    config = spooled(ctx.config, args.spool)
    # The one folder the agent writes: its store's, or in fleet mode its spool's.
    fleet = config.storage_url is not None and config.spool_path is not None
    data = (config.spool_path if fleet and config.spool_path else config.storage_path).parent
    agent_args = ["agent"] if name is None else ["agent", "--name", name]
    if args.spool is not None and config.spool_path is not None:
        agent_args += ["--spool", str(config.spool_path)]
    group = _primary_group(args.user)  # None: the user is still to be created
    text = unit_text(
        exec_start=[*slawatch_argv(), "--config", str(config.path.absolute()), *agent_args],
        data_dir=data,
        user=args.user,
        group=group,
        reads=[
            Path(sys.prefix),
            Path(sys.base_prefix),
            Path(slawatch.__file__).parent,
            config.path.absolute(),
        ],
        agent_name=name,
        fleet=fleet,
    )
    if fleet and data == config.path.absolute().parent:
        print(
            f"warning: the spool is in the config's folder ({data}), which the unit makes"
            ' writable; put it under /var/lib (spool = "/var/lib/slawatch/spool.db")',
            file=sys.stderr,
        )
    if args.print:
        sys.stdout.write(text)
        _warn_unreachable(args.user)
        _warn_unreadable(args.user, config, name or config.agent.name)
        return 0
    path = Path(args.path).expanduser().absolute()
    _write_atomically(path, text)
    unit = path.name.removesuffix(".service")
    print(f"wrote {path}")
    print("next, as root:")
    if group is None:
        print(f"  useradd --system --home-dir /nonexistent --shell /usr/sbin/nologin {args.user}")
    print(f"  chown -R {args.user}: {data}")
    print(f"  systemctl daemon-reload && systemctl enable --now {unit}")
    if fleet:
        from store.postgres.roles import agent_role_sql

        role = agent_role_sql(name or config.agent.name)
        print(f"in PostgreSQL, as the owner of the database: {role.removesuffix(';')}")
        print("  PASSWORD '...'; (or a client certificate: sslcert=, sslkey= in the URL)")
        print("the role's password (PGPASSWORD=...) and probe header secrets (header_env)")
        print(f"  go in {ENVIRONMENT_FILE} (mode 0600)")
    else:
        print(f"probe header secrets (header_env) go in {ENVIRONMENT_FILE} (mode 0600)")
    _warn_unreachable(args.user)
    _warn_unreadable(args.user, config, name or config.agent.name)
    return 0


def _primary_group(user: str) -> str | None:
    """The primary group of ``user`` when that user exists here (``nobody``'s is
    ``nogroup`` on Debian, so ``Group=nobody`` would not start), else None."""
    import grp
    import pwd

    try:
        gid = pwd.getpwnam(user).pw_gid
    except KeyError:
        return None
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def _warn_unreachable(user: str) -> None:
    """The unit runs as ``user``: say so when that user cannot even start this Python
    (a virtualenv under /root, uv's interpreters under ~/.local/share/uv...)."""
    from agent.systemd import not_runnable_by

    for program in sorted({Path(slawatch_argv()[0]), Path(sys.executable)}):
        why = not_runnable_by(program, user)
        if why is not None:
            print(
                f"warning: User={user} cannot start {program}: {why}. Install slawatch"
                " where the service user can run it, e.g. `uv tool install slawatch` with"
                " UV_TOOL_DIR=/opt/uv-tools UV_TOOL_BIN_DIR=/usr/local/bin"
                " UV_PYTHON_INSTALL_DIR=/opt/uv-python, or a virtualenv under /opt,"
                " then run this again from there",
                file=sys.stderr,
            )


def _warn_unreadable(user: str, config: Config, agent: str) -> None:
    """The files the agent reads at start as ``user``: its config, and the checkpoint
    key it signs with (the agent refuses to start, exit 2, without either)."""
    from agent.checkpoints import key_path
    from agent.systemd import not_runnable_by

    files = [("config", config.path.absolute())]
    if config.agent.checkpoint is not None:
        files.append(("checkpoint key", key_path(config.agent.checkpoint, agent)))
    for what, path in files:
        why = not_runnable_by(path, user, read=True)
        if why is not None:
            print(
                f"warning: User={user} cannot read its {what} {path}: {why}; the agent would"
                f" not start (e.g. chown {user}: {path}, or chmod the folder on the way)",
                file=sys.stderr,
            )


def _write_atomically(path: Path, text: str) -> None:
    """Write the whole unit or nothing: a temporary file renamed into place."""
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        hint = " (run as root, or use --print or --path)" if exc.errno in (1, 13, 30) else ""
        raise InputError("--path", f"cannot write {path}: {exc.strerror}{hint}") from None
