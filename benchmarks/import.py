"""Uptime Kuma import rate: 50 monitors x 90 days at one heartbeat a minute.

Run: ``uv run python benchmarks/import.py``. Prints, never asserts. Target
(issue 12): at least 500,000 heartbeats/s for ``slawatch import kuma``.

The database has Kuma's real 1.x schema and indexes (``tests/importers/kumadb``)
and 6,480,000 heartbeats (times with milliseconds, as Kuma writes them; 0.1 %
down, a few pending and maintenance). What is measured:

- the whole command in a subprocess (``slawatch import kuma``: reading,
  folding, the store's upsert and the claims hash chain, one transaction);
- reading and folding alone (``KumaDatabase.minutes`` consumed, nothing
  stored), to show how the time splits between the reader and the store.
"""

from __future__ import annotations

import gc
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from slawatch.importers.kuma import KumaDatabase, KumaStats  # noqa: E402
from tests.configs import contract, service, toml  # noqa: E402
from tests.importers.kumadb import SCHEMA_1X  # noqa: E402

MONITORS = 50  # the service names svc01..svc50
DAYS = 90
BEATS = DAYS * 1440  # per monitor, one every 60 s
START = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())


def build(path: Path) -> int:
    """The database, generated inside SQLite (Python loops would take minutes)."""
    db = sqlite3.connect(path)
    try:
        schema = [s for s in SCHEMA_1X.split(";") if "CREATE INDEX" not in s]
        indexes = [s for s in SCHEMA_1X.split(";") if "CREATE INDEX" in s]
        db.executescript(";".join(schema))
        db.execute("INSERT INTO user (username, password) VALUES ('admin', 'x')")
        db.executemany(
            "INSERT INTO monitor (id, name, user_id, interval, url, type) VALUES (?, ?, 1, 60, ?,"
            " 'http')",
            [(i, f"svc{i:02d}", f"https://svc{i:02d}.example.com/") for i in range(1, 51)],
        )
        # Heartbeat k of a monitor at START + 60 k + 7.250 s; status from a cheap hash:
        # 0.1 % down, 0.05 % pending, 0.05 % maintenance, else up with a ping.
        db.execute(
            f"""
            INSERT INTO heartbeat (important, monitor_id, status, msg, time, ping, duration)
            WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n < {BEATS - 1}),
                 m(id) AS (SELECT id FROM monitor),
                 h AS (SELECT m.id AS id, k.n AS n, ((k.n * 2654435761 + m.id * 40503) % 10000) AS r
                       FROM m, k)
            SELECT 0, id,
                   CASE WHEN r < 10 THEN 0 WHEN r < 15 THEN 2 WHEN r < 20 THEN 3 ELSE 1 END,
                   '', strftime('%Y-%m-%d %H:%M:%f', {START} + 60 * n + 7.25, 'unixepoch'),
                   CASE WHEN r >= 20 THEN 40 + r % 200 END, 0
            FROM h ORDER BY id, n
            """
        )
        for statement in indexes:
            db.execute(statement)
        db.commit()
        return int(db.execute("SELECT count(*) FROM heartbeat").fetchone()[0])
    finally:
        db.close()


def write_config(folder: Path) -> Path:
    services = [service(f"svc{i:02d}", monthly_fee="100.00") for i in range(1, MONITORS + 1)]
    text = toml(storage="slawatch.db", contracts=[contract()], services=services)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def cli(config: Path, *args: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the child, its output)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "slawatch", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, result.stdout.strip()


def read_only(path: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of reading and folding alone."""
    plan = {i: f"svc{i:02d}" for i in range(1, MONITORS + 1)}
    gc.disable()
    try:
        t, c = time.perf_counter(), time.process_time()
        with KumaDatabase(path) as kuma:
            for _batch in kuma.minutes(plan, source="kuma", stats=KumaStats()):
                pass
        return time.perf_counter() - t, time.process_time() - c
    finally:
        gc.enable()


def main() -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} CPUs (figures scale with a busy machine)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        kuma = folder / "kuma.db"
        t = time.perf_counter()
        beats = build(kuma)
        size = kuma.stat().st_size / 1e6
        print(
            f"{MONITORS} monitors x {DAYS} days at 60 s = {beats:,} heartbeats"
            f" ({size:.0f} MB kuma.db, built in {time.perf_counter() - t:.1f} s)"
        )
        reading, cpu = read_only(kuma)
        print(
            f"read + fold only:         {beats / reading:11,.0f} heartbeats/s ({reading:.2f} s);"
            f" {beats / cpu:11,.0f} per CPU-second ({cpu:.2f} s)"
        )
        seconds, cpu, summary = cli(write_config(folder), "import", "kuma", str(kuma))
        print(
            f"import kuma (CLI, whole): {beats / seconds:11,.0f} heartbeats/s ({seconds:.2f} s);"
            f" {beats / cpu:11,.0f} per CPU-second ({cpu:.2f} s)"
        )
        print(f"  {summary}")
        print(
            "target: >= 500,000 heartbeats/s (wall; on a busy machine the wall rate counts"
            " the other work too; per CPU-second is the rate with a core to itself and no"
            " I/O wait, an estimate, not a wall figure)"
        )


if __name__ == "__main__":
    main()
