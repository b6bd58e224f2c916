"""What every command's ``--help`` ends with: a description and a worked example.

Command modules give each parser its one-line ``help`` (and, where a command
needs more words, a ``description``); this fills in, for every command that has
none of its own, the description from that line and the example from
``EXAMPLES``, so ``slawatch X --help`` always says what X does and shows one
way to run it. ``tests/cli/test_shell_habits.py`` checks that none is missing.
"""

from __future__ import annotations

import argparse
from pathlib import Path

EXAMPLES: dict[str, str] = {
    "demo": "slawatch demo --keep ./demo-data",
    "agent": "slawatch --config /etc/slawatch/config.toml agent --once",
    "dashboard": "slawatch --config /etc/slawatch/config.toml dashboard",
    "status": "slawatch status --json",
    "report": "slawatch report --month 2026-10 --service portal --format md",
    "import minutes": "slawatch import minutes october.csv --source import",
    "import kuma": 'slawatch import kuma kuma.db --monitor "Portal health=portal"',
    "import prometheus": (
        "slawatch import prometheus --url http://prometheus:9090"
        " --query 'probe_success{job=\"blackbox\"}' --from 2026-10-01T00:00:00Z"
        " --to 2026-11-01T00:00:00Z --service-label instance"
        " --map https://portal.example.com/health=portal"
    ),
    "case open": (
        'slawatch case open --service portal --priority high --title "Login fails"'
        " --ref SUP-4720 --channel email"
    ),
    "case respond": "slawatch case respond 7 --at 2026-10-05T10:40:00Z",
    "case resolve": "slawatch case resolve 7 --at 2026-10-05T13:00:00Z",
    "case priority": (
        'slawatch case priority 7 critical --at 2026-10-05T10:20:00Z --reason "all users"'
    ),
    "case escalate": "slawatch case escalate 7 2 --at 2026-10-05T11:00:00Z",
    "case rca": "slawatch case rca 7",
    "case wait": (
        "slawatch case wait 7 --from 2026-10-05T10:30:00Z --to 2026-10-05T11:15:00Z"
        ' --reason "logs requested"'
    ),
    "case show": "slawatch case show 7 --json",
    "case link": "slawatch case link 7 --from 2026-10-05T10:00:00Z --to 2026-10-05T12:00:00Z",
    "case list": "slawatch case list --open --json",
    "claim export": (
        "slawatch claim export --service portal --month 2026-10 --out claim-portal-2026-10.json"
    ),
    "key init": "slawatch key init --out /etc/slawatch/keys/paris-1.key",
    "fleet status": "slawatch fleet status --json",
    "service install": "slawatch service install --print --name paris-1",
    "completion": 'eval "$(slawatch completion bash)"',
}


def complete(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> None:
    """Give every command under ``parser`` a description and an example it lacks."""
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        helps = {a.dest: a.help for a in action._choices_actions}
        for name, child in action.choices.items():
            here = (*path, name)
            if any(isinstance(a, argparse._SubParsersAction) for a in child._actions):
                complete(child, here)
                continue
            line = helps.get(name)
            if child.description is None and line:
                child.description = line[0].upper() + line[1:] + "."
            example = EXAMPLES.get(" ".join(here))
            if example and not (child.epilog and "example" in child.epilog.lower()):
                child.epilog = f"example: {example}"


PRIORITIES = "{priorities}"
"""Where an option's help names the priorities it accepts: filled in when help is shown
(``priorities_text``), from the config the command would read."""

CASE_STATUSES = ("open", "responded", "resolved")
"""A case's status, as ``case list --status`` and ``case ... --json`` spell it."""


def priorities_text(config_path: Path) -> str:
    """The priorities the config's contracts accept, for ``--help``: ``critical, high,
    medium, low`` (per contract when they differ). ``config_path`` is the config the
    command would read (``config_arg``); when it cannot be read, the built-in profiles'
    are named."""
    from core.profiles import PROFILES

    try:
        from core.configfile import load_config

        config = load_config(config_path)
        named = {c.name: ", ".join(c.priorities) for c in config.contracts.values()}
    except Exception:  # no config here, or a broken one: say what the profiles accept
        builtin = {", ".join(p["priorities"]) for p in PROFILES.values() if "priorities" in p}
        return "e.g. " + " or ".join(sorted(builtin)) + " (the contract's [contract.priorities])"
    if len(set(named.values())) <= 1:
        return next(iter(named.values()), "none configured")
    return "; ".join(f"{name}: {known}" for name, known in named.items())


def config_arg(argv: list[str]) -> str | None:
    """The last ``--config FILE`` of ``argv`` (after the command, it wins)."""
    found = None
    for n, arg in enumerate(argv):
        if arg == "--config" and n + 1 < len(argv):
            found = argv[n + 1]
        elif arg.startswith("--config="):
            found = arg.partition("=")[2]
    return found
