"""Fleet mode's database through the real CLI: store init, migrate --to, and agents kept apart."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from core.errors import SlawatchError
from core.status import DOWN, UP
from store import MinuteRow
from store.postgres import PostgresStore
from tests import configs
from tests.cli.common import PORTAL, assert_user_error, storage
from tests.conftest import RunCli, write_config
from tests.pg import Cluster

T0 = 29_520_000  # 2026-02-16T00:00Z, an epoch minute


def _world(tmp_path: Path) -> Path:
    """A SQLite store with a month of minutes, a case, a link, windows and a settled credit."""
    lines = ["service,minute,status,latency_ms"]
    for day in range(1, 32):
        for hour in range(24):
            status = "down" if (day == 3 and 10 <= hour < 14) or (day == 20 and hour == 5) else "up"
            for minute in range(0, 60, 7):
                lines.append(f"portal,2026-10-{day:02d}T{hour:02d}:{minute:02d}:00Z,{status},120")
    (tmp_path / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return write_config(tmp_path, storage("sw.db") + PORTAL)


def _seed(run_cli: RunCli, config: Path, tmp_path: Path) -> None:
    steps = [
        ("import", "minutes", tmp_path / "m.csv"),
        ("case", "open", "--service", "portal", "--priority", "critical", "--title", "down",
         "--opened-at", "2026-10-03T10:20:00Z"),
        ("case", "respond", "1", "--at", "2026-10-03T10:40:00Z"),
        ("case", "link", "1", "--from", "2026-10-20T05:00:00Z", "--to", "2026-10-20T06:00:00Z"),
        ("maintenance", "add", "--service", "portal", "--from", "2026-10-10T22:00:00Z",
         "--to", "2026-10-11T02:00:00Z", "--reason", "upgrade"),
        ("exclude", "add", "--service", "portal", "--from", "2026-10-03T13:00:00Z",
         "--to", "2026-10-03T13:30:00Z", "--reason", "upstream"),
        ("credit", "settle", "--service", "portal", "--month", "2026-09"),
    ]  # fmt: skip
    for step in steps:
        done = run_cli("--config", config, *step)
        assert done.returncode == 0, (step, done.stderr)


def _views(run_cli: RunCli, config: Path, env: dict[str, str] | None = None) -> list[str]:
    out = []
    for args in (
        ("report", "--month", "2026-10", "--format", "json"),
        ("report", "--month", "2026-10", "--service", "portal", "--format", "md"),
        ("outages", "--month", "2026-10", "--service", "portal", "--json"),
        ("case", "list", "--json"),
    ):
        done = run_cli("--config", config, *args, env=env)
        assert done.returncode == 0, (args, done.stderr)
        out.append(done.stdout)
    return out


@pytest.fixture(scope="module")
def seeded(run_cli: RunCli, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The world seeded once through the CLI, and its views before any migration. Each
    test copies the folder (``world``) and migrates its own copy, so none sees another's."""
    folder = tmp_path_factory.mktemp("seeded")
    config = _world(folder)
    _seed(run_cli, config, folder)
    before = _views(run_cli, config)
    assert json.loads(before[0])[0]["downtime_minutes"] > 0
    return folder, before


def world(seeded: tuple[Path, list[str]], tmp_path: Path) -> tuple[Path, list[str]]:
    """A copy of the seeded world in ``tmp_path``: its config, and its views before."""
    folder, before = seeded
    shutil.copytree(folder, tmp_path, dirs_exist_ok=True)
    return tmp_path / "config.toml", before


def test_migrate_to_postgres_keeps_every_figure_and_both_chains_hold(
    run_cli: RunCli, tmp_path: Path, pg_url: str, seeded: tuple[Path, list[str]]
) -> None:
    config, before = world(seeded, tmp_path)

    moved = run_cli("--config", config, "store", "migrate", "--to", pg_url)
    assert moved.returncode == 0, moved.stderr
    assert "rows copied" in moved.stdout and moved.stdout.count(": OK") == 2, moved.stdout

    env = {"SLAWATCH_DATABASE_URL": pg_url}
    assert _views(run_cli, config, env) == before
    verified = run_cli("--config", config, "store", "verify", env=env)
    assert verified.returncode == 0 and "sealed hours: OK" in verified.stdout, verified.stdout
    # A case opened afterwards gets the next number, not one the copy already used.
    opened = run_cli("--config", config, "case", "open", "--service", "portal", "--priority",
                     "low", "--title", "later", "--json", env=env)  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    assert json.loads(opened.stdout)["id"] == 2
    # Moving in twice would mix two histories: refused, nothing written.
    again = run_cli("--config", config, "store", "migrate", "--to", pg_url)
    assert_user_error(again, "already holds records")
    assert (
        len(json.loads(run_cli("--config", config, "case", "list", "--json", env=env).stdout)) == 2
    )


