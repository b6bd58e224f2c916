"""The audit trail's guard in PostgreSQL: an agent's entry is appended right or not at all.

Row-level security (``store.postgres.roles``) lets an agent append only entries
about its own source. That alone left it free to append one with a wrong
sequence number, a leaf hash that is not its content's, or a tree head that is
not the tree's: ``store verify`` then named the whole trail broken from there
on, every other vantage point's evidence with it (a denial of evidence by one
compromised agent).

A ``BEFORE INSERT`` trigger on ``audit_log`` (``slawatch_audit_append``, run as
the database's owner: ``SECURITY DEFINER``, its ``search_path`` pinned, ``pg_temp``
last: unnamed, a session's own temporary schema is searched first for tables, and
an agent's TEMP table ``audit_log`` gave the trigger a trail of its making) checks
every row an agent role (a member of ``slawatch_agent``, by ``session_user``)
appends, under the trail's lock (the advisory lock the store's appenders take,
so concurrent appends are serialised exactly as before):

- ``seq`` is the last entry's plus one;
- ``before_json`` and ``after_json`` are canonical JSON as ``core.audit.canonical_json``
  writes it (sorted keys, no spaces, ASCII only, integers only), re-serialised
  here from their parsed value (``slawatch_json``) and compared byte for byte
  (checked by the appender's ``slawatch_audit_precheck`` ahead of the lock, else here);
  ``at`` and the span are in years 1970-9999 (where SQL's and Python's ISO forms agree);
- ``leaf`` is SHA-256 of 0x00 and the entry's canonical bytes (``AuditEntry.canonical``),
  rebuilt here from the columns;
- ``head`` is the RFC 9162 tree head after it, from the kept frontier
  (``audit_frontier``, trusted only when it folds to the last entry's head, else
  rebuilt from every leaf as the Python appender does), which the trigger then
  keeps up to date itself.

Anything else is refused (``check_violation``), so a forged row never enters the
trail and ``store verify`` holds. The trail's owner (``store migrate`` copies a
trail as it is, broken or not) and operators (who record the trail's
corrections) are not checked. ``store init`` (re-)creates all of it.
"""

from __future__ import annotations

from store.postgres.conn import _SCHEMA_LOCK, PostgresConn

# A JSON string as Python's json.dumps(ensure_ascii=True) spells it: PostgreSQL's own
# escaping (", \, \b \f \n \r \t, other controls as \u00xx: the same as Python's), then
# every character from 0x7f up as \uxxxx (a surrogate pair above 0xffff).
_JSON_STR = r"""
CREATE OR REPLACE FUNCTION slawatch_json_str(s text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
    quoted text := to_json(s)::text;
    out text := '';
    c text;
    code int;
BEGIN
    IF quoted !~ '[^ -~]' THEN
        RETURN quoted;
    END IF;
    FOREACH c IN ARRAY regexp_split_to_array(quoted, '') LOOP
        code := ascii(c);
        IF code < 127 THEN
            out := out || c;
        ELSIF code < 65536 THEN
            out := out || '\u' || lpad(to_hex(code), 4, '0');
        ELSE
            code := code - 65536;
            out := out || '\u' || to_hex(55296 + (code >> 10))
                       || '\u' || to_hex(56320 + (code & 1023));
        END IF;
    END LOOP;
    RETURN out;
END $f$
"""


def _scalar(x: str) -> str:
    """SQL spelling a jsonb scalar ``x`` as canonical_json does (null: it cannot)."""
    return (
        f"CASE jsonb_typeof({x})"
        f" WHEN 'string' THEN CASE WHEN {x}::text !~ '[^ -~]' THEN {x}::text"
        f" ELSE slawatch_json_str({x} #>> '{{{{}}}}') END"
        f" WHEN 'number' THEN CASE WHEN {x}::text ~ '^-{{{{0,1}}}}(0|[1-9][0-9]*)$'"
        f" THEN {x}::text END"
        f" WHEN 'object' THEN NULL WHEN 'array' THEN NULL ELSE {x}::text END"
    )


