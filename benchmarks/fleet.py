"""Fleet-mode figures: PostgreSQL ingest, bytes on disk, and the month report against SQLite.

Run: ``uv run python benchmarks/fleet.py``. Starts its own throwaway PostgreSQL
cluster on loopback (``tests/pg.py``), prints, never asserts. Targets (issue 10):

- ingest 100 agents x 1,000 services x one minute (100,000 verdicts, one
  fleet-minute) in under 3 s: each agent's forwarder writes its minute as one
  ``record_minutes`` call (upsert + hash chain), 100 agents over CONNECTIONS
  concurrent connections;
- under 16 bytes per service-minute in PostgreSQL (tables and indexes of minute
  blocks, errors and chain seals, after VACUUM), measured on three agents x
  200 services x one day imported as history;
- the 50-service month report from PostgreSQL within 2x of the same from SQLite.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from core.configfile import parse_config  # noqa: E402
from core.status import DOWN, UP  # noqa: E402
from core.timeutil import YearMonth, to_minute  # noqa: E402
from reads.reports import month_reports  # noqa: E402
from store import MinuteRow, Store  # noqa: E402
from store.postgres import PostgresStore  # noqa: E402
from store.sqlite import SqliteStore  # noqa: E402
from tests.pg import cluster  # noqa: E402

AGENTS = 100
SERVICES = 1000
CONNECTIONS = 8
MONTH = YearMonth(2026, 10)
START = to_minute(datetime(2026, 10, 1, tzinfo=UTC))


def fleet_minute(minute: int) -> list[list[MinuteRow]]:
    """Each agent's verdicts for one minute of every service."""
    return [
        [
            MinuteRow(
                f"svc{s}", f"agent{a}", minute, DOWN if (s + a) % 97 == 0 else UP, 80 + s % 50
            )
            for s in range(SERVICES)
        ]
        for a in range(AGENTS)
    ]


async def ingest(url: str) -> list[float]:
    stores = [await PostgresStore.open(url) for _ in range(CONNECTIONS)]
    try:
        # Warm: every name exists, the chains have a previous hour (the steady state).
        for batch in fleet_minute(START - 60):
            await stores[0].record_minutes(batch)
        times = []
        for i in range(3):
            batches = fleet_minute(START + i)
            t = time.perf_counter()

            async def worker(store: Store, mine: list[list[MinuteRow]]) -> None:
                for batch in mine:
                    await store.record_minutes(batch)

            await asyncio.gather(
                *(worker(s, batches[k::CONNECTIONS]) for k, s in enumerate(stores))
            )
            times.append(time.perf_counter() - t)
        return times
    finally:
        for s in stores:
            await s.close()


async def footprint(url: str) -> float:
    """Bytes per service-minute: 3 agents x 200 services x one day of history."""
    agents, services, minutes = 3, 200, 1440
    async with await PostgresStore.open(url) as store:
        for a in range(agents):
            rows = [
                MinuteRow(
                    f"svc{s}", f"agent{a}", START + m, DOWN if m % 331 == 0 else UP, 90 + m % 40
                )
                for s in range(services)
                for m in range(minutes)
            ]
            await store.import_minutes(rows[i : i + 50_000] for i in range(0, len(rows), 50_000))
    return agents * services * minutes


CONFIG = '[[contract]]\nname = "std"\n' + "".join(
    f'\n[[service]]\nname = "m{i}"\ncontract = "std"\nmonthly_fee = "1000.00"\n' for i in range(50)
)


def month_rows() -> list[MinuteRow]:
    return [
        MinuteRow(f"m{s}", f"agent{a}", START + m, DOWN if (m + s) % 997 < 15 else UP, 100)
        for s in range(50)
        for a in range(3)
        for m in range(44_640)
    ]


async def report_times(store: Store, config_path: Path) -> list[float]:
    config = parse_config(CONFIG, config_path)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        reports = await month_reports(store, config, list(config.services), MONTH)
        times.append(time.perf_counter() - t)
        assert len(reports) == 50
    return times


async def main() -> None:
    with cluster() as pg, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = pg.new_database()
        url = pg.url(db)
        async with await PostgresStore.open(url, init=True):
            pass
        cpu = time.process_time()
        times = await ingest(url)
        cpu = time.process_time() - cpu
        best, median = min(times), statistics.median(times)
        n = AGENTS * SERVICES
        print(f"ingest {AGENTS} agents x {SERVICES} services x 1 minute = {n:,} verdicts over"
              f" {CONNECTIONS} connections: median {median:.2f} s ({n / median:,.0f} verdicts/s),"
              f" best {best:.2f} s (target < 3 s); client CPU {cpu / (len(times) + 1):.2f} s"
              " per fleet-minute")  # fmt: skip

        db2 = pg.new_database()
        url2 = pg.url(db2)
        async with await PostgresStore.open(url2, init=True):
            pass
        service_minutes = await footprint(url2)
        pg.psql("VACUUM FULL minute_blocks; VACUUM FULL minute_errors; VACUUM FULL chain_seals",
                database=db2)  # fmt: skip
        size = int(pg.psql(
            "SELECT pg_total_relation_size('minute_blocks')"
            " + pg_total_relation_size('minute_errors') + pg_total_relation_size('chain_seals')",
            database=db2))  # fmt: skip
        print(
            f"PostgreSQL on disk: {size / service_minutes:.2f} bytes per service-minute"
            f" ({service_minutes:,} service-minutes, {size:,} bytes; target < 16)"
        )

        rows = month_rows()
        db3 = pg.new_database()
        chunks = [rows[i : i + 100_000] for i in range(0, len(rows), 100_000)]
        async with await PostgresStore.open(pg.url(db3), init=True) as store:
            await store.import_minutes(chunks)
        pg.psql("VACUUM ANALYZE", database=db3)
        async with await SqliteStore.open(folder / "s.db") as store:
            await store.import_minutes(chunks)
        async with await PostgresStore.open(pg.url(db3), readonly=True) as store:
            on_pg = statistics.median(await report_times(store, folder / "config.toml"))
        async with await SqliteStore.open(folder / "s.db", readonly=True) as store:
            on_sqlite = statistics.median(await report_times(store, folder / "config.toml"))
        print(
            f"50-service month report (3 agents each): PostgreSQL {on_pg * 1000:.0f} ms,"
            f" SQLite {on_sqlite * 1000:.0f} ms, ratio {on_pg / on_sqlite:.2f}x (target <= 2x)"
        )


if __name__ == "__main__":
    asyncio.run(main())
