"""Fleet-mode figures: PostgreSQL ingest, bytes on disk, and the month report against SQLite.

Run: ``uv run python benchmarks/fleet.py [--runs N] [--window A,B] [--only ...]``
(``--only`` some of ingest,agents,alone,bytes,report).
Starts its own throwaway PostgreSQL cluster on loopback (``tests/pg.py``), prints,
never asserts. The machine is shared: every figure is printed with the load average
beside it. Targets (issue 10):

- ingest 100 agents x 1,000 services x one minute (100,000 verdicts, one
  fleet-minute) in under 3 s, every fleet-minute: the ingest runs through the turn
  of an hour, every minute from ``A`` to ``B`` of it (``--window``, default -10,15:
  from ten minutes before the hour to past the last minute in which an agent closes
  the hour before, ``store.chain.close_minute``), ``--runs`` such turns, and prints
  each minute and a summary: the steady minutes (those outside minutes 0 to
  ``CLOSE_SPREAD`` of the hour), those minutes, and the worst minute of the whole
  window (wall, PostgreSQL's CPU, the clients'). Each agent's forwarder writes its
  minute as one ``record_minutes`` call (blocks, errors and hash chain in one transaction),
  100 agents over ``CONNECTIONS`` concurrent connections. All 100 agents' client
  work runs in this one process on the same box as PostgreSQL, so the wall time is
  the worst case; in a fleet each agent does its own share on its own server. So
  the CPU is printed apart: PostgreSQL's (its processes, from /proc) and the
  clients'. What the central database must carry is the former. The process
  tunes its garbage collector as each agent's forwarder does (``tune_gc``).
  ``ingest`` writes as the database's owner over ``CONNECTIONS`` connections;
  ``agents`` writes as a fleet does, each agent logged in as its own role
  (``store.postgres.roles``: row-level security on every row) over a connection
  of its own, ``CONNECTIONS`` at a time.
- ``alone``: one agent's client work per minute as its own server does it: one
  agent's forwarder alone in its process (its own connection, one write at a time,
  its own memory of the last write), through the same window. In ``ingest`` the
  100 agents' writes share one process, eight at a time, beside the other agents'
  memories: the garbage collector there does work a lone agent does not (its
  collections are counted and printed here).
- under 16 bytes per service-minute in PostgreSQL (tables and indexes of minute
  blocks, errors and chain seals): as imported history after VACUUM FULL, and as
  written minute by minute by agents (every minute rewrites its hour's block and
  seal) after a plain VACUUM, the steady state autovacuum keeps.
- the 50-service month report from PostgreSQL within 2x of the same from SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from agent.forwarder import tune_gc  # noqa: E402
from core.configfile import parse_config  # noqa: E402
from core.status import DOWN, UP  # noqa: E402
from core.timeutil import YearMonth, to_minute  # noqa: E402
from reads.reports import month_reports  # noqa: E402
from store import MinuteRow, Store  # noqa: E402
from store.chain import CLOSE_SPREAD  # noqa: E402
from store.postgres import PostgresStore  # noqa: E402
from store.sqlite import SqliteStore  # noqa: E402
from tests.configs import contract, service, toml  # noqa: E402
from tests.pg import Cluster, cluster  # noqa: E402
from tests.tools import proc_stats  # noqa: E402

AGENTS = 100
SERVICES = 1000
CONNECTIONS = 8
MONTH = YearMonth(2026, 10)
START = to_minute(datetime(2026, 10, 1, tzinfo=UTC))
TICKS = os.sysconf("SC_CLK_TCK")


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def server_cpu(pg: Cluster) -> float:
    """CPU seconds used so far by the cluster's processes: the postmaster's own, its
    live children's, and (cutime, cstime) those of its children that have exited: a
    backend whose connection closed between two readings counts too."""
    postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
    total = 0
    for pid, fields in proc_stats():
        if pid == postmaster:
            total += sum(map(int, fields[11:15]))  # utime, stime, cutime, cstime
        elif int(fields[1]) == postmaster:
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def fleet_minute(minute: int, agents: range = range(AGENTS)) -> list[list[MinuteRow]]:
    """Each agent's verdicts for one minute of every service (one in 97 down, with an
    error class, as a real failing probe records it)."""
    return [
        [
            MinuteRow(
                f"svc{s}",
                f"agent{a}",
                minute,
                DOWN if (s + a) % 97 == 0 else UP,
                None if (s + a) % 97 == 0 else 80 + s % 50,
                "status:503" if (s + a) % 97 == 0 else None,
            )
            for s in range(SERVICES)
        ]
        for a in agents
    ]


async def ingest(
    pg: Cluster, database: str, runs: int, window: tuple[int, int], *, as_agents: bool
) -> None:
    """``runs`` turns of an hour, each the fleet-minutes ``window`` (from its first to
    its last minute, relative to the hour's start), each agent's minute one
    ``record_minutes`` call, at most ``CONNECTIONS`` at a time. ``as_agents``: each
    agent over a connection of its own,
    logged in as its own role (``store.postgres.roles``: row-level security checks
    every row it writes), as in a fleet; else over ``CONNECTIONS`` connections of the
    database's owner, whom the policies do not apply to."""
    if as_agents:
        stores = [
            await PostgresStore.open(pg.url(database, user=f"agent{a}")) for a in range(AGENTS)
        ]
        who = f"as {AGENTS} agent roles under row-level security, one connection each"
    else:
        shared = [await PostgresStore.open(pg.url(database)) for _ in range(CONNECTIONS)]
        stores = [shared[a % CONNECTIONS] for a in range(AGENTS)]
        who = f"as the database's owner over {CONNECTIONS} connections"
    tune_gc()  # as each agent's forwarder does once started (agent/forwarder.py)

    async def worker(k: int, batches: list[list[MinuteRow]]) -> None:
        for a in range(k, AGENTS, CONNECTIONS):
            await stores[a].record_minutes(batches[a])

    async def one(minute: int) -> tuple[float, float, float]:
        batches = fleet_minute(minute)
        # A forwarder's process holds one agent's minute, not a hundred: the other
        # 99,000 rows made here are kept out of the collector's scans (frozen; still
        # freed when dropped), so that it works as it does in each agent's process.
        gc.freeze()
        cpu, server = time.process_time(), server_cpu(pg)
        t = time.perf_counter()
        await asyncio.gather(*(worker(k, batches) for k in range(CONNECTIONS)))
        return time.perf_counter() - t, time.process_time() - cpu, server_cpu(pg) - server

    first, last = window
    try:
        # Warm: every name exists, the chains have a previous hour, closed and logged
        # (the steady state: minute 11 of an hour is past every agent's close minute),
        # and each agent's connection has seen its statements (as a forwarder's has).
        for m in (*range(-120, -117), *range(-49, -46)):
            await one(START + m)
        print(f"ingest {who}, {load()} before")
        steady: list[tuple[float, float, float]] = []
        worst: tuple[float, float, float, int] | None = None
        turned = []
        for run in range(runs):
            hour = START + 60 * run
            for m in range(first, last + 1):
                wall, client, server = await one(hour + m)
                if 0 <= m % 60 <= CLOSE_SPREAD:
                    turned.append((wall, client, server))
                else:
                    steady.append((wall, client, server))
                if worst is None or wall > worst[0]:
                    worst = (wall, client, server, m)
                print(
                    f"  turn {run + 1} minute {m:+d}: {wall:.2f} s wall"
                    f" ({AGENTS * SERVICES / wall:,.0f} verdicts/s); CPU: PostgreSQL"
                    f" {server:.2f} s, clients {client:.2f} s ({client / AGENTS * 1000:.0f} ms"
                    f" per agent-minute); {load()}"
                )
        print(f"ingest {AGENTS} agents x {SERVICES:,} services x 1 minute ="
              f" {AGENTS * SERVICES:,} verdicts {who}, minutes {first:+d} to {last:+d} of"
              f" {runs} turn(s) of the hour (target < 3 s wall, every minute):")  # fmt: skip
        for name, figures in (
            (f"steady (outside minutes 0-{CLOSE_SPREAD})", steady),
            (f"minutes 0-{CLOSE_SPREAD} (new hour, closes)", turned),
        ):
            if figures:
                print(f"  {name}: {_spread(figures)}")
        if worst is not None:
            print(
                f"  WORST minute of the window: {worst[3]:+d}, {worst[0]:.2f} s wall"
                f" (PostgreSQL {worst[2]:.2f} s, clients {worst[1]:.2f} s); {load()}"
            )
    finally:
        for store in set(stores):
            await store.close()


async def alone(pg: Cluster, database: str, runs: int, window: tuple[int, int]) -> None:
    """One agent (``agent7``) writing its minutes of ``SERVICES`` services alone, as its
    forwarder does; the client CPU of each write, steady minutes and minutes 0 to
    ``CLOSE_SPREAD`` apart, and the collector's collections meanwhile."""
    agent = 7
    gc.collect()
    tune_gc()
    collections = [0, 0, 0]

    def counted(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections[info["generation"]] += 1

    async def one(store: Store, minute: int) -> float:
        rows = fleet_minute(minute, agents=range(agent, agent + 1))[0]
        cpu = time.process_time()
        await store.record_minutes(rows)
        return time.process_time() - cpu

    first, last = window
    async with await PostgresStore.open(pg.url(database)) as store:
        for m in (*range(-120, -117), *range(-49, -46)):  # warm, as ``ingest``
            await one(store, START + m)
        print(f"one agent alone, {load()} before")
        steady: list[float] = []
        turned: list[float] = []
        gc.callbacks.append(counted)
        try:
            for run in range(runs):
                for m in range(first, last + 1):
                    cpu = await one(store, START + 60 * run + m)
                    (turned if 0 <= m % 60 <= CLOSE_SPREAD else steady).append(cpu * 1000)
        finally:
            gc.callbacks.remove(counted)

    print(
        f"one agent's forwarder alone ({SERVICES:,} services, its own connection, one write"
        f" at a time), client CPU per minute, minutes {first:+d} to {last:+d} of {runs}"
        " turn(s):"
    )
    for name, values in (
        (f"steady (outside minutes 0-{CLOSE_SPREAD})", steady),
        (f"minutes 0-{CLOSE_SPREAD} (new hour, closes)", turned),
    ):
        if values:
            print(f"  {name}: {_median_range(values, 'ms', 1)}")
    print(f"  garbage collections meanwhile (generations 0, 1, 2): {collections}; {load()}")


def _spread(figures: list[tuple[float, float, float]]) -> str:
    """Wall, PostgreSQL and client CPU of (wall, client, server) fleet-minutes: range, median."""

    def one(values: list[float]) -> str:
        return _median_range(values, "s", 2)

    return (
        f"wall {one([f[0] for f in figures])}; CPU per fleet-minute: PostgreSQL"
        f" {one([f[2] for f in figures])}, clients {one([f[1] for f in figures])}"
    )


def _median_range(values: list[float], unit: str, digits: int) -> str:
    """Figures' range and median: '1.35-1.82 s (median 1.52)'."""
    low, high, median = min(values), max(values), statistics.median(values)
    return f"{low:.{digits}f}-{high:.{digits}f} {unit} (median {median:.{digits}f})"


def on_disk(pg: Cluster, database: str) -> int:
    return int(
        pg.psql(
            "SELECT pg_total_relation_size('minute_blocks')"
            " + pg_total_relation_size('minute_errors') + pg_total_relation_size('chain_seals')",
            database=database,
        )
    )


async def footprint(pg: Cluster) -> None:
    """Bytes per service-minute, imported and compacted, and written by agents."""
    agents, services, minutes = 3, 200, 1440
    database = pg.new_database()
    async with await PostgresStore.open(pg.url(database), init=True) as store:
        for a in range(agents):
            rows = [
                MinuteRow(
                    f"svc{s}", f"agent{a}", START + m, DOWN if m % 331 == 0 else UP, 90 + m % 40
                )
                for s in range(services)
                for m in range(minutes)
            ]
            await store.import_minutes(rows[i : i + 50_000] for i in range(0, len(rows), 50_000))
    for table in ("minute_blocks", "minute_errors", "chain_seals"):
        pg.psql(f"VACUUM FULL {table}", database=database)
    n = agents * services * minutes
    size = on_disk(pg, database)
    print(
        f"PostgreSQL on disk, imported and compacted: {size / n:.2f} bytes per service-minute"
        f" ({n:,} service-minutes, {size:,} bytes; target < 16); {load()}"
    )

    # Written as agents write it: every minute rewrites its hour's block and seal.
    # The figure is the growth from hour 6 to hour 12 (so the fixed cost of small
    # tables does not count), with a plain VACUUM every hour as autovacuum would run.
    agents, services = 3, 50
    database = pg.new_database()
    sizes = []
    async with await PostgresStore.open(pg.url(database), init=True) as store:
        for m in range(720):
            for a in range(agents):
                await store.record_minutes(
                    [
                        MinuteRow(f"svc{s}", f"agent{a}", START + m, UP, 90 + m % 40)
                        for s in range(services)
                    ]
                )
            if (m + 1) % 60 == 0:  # autovacuum's pace, at the least, in a busy database
                for table in ("minute_blocks", "minute_errors", "chain_seals"):
                    pg.psql(f"VACUUM {table}", database=database)
            if m + 1 in (360, 720):
                sizes.append(on_disk(pg, database))
    n = agents * services * 360
    print(
        f"PostgreSQL on disk, written minute by minute by {agents} agents x {services}"
        f" services, growth from hour 6 to hour 12, VACUUM hourly:"
        f" {(sizes[1] - sizes[0]) / n:.2f} bytes per service-minute ({n:,} service-minutes,"
        f" {sizes[1] - sizes[0]:,} bytes; target < 16); {load()}"
    )


CONFIG = toml(contracts=[contract()], services=[service(f"m{i}") for i in range(50)])


def month_rows() -> list[MinuteRow]:
    return [
        MinuteRow(f"m{s}", f"agent{a}", START + m, DOWN if (m + s) % 997 < 15 else UP, 100)
        for s in range(50)
        for a in range(3)
        for m in range(44_640)
    ]


async def report_times(
    store: Store, config_path: Path, pg: Cluster | None = None
) -> tuple[list[float], float, float]:
    """Five reports: their wall times, and the median CPU of this process and (``pg``)
    of the PostgreSQL server per report."""
    config = parse_config(CONFIG, config_path)
    times, client, server = [], [], []
    for _ in range(5):
        cpu, served = time.process_time(), 0.0 if pg is None else server_cpu(pg)
        t = time.perf_counter()
        reports = await month_reports(store, config, list(config.services), MONTH)
        times.append(time.perf_counter() - t)
        client.append(time.process_time() - cpu)
        server.append(0.0 if pg is None else server_cpu(pg) - served)
        assert len(reports) == 50
    return times, statistics.median(client), statistics.median(server)


async def report(pg: Cluster, folder: Path) -> None:
    rows = month_rows()
    database = pg.new_database()
    chunks = [rows[i : i + 100_000] for i in range(0, len(rows), 100_000)]
    async with await PostgresStore.open(pg.url(database), init=True) as store:
        await store.import_minutes(chunks)
    pg.psql("VACUUM ANALYZE", database=database)
    async with await SqliteStore.open(folder / "s.db") as store:
        await store.import_minutes(chunks)
    del rows, chunks  # 6.7 million rows the collector would otherwise walk while timing
    gc.collect()
    for _ in range(3):  # alternate, so both see the same load
        async with await PostgresStore.open(pg.url(database), readonly=True) as store:
            on_pg, pg_client, pg_server = await report_times(store, folder / "config.toml", pg)
        async with await SqliteStore.open(folder / "s.db", readonly=True) as store:
            on_sqlite, sqlite_client, _ = await report_times(store, folder / "config.toml")
        p, s = statistics.median(on_pg), statistics.median(on_sqlite)
        print(
            f"50-service month report (3 agents each), median of 5: PostgreSQL {p * 1000:.0f} ms"
            f" ({min(on_pg) * 1000:.0f}-{max(on_pg) * 1000:.0f}; CPU: this process"
            f" {pg_client * 1000:.0f} ms, PostgreSQL {pg_server * 1000:.0f} ms), SQLite"
            f" {s * 1000:.0f} ms ({min(on_sqlite) * 1000:.0f}-{max(on_sqlite) * 1000:.0f};"
            f" CPU {sqlite_client * 1000:.0f} ms), ratio {p / s:.2f}x (target <= 2x); {load()}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="turns of the hour to ingest (1)")
    parser.add_argument(
        "--window",
        default="-10,15",
        help="the minutes of each turn to ingest, relative to the hour's start (-10,15)",
    )
    parser.add_argument(
        "--only",
        default="ingest,agents,alone,bytes,report",
        help="which figures (comma-separated)",
    )
    args = parser.parse_args()
    parts = set(args.only.split(","))
    first, last = (int(x) for x in args.window.split(","))
    if not -45 <= first <= last < 45:  # after the warm-up, before the next window
        parser.error("--window: A,B with -45 <= A <= B < 45")
    print(f"{os.cpu_count()} CPUs, {load()}")
    with cluster() as pg, tempfile.TemporaryDirectory() as tmp:
        if "ingest" in parts:
            database = pg.new_database()
            async with await PostgresStore.open(pg.url(database), init=True):
                pass
            await ingest(pg, database, args.runs, (first, last), as_agents=False)
        if "agents" in parts:  # the same, each agent logged in as its own role
            pg.psql(f"ALTER SYSTEM SET max_connections = {AGENTS + 20}")  # one per agent
            pg.stop()
            pg.start()
            database = pg.new_database()
            async with await PostgresStore.open(pg.url(database), init=True) as store:
                await store.apply_roles()
            for a in range(AGENTS):
                pg.psql(f'CREATE ROLE "agent{a}" LOGIN IN ROLE slawatch_agent', database)
            await ingest(pg, database, args.runs, (first, last), as_agents=True)
        if "alone" in parts:
            database = pg.new_database()
            async with await PostgresStore.open(pg.url(database), init=True):
                pass
            await alone(pg, database, args.runs, (first, last))
        if "bytes" in parts:
            await footprint(pg)
        if "report" in parts:
            await report(pg, Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