def test_migrate_with_a_fleet_config_copies_only_the_sqlite_file_it_is_given(
    run_cli: RunCli, tmp_path: Path, pg_url: str, seeded: tuple[Path, list[str]]
) -> None:
    """An admin who has already switched the config to ``url``: migrate copied whatever
    ``slawatch.db`` lay beside it (the default path the file no longer names), or said
    there was none. Now it asks for ``--from FILE``, and copies that file."""
    _old, before = world(seeded, tmp_path)
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    (fleet / "slawatch.db").write_bytes((tmp_path / "sw.db").read_bytes())  # a stray copy
    config = write_config(fleet, configs.toml(url=pg_url) + PORTAL)
    refused = run_cli("--config", config, "store", "migrate", "--to", pg_url)
    assert_user_error(refused, "storage: this config uses PostgreSQL (url)", "--from FILE")
    moved = run_cli(
        "--config", config, "store", "migrate", "--to", pg_url, "--from", tmp_path / "sw.db"
    )
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.startswith(f"{tmp_path / 'sw.db'} -> "), moved.stdout
    assert _views(run_cli, config) == before
    missing = run_cli("--config", config, "store", "migrate", "--to", pg_url, "--from", "no.db")
    assert_user_error(missing, "no.db: no SQLite database here to migrate")


def test_store_init_is_idempotent_and_creates_the_fleet_roles(
    run_cli: RunCli, tmp_path: Path, pg_cluster: Cluster, pg_url: str
) -> None:
    config = write_config(tmp_path, PORTAL)
    env = {"SLAWATCH_DATABASE_URL": pg_url}
    for _ in range(2):
        done = run_cli("--config", config, "store", "init", env=env)
        assert done.returncode == 0, done.stderr
        assert "schema version" in done.stdout and done.stdout.rstrip().endswith("OK")
    roles = pg_cluster.psql("SELECT rolname FROM pg_roles WHERE rolname LIKE 'slawatch_%'")
    assert {"slawatch_agent", "slawatch_reader", "slawatch_operator"} <= set(roles.split())
    # SQLite: the same command creates the file.
    sqlite = run_cli("--config", config, "store", "init")
    assert sqlite.returncode == 0 and (tmp_path / "slawatch.db").exists()


def test_store_init_on_the_database_server_needs_only_the_url(
    run_cli: RunCli, tmp_path: Path, pg_url: str
) -> None:
    """deploy/fleet.md runs `SLAWATCH_DATABASE_URL=... slawatch store init` on the
    database's server, where no config file is: it failed 'config.toml: no such config
    file'. A config named (--config, $SLAWATCH_CONFIG) that is missing still is an error."""
    env = {k: v for k, v in os.environ.items() if k != "SLAWATCH_CONFIG"}
    env["SLAWATCH_DATABASE_URL"] = pg_url
    done = run_cli("store", "init", cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert ": schema version " in done.stdout and done.stdout.rstrip().endswith(": OK")
    assert list(tmp_path.iterdir()) == []  # no SQLite file made beside it
    named = run_cli("--config", tmp_path / "missing.toml", "store", "init", cwd=tmp_path, env=env)
    assert_user_error(named, "missing.toml: no such config file")
    without = run_cli("store", "init", cwd=tmp_path, env={**env, "SLAWATCH_DATABASE_URL": ""})
    assert_user_error(without, "config.toml: no such config file")


def _login(pg_cluster: Cluster, url: str, role: str, group: str) -> str:
    pg_cluster.psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}')"
        f' THEN CREATE ROLE "{role}" LOGIN IN ROLE {group}; END IF; END $$'
    )
    database = url.rsplit("/", 1)[1]
    return pg_cluster.url(database, role)


