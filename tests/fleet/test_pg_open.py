"""Opening the fleet's database: what the one line says when it cannot be used."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from core.errors import SlawatchError
from store import StoreUnavailable
from store.postgres import PostgresStore
from store.schema import LATEST
from tests.pg import Cluster

if TYPE_CHECKING:
    from pathlib import Path


async def test_a_role_the_server_refuses_is_a_log_in_failure_not_an_unreachable_one(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """'cannot reach the database: ... role "nosuch" does not exist' sent an
    administrator looking at the network; the server answered."""
    database = pg_url.rsplit("/", 1)[1]
    with pytest.raises(StoreUnavailable) as raised:
        await PostgresStore.open(pg_cluster.url(database, user="nosuch"))
    said = str(raised.value)
    assert "cannot log in to the database" in said and 'role "nosuch"' in said, said


async def test_a_schema_newer_than_this_slawatch_is_refused_to_writers(pg_url: str) -> None:
    """`store init` of a newer slawatch ran while agents of the older one were
    running: their writes failed with 'there is no unique or exclusion constraint
    matching the ON CONFLICT specification' (seen on a fleet), and an older
    `store init` would put its older policies back. Readers still read."""
    async with await PostgresStore.open(pg_url, init=True) as store:
        await store._db.execute("UPDATE schema_version SET version = ?", (LATEST + 1,))
    for init in (False, True):
        with pytest.raises(SlawatchError) as raised:
            await PostgresStore.open(pg_url, init=init)
        said = str(raised.value)
        assert f"version {LATEST + 1}, newer than this slawatch knows ({LATEST})" in said, said
        assert "upgrade slawatch here" in said
    async with await PostgresStore.open(pg_url, readonly=True) as reader:
        assert reader.url == pg_url


async def test_a_role_in_none_of_the_fleets_roles_is_told_the_grant(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """An agent whose role was made without IN ROLE slawatch_agent logged 'refused by
    the database: permission denied for table schema_version' and nothing else."""
    from tests.fleetkit import init_fleet

    await init_fleet(pg_url)
    database = pg_url.rsplit("/", 1)[1]
    role = f"outsider-{database}"  # roles are the cluster's: one of this test's own
    pg_cluster.psql(f'CREATE ROLE "{role}" LOGIN', database)
    with pytest.raises(SlawatchError) as raised:
        await PostgresStore.open(pg_cluster.url(database, user=role))
    said = str(raised.value)
    assert f'role "{role}" may not read slawatch\'s tables' in said, said
    assert f'GRANT slawatch_agent TO "{role}"' in said, said


def test_a_reader_recording_a_case_is_told_which_role_may(
    pg_cluster: Cluster, pg_url: str, tmp_path: Path
) -> None:
    """A reader's `case open` said only 'refused by the database: permission denied for
    table cases' (found trying fleet mode as an operator logged in as the dashboard's
    role): now which of the fleet's roles writes what, in the same one line, exit 2."""
    import asyncio
    import subprocess
    import sys

    from tests import configs
    from tests.fleetkit import init_fleet

    asyncio.run(init_fleet(pg_url))
    database = pg_url.rsplit("/", 1)[1]
    role = f"reader-{database}"  # roles are the cluster's: one of this test's own
    pg_cluster.psql(f'CREATE ROLE "{role}" LOGIN IN ROLE slawatch_reader', database)
    config = tmp_path / "config.toml"
    config.write_text(
        configs.toml(url=pg_cluster.url(database, user=role), contracts=[configs.contract("std")],
                     services=[configs.service("portal")]),
        encoding="utf-8",
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "slawatch", "--config", str(config), "case", "open",
         "--service", "portal", "--priority", "high", "--title", "t", "--channel", "email"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert "refused by the database: permission denied for table " in line, line
    assert "cases, windows, settled credits and imports take slawatch_operator" in line, line
