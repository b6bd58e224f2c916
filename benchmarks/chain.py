"""Hash chain and claim costs: prints figures, asserts nothing.

- the time ``store.chain.ChainStore._extend_chains`` adds to importing 50 services x one month
  (the import target is 300,000 rows/s overall), and the import rate with it;
- walking every chain of that database (``slawatch store verify``);
- exporting one service-month's claim bundle and verifying it.

Run: ``uv run python benchmarks/chain.py``
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path, and benchmarks/store.py
# would hide the ``store`` package: put the repository there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from core import bundle  # noqa: E402
from core.claim import verify  # noqa: E402
from core.configfile import parse_config  # noqa: E402
from core.timeutil import YearMonth, to_minute  # noqa: E402
from slawatch import claims  # noqa: E402
from store import chain as store_chain  # noqa: E402
from store.db import Conn  # noqa: E402
from store.rows import MinuteRow  # noqa: E402
from store.sqlite import SqliteStore  # noqa: E402

SERVICES = 50
BATCH = 50_000
MONTH = YearMonth(2026, 10)
CONFIG = """
[storage]
path = "bench.db"

[[contract]]
name = "std"
""" + "".join(
    f'\n[[service]]\nname = "svc{i}"\ncontract = "std"\nmonthly_fee = "1000.00"\n'
    for i in range(SERVICES)
)


def month_rows(service: str) -> list[MinuteRow]:
    start = to_minute(datetime(2026, 10, 1, tzinfo=UTC))
    return [
        MinuteRow(service, "agent", start + i, 3 if i % 997 < 20 else 1, 90 + i % 40, None)
        for i in range(44_640)
    ]


async def main() -> None:
    spent = [0.0]
    extend = store_chain.ChainStore._extend_chains

    async def timed(
        self: store_chain.ChainStore, db: Conn, rows: Sequence[MinuteRow], **known: Any
    ) -> None:
        t = time.perf_counter()
        await extend(self, db, rows, **known)
        spent[0] += time.perf_counter() - t

    store_chain.ChainStore._extend_chains = timed  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "config.toml").write_text(CONFIG, encoding="utf-8")
        config = parse_config(CONFIG, folder / "config.toml")
        rows = [r for i in range(SERVICES) for r in month_rows(f"svc{i}")]
        async with await SqliteStore.open(folder / "bench.db") as store:
            t = time.perf_counter()
            n = await store.import_minutes(rows[i : i + BATCH] for i in range(0, len(rows), BATCH))
            total = time.perf_counter() - t
        store_chain.ChainStore._extend_chains = extend  # type: ignore[method-assign]
        print(f"import {n:,} rows ({SERVICES} services x 1 month): {total:.2f} s,"
              f" {n / total:,.0f} rows/s overall")  # fmt: skip
        print(f"  of which chain extend: {spent[0]:.2f} s ({n / spent[0]:,.0f} rows/s on its own,"
              f" {spent[0] / total:.0%} of the import)")  # fmt: skip
        async with await SqliteStore.open(folder / "bench.db", readonly=True) as store:
            t = time.perf_counter()
            summary = await store.check_chains()
            walk = time.perf_counter() - t
            print(f"store verify: {summary.chains} chains, {summary.hours:,} sealed hours in"
                  f" {walk:.2f} s; broken: {len(summary.breaks)}")  # fmt: skip
            t = time.perf_counter()
            exported = await claims.gather(store, config, "svc0", MONTH, datetime.now(tz=UTC))
            text = bundle.dumps(exported.document)
            export = time.perf_counter() - t
        t = time.perf_counter()
        claim, _ = bundle.parse(text.encode(), "bench.json")
        checks = verify(claim)
        check = time.perf_counter() - t
        print(f"claim export (one service-month): {export * 1000:.0f} ms,"
              f" {len(text) / 1024:.0f} KiB")  # fmt: skip
        print(f"claim verify: {check * 1000:.0f} ms, {len(checks)} checks,"
              f" all hold: {all(c.ok for c in checks)}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
