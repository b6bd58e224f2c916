"""Store and command-line figures for 50 services x one month (October 2026).

Run: ``uv run python benchmarks/store.py``. Prints, never asserts. Targets
(issue 3): import >= 300,000 rows/s, <= 40 bytes on disk per service-minute,
``report`` for all 50 services < 300 ms beyond process start; ``status --json``
is shown for comparison.

What is measured:
- import through the real CLI (``slawatch import minutes``: CSV parsing, the
  store's upsert and the claims hash chain, one transaction), and the store's
  ``import_minutes`` alone on rows already in memory;
- the database file size after a WAL checkpoint, per service-minute;
- ``report --month 2026-10 --format json`` and ``status --json`` wall time,
  less the start of a bare ``python -c pass`` (the median of several runs each),
  with compiled bytecode cached as an installed slawatch has it (a private
  ``PYTHONPYCACHEPREFIX``; a first run fills it), even where the environment
  sets ``PYTHONDONTWRITEBYTECODE``, which would add compiling ~130 modules to
  every run; ``report --help`` shows the cost of start-up alone;
- ``Store.record_minutes`` as the agent calls it: one minute of all 50
  services per call, on top of three days of history (wall ms per call, CPU
  ms per row).
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and this file (store.py)
# would hide the ``store`` package: put the repository there instead.
REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from core.configfile import load_config  # noqa: E402
from core.status import DOWN, UP  # noqa: E402
from core.timeutil import YearMonth  # noqa: E402
from reads.reports import month_report  # noqa: E402
from store import MinuteRow, open_store  # noqa: E402
from store.sqlite import SqliteStore  # noqa: E402
from tests.configs import contract, service, toml  # noqa: E402

SERVICES = 50
MONTH = YearMonth(2026, 10)
START = datetime(2026, 10, 1, tzinfo=UTC)
MINUTES = 44_640
RUNS = 5


def names() -> list[str]:
    return [f"svc{i:02d}" for i in range(SERVICES)]


def write_config(folder: Path) -> Path:
    services = [service(n) for n in names()]
    text = toml(storage="slawatch.db", contracts=[contract()], services=services)
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def outage_minutes(rng: random.Random) -> set[int]:
    """About a dozen outages of 1-90 minutes in the month."""
    down: set[int] = set()
    for _ in range(rng.randint(5, 20)):
        start = rng.randrange(MINUTES)
        down.update(range(start, min(MINUTES, start + rng.randint(1, 90))))
    return down


def write_csv(path: Path) -> int:
    rng = random.Random(3)
    stamps = [(START + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(MINUTES)]
    with path.open("w", encoding="utf-8") as f:
        f.write("service,minute,status,latency_ms\n")
        for name in names():
            down = outage_minutes(rng)
            f.writelines(
                f"{name},{stamp},{'down' if i in down else 'up'},{rng.randint(20, 400)}\n"
                for i, stamp in enumerate(stamps)
            )
    return SERVICES * MINUTES


def cli(config: Path, *args: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "slawatch", "--config", str(config), *args],
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    return time.perf_counter() - t


def bare_start() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t


def median(f: Callable[[], float], runs: int = RUNS) -> float:
    return statistics.median(f() for _ in range(runs))


async def store_import(path: Path) -> float:
    rng = random.Random(4)
    start = int(START.timestamp()) // 60
    batches = [
        [
            MinuteRow(name, "agent", start + i, DOWN if rng.random() < 0.001 else UP, 80)
            for i in range(MINUTES)
        ]
        for name in names()
    ]
    async with await SqliteStore.open(path) as store:
        gc.disable()  # as ``slawatch import`` does
        try:
            t = time.perf_counter()
            await store.import_minutes(batches)
            return time.perf_counter() - t
        finally:
            gc.enable()


async def agent_writes(path: Path, calls: int = 120) -> tuple[float, float]:
    """(wall ms per call, CPU ms per row) of record_minutes, one minute of 50 services a call."""
    start = int(START.timestamp()) // 60
    history = [MinuteRow(n, "agent", start + m, UP, 80) for n in names() for m in range(3 * 1440)]
    async with await SqliteStore.open(path) as store:
        await store.import_minutes([history])
        wall, cpu = time.perf_counter(), time.process_time()
        for k in range(calls):
            minute = start + 3 * 1440 + k
            await store.record_minutes(
                [
                    MinuteRow(n, "agent", minute, DOWN if i == 7 else UP, 90,
                              "timeout" if i == 7 else None)
                    for i, n in enumerate(names())
                ]
            )  # fmt: skip
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return wall / calls * 1000, cpu / (calls * SERVICES) * 1000


async def reports_in_process(config_path: Path) -> float:
    config = load_config(config_path)

    async def once() -> float:
        async with await open_store(config, readonly=True) as store:
            t = time.perf_counter()
            for name in config.services:
                await month_report(store, config, name, MONTH)
            return time.perf_counter() - t

    return statistics.median([await once() for _ in range(RUNS)])


def main() -> None:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} CPUs (figures scale with a busy machine)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        # Subprocesses cache bytecode here, as an installed slawatch has it.
        os.environ["PYTHONPYCACHEPREFIX"] = str(folder / "pyc")
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        config = write_config(folder)
        csv_path = folder / "minutes.csv"
        rows = write_csv(csv_path)
        size_mb = csv_path.stat().st_size / 1e6
        print(f"{SERVICES} services x {MINUTES} minutes = {rows:,} rows ({size_mb:.0f} MB of CSV)")

        seconds = cli(config, "import", "minutes", str(csv_path), "--source", "agent")
        print(f"import (CLI, whole process):   {rows / seconds:10,.0f} rows/s  ({seconds:.2f} s)")
        in_store = asyncio.run(store_import(folder / "store-only.db"))
        print(f"import (Store.import_minutes): {rows / in_store:10,.0f} rows/s  ({in_store:.2f} s)")

        async def checkpoint() -> None:
            async with await SqliteStore.open(folder / "slawatch.db") as store:
                await store.checkpoint()

        asyncio.run(checkpoint())
        size = (folder / "slawatch.db").stat().st_size
        print(f"bytes on disk per service-minute: {size / rows:.2f}  ({size / 1e6:.1f} MB)")

        per_call, per_row = asyncio.run(agent_writes(folder / "agent.db"))
        print(
            f"record_minutes (agent, 50 rows): {per_call:6.1f} ms per call, "
            f"{per_row:.3f} ms CPU per row"
        )
        in_process = asyncio.run(reports_in_process(config))
        print(f"50 month reports in process:    {in_process * 1000:7.0f} ms  (reads.reports only)")
        base = median(bare_start)
        cli(config, "report", "--month", str(MONTH), "--format", "json")  # fills the pyc cache
        cli(config, "status", "--json")
        start_up = median(lambda: cli(config, "report", "--help"))
        report = median(lambda: cli(config, "report", "--month", str(MONTH), "--format", "json"))
        status = median(lambda: cli(config, "status", "--json"))
        print(f"bare python start:              {base * 1000:7.0f} ms")
        print(
            f"report --help (start-up alone): {start_up * 1000:7.0f} ms"
            f"  ({(start_up - base) * 1000:.0f} ms beyond process start)"
        )
        print(
            f"report --month, 50 services:    {report * 1000:7.0f} ms"
            f"  ({(report - base) * 1000:.0f} ms beyond process start)"
        )
        print(
            f"status --json:                  {status * 1000:7.0f} ms"
            f"  ({(status - base) * 1000:.0f} ms beyond process start)"
        )


if __name__ == "__main__":
    main()
