"""The PostgreSQL roles a fleet uses, and the row-level security that keeps agents apart.

``slawatch store init`` (run as the database's owner) creates three group roles
and grants them what their members need:

- ``slawatch_agent``: each agent logs in as a role of its own, named exactly as
  the agent (``[agent] name``, e.g. ``"paris-1"``), member of this group. It
  reads everything and writes only its own source's rows: minute blocks, minute
  errors, chain seals, probe states, health (every table with a ``source_id``),
  plus the name tables (a new service or error text). Row-level security checks
  ``source_id`` against the ``sources`` row whose name is ``session_user`` (the
  role the agent logged in as: ``current_user`` would follow a ``SET ROLE
  slawatch_agent``, which every member may run, to a vantage point of the group's
  name that the agent could add and vote as), and
  an agent may add only its own name to ``sources``: agent A cannot write, nor
  overwrite, nor delete a single minute of agent B.
- ``slawatch_reader``: the dashboard's, reports' and claims' role; read-only.
- ``slawatch_operator``: a reader who also records cases, windows, settled
  credits and imports (any source): the people who run slawatch.

The audit trail (``audit_log``) is append-only for every group: INSERT and
SELECT, never UPDATE or DELETE; an agent appends only entries about its own
source (``_AGENT_ENTRIES``: its minute writes, a block of its own found edited
behind its back, the trail's first baseline), and only as the entry that comes
next, its leaf and tree head right (a trigger checks them: ``store.postgres.trail``).
Its appenders keep the tree's frontier (``audit_frontier``, a cache ``store verify``
never reads) up to date with each entry.

The table owner (who ran ``store init``) is not subject to the policies.
Everything here is idempotent: ``store init`` after an upgrade re-applies it to
tables that new migrations added.
"""

from __future__ import annotations

from core.audit import BASELINE, SEAL, TAMPER
from store.postgres.conn import PostgresConn
from store.postgres.trail import apply_trail_guard

GROUPS = ("slawatch_agent", "slawatch_reader", "slawatch_operator")
NAME_TABLES = ("services", "error_texts")
# A scalar subquery (names are unique: one id, or null for a role that is no agent's
# name, which matches no row): PostgreSQL runs it once per statement and compares
# each row's source_id with the value, an index condition. ``source_id IN (SELECT
# ...)`` allowed exactly the same rows, but as a hashed subplan probed per row it
# kept the planner from using the key for the agent's reads and updates (benchmarks/
# fleet.py, ``agents``).
_OWN = "source_id = (SELECT id FROM sources WHERE name = session_user)"


async def _tables(conn: PostgresConn) -> tuple[list[str], list[str]]:
    """(every table of the schema, those with a source_id column)."""
    rows = await conn.fetchall(
        "SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
        " AND a.attname = 'source_id' AND NOT a.attisdropped)"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = current_schema() AND c.relkind = 'r' ORDER BY c.relname"
    )
    return [str(r[0]) for r in rows], [str(r[0]) for r in rows if r[1]]


