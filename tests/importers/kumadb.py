"""Uptime Kuma databases built the way Kuma itself lays them out, for the import tests.

The schema is Kuma's real SQLite schema (the tables the importer reads, with
all their columns and Kuma's indexes, plus neighbours a real ``kuma.db``
has): 1.x as its ``db/kuma.db`` template and SQL patches leave it, 2.x with
the knex migrations' additions (``heartbeat.end_time``, ``heartbeat.retries``,
``heartbeat.response``; the ``stat_*`` aggregate tables).

Like Kuma, the builder marks a heartbeat ``important`` by Kuma's own rule
(``Monitor.isImportantBeat``: the first, up <-> down, pending -> down, to or from
maintenance), and for 2.x fills ``stat_daily`` as Kuma's ``UptimeCalculator``
does (per UTC day: ``up`` the up heartbeats, ``down`` the down and pending
ones, maintenance in ``extras``). ``thin_before`` then deletes heartbeats as
Kuma 2.x's daily ``clearHeartbeatData`` does: every one before that time that
is not important, except each monitor's last 100.

Heartbeat times are UTC text, ``YYYY-MM-DD HH:MM:SS`` or with milliseconds
(``.SSS``), as Kuma writes them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DOWN, UP, PENDING, MAINTENANCE = 0, 1, 2, 3

SCHEMA_1X = """
CREATE TABLE user (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    username VARCHAR(255) NOT NULL UNIQUE,
    password VARCHAR(255),
    active BOOLEAN NOT NULL DEFAULT 1,
    timezone VARCHAR(150),
    twofa_secret VARCHAR(64),
    twofa_status BOOLEAN DEFAULT 0 NOT NULL,
    twofa_last_token VARCHAR(6)
);
CREATE TABLE setting (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key VARCHAR(200) NOT NULL UNIQUE,
    value TEXT,
    type VARCHAR(20)
);
CREATE TABLE monitor (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(150),
    active BOOLEAN DEFAULT 1 NOT NULL,
    user_id INTEGER REFERENCES user ON UPDATE CASCADE ON DELETE SET NULL,
    interval INTEGER DEFAULT 20 NOT NULL,
    url TEXT,
    type VARCHAR(20),
    weight INTEGER DEFAULT 2000,
    hostname VARCHAR(255),
    port INTEGER,
    created_date DATETIME DEFAULT (DATETIME('now')) NOT NULL,
    keyword VARCHAR(255),
    maxretries INTEGER NOT NULL DEFAULT 0,
    ignore_tls BOOLEAN DEFAULT 0 NOT NULL,
    upside_down BOOLEAN DEFAULT 0 NOT NULL,
    maxredirects INTEGER DEFAULT 10 NOT NULL,
    accepted_statuscodes_json TEXT DEFAULT '["200-299"]' NOT NULL,
    dns_resolve_type VARCHAR(5),
    dns_resolve_server VARCHAR(255),
    dns_last_result VARCHAR(255),
    retry_interval INTEGER DEFAULT 0 NOT NULL,
    push_token VARCHAR(20) DEFAULT NULL,
    method TEXT DEFAULT 'GET' NOT NULL,
    body TEXT DEFAULT NULL,
    headers TEXT DEFAULT NULL,
    basic_auth_user TEXT DEFAULT NULL,
    basic_auth_pass TEXT DEFAULT NULL,
    docker_host INTEGER,
    docker_container VARCHAR(255),
    proxy_id INTEGER,
    expiry_notification BOOLEAN DEFAULT 1,
    mqtt_topic TEXT,
    mqtt_success_message VARCHAR(255),
    mqtt_username VARCHAR(255),
    mqtt_password VARCHAR(255),
    database_connection_string VARCHAR(2000),
    database_query TEXT,
    auth_method VARCHAR(250),
    auth_domain TEXT,
    auth_workstation TEXT,
    grpc_url VARCHAR(255) DEFAULT NULL,
    grpc_protobuf TEXT DEFAULT NULL,
    grpc_body TEXT DEFAULT NULL,
    grpc_metadata TEXT DEFAULT NULL,
    grpc_method VARCHAR(255) DEFAULT NULL,
    grpc_service_name VARCHAR(255) DEFAULT NULL,
    grpc_enable_tls BOOLEAN DEFAULT 0 NOT NULL,
    radius_username VARCHAR(255),
    radius_password VARCHAR(255),
    radius_calling_station_id VARCHAR(50),
    radius_called_station_id VARCHAR(50),
    radius_secret VARCHAR(255),
    resend_interval INTEGER DEFAULT 0 NOT NULL,
    packet_size INTEGER DEFAULT 56 NOT NULL,
    game VARCHAR(255),
    http_body_encoding VARCHAR(25),
    description TEXT DEFAULT NULL,
    tls_ca TEXT DEFAULT NULL,
    tls_cert TEXT DEFAULT NULL,
    tls_key TEXT DEFAULT NULL,
    parent INTEGER REFERENCES monitor(id) ON DELETE SET NULL ON UPDATE CASCADE,
    invert_keyword BOOLEAN DEFAULT 0 NOT NULL,
    json_path TEXT,
    expected_value VARCHAR(255),
    kafka_producer_topic VARCHAR(255),
    kafka_producer_brokers TEXT,
    kafka_producer_ssl INTEGER,
    kafka_producer_allow_auto_topic_creation VARCHAR(255),
    kafka_producer_sasl_options TEXT,
    kafka_producer_message TEXT,
    oauth_client_id TEXT,
    oauth_client_secret TEXT,
    oauth_token_url TEXT,
    oauth_scopes TEXT,
    oauth_auth_method TEXT
);
CREATE INDEX user_id ON monitor (user_id);
CREATE TABLE heartbeat (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    important BOOLEAN NOT NULL DEFAULT 0,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    status SMALLINT NOT NULL,
    msg TEXT,
    time DATETIME NOT NULL,
    ping INTEGER,
    duration INTEGER NOT NULL DEFAULT 0,
    down_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX important ON heartbeat (important);
CREATE INDEX monitor_id ON heartbeat (monitor_id);
CREATE INDEX monitor_time_index ON heartbeat (monitor_id, time);
CREATE INDEX monitor_important_time_index ON heartbeat (monitor_id, important, time);
CREATE TABLE maintenance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title VARCHAR(150) NOT NULL,
    description TEXT NOT NULL,
    user_id INTEGER REFERENCES user ON DELETE SET NULL ON UPDATE CASCADE,
    active BOOLEAN DEFAULT 1 NOT NULL,
    strategy VARCHAR(50) DEFAULT 'single' NOT NULL,
    start_date DATETIME,
    end_date DATETIME,
    start_time TIME,
    end_time TIME,
    weekdays VARCHAR(250) DEFAULT '[]',
    days_of_month TEXT DEFAULT '[]',
    interval_day INTEGER,
    cron TEXT,
    timezone VARCHAR(255),
    duration INTEGER
);
CREATE TABLE monitor_maintenance (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    maintenance_id INTEGER NOT NULL REFERENCES maintenance(id) ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX maintenance_id_index2 ON monitor_maintenance (maintenance_id);
CREATE INDEX monitor_id_index ON monitor_maintenance (monitor_id);
"""

# Kuma 2.x keeps the same aggregate at three resolutions.
STAT_TABLE = """CREATE TABLE stat_{period} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    monitor_id INTEGER NOT NULL REFERENCES monitor(id) ON DELETE CASCADE ON UPDATE CASCADE,
    timestamp INTEGER NOT NULL,
    ping FLOAT NOT NULL,
    up INTEGER NOT NULL,
    down INTEGER NOT NULL,
    ping_min FLOAT NOT NULL DEFAULT 0,
    ping_max FLOAT NOT NULL DEFAULT 0,
    extras TEXT DEFAULT NULL,
    UNIQUE (monitor_id, timestamp)
);
"""

SCHEMA_2X = (
    SCHEMA_1X
    + """
