"""Adversarial review of fleet mode (#10): attacks an agent role can make on the
shared database, each once a way through, each now refused."""

from __future__ import annotations

import psycopg
import pytest

from core import merkle
from store.postgres import PostgresStore
from tests.fleetkit import agent_role, init_fleet
from tests.pg import Cluster
from tests.store.test_trail_guard import _INSERT, H, _entry, _params, _row


async def test_an_agent_cannot_shadow_the_trail_with_temp_tables(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """The guard runs as the owner with a pinned search_path, but PostgreSQL looks a
    table up in the session's own temporary schema first unless the path puts
    pg_temp last: an agent's TEMP tables named audit_log and audit_frontier gave
    the trigger a trail of the agent's making (any seq, any head)."""
    await init_fleet(pg_url)
    url_a = agent_role(pg_cluster, pg_url, "ra")
    async with await PostgresStore.open(url_a) as a:
        await a.record_minutes([_row("s", "ra", H)])
        last = len(await a.audit_leaves())
    fake = bytes(32)
    forged = _entry(last + 6, {"by": "agent ra", "hours": [["s", "ra", H // 60, None]]})
    params = _params(forged, forged.leaf(), merkle.root([fake, forged.leaf()]))
    with psycopg.connect(url_a, autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE audit_log (seq bigint, head bytea, leaf bytea)")
        conn.execute("CREATE TEMP TABLE audit_frontier (seq bigint, size bigint, hashes bytea)")
        conn.execute("INSERT INTO pg_temp.audit_log VALUES (%s, %s, %s)", (last + 5, fake, fake))
        sql = _INSERT.replace("INSERT INTO audit_log", "INSERT INTO public.audit_log")
        with pytest.raises(psycopg.errors.CheckViolation, match="refused"):
            conn.execute(sql.replace("?", "%s"), params)
    async with await PostgresStore.open(pg_url) as owner:
        assert (await owner.check_audit()).problems == ()


async def test_an_agent_cannot_plant_functions_in_the_schema(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """A database whose public schema still lets everyone create (made before
    PostgreSQL 15, or restored from such a dump): an agent's own convert_to(text, text)
    in the schema outranks PostgreSQL's convert_to(text, name) in the guard's
    search_path (an untyped 'UTF8' prefers text), so the guard hashed what the agent
    chose and took a leaf that is not its entry's. store init takes CREATE away."""
    pg_cluster.psql("GRANT CREATE ON SCHEMA public TO PUBLIC", database=pg_url.rsplit("/", 1)[1])
    await init_fleet(pg_url)
    url_a = agent_role(pg_cluster, pg_url, "ra")
    async with await PostgresStore.open(url_a) as a:
        await a.record_minutes([_row("s", "ra", H)])
        leaves = await a.audit_leaves()
    forged = _entry(len(leaves) + 1, {"by": "agent ra", "hours": [["s", "ra", H // 60, None]]})
    leaf = merkle.leaf_hash(b"chosen")
    params = _params(forged, leaf, merkle.root([*leaves, leaf]))
    with psycopg.connect(url_a, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(
                "CREATE FUNCTION public.convert_to(text, text) RETURNS bytea"
                " LANGUAGE sql AS $$ SELECT 'chosen'::bytea $$"
            )
        with pytest.raises(psycopg.errors.CheckViolation, match="leaf"):
            conn.execute(_INSERT.replace("?", "%s"), params)
    async with await PostgresStore.open(pg_url) as owner:
        assert (await owner.check_audit()).problems == ()
