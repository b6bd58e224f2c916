"""The database schema as an ordered list of forward migrations.

``MIGRATIONS[i]`` takes the database from version ``i`` to version ``i + 1``.
To change the schema, append a new :class:`Migration` at the end (never edit
one that has shipped), written in SQLite's DDL with types the PostgreSQL
backend translates (``INTEGER``, ``BLOB``, ``TEXT``, ``id INTEGER PRIMARY
KEY``, ``WITHOUT ROWID``: see ``store.postgres.conn.ddl``). Every writer that
opens the database runs the ones it has not seen, each in its own transaction
together with the version bump, so two processes opening an old database at
once cannot apply a migration twice.

Minute records are stored as one row per (service, hour, source): a 60-byte
status blob and a 120-byte latency blob (see ``store.blocks``). Logically the
table is still keyed by (service, source, minute); the hour grouping is what
lets a month of 50 services be read in a few tens of milliseconds and keeps a
service-minute at about 3.5 bytes on disk (a row per minute costs ~20 bytes
and ~0.3 s just to scan one month of 50 services in SQLite itself).
"""

from __future__ import annotations

from dataclasses import dataclass

from store.db import Conn, Dialect


@dataclass(frozen=True)
class Migration:
    name: str
    statements: tuple[str, ...]
    # A storage setting of one backend only (e.g. PostgreSQL's fillfactor): on the
    # other the migration is a version bump with nothing to do, so every database
    # at version N has the same tables whichever backend holds it.
    dialect: Dialect | None = None