ALTER TABLE heartbeat ADD COLUMN end_time DATETIME DEFAULT NULL;
ALTER TABLE heartbeat ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE heartbeat ADD COLUMN response TEXT DEFAULT NULL;
"""
    + "".join(STAT_TABLE.format(period=p) for p in ("minutely", "hourly", "daily"))
)


@dataclass(frozen=True)
class Beat:
    monitor_id: int
    at: float  # UTC epoch seconds
    status: int
    ping: int | None = None
    msg: str = ""


def important(first: bool, previous: int | None, current: int) -> bool:
    """Kuma's ``Monitor.isImportantBeat``."""
    return first or (previous, current) in {
        (DOWN, MAINTENANCE),
        (UP, MAINTENANCE),
        (MAINTENANCE, DOWN),
        (MAINTENANCE, UP),
        (UP, DOWN),
        (DOWN, UP),
        (PENDING, DOWN),
    }


def kuma_time(at: float, millis: bool) -> str:
    ts = datetime.fromtimestamp(at, tz=UTC)
    text = ts.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{ts.microsecond // 1000:03d}" if millis else text


def build(
    path: Path,
    monitors: Iterable[tuple[int, str, int, int]],  # id, name, interval s, maxretries
    beats: Iterable[Beat],
    *,
    version: str = "1.x",
    millis: frozenset[int] = frozenset(),  # monitors whose times carry milliseconds
    wal: bool = False,
    thin_before: float | None = None,  # 2.x: Kuma's thinning of older heartbeats
) -> None:
    """Write a Kuma database at ``path`` (Kuma runs SQLite in WAL mode: ``wal``)."""
    db = sqlite3.connect(path)
    try:
        if wal:
            db.execute("PRAGMA journal_mode = WAL")
        db.executescript(SCHEMA_2X if version == "2.x" else SCHEMA_1X)
        db.execute("INSERT INTO user (username, password) VALUES ('admin', 'x')")
        db.executemany(
            "INSERT INTO monitor (id, name, user_id, interval, url, type, maxretries)"
            " VALUES (?, ?, 1, ?, ?, 'http', ?)",
            [(i, n, iv, f"https://{n}.example.com/health", r) for i, n, iv, r in monitors],
        )
        previous: dict[int, int] = {}
        rows = []
        daily: dict[tuple[int, int], list[int]] = {}  # (monitor, day) -> up, down, maintenance
        for b in beats:
            first = b.monitor_id not in previous
            flag = int(important(first, previous.get(b.monitor_id), b.status))
            previous[b.monitor_id] = b.status
            msg = b.msg or ("200 - OK" if b.status == UP else "")
            rows.append((flag, b.monitor_id, b.status, msg, b.at, b.ping))
            counts = daily.setdefault((b.monitor_id, int(b.at) // 86400 * 86400), [0, 0, 0])
            counts[0 if b.status == UP else 2 if b.status == MAINTENANCE else 1] += 1
        # SQLite writes the time text as Kuma does: UTC, with milliseconds or without.
        ms = ",".join(str(i) for i in sorted(millis)) or "NULL"
        db.executemany(
            "INSERT INTO heartbeat (important, monitor_id, status, msg, time, ping, duration)"
            f" VALUES (?1, ?2, ?3, ?4, CASE WHEN ?2 IN ({ms})"
            " THEN strftime('%Y-%m-%d %H:%M:%f', ?5, 'unixepoch')"
            " ELSE strftime('%Y-%m-%d %H:%M:%S', ?5, 'unixepoch') END, ?6, 0)",
            rows,
        )
        if version == "2.x":
            db.executemany(
                "INSERT INTO stat_daily (monitor_id, timestamp, ping, up, down, extras)"
                " VALUES (?, ?, 0, ?, ?, ?)",
                [
                    (m, day, up, down, f'{{"maintenance":{mt}}}' if mt else None)
                    for (m, day), (up, down, mt) in sorted(daily.items())
                ],
            )
        if thin_before is not None:
            cutoff = kuma_time(thin_before, millis=True)
            for (monitor_id,) in db.execute("SELECT id FROM monitor").fetchall():
                db.execute(
                    "DELETE FROM heartbeat WHERE monitor_id = ? AND important = 0 AND time < ?"
                    " AND id NOT IN (SELECT id FROM heartbeat WHERE monitor_id = ?"
                    " ORDER BY time DESC LIMIT 100)",
                    (monitor_id, cutoff, monitor_id),
                )
        db.commit()
    finally:
        db.close()