async def apply_roles(conn: PostgresConn) -> list[str]:
    """Create the group roles (when this role may) and the grants and policies.

    Returns notes for the person running it (e.g. no CREATEROLE privilege, so
    the groups must be made by an administrator first).
    """
    notes: list[str] = []
    existing = {
        str(r[0])
        for r in await conn.fetchall(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(?)", (list(GROUPS),)
        )
    }
    missing = [g for g in GROUPS if g not in existing]
    can_create = bool(
        (
            await conn.fetchall(
                "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"
            )
        )[0][0]
    )
    for group in missing:
        if can_create:
            await conn.execute(f"CREATE ROLE {group} NOLOGIN")
        else:
            notes.append(f"role {group} is missing and this user may not create roles")
    if not can_create and missing:
        return notes
    notes += await _no_create_in_schema(conn)
    tables, with_source = await _tables(conn)
    quoted = ", ".join(f'"{t}"' for t in tables)
    async with conn.transaction():
        await conn.execute(
            "GRANT USAGE ON SCHEMA public TO slawatch_agent, slawatch_reader, slawatch_operator"
        )
        await conn.execute(
            f"GRANT SELECT ON {quoted} TO slawatch_agent, slawatch_reader, slawatch_operator"
        )
        await conn.execute(f"GRANT INSERT, UPDATE, DELETE ON {quoted} TO slawatch_operator")
        own = ", ".join(f'"{t}"' for t in with_source)
        await conn.execute(f"GRANT INSERT, UPDATE, DELETE ON {own} TO slawatch_agent")
        await conn.execute(f"GRANT INSERT ON {', '.join(NAME_TABLES)}, sources TO slawatch_agent")
        if "audit_log" in tables:  # append-only: nobody but its owner may change an entry
            await conn.execute("REVOKE UPDATE, DELETE ON audit_log FROM slawatch_operator")
            await conn.execute("GRANT INSERT ON audit_log TO slawatch_agent")
        if "audit_frontier" in tables:  # the appender's cache of the tree (never trusted)
            await conn.execute("GRANT INSERT, UPDATE, DELETE ON audit_frontier TO slawatch_agent")
        await conn.execute(
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO slawatch_agent, slawatch_operator"
        )
        for table in [*with_source, "sources"]:
            await conn.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
            for policy in ("slawatch_read", "slawatch_agent_own", "slawatch_operator_all"):
                await conn.execute(f'DROP POLICY IF EXISTS {policy} ON "{table}"')
            await conn.execute(f'CREATE POLICY slawatch_read ON "{table}" FOR SELECT USING (true)')
            await conn.execute(
                f'CREATE POLICY slawatch_operator_all ON "{table}" FOR ALL TO slawatch_operator'
                " USING (true) WITH CHECK (true)"
            )
            own_rows = "name = session_user" if table == "sources" else _OWN
            command = "INSERT" if table == "sources" else "ALL"
            using = "" if command == "INSERT" else f" USING ({own_rows})"
            await conn.execute(
                f'CREATE POLICY slawatch_agent_own ON "{table}" FOR {command} TO slawatch_agent'
                f"{using} WITH CHECK ({own_rows})"
            )
        if "audit_log" in tables:
            await _audit_policies(conn)
            if "audit_frontier" in tables:
                await apply_trail_guard(conn)
    return notes


