"""Adversarial review of fleet mode (#10): attacks an agent role can make on the
shared database, each once a way through, each now refused."""

from __future__ import annotations

import contextlib

import psycopg
import pytest

from core import merkle
from core.audit import BASELINE, AuditEntry
from core.errors import SlawatchError
from store.postgres import PostgresStore
from tests.fleetkit import agent_role, init_fleet
from tests.pg import Cluster
from tests.store.test_trail_guard import _INSERT, AT, H, _entry, _params, _row


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


async def test_an_agent_cannot_run_sql_as_the_owner_through_a_temp_table(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """A function that runs as the owner (SECURITY DEFINER) and writes a table named
    without its schema wrote the agent's TEMP table of that name when its search_path
    did not end in pg_temp, and a trigger the agent put on that table ran as the owner:
    here, taking another agent's minutes away."""
    await init_fleet(pg_url)
    url_a = agent_role(pg_cluster, pg_url, "ra")
    url_b = agent_role(pg_cluster, pg_url, "rb")
    async with await PostgresStore.open(url_b) as b:
        await b.record_minutes([_row("s", "rb", H)])
    with psycopg.connect(url_a, autocommit=True) as conn:
        owner_tables = [
            str(r[0])
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind = 'r'"
            ).fetchall()
        ]
        conn.execute(
            "CREATE FUNCTION pg_temp.evil() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN DELETE FROM public.minute_blocks; RETURN NULL; END $$"
        )
        for table in owner_tables:
            like = (
                "xid xid8, digest bytea" if table == "audit_checked" else f'LIKE public."{table}"'
            )
            conn.execute(f'CREATE TEMP TABLE "{table}" ({like})')
            conn.execute(
                f'CREATE TRIGGER evil BEFORE INSERT OR UPDATE OR DELETE ON pg_temp."{table}"'
                " FOR EACH ROW EXECUTE FUNCTION pg_temp.evil()"
            )
        functions = conn.execute(
            "SELECT p.oid::regprocedure::text, p.pronargs FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND p.prosecdef AND p.prorettype <> 'trigger'::regtype"
        ).fetchall()
        for signature, nargs in functions:
            name = signature.split("(")[0]
            args = ", ".join(["'null'"] * nargs)
            with contextlib.suppress(psycopg.Error):
                conn.execute(f"SELECT public.{name}({args})")
        # Every function of the guard names pg_temp last, so none can be led there.
        paths = conn.execute(
            "SELECT p.proname, array_to_string(p.proconfig, ';') FROM pg_proc p"
            " JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND p.proname LIKE 'slawatch%'"
        ).fetchall()
        assert paths and all(str(c).endswith(", pg_temp") for _, c in paths), paths
    async with await PostgresStore.open(pg_url, readonly=True) as owner:
        assert await owner.minutes("s", H, H + 1) == {"rb": bytes([1])}


async def _baseline(store: PostgresStore, chains: list[list[object]]) -> None:
    """Append, as ``store``'s role, a minutes.baseline entry right in seq, leaf and head."""
    leaves = await store.audit_leaves()
    entry = AuditEntry(
        len(leaves) + 1, AT, "ra", BASELINE, None, (H, H + 60), None, {"chains": chains}
    )
    async with store._write() as db:
        await db.execute(
            _INSERT, _params(entry, entry.leaf(), merkle.root([*leaves, entry.leaf()]))
        )


async def test_an_agent_cannot_write_a_baseline_of_its_choosing(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """Until the trail logs its first minute write, an agent may append the baseline
    (each chain's head as it stands). Agent ra wrote one with rb's chain at a link of
    its choosing (or without rb's chain), and store verify named rb's honest hours
    edited outside slawatch. Now the baseline must list exactly the stored heads."""
    await init_fleet(pg_url)
    url_a = agent_role(pg_cluster, pg_url, "ra")
    url_b = agent_role(pg_cluster, pg_url, "rb")
    async with await PostgresStore.open(url_b) as b:
        for m in (0, 1, 60):
            await b.record_minutes([_row("s", "rb", H + m)])
    async with await PostgresStore.open(pg_url) as owner:  # a database from before the trail
        async with owner._write() as db:
            await db.execute("DELETE FROM audit_log")
            await db.execute("DELETE FROM audit_frontier")
            await db.execute("UPDATE chain_seals SET logged = 1")
        [(service, source, hour, link)] = await owner.chain_heads(logged=True)
    async with await PostgresStore.open(url_a) as a:
        for chains in (
            [[service, source, hour, "00" * 32]],
            [],
            [[service, source, hour - 1, link.hex()]],
        ):
            with pytest.raises(SlawatchError, match="refused by the database"):
                await _baseline(a, chains)
        await a.record_minutes([_row("s", "ra", H + 61)])  # the honest baseline goes in
        assert [e.kind for e in await a.audit_entries(minutes=True)] == [BASELINE]
    async with await PostgresStore.open(url_b) as b:
        await b.record_minutes([_row("s", "rb", H + 61)])
    async with await PostgresStore.open(pg_url) as owner:
        assert (await owner.check_audit()).problems == ()


async def test_a_seal_entry_of_another_shape_stops_neither_verify_nor_is_taken(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """A minutes.seal entry whose hours are not [service, source, hour, digest]
    (row-level security only looked at each hour's source): taken from an agent, and
    store verify stopped on it with a traceback (ValueError), every vantage point's
    evidence with it. The agent's is refused; one written behind slawatch's back (the
    owner is not checked) is named by verify, which goes on."""
    await init_fleet(pg_url)
    url_a = agent_role(pg_cluster, pg_url, "ra")
    shapes: list[object] = [
        {"hours": [["s", "ra"]]},
        {"hours": [["s", "ra", "x", None]]},
        {"hours": [[1, "ra", 2, 3]]},
        {"hours": [["s", "ra", 1, None, 5]]},
        {"hours": {"s": "ra"}},
    ]
    async with await PostgresStore.open(url_a) as a:
        await a.record_minutes([_row("s", "ra", H)])
        for after in shapes:
            leaves = await a.audit_leaves()
            entry = _entry(len(leaves) + 1, after)
            with pytest.raises(SlawatchError, match="refused by the database"):
                async with a._write() as db:
                    await db.execute(
                        _INSERT, _params(entry, entry.leaf(), merkle.root([*leaves, entry.leaf()]))
                    )
        await a.record_minutes([_row("s", "ra", H + 61)])  # the honest ones go on
    async with await PostgresStore.open(pg_url) as owner:
        assert (await owner.check_audit()).problems == ()
        leaves = await owner.audit_leaves()
        entry = _entry(len(leaves) + 1, shapes[0])
        async with owner._write() as db:
            await db.execute(
                _INSERT, _params(entry, entry.leaf(), merkle.root([*leaves, entry.leaf()]))
            )
        problems = (await owner.check_audit()).problems
        assert [(p.seq, p.reason) for p in problems] == [
            (
                entry.seq,
                "an entry of minute writes not as slawatch writes it: its hours are not each"
                " [service, source, hour, digest]",
            )
        ]
