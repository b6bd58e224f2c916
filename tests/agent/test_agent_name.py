"""``slawatch agent --name NAME`` / ``$SLAWATCH_AGENT_NAME`` over ``[agent] name`` (issue 10)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from slawatch.cli import main
from store.sqlite import SqliteStore
from tests.agent.test_agent_process import write_config
from tests.conftest import run_cli


def sources(db: Path) -> set[str]:
    async def read() -> set[str]:
        async with await SqliteStore.open(db, readonly=True) as store:
            bounds = await store.data_bounds("svc000")
            assert bounds is not None
            return set(await store.minutes("svc000", *bounds))

    return asyncio.run(read())


def test_command_line_beats_environment_beats_file(tmp_path: Path, http_port: int) -> None:
    config = write_config(tmp_path, http_port, services=1)  # [agent] name = "probe-1"
    db = tmp_path / "data" / "slawatch.db"
    done = run_cli(
        "--config", config, "agent", "--once", "--name", "paris-1",
        env={"SLAWATCH_AGENT_NAME": "from-env"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sources(db) == {"paris-1"}
    done = run_cli("--config", config, "agent", "--once", env={"SLAWATCH_AGENT_NAME": "lyon-2"})
    assert done.returncode == 0, done.stderr
    assert sources(db) == {"paris-1", "lyon-2"}


def test_a_bad_name_is_one_line_naming_where_it_came_from(tmp_path: Path, http_port: int) -> None:
    config = write_config(tmp_path, http_port, services=1)
    done = run_cli("--config", config, "agent", "--once", env={"SLAWATCH_AGENT_NAME": " "})
    assert done.returncode == 2
    assert done.stderr == "slawatch: $SLAWATCH_AGENT_NAME: the agent name must not be empty\n"
    done = run_cli("--config", config, "agent", "--once", "--name", "x" * 64)
    assert done.returncode == 2
    assert done.stderr.startswith("slawatch: --name: ") and done.stderr.count("\n") == 1
    assert not (tmp_path / "data" / "slawatch.db").exists()  # nothing probed or written


def test_a_single_machine_agent_reports_its_version(tmp_path: Path, http_port: int) -> None:
    """Not only fleet agents: the SQLite agent's health carries the version it runs, so
    fleet status and status --json show it (was null)."""
    import json

    from agent.probe import agent_version

    config = write_config(tmp_path, http_port, services=1)
    done = run_cli("--config", config, "agent", "--once")
    assert done.returncode == 0, done.stderr
    fleet = run_cli("--config", config, "fleet", "status", "--json")
    assert fleet.returncode == 0, fleet.stderr
    (agent,) = json.loads(fleet.stdout)["agents"]
    assert agent["name"] == "probe-1" and agent["version"] == agent_version()


def test_a_name_that_would_break_its_role_key_file_or_sources_is_refused(
    tmp_path: Path,
    http_port: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """'paris 1' ran (a role to quote everywhere, a unit file name with a space), and
    so did '../keys/x' (the agent's key is read from NAME.key in the key folder) and
    'a,b' or 'a=b' (words of claim verify's --sources and --prev-head); [agent] name
    in the file was not checked at all. Each place is named, exit 2, nothing probed."""
    config = write_config(tmp_path, http_port, services=1)

    def said(*args: str) -> tuple[int, str]:
        code = main(["--config", str(config), *args])
        return code, capsys.readouterr().err

    for bad in ("paris 1", "../keys/x", "a,b", "a=b", "_lead", "são-paulo"):
        code, err = said("agent", "--once", "--name", bad)
        assert code == 2 and err.startswith(f"slawatch: --name: {bad!r}: use letters"), err
        assert err.count("\n") == 1, err
        monkeypatch.setenv("SLAWATCH_AGENT_NAME", bad)
        code, err = said("agent", "--once")
        assert code == 2 and err.startswith(f"slawatch: $SLAWATCH_AGENT_NAME: {bad!r}: use"), err
        monkeypatch.delenv("SLAWATCH_AGENT_NAME")
        code, err = said("service", "install", "--print", "--name", bad)
        assert code == 2 and err.startswith(f"slawatch: --name: {bad!r}: use letters"), err
        assert err.count("\n") == 1, err
    text = config.read_text(encoding="utf-8").replace('name = "probe-1"', 'name = "paris 1"')
    config.write_text(text, encoding="utf-8")
    code, err = said("config", "check")
    assert code == 2 and "agent.name: 'paris 1': use letters" in err, err
    assert not (tmp_path / "data" / "slawatch.db").exists()  # nothing probed or written
