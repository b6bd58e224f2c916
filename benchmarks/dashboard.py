"""Dashboard figures with 1,000 services in the database.

Run: ``uv run python benchmarks/dashboard.py``. Prints, never asserts. Targets
(issue 5): under 100 ms per refresh cycle, under 1.5 s to first paint.

The database: 1,000 services probed every 60 s, the current month holding two
days of minutes each (a short outage on every 50th service), a probe state per
service and 30 open cases, at a pinned clock.

What is measured, each the median of several runs:
- start-up to first paint: ``SlawatchApp`` constructed and run headless at
  160x45 until the first snapshot is on screen (config already parsed; the
  read of the database and the first month computation included);
- the refresh worker (``StoreSource.snapshot``) in its three cases: nothing
  committed (one ``PRAGMA data_version``), probe states changed (the cycle that
  runs every second while the agent probes), and the full cycle that recomputes
  every service's month, credits and sparklines (at most every 15 s);
- rendering: ``MainScreen.show`` with a changed snapshot, plus the frame that
  follows, in the running app.
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

from core.config import load_config  # noqa: E402
from core.status import DOWN, UP  # noqa: E402
from core.timeutil import to_minute  # noqa: E402
from store import MinuteRow, ProbeState, Store  # noqa: E402
from tui.app import SlawatchApp  # noqa: E402
from tui.components.main_screen import MainScreen  # noqa: E402
from tui.source import StoreSource  # noqa: E402

SERVICES = 1000
NOW = datetime(2026, 11, 3, 0, 0, tzinfo=UTC)
DAYS = 2

HEADER = """\
[storage]
path = "bench.db"

[[contract]]
name = "std"
profile = "saas-standard"
[contract.priorities]
high = { response = "1h", clock = "24x7" }
"""

SERVICE = """
[[service]]
name = "svc-{i:04d}"
contract = "std"
monthly_fee = "100.00"
[service.probe]
url = "http://127.0.0.1:9/{i}"
interval = "60s"
"""


def pinned() -> datetime:
    return NOW


async def build(folder: Path) -> Path:
    config_path = folder / "config.toml"
    config_path.write_text(HEADER + "".join(SERVICE.format(i=i) for i in range(SERVICES)))
    config = load_config(config_path)
    end = to_minute(NOW)
    start = end - DAYS * 1440
    async with await Store.open(config.storage_path) as store:

        def batches() -> list[list[MinuteRow]]:
            out = []
            for i, name in enumerate(config.services):
                down = range(end - 300, end - 280) if i % 50 == 0 else range(0)
                out.append(
                    [
                        MinuteRow(name, "agent", m, DOWN if m in down else UP, 40 + (m + i) % 30)
                        for m in range(start, end)
                    ]
                )
            return out

        await store.import_minutes(batches())
        for i, name in enumerate(config.services):
            at = NOW - timedelta(seconds=i % 60)
            await store.record_probe(ProbeState(name, "agent", at, UP, 40 + i % 30))
        for i in range(30):
            await store.open_case(
                f"svc-{i * 30:04d}", "high", f"case {i}", NOW - timedelta(minutes=5 * i)
            )
        await store.checkpoint()
    return config_path


async def timed(fn: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await fn()
        out.append(time.perf_counter() - t0)
    return out


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.2f} ms (median of {len(values)})"


async def worker_figures(config_path: Path) -> None:
    config = load_config(config_path)
    source = StoreSource(config)
    writer = await Store.open(config.storage_path)
    tick = [0]

    async def probe_changed() -> None:
        tick[0] += 1
        await writer.record_probe(
            ProbeState("svc-0001", "agent", NOW + timedelta(seconds=tick[0]), UP, 41)
        )

    try:
        await source.snapshot(NOW)
        unchanged = await timed(lambda: source.snapshot(NOW), 20)
        fast = []
        for _ in range(10):
            await probe_changed()
            fast += await timed(lambda: source.snapshot(NOW), 1)
        passes = []
        for _ in range(3):
            t0 = time.perf_counter()
            await asyncio.to_thread(source.months, NOW)
            passes.append(time.perf_counter() - t0)
    finally:
        await writer.close()
        await source.close()
    print(f"refresh cycle (worker), nothing committed:    {ms(unchanged)}")
    print(f"refresh cycle (worker), probe states changed: {ms(fast)}")
    print(f"month pass (thread, every 15 s at most):      {ms(passes)}")


async def app_figures(config_path: Path) -> None:
    config = load_config(config_path)
    starts, complete = [], []
    for _ in range(3):
        app = SlawatchApp(config, now=pinned, refresh_every=3600)
        t0 = time.perf_counter()
        async with app.run_test(size=(160, 45)) as pilot:
            while app.refreshes < 1:
                await pilot.pause(0.005)
            await pilot.pause()
            starts.append(time.perf_counter() - t0)
            while app.month_passes < 1:
                await pilot.pause(0.005)
            await pilot.pause()
            complete.append(time.perf_counter() - t0)
    print(f"start-up to first paint (live states, cases): {ms(starts)}")
    print(f"start-up to month figures on screen:          {ms(complete)}")

    app = SlawatchApp(config, now=pinned, refresh_every=3600)
    async with app.run_test(size=(160, 45)) as pilot:
        while app.month_passes < 1:
            await pilot.pause(0.005)
        main = app.screen
        assert isinstance(main, MainScreen) and app.snapshot is not None
        snap = app.snapshot
        renders, frames = [], []
        for k in range(10):
            later = NOW + timedelta(seconds=k + 1)  # every probe age changes: 1,000 cells
            t0 = time.perf_counter()
            main.show(snap, later, None)
            t1 = time.perf_counter()
            await pilot.pause()
            t2 = time.perf_counter()
            renders.append(t1 - t0)
            frames.append(t2 - t0)
    print(f"render, show() as 1,000 probe ages change:    {ms(renders)}")
    print(f"render, show() plus the next frame:           {ms(frames)}")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        config_path = await build(Path(tmp))
        print(
            f"{SERVICES} services, {DAYS} days of minutes each, seeded in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        await worker_figures(config_path)
        await app_figures(config_path)
    print("targets: refresh cycle < 100 ms, first paint < 1.5 s")


if __name__ == "__main__":
    asyncio.run(main())