async def _no_create_in_schema(conn: PostgresConn) -> list[str]:
    """Take CREATE on the schema from everyone but its owner (PostgreSQL 15's default;
    a database made before 15, or restored from such a dump, still grants it to
    PUBLIC). A fleet role that may create there can plant a function that outranks a
    built-in one for an untyped argument (its ``convert_to(text, text)`` over
    ``convert_to(text, name)``) in the audit trail's guard and in everyone's
    queries, which run with the schema in their search_path. A note when this role
    may not change the schema's privileges."""
    rows = await conn.fetchall(
        "SELECT bool_or(has_schema_privilege(g, current_schema(), 'CREATE')),"
        " pg_has_role(current_user, (SELECT nspowner FROM pg_namespace"
        " WHERE nspname = current_schema()), 'USAGE'), quote_ident(current_schema())"
        " FROM unnest(?::text[]) AS g",
        (list(GROUPS),),
    )
    open_, owner, schema = rows[0]
    if not open_:
        return []
    if not owner:
        return [
            f"roles of the fleet may create objects in schema {schema}: as its owner, run"
            f" REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC"
        ]
    await conn.execute(f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC, {', '.join(GROUPS)}")
    return []


def _hours_of_own(column: str) -> str:
    """Every hour in ``column``'s ``hours`` (a ``minutes.seal`` entry) is the agent's own
    and as slawatch writes it, ``[service, source, hour, digest or null]``: an entry
    of another shape (``[service, source]``) was taken, and ``store verify`` stopped on
    it with a traceback, for every vantage point's evidence."""
    hours = f"{column}::jsonb -> 'hours'"
    return (
        f"(jsonb_typeof({column}::jsonb) = 'null' OR jsonb_typeof({hours}) IS NULL"
        f" OR jsonb_typeof({hours}) = 'array')"
        " AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN"
        f" jsonb_typeof({hours}) = 'array' THEN {hours} ELSE '[]' END) h"
        " WHERE NOT CASE WHEN jsonb_typeof(h) = 'array' THEN jsonb_array_length(h) = 4"
        " AND jsonb_typeof(h -> 0) = 'string' AND jsonb_typeof(h -> 1) = 'string'"
        " AND h ->> 1 = session_user AND jsonb_typeof(h -> 2) = 'number'"
        " AND jsonb_typeof(h -> 3) IN ('string', 'null') ELSE false END)"
    )


def _heads_as_stored(column: str) -> str:
    """``column``'s ``chains`` (a ``minutes.baseline`` entry) are exactly each chain's
    latest logged seal as stored, ``[service, source, hour, link]`` (what
    ``ChainStore.chain_heads(logged=True)`` gives the honest appender). Without it an
    agent could write the fleet's first baseline with another agent's chain at a link
    of its choosing, or leave it out, and ``store verify`` named that agent's honest
    hours edited or written outside slawatch."""
    return (
        "(SELECT COALESCE(jsonb_agg(c ORDER BY c::text), '[]') FROM jsonb_array_elements("
        f"COALESCE(CASE WHEN jsonb_typeof({column}::jsonb) = 'object' THEN"
        f" {column}::jsonb -> 'chains' END, '[]')) c)"
        " = (SELECT COALESCE(jsonb_agg(h ORDER BY h::text), '[]') FROM ("
        "SELECT jsonb_build_array(sv.name, so.name, s.hour, encode(s.link, 'hex')) AS h"
        " FROM chain_seals s JOIN services sv ON sv.id = s.service_id"
        " JOIN sources so ON so.id = s.source_id"
        " WHERE (s.service_id, s.source_id, s.hour) IN (SELECT service_id, source_id, max(hour)"
        " FROM chain_seals WHERE logged = 1 GROUP BY service_id, source_id)) AS heads)"
    )


# What an agent appends to the trail, and only of its own source: its minute writes
# (``minutes.seal``), a block of its own found edited (``store.tamper``), and the
# baseline of a trail that logs no minute write yet (every chain's head, once).
# Without this, agent A could append a ``minutes.seal`` entry with a digest of its
# choosing for an hour of agent B's, and ``store verify`` named B's honest hour as
# edited outside slawatch.
_AGENT_ENTRIES = (
    f"(kind = '{SEAL}' AND {_hours_of_own('after_json')} AND {_hours_of_own('before_json')})"
    f" OR (kind = '{TAMPER}' AND after_json::jsonb ->> 'source' = session_user"
    " AND before_json::jsonb ->> 'source' = session_user)"
    f" OR (CASE WHEN kind = '{BASELINE}' THEN NOT EXISTS (SELECT 1 FROM audit_log"
    f" WHERE kind IN ('{SEAL}', '{BASELINE}')) AND {_heads_as_stored('after_json')}"
    " ELSE false END)"
)


async def _audit_policies(conn: PostgresConn) -> None:
    """Row-level security on the trail: everyone reads it, operators append anything,
    an agent only entries about its own source (``_AGENT_ENTRIES``)."""
    await conn.execute("ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY")
    for policy in ("slawatch_read", "slawatch_agent_own", "slawatch_operator_all"):
        await conn.execute(f"DROP POLICY IF EXISTS {policy} ON audit_log")
    await conn.execute("CREATE POLICY slawatch_read ON audit_log FOR SELECT USING (true)")
    await conn.execute(
        "CREATE POLICY slawatch_operator_all ON audit_log FOR INSERT TO slawatch_operator"
        " WITH CHECK (true)"
    )
    await conn.execute(
        "CREATE POLICY slawatch_agent_own ON audit_log FOR INSERT TO slawatch_agent"
        f" WITH CHECK ({_AGENT_ENTRIES})"
    )


def agent_role_sql(name: str) -> str:
    """The statement an administrator runs to let agent ``name`` log in."""
    quoted = '"' + name.replace('"', '""') + '"'
    return f"CREATE ROLE {quoted} LOGIN IN ROLE slawatch_agent;"