# A JSON value as core.audit.canonical_json spells it; null (SQL) for what it cannot
# spell the same way (a number that is not an integer), which then matches no text.
# Scalars, and arrays of scalars inside an array, are spelled in the query itself: an
# agent's minutes.seal entry is an array of a thousand [service, source, hour, digest]:
# a function call for each took 120-170 ms (load 9), a subquery each 50-70 ms, one
# query over both levels about 16 ms.
_JSON = (
    r"""
CREATE OR REPLACE FUNCTION slawatch_json(v jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, {schema}, pg_temp AS $f$
DECLARE
    out text;
BEGIN
    CASE jsonb_typeof(v)
    WHEN 'object' THEN
        SELECT CASE WHEN count(*) = count(c) THEN
                   '{{' || COALESCE(string_agg(slawatch_json_str(k) || ':' || c, ','
                                              ORDER BY k COLLATE "C"), '') || '}}' END
          INTO out FROM (
            SELECT k, CASE WHEN jsonb_typeof(x) IN ('object', 'array') THEN slawatch_json(x)
                           ELSE """
    + _scalar("x")
    + r""" END AS c
            FROM jsonb_each(v) AS e(k, x) OFFSET 0) AS t;  -- (kept apart: c is used twice)
    WHEN 'array' THEN  -- each element an array of scalars spelled in this one query
        SELECT CASE WHEN count(*) = count(c) THEN
                   '[' || COALESCE(string_agg(c, ',' ORDER BY n), '') || ']' END
          INTO out FROM (
            SELECT n, CASE
                WHEN min(jsonb_typeof(x)) = 'array' AND count(m) > 0 AND bool_and(leafy) THEN
                    CASE WHEN count(m) = count(d) THEN
                        '[' || string_agg(d, ',' ORDER BY m) || ']' END
                WHEN min(jsonb_typeof(x)) IN ('object', 'array') THEN
                    slawatch_json(min(x::text)::jsonb)
                ELSE min("""
    + _scalar("x")
    + r""") END AS c
            FROM jsonb_array_elements(v) WITH ORDINALITY AS e(x, n)
            LEFT JOIN LATERAL (
                SELECT m, jsonb_typeof(y) NOT IN ('object', 'array') AS leafy, """
    + _scalar("y")
    + r""" AS d
                  FROM jsonb_array_elements(CASE WHEN jsonb_typeof(x) = 'array' THEN x
                                                 ELSE '[]' END) WITH ORDINALITY AS f(y, m)
            ) AS u ON true
            GROUP BY n) AS t;
    ELSE
        out := """
    + _scalar("v")
    + r""";
    END CASE;
    RETURN out;
END $f$
"""
)

# core.timeutil.iso_z of epoch seconds (years 1970-9999: the trigger checks the range).
_ISO = r"""
CREATE OR REPLACE FUNCTION slawatch_iso(at bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $f$
    SELECT '"' || to_char(to_timestamp(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || '"'
$f$
"""

# core.merkle.append and frontier_root: the frontier of the tree one leaf larger, and
# the tree head from a frontier (the perfect subtrees folded from the right).
_MERKLE = (
    r"""
CREATE OR REPLACE FUNCTION slawatch_merkle_append(frontier bytea[], tsize bigint, leaf bytea)
RETURNS bytea[] LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
    n bigint := tsize;
    h bytea := leaf;
BEGIN
    WHILE n & 1 = 1 LOOP
        h := sha256('\x01'::bytea || frontier[cardinality(frontier)] || h);
        frontier := frontier[1:cardinality(frontier) - 1];
        n := n >> 1;
    END LOOP;
    RETURN frontier || h;
END $f$
""",
    r"""
CREATE OR REPLACE FUNCTION slawatch_merkle_root(frontier bytea[])
RETURNS bytea LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $f$
DECLARE
    h bytea := COALESCE(frontier[cardinality(frontier)], sha256(''::bytea));
BEGIN
    FOR i IN REVERSE cardinality(frontier) - 1 .. 1 LOOP
        h := sha256('\x01'::bytea || frontier[i] || h);
    END LOOP;
    RETURN h;
END $f$
""",
)