MIGRATIONS: list[Migration] = [
    Migration(
        "initial schema",
        (
            # Names are stored once and referred to by small integer ids.
            "CREATE TABLE services (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
            "CREATE TABLE sources (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)",
            "CREATE TABLE error_texts (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)",
            # One row per (service, hour, source); ``hour`` = epoch minute // 60.
            """CREATE TABLE minute_blocks (
                service_id INTEGER NOT NULL,
                hour INTEGER NOT NULL,
                source_id INTEGER NOT NULL,
                status BLOB NOT NULL,
                latency BLOB NOT NULL,
                PRIMARY KEY (service_id, hour, source_id)
            ) WITHOUT ROWID""",
            # Sparse: only minutes recorded with an error class.
            """CREATE TABLE minute_errors (
                service_id INTEGER NOT NULL,
                source_id INTEGER NOT NULL,
                minute INTEGER NOT NULL,
                error_id INTEGER NOT NULL REFERENCES error_texts(id),
                PRIMARY KEY (service_id, minute, source_id)
            ) WITHOUT ROWID""",
            """CREATE TABLE probe_states (
                service_id INTEGER NOT NULL,
                source_id INTEGER NOT NULL,
                at_us INTEGER NOT NULL,
                status INTEGER NOT NULL,
                latency_ms INTEGER,
                error TEXT,
                PRIMARY KEY (service_id, source_id)
            ) WITHOUT ROWID""",
            """CREATE TABLE cases (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                service_id INTEGER NOT NULL REFERENCES services(id),
                priority TEXT NOT NULL,
                title TEXT NOT NULL,
                ref TEXT,
                opened_at INTEGER NOT NULL,
                responded_at INTEGER,
                resolved_at INTEGER,
                channel TEXT NOT NULL DEFAULT 'email',
                escalation_level INTEGER NOT NULL DEFAULT 1,
                rca_requested INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX cases_by_service ON cases (service_id, opened_at)",
            """CREATE TABLE case_links (
                case_id INTEGER NOT NULL REFERENCES cases(id),
                start_min INTEGER NOT NULL,
                end_min INTEGER NOT NULL,
                PRIMARY KEY (case_id, start_min, end_min)
            ) WITHOUT ROWID""",
            """CREATE TABLE windows (
                id INTEGER PRIMARY KEY,
                service_id INTEGER NOT NULL REFERENCES services(id),
                kind TEXT NOT NULL CHECK (kind IN ('maintenance', 'exclusion')),
                start_min INTEGER NOT NULL,
                end_min INTEGER NOT NULL,
                reason TEXT NOT NULL DEFAULT '',
                CHECK (end_min > start_min)
            )""",
            "CREATE INDEX windows_by_service ON windows (service_id, start_min)",
            """CREATE TABLE settled_credits (
                service_id INTEGER NOT NULL REFERENCES services(id),
                month TEXT NOT NULL,
                settled_at INTEGER NOT NULL,
                PRIMARY KEY (service_id, month)
            ) WITHOUT ROWID""",
        ),
    ),
    Migration(
        "hash chain seals (store/chain.py)",
        (
            # One seal per (service, source, UTC hour) that holds records: the
            # hour's digest and its link to every earlier hour of that chain.
            """CREATE TABLE chain_seals (
                service_id INTEGER NOT NULL,
                source_id INTEGER NOT NULL,
                hour INTEGER NOT NULL,
                digest BLOB NOT NULL,
                link BLOB NOT NULL,
                PRIMARY KEY (service_id, source_id, hour)
            ) WITHOUT ROWID""",
        ),
    ),
    Migration(
        "agent health (store/health.py, issue 7)",
        (
            # One row per agent (source): its latest word on its own storage.
            """CREATE TABLE agent_health (
                source_id INTEGER PRIMARY KEY,
                at_us INTEGER NOT NULL,
                pending INTEGER NOT NULL,
                dropped INTEGER NOT NULL,
                problem TEXT,
                problem_since_us INTEGER,
                problem_cleared_us INTEGER
            )""",
        ),
    ),
    Migration(
        "agent restarts keep their word (store/agentstate.py, issue 16)",
        (
            # The certificate expiry seen by the latest HTTPS probe (live state).
            "ALTER TABLE probe_states ADD COLUMN tls_expires_us INTEGER",
            # Every probe result of the minutes an agent has not judged yet, kept as
            # they come, so a kill -9 mid-minute loses at most the probe in flight.
            """CREATE TABLE agent_probes (
                source_id INTEGER NOT NULL,
                minute INTEGER NOT NULL,
                service_id INTEGER NOT NULL,
                at_us INTEGER NOT NULL,
                status INTEGER NOT NULL,
                latency_ms INTEGER,
                error TEXT,
                PRIMARY KEY (source_id, minute, service_id, at_us)
            ) WITHOUT ROWID""",
            # Per agent: the last minute it judged (the clock-back guard) ...
            """CREATE TABLE agent_state (
                source_id INTEGER PRIMARY KEY,
                judged_upto INTEGER NOT NULL
            )""",
            # ... and the outages it has announced (``start`` sent, ``end`` not yet).
            """CREATE TABLE agent_outages (
                source_id INTEGER NOT NULL,
                service_id INTEGER NOT NULL,
                start_min INTEGER NOT NULL,
                last_min INTEGER NOT NULL,
                minutes INTEGER NOT NULL,
                error TEXT,
                PRIMARY KEY (source_id, service_id)
            ) WITHOUT ROWID""",
        ),
    ),
    Migration(
        "fleet mode: agent health for the fleet, the spool's outbox (store/outbox.py, issue 10)",
        (
            # What ``fleet status`` shows of each agent (``at`` is its last_seen).
            "ALTER TABLE agent_health ADD COLUMN backlog_minutes INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE agent_health ADD COLUMN spool_only_minutes INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE agent_health ADD COLUMN clock_offset_ms INTEGER",
            "ALTER TABLE agent_health ADD COLUMN version TEXT",
            # Used in an agent's SQLite spool only (empty in a PostgreSQL store):
            # the minutes recorded there and not yet forwarded, in the order recorded.
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                service_id INTEGER NOT NULL,
                source_id INTEGER NOT NULL,
                minute INTEGER NOT NULL,
                status INTEGER NOT NULL,
                latency_ms INTEGER,
                error TEXT
            )""",
            "CREATE INDEX outbox_by_minute ON outbox (minute)",
            # Spans of minutes dropped from the outbox at its bound: still in the
            # spool's own minute blocks, forwarded again once the outbox is empty.
            """CREATE TABLE outbox_dropped (
                source_id INTEGER NOT NULL,
                start_min INTEGER NOT NULL,
                end_min INTEGER NOT NULL,
                minutes INTEGER NOT NULL,
                PRIMARY KEY (source_id, start_min)
            ) WITHOUT ROWID""",
        ),
    ),
    Migration(
        "case lifecycle events (store/cases.py, issue 11)",
        (
            # One row per thing that happened to a case after it was opened:
            # kind 'priority' (value = the new priority, previous = the old one),
            # 'escalation' (value = the new level), 'rca' (requested), 'rca_delivered',
            # 'wait' (event_at = from, until_at = to or NULL while still waiting).
            """CREATE TABLE case_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                case_id INTEGER NOT NULL REFERENCES cases(id),
                kind TEXT NOT NULL
                    CHECK (kind IN ('priority', 'escalation', 'rca', 'rca_delivered', 'wait')),
                event_at INTEGER NOT NULL,
                value TEXT,
                previous TEXT,
                until_at INTEGER,
                reason TEXT
            )""",
            "CREATE INDEX case_events_by_case ON case_events (case_id, event_at)",
        ),
    ),
    Migration(
        "the audit trail: an append-only log with a Merkle tree (store/audit.py, issues 14, 15)",
        (
            # One row per correction of the evidence; slawatch never updates or
            # deletes one. ``leaf`` is the entry's RFC 9162 leaf hash, ``head``
            # the tree head over entries 1..seq; ``span_*`` the minutes it touches.
            """CREATE TABLE audit_log (
                seq INTEGER NOT NULL PRIMARY KEY,
                at INTEGER NOT NULL,
                actor TEXT NOT NULL,
                kind TEXT NOT NULL,
                service TEXT,
                span_start INTEGER,
                span_end INTEGER,
                before_json TEXT NOT NULL,
                after_json TEXT NOT NULL,
                leaf BLOB NOT NULL,
                head BLOB NOT NULL
            )""",
        ),
    ),
    Migration(
        "corroboration of failing probes (store/evidence.py, issue 15 item 6)",
        (
            # One row per failing probe: what the provider can look up in its own
            # logs (core.corroboration). ``at_us`` is when the request was sent,
            # ``minute`` the minute the probe is filed under.
            """CREATE TABLE probe_evidence (
                service_id INTEGER NOT NULL,
                source_id INTEGER NOT NULL,
                at_us INTEGER NOT NULL,
                minute INTEGER NOT NULL,
                error TEXT,
                http_status INTEGER,
                server_ip TEXT,
                tls_sha256 TEXT,
                date TEXT,
                x_request_id TEXT,
                traceparent TEXT,
                cf_ray TEXT,
                PRIMARY KEY (service_id, source_id, at_us)
            ) WITHOUT ROWID""",
            "CREATE INDEX probe_evidence_by_minute ON probe_evidence (service_id, minute)",
        ),
    ),
    Migration(
        "PostgreSQL: room on each page for the current hour's rewrites (fleet ingest, issue 10)",
        (
            # Every minute an agent rewrites its current hour's block and seal. With
            # full pages each new row version lands on another page, so every rewrite
            # also inserts into the primary key's index (and bloats it); with room on
            # the page the rewrite is a HOT update (no index entry, the old version
            # pruned in place), which halves PostgreSQL's CPU per fleet-minute
            # (benchmarks/fleet.py). Affects rows written from now on.
            "ALTER TABLE minute_blocks SET (fillfactor = 70)",
            "ALTER TABLE chain_seals SET (fillfactor = 70)",
        ),
        dialect="postgresql",
    ),
    Migration(
        "minute writes in the audit trail (store/chain.py, issue 15)",
        (
            # 1 once the hour's digest as it stands is in a ``minutes.seal`` entry of
            # the audit trail; 0 while the agent is still writing its newest hour (it
            # is logged when the chain moves on). Seals from before the trail count
            # as logged: the first minute write appends a ``minutes.baseline`` entry.
            "ALTER TABLE chain_seals ADD COLUMN logged INTEGER NOT NULL DEFAULT 1",
            "CREATE INDEX chain_seals_unlogged ON chain_seals (source_id, service_id, hour)"
            " WHERE logged = 0",
        ),
    ),
    Migration(
        "PostgreSQL: room for a whole page of rewrites in one transaction (issue 10)",
        (
            # An agent's minute rewrites every block and seal of its current hour in
            # ONE transaction, and the old versions stay until it commits: a page
            # needs as much room free as it holds for every rewrite to stay on it.
            # At 70 % about two in three were HOT; at 50 % all are, for about 3.5
            # more bytes per service-minute on disk (13.7 instead of 10.1).
            "ALTER TABLE minute_blocks SET (fillfactor = 50)",
            "ALTER TABLE chain_seals SET (fillfactor = 50)",
        ),
        dialect="postgresql",
    ),
    Migration(
        "the audit tree's right frontier: an append in O(log n) (store/audit.py, issue 15 item 4)",
        (
            # One row: the roots of the perfect subtrees of the tree over entries
            # 1..seq (``size`` leaves, core.merkle.frontier), 32 bytes each, largest
            # first. A cache the appender keeps in the same transaction as each
            # entry; rebuilt from the leaves when it does not end at the log's last
            # entry and head. ``store verify`` never reads it.
            """CREATE TABLE audit_frontier (
                seq INTEGER NOT NULL,
                size INTEGER NOT NULL,
                hashes BLOB NOT NULL
            )""",
        ),
    ),
    Migration(
        "PostgreSQL: back to 70 % full pages (issue 10)",
        (
            # Half-empty pages stay half-empty once an hour is history: at 50 % the
            # month report read twice the pages and came out over 2x SQLite's in a
            # third of the runs (benchmarks/fleet.py), and a service-minute took 14
            # bytes. At 70 % about two rewrites in three stay HOT, PostgreSQL's CPU per
            # fleet-minute is within some 15 % of the 50 % figure, 10.4 bytes.
            "ALTER TABLE minute_blocks SET (fillfactor = 70)",
            "ALTER TABLE chain_seals SET (fillfactor = 70)",
        ),
        dialect="postgresql",
    ),
    Migration(
        "the agent's notifications made durable before they are sent (store/agentstate.py,"
        " issue 16)",
        (
            # Saved with the minutes and the outage state they follow from, deleted once
            # every notifier has had them: a crash in between sends them again (same id).
            """CREATE TABLE agent_notices (
                source_id INTEGER NOT NULL,
                id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                payload TEXT NOT NULL,
                PRIMARY KEY (source_id, id)
            )""",
        ),
    ),
    Migration(
        "which notifier has had which of the agent's saved notifications (store/agentstate.py,"
        " issue 16)",
        (
            # One row per notice a notifier has had (delivered, refused for good, or
            # given up on): a restart resends it only to the others, so a dead webhook's
            # retries go on where they were and the live ones get nothing twice. The
            # notifier is a hash of its configuration (a webhook URL may hold a token).
            """CREATE TABLE agent_notice_marks (
                source_id INTEGER NOT NULL,
                notice_id TEXT NOT NULL,
                notifier TEXT NOT NULL,
                PRIMARY KEY (source_id, notice_id, notifier)
            )""",
        ),
    ),
    Migration(
        "the agent's notifications still owed, in its health row (store/health.py, issue 10)",
        (
            # In a fleet the saved notifications are in each agent's spool: its forwarder
            # ships how many are still owed to some notifier, and the minute the oldest
            # reports, so ``fleet status`` and the dashboard show them.
            "ALTER TABLE agent_health ADD COLUMN notices_waiting INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE agent_health ADD COLUMN notices_since_us INTEGER",
        ),
    ),
    Migration(
        "PostgreSQL: seals half-full, so every rewrite of the open hour's stays HOT (issue 10)",
        (
            # An agent's minute rewrites its 1,000 seals of the hour in one transaction:
            # at 70 % about one in four moved to another page (two index entries each,
            # the primary key and chain_seals_unlogged). At 50 % all but a few stay on
            # their page; the seal UPDATE took some 40 % less of PostgreSQL's time, 12 %
            # of an agent-minute's (benchmarks/fleet.py). A seal is 2 bytes of a
            # service-minute, so history grows by about one byte per service-minute;
            # minute_blocks, which month reports read, stays at 70 %.
            "ALTER TABLE chain_seals SET (fillfactor = 50)",
        ),
        dialect="postgresql",
    ),
    Migration(
        "a failing request kept under each minute judged from it (store/evidence.py): SQLite",
        (
            # An overrunning run judges a minute down by a request sent in the minute
            # before that timed out in it (docs/probes.md): that request is kept under
            # both minutes, the later row with ``failed_at_us`` (when it failed). The
            # key gains ``minute``; SQLite cannot change a key in place.
            """CREATE TABLE probe_evidence_new (
                service_id INTEGER NOT NULL,
                source_id INTEGER NOT NULL,
                at_us INTEGER NOT NULL,
                minute INTEGER NOT NULL,
                error TEXT,
                http_status INTEGER,
                server_ip TEXT,
                tls_sha256 TEXT,
                date TEXT,
                x_request_id TEXT,
                traceparent TEXT,
                cf_ray TEXT,
                failed_at_us INTEGER,
                PRIMARY KEY (service_id, source_id, at_us, minute)
            ) WITHOUT ROWID""",
            "INSERT INTO probe_evidence_new SELECT *, NULL FROM probe_evidence",
            "DROP TABLE probe_evidence",
            "ALTER TABLE probe_evidence_new RENAME TO probe_evidence",
            "CREATE INDEX probe_evidence_by_minute ON probe_evidence (service_id, minute)",
        ),
        dialect="sqlite",
    ),
    Migration(
        "a failing request kept under each minute judged from it (store/evidence.py): PostgreSQL",
        (
            # The same table as SQLite's after the migration before, changed in place
            # (its grants and row-level policies stay).
            "ALTER TABLE probe_evidence ADD COLUMN failed_at_us INTEGER",
            "ALTER TABLE probe_evidence DROP CONSTRAINT probe_evidence_pkey",
            "ALTER TABLE probe_evidence ADD PRIMARY KEY (service_id, source_id, at_us, minute)",
        ),
        dialect="postgresql",
    ),
]

LATEST = len(MIGRATIONS)


async def current_version(db: Conn) -> int:
    """The schema version of an open database (0 for a new, empty one)."""
    if not await db.has_table("schema_version"):
        return 0
    rows = await db.fetchall("SELECT version FROM schema_version")
    return int(rows[0][0]) if rows else 0


async def migrate(db: Conn) -> int:
    """Apply every pending migration; returns the version reached.

    An up-to-date database is only read, so opening it never waits for another
    writer. Otherwise each migration runs in its own transaction, which first
    takes the backend's schema lock (SQLite: ``BEGIN IMMEDIATE`` itself;
    PostgreSQL: an advisory lock) and re-reads the version, so two processes
    upgrading the same database apply each migration once. Statements are
    written for SQLite and translated by the backend (``Conn.ddl``).
    """
    version = await current_version(db)
    while version < LATEST:
        async with db.transaction():
            await db.lock_schema()
            await db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            version = await current_version(db)
            if version < LATEST:
                migration = MIGRATIONS[version]
                if migration.dialect in (None, db.dialect):
                    for statement in migration.statements:
                        await db.execute(db.ddl(statement))
                version += 1
                await db.execute("DELETE FROM schema_version")
                await db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    return version
