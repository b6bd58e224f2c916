"""``slawatch agent [--once] [--name NAME] [--spool FILE]``: the probe agent in the foreground."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InputError

if TYPE_CHECKING:
    from core.config import Config
    from slawatch.cli import Context

NAME_ENV = "SLAWATCH_AGENT_NAME"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "agent",
        help="run the probe agent in the foreground",
        description="Probe every configured service on its interval and record one verdict "
        "per minute until SIGTERM or Ctrl+C. Logs go to stderr, one line per event.",
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="probe every service once, record the verdicts, print them, and exit",
    )
    p.add_argument(
        "--name",
        metavar="NAME",
        help=f"this agent's source name (default: ${NAME_ENV}, else [agent] name), "
        "so one config file serves a whole fleet",
    )
    p.add_argument(
        "--spool",
        metavar="FILE",
        help="this agent's spool (default: [storage] spool), so that several agents of one "
        "config run on one machine, each with its --name and --spool (fleet mode only)",
    )
    p.set_defaults(handler=_run)


def check_agent_name(name: str, where: str) -> str:
    """An agent name given on the command line or in the environment, or InputError."""
    from core.configfile import agent_name_problem

    problem = agent_name_problem(name)
    if problem is not None:
        raise InputError(where, problem)
    return name


def named(config: Config, arg: str | None, env: Mapping[str, str]) -> Config:
    """The config with the agent's name from ``--name``, else ``$SLAWATCH_AGENT_NAME``,
    else ``[agent] name`` as the file says (command line > environment > file)."""
    if arg is not None:
        name = check_agent_name(arg, "--name")
    elif env.get(NAME_ENV) is not None:
        name = check_agent_name(env[NAME_ENV], f"${NAME_ENV}")
    else:
        return config
    return replace(config, agent=replace(config.agent, name=name))


def spooled(config: Config, arg: str | None) -> Config:
    """The config with the spool of ``--spool`` (relative to the current folder), or
    InputError when the config has no PostgreSQL to spool for."""
    if arg is None:
        return config
    if config.storage_url is None:
        raise InputError(
            "--spool",
            f"this config writes {config.storage_path} itself (no [storage] url): a spool is"
            " the buffer of a fleet's agent (deploy/fleet.md)",
        )
    if not arg.strip():
        raise InputError("--spool", "give the spool's file, e.g. /var/lib/slawatch/paris-2.db")
    return replace(config, spool_path=Path(arg).expanduser().absolute())


def _run(args: argparse.Namespace, ctx: Context) -> int:
    config = spooled(named(ctx.config, args.name, os.environ), args.spool)
    from agent import run_agent
    from slawatch.start import EARLY

    early = EARLY if EARLY.installed else None
    return run_agent(config, once=args.once, clock=ctx.clock, early=early)