# Whether an entry's before/after are canonical JSON (the costly part of the check: a
# 1,000-hour minutes.seal entry takes 12-17 ms), as a function of its own, and that
# check made ahead of the trail's lock: the appender takes the lock before it inserts,
# so the trigger's work is done while every other appender waits (a hundred agents
# at an hour's first minute: over a second in a row). ``slawatch_audit_precheck``
# (the store calls it just before the lock) checks and notes the pair's digest with
# the transaction's id in ``audit_checked``, which only these functions write (no
# role is granted it); the trigger, finding its own transaction's note, deletes it
# and skips the check. A note of another transaction is never used: a forged entry
# is checked in full.
_CANONICAL = r"""
CREATE OR REPLACE FUNCTION slawatch_audit_canonical(before text, after text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, {schema}, pg_temp AS $f$
BEGIN
    IF before IS DISTINCT FROM slawatch_json(before::jsonb)
       OR after IS DISTINCT FROM slawatch_json(after::jsonb) THEN
        RAISE EXCEPTION 'audit entry refused: its before/after is not canonical JSON'
            USING ERRCODE = 'check_violation';
    END IF;
END $f$
"""

_PRECHECK = r"""
CREATE OR REPLACE FUNCTION slawatch_audit_precheck(before text, after text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $f$
BEGIN
    IF NOT pg_has_role(session_user, 'slawatch_agent', 'MEMBER') THEN
        RETURN;  -- the trigger checks agents' entries only
    END IF;
    PERFORM slawatch_audit_canonical(before, after);
    INSERT INTO audit_checked (xid, digest) VALUES (pg_current_xact_id(),
        sha256(convert_to(before, 'UTF8') || '\x00'::bytea || convert_to(after, 'UTF8')));
END $f$
"""