async def test_an_agent_writes_its_own_minutes_and_cannot_forge_another(
    pg_cluster: Cluster, pg_url: str
) -> None:
    async with await PostgresStore.open(pg_url, init=True) as owner:
        assert await owner.apply_roles() == []
    url_a = _login(pg_cluster, pg_url, "agent-a", "slawatch_agent")
    url_b = _login(pg_cluster, pg_url, "agent-b", "slawatch_agent")
    url_r = _login(pg_cluster, pg_url, "viewer", "slawatch_reader")
    async with await PostgresStore.open(url_b) as b:
        await b.record_minutes([MinuteRow("portal", "agent-b", T0, DOWN)])
    async with await PostgresStore.open(url_a) as a:
        await a.record_minutes([MinuteRow("portal", "agent-a", T0, UP)])
        # Overwriting b's minute, or inventing a source of another name, is refused.
        with pytest.raises(SlawatchError, match="row-level security"):
            await a.record_minutes([MinuteRow("portal", "agent-b", T0, UP)])
        with pytest.raises(SlawatchError, match="row-level security"):
            await a.record_minutes([MinuteRow("portal", "agent-c", T0, DOWN)])
    async with await PostgresStore.open(url_r, readonly=True) as reader:
        assert await reader.minutes("portal", T0, T0 + 1) == {
            "agent-a": bytes([UP]),
            "agent-b": bytes([DOWN]),
        }
    async with await PostgresStore.open(url_a) as a, a._write() as db:
        # A blanket delete reaches a's own rows only: b's are out of its reach.
        await db.execute("DELETE FROM minute_blocks")
        await db.execute("DELETE FROM chain_seals")
    async with await PostgresStore.open(url_r, readonly=True) as reader:
        assert await reader.minutes("portal", T0, T0 + 1) == {"agent-b": bytes([DOWN])}
        summary = await reader.check_chains()
        assert (summary.chains, summary.breaks) == (1, ())
    async with await PostgresStore.open(url_r) as reader:
        with pytest.raises(SlawatchError, match="permission denied"):
            await reader.record_minutes([MinuteRow("portal", "agent-a", T0 + 1, UP)])


def test_a_password_is_never_printed(run_cli: RunCli, tmp_path: Path) -> None:
    config = write_config(tmp_path, PORTAL)
    url = "postgresql://slawatch:hunter2@127.0.0.1:1/slawatch"
    done = run_cli("--config", config, "report", "--month", "2026-10",
                   env={"SLAWATCH_DATABASE_URL": url})  # fmt: skip
    assert_user_error(done, "postgresql://slawatch:***@127.0.0.1:1/slawatch")
    assert "hunter2" not in done.stderr


@pytest.mark.parametrize(
    ("storage_text", "fragment"),
    [
        ('[storage]\npath = "a.db"\nurl = "postgresql://x@127.0.0.1/db"\n', "storage"),
        ('[storage]\nurl = "mysql://x:pw@h/db"\n', "storage.url"),
    ],
)
def test_bad_storage_keys_are_named(
    run_cli: RunCli, tmp_path: Path, storage_text: str, fragment: str
) -> None:
    config = write_config(tmp_path, storage_text + PORTAL)
    done = run_cli("--config", config, "config", "check")
    assert_user_error(done, fragment)
    assert "pw@" not in done.stderr


def test_migrate_a_store_whose_agent_owes_notifications(
    run_cli: RunCli, tmp_path: Path, pg_url: str
) -> None:
    """A single machine moved up while a webhook was down: its agent's saved outage
    notifications (keyed by their text id) made migrate fail with a PostgreSQL error,
    setval of a text 'id', the whole copy rolled back."""
    import asyncio

    from store.rows import Notice
    from store.sqlite import SqliteStore

    config = write_config(tmp_path, storage("sw.db") + PORTAL)
    (tmp_path / "m.csv").write_text(
        "service,minute,status,latency_ms\nportal,2026-10-03T10:00:00Z,down,120\n",
        encoding="utf-8",
    )
    done = run_cli("--config", config, "import", "minutes", tmp_path / "m.csv")
    assert done.returncode == 0, done.stderr

    async def owe() -> None:
        async with await SqliteStore.open(tmp_path / "sw.db") as store:
            notice = Notice("agent/portal/29520000/start", 2 * 29_520_000, "{}")
            await store.save_agent_state("agent", 29_520_000, [], [notice])

    asyncio.run(owe())
    moved = run_cli("--config", config, "store", "migrate", "--to", pg_url)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.count(": OK") == 2, moved.stdout
