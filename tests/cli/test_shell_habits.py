"""``slawatch --version`` and shell completion (argcomplete), through the real CLI."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tests.cli.common import PORTAL, assert_user_error, storage
from tests.tools import missing, require

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

REPO = Path(__file__).resolve().parents[2]


def test_version_is_the_package_version(run_cli: RunCli) -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    result = run_cli("--version")
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        f"slawatch {project['version']}\n",
        "",
    )


def bash_complete(line: str) -> list[str]:
    """What bash offers for ``line`` with slawatch's completion code loaded."""
    script = (
        'source <(slawatch completion bash); read -ra COMP_WORDS <<< "$LINE";'
        ' [[ "$LINE" == *" " ]] && COMP_WORDS+=("");'
        " COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE=$LINE; COMP_POINT=${#LINE};"
        ' _python_argcomplete slawatch; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    env = dict(os.environ, LINE=line, PYTHONPATH=str(REPO))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return [w.strip() for w in done.stdout.splitlines() if w.strip()]


def test_bash_completes_commands_actions_and_options() -> None:
    require("bash")  # skips without it, fails under CI=true
    if not (Path(sys.executable).parent / "slawatch").exists():
        missing("the slawatch console script is not installed in this environment")
    assert bash_complete("slawatch imp") == ["import"]
    assert [w for w in bash_complete("slawatch import ") if not w.startswith("-")] == [
        "minutes",
        "kuma",
        "prometheus",
    ]
    assert "--monitor" in bash_complete("slawatch import kuma --mo")
    assert bash_complete("slawatch completion f") == ["fish"]


def test_completion_code_for_each_shell(run_cli: RunCli) -> None:
    for shell, marker in [
        ("bash", "complete -o nospace -o default -o bashdefault -F _python_argcomplete slawatch"),
        ("zsh", "#compdef slawatch"),
        ("fish", "complete --command slawatch"),
    ]:
        result = run_cli("completion", shell)
        assert result.returncode == 0, result.stderr
        assert marker in result.stdout, (shell, result.stdout[-500:])
    bad = run_cli("completion", "tcsh")
    assert bad.returncode == 2 and "invalid choice: 'tcsh'" in bad.stderr


def test_config_is_taken_after_the_command_too(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """``slawatch config check --config FILE`` is what people type; it checks FILE. Given
    both before and after the command, the one after it wins; given before only, it holds."""
    mine = write_config(tmp_path, storage("slawatch.db") + PORTAL)
    other = tmp_path / "missing.toml"
    after = run_cli("config", "check", "--config", mine, cwd=tmp_path)
    assert after.returncode == 0 and f"{mine}: ok" in after.stdout, after.stderr
    both = run_cli("--config", other, "case", "list", "--json", "--config", mine, cwd=tmp_path)
    assert (both.returncode, both.stdout.strip()) == (0, "[]"), both.stderr
    before = run_cli("--config", mine, "report", "--month", "2026-10", "--format", "json")
    assert before.returncode == 0, before.stderr
    assert_user_error(run_cli("status", "--config", other, cwd=tmp_path), "missing.toml")


def test_an_unknown_option_before_the_command_is_named(run_cli: RunCli) -> None:
    """`slawatch --bogus` names --bogus (argparse blamed the missing COMMAND instead);
    with no command and nothing unknown, the command is what is missing."""
    assert_user_error(run_cli("--bogus"), "unrecognized arguments: --bogus")
    assert_user_error(
        run_cli("--bogus=1", "--config", "x.toml"), "unrecognized arguments: --bogus=1"
    )
    assert_user_error(run_cli("--config", "x.toml"), "required: COMMAND")


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every runnable command (a parser with no subcommands), named by its words."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                here = (*path, name)
                if any(isinstance(a, argparse._SubParsersAction) for a in child._actions):
                    yield from _commands(child, here)
                else:
                    yield " ".join(here), child


def test_every_command_has_a_description_and_an_example_that_parses() -> None:
    """``slawatch X --help`` says what X does and shows a way to run it (issue 14 item 9);
    the example is a command line the parser accepts, not prose."""
    from slawatch.cli import build_parser

    commands = dict(_commands(build_parser()))
    assert {"demo", "case open", "claim verify", "checkpoint make", "store init"} <= set(commands)
    for name, parser in commands.items():
        text = parser.format_help()
        assert parser.description, name
        at = text.lower().find("example:")
        assert at >= 0, f"{name}: no example in --help"
        example = text[at + len("example:") :].partition("\n\n")[0]
        words = shlex.split(" ".join(example.split()))
        if words[:1] == ["eval"]:  # eval "$(slawatch completion bash)"
            words = shlex.split(words[1].strip("$()"))
        assert words[0] == "slawatch", (name, words)
        try:
            build_parser().parse_args(words[1:])
        except SystemExit as exc:
            raise AssertionError(f"{name}: its example does not parse: {words}") from exc


def test_help_lists_the_priorities_and_statuses_a_command_takes(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """The priorities are the config's (a contract names its own); without a readable
    config, the built-in profiles' are named. Case statuses and minute statuses are fixed."""
    text = (
        '[storage]\npath = "sla.db"\n[[contract]]\nname = "ops"\n'
        "[contract.priorities]\n"
        'P1 = { response = "15m", clock = "24x7" }\nP2 = { response = "4h", clock = "24x7" }\n'
        '[[service]]\nname = "erp"\ncontract = "ops"\nmonthly_fee = "1"\n'
    )
    mine = write_config(tmp_path, text)
    for args in (("case", "open", "--help"), ("case", "priority", "--help")):
        shown = run_cli(*args, "--config", mine)
        assert shown.returncode == 0, shown.stderr
        assert "contract: P1, P2" in " ".join(shown.stdout.split()), shown.stdout
    elsewhere = run_cli("case", "open", "--help", cwd=tmp_path / "..")  # no config there
    said = " ".join(elsewhere.stdout.split())
    assert "critical, high, medium, low" in said and "1, A, B, C" in said
    listed = " ".join(run_cli("case", "list", "--help").stdout.split())
    assert "--status STATUS only cases in this status: open, responded, resolved" in listed
    minutes = " ".join(run_cli("import", "minutes", "--help").stdout.split())
    assert "status up, down or degraded" in minutes


def test_case_list_by_status(tmp_path: Path, run_cli: RunCli, write_config: WriteConfig) -> None:
    cfg = ("--config", write_config(tmp_path, storage("sla.db") + PORTAL))
    for title in ("first", "second"):
        opened = run_cli(*cfg, "case", "open", "--service", "portal", "--priority", "high",
                         "--title", title, "--opened-at", "2026-10-05T10:00:00Z")  # fmt: skip
        assert opened.returncode == 0, opened.stderr
    assert run_cli(*cfg, "case", "respond", "1", "--at", "2026-10-05T10:30:00Z").returncode == 0
    responded = run_cli(*cfg, "case", "list", "--status", "responded", "--json")
    assert [c["title"] for c in json.loads(responded.stdout)] == ["first"]
    still_open = run_cli(*cfg, "case", "list", "--status", "open", "--json")
    assert [c["title"] for c in json.loads(still_open.stdout)] == ["second"]
    assert_user_error(run_cli(*cfg, "case", "list", "--status", "closed"), "--status")