_TRIGGER = r"""
CREATE OR REPLACE FUNCTION slawatch_audit_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, {schema}, pg_temp AS $f$
DECLARE
    last_seq bigint := 0;
    last_head bytea := sha256(''::bytea);
    kept record;
    kept_rows bigint;
    frontier bytea[] := '{{}}';
    tsize bigint := 0;
    tree_head bytea;
    entry text;
    entry_leaf bytea;
    stored bytea;
BEGIN
    IF NOT pg_has_role(session_user, 'slawatch_agent', 'MEMBER') THEN
        RETURN NEW;
    END IF;
    -- Checked already in this transaction, before the trail's lock was taken
    -- (slawatch_audit_precheck: the appender's call), else here.
    DELETE FROM audit_checked c WHERE c.xid = pg_current_xact_id()
        AND c.digest = sha256(convert_to(NEW.before_json, 'UTF8') || '\x00'::bytea
                              || convert_to(NEW.after_json, 'UTF8'));
    IF NOT FOUND THEN
        PERFORM slawatch_audit_canonical(NEW.before_json, NEW.after_json);
    END IF;
    IF NEW.at NOT BETWEEN 0 AND 253402300799
       OR (NEW.span_start IS NULL) <> (NEW.span_end IS NULL)
       OR NEW.span_start NOT BETWEEN 0 AND 4223371679
       OR NEW.span_end NOT BETWEEN 0 AND 4223371679 THEN
        RAISE EXCEPTION 'audit entry #% refused: its time or span is out of range', NEW.seq
            USING ERRCODE = 'check_violation';
    END IF;
    -- Only now the trail's lock (the appenders' own: one at a time), the work above
    -- being the entry's alone.
    PERFORM pg_advisory_xact_lock({lock});
    SELECT a.seq, a.head INTO kept FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
    IF FOUND THEN
        last_seq := kept.seq;
        last_head := kept.head;
    END IF;
    IF NEW.seq IS DISTINCT FROM last_seq + 1 THEN
        RAISE EXCEPTION 'audit entry #% refused: the trail''s last entry is #%', NEW.seq, last_seq
            USING ERRCODE = 'check_violation';
    END IF;
    entry := '{{"actor":' || slawatch_json_str(NEW.actor)
        || ',"after":' || NEW.after_json
        || ',"at":' || slawatch_iso(NEW.at)
        || ',"before":' || NEW.before_json
        || ',"from":' || COALESCE(slawatch_iso(NEW.span_start * 60), 'null')
        || ',"kind":' || slawatch_json_str(NEW.kind)
        || ',"seq":' || NEW.seq
        || ',"service":' || COALESCE(slawatch_json_str(NEW.service), 'null')
        || ',"to":' || COALESCE(slawatch_iso(NEW.span_end * 60), 'null') || '}}';
    entry_leaf := sha256('\x00'::bytea || convert_to(entry, 'UTF8'));
    IF NEW.leaf IS DISTINCT FROM entry_leaf THEN
        RAISE EXCEPTION 'audit entry #% refused: its leaf is not the hash of its content', NEW.seq
            USING ERRCODE = 'check_violation';
    END IF;
    -- The tree's frontier: the kept one when it folds to the last entry's head.
    SELECT count(*) INTO kept_rows FROM audit_frontier;
    IF kept_rows = 1 THEN
        SELECT f.seq, f.size, f.hashes INTO kept FROM audit_frontier f;
        IF kept.seq = last_seq AND kept.size = last_seq
           AND length(kept.hashes) = 32 * length(replace(kept.size::bit(64)::text, '0', '')) THEN
            frontier := ARRAY(SELECT substring(kept.hashes FROM 32 * k + 1 FOR 32)
                            FROM generate_series(0, length(kept.hashes) / 32 - 1) AS k ORDER BY k);
            IF slawatch_merkle_root(frontier) = last_head THEN
                tsize := kept.size;
            ELSE
                frontier := NULL;
            END IF;
        ELSE
            frontier := NULL;
        END IF;
    ELSE
        frontier := NULL;
    END IF;
    IF frontier IS NULL THEN  -- rebuilt from every leaf, as store.audit._frontier does
        frontier := '{{}}';
        tsize := 0;
        FOR stored IN SELECT a.leaf FROM audit_log a ORDER BY a.seq LOOP
            frontier := slawatch_merkle_append(frontier, tsize, stored);
            tsize := tsize + 1;
        END LOOP;
    END IF;
    frontier := slawatch_merkle_append(frontier, tsize, entry_leaf);
    tsize := tsize + 1;
    tree_head := slawatch_merkle_root(frontier);
    IF NEW.head IS DISTINCT FROM tree_head THEN
        RAISE EXCEPTION 'audit entry #% refused: its head is not the tree''s', NEW.seq
            USING ERRCODE = 'check_violation';
    END IF;
    -- Kept for the next append (a second entry of the same write finds it current).
    DELETE FROM audit_frontier;
    INSERT INTO audit_frontier (seq, size, hashes)
        SELECT NEW.seq, tsize, string_agg(x, ''::bytea ORDER BY k)
          FROM unnest(frontier) WITH ORDINALITY AS u(x, k);
    RETURN NEW;
END $f$
"""


async def apply_trail_guard(conn: PostgresConn) -> None:
    """(Re-)create the trigger and its helpers (``store init``, as the owner)."""
    rows = await conn.fetchall("SELECT quote_ident(current_schema())")
    schema = str(rows[0][0])
    await conn.execute(_JSON_STR)
    await conn.execute(_JSON.format(schema=schema))
    await conn.execute(_ISO)
    for statement in _MERKLE:
        await conn.execute(statement)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS audit_checked (xid xid8 NOT NULL, digest bytea NOT NULL)"
    )
    await conn.execute(
        "REVOKE ALL ON audit_checked FROM PUBLIC, slawatch_agent, slawatch_reader,"
        " slawatch_operator"
    )
    await conn.execute(_CANONICAL.format(schema=schema))
    await conn.execute(_PRECHECK.format(schema=schema))
    await conn.execute(_TRIGGER.format(schema=schema, lock=_SCHEMA_LOCK))
    await conn.execute("DROP TRIGGER IF EXISTS slawatch_audit_append ON audit_log")
    await conn.execute(
        "CREATE TRIGGER slawatch_audit_append BEFORE INSERT ON audit_log"
        " FOR EACH ROW EXECUTE FUNCTION slawatch_audit_append()"
    )
