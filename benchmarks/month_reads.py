"""One service-month read and computed: the claim export and the detail screen.

Run: ``uv run python benchmarks/month_reads.py``. Prints, never asserts.

The database: 20 services, each with a month (October 2026) of minutes from two
sources, an outage on every 997th minute of one source, three cases and two
exclusions per service. Measured, each the median of several runs on a warm
read-only store:

- ``claim export`` of one service-month: ``claims.gather`` and the JSON text
  (what ``slawatch claim export`` does between opening the store and writing);
- the detail screen's load: ``StoreSource.detail`` for one service-month (what
  the dashboard awaits when a person opens a service).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(REPO))

from core import bundle  # noqa: E402
from core.configfile import load_config  # noqa: E402
from core.timeutil import YearMonth, to_minute  # noqa: E402
from slawatch import claims  # noqa: E402
from store import MinuteRow, open_store  # noqa: E402
from tests.configs import contract, service, toml, weekly  # noqa: E402
from tui.source import StoreSource  # noqa: E402

SERVICES = 20
MONTH = YearMonth(2026, 10)
START = datetime(2026, 10, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 2, 9, tzinfo=UTC)
RUNS = 15

CONFIG = toml(
    storage="bench.db",
    contracts=[contract()],
    services=[
        service(f"svc{i}", maintenance=[weekly("sat", "22:00", "02:00")]) for i in range(SERVICES)
    ],
)


def rows(service: str, source: str, shift: int) -> list[MinuteRow]:
    start = to_minute(START - timedelta(days=2))
    return [
        MinuteRow(service, source, start + i, 3 if (i + shift) % 997 < 20 else 1, 90, None)
        for i in range(47_520)
    ]


async def build(folder: Path) -> Path:
    (folder / "config.toml").write_text(CONFIG, encoding="utf-8")
    config = load_config(folder / "config.toml")
    async with await open_store(config) as store:
        for i in range(SERVICES):
            await store.import_minutes([rows(f"svc{i}", "agent", 0), rows(f"svc{i}", "backup", 3)])
            for day in (3, 11, 19):
                await store.open_case(f"svc{i}", "high", "down", START + timedelta(days=day))
            for day in (5, 31):
                a = to_minute(START + timedelta(days=day) - timedelta(hours=1))
                await store.add_exclusion(f"svc{i}", a, a + 120, "upstream")
    return folder / "config.toml"


async def timed(fn: Callable[[], Awaitable[object]]) -> float:
    await fn()  # warm
    spent = []
    for _ in range(RUNS):
        t = time.perf_counter()
        await fn()
        spent.append(time.perf_counter() - t)
    return statistics.median(spent) * 1000


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config(await build(Path(tmp)))
        async with await open_store(config, readonly=True) as store:

            async def export() -> None:
                exported = await claims.gather(store, config, "svc7", MONTH, NOW)
                bundle.dumps(exported.document)

            ms = await timed(export)
            print(f"claim export (one service-month, 2 sources): {ms:.1f} ms (median of {RUNS})")
        source = StoreSource(config)
        try:
            ms = await timed(lambda: source.detail("svc7", MONTH, NOW))
            print(f"detail screen load (one service-month, 2 sources): {ms:.1f} ms"
                  f" (median of {RUNS})")  # fmt: skip
        finally:
            await source.close()


if __name__ == "__main__":
    asyncio.run(main())
