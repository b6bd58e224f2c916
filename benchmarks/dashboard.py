"""Dashboard figures with 1,000 services in the database.

Run: ``uv run python benchmarks/dashboard.py``. Prints, never asserts. Targets
(issue 5): under 100 ms per refresh cycle, under 1.5 s to first paint.

The database: 1,000 services probed every 60 s, the current month holding two
days of minutes each (a short outage on every 50th service), a probe state per
service and 30 open cases, at a pinned clock.

What is measured, each the median of several runs:
- start-up to first paint: ``SlawatchApp`` constructed and run headless at
  160x45 until the compositor has drawn the first frame that holds the first
  snapshot (config already parsed; live states and cases; the month figures
  follow from the month pass);
- the refresh worker (``StoreSource.snapshot``) in its cases: nothing
  committed (one ``PRAGMA data_version``) and probe states changed (the cycle
  that runs every second while the agent probes);
- the month pass (a thread, at most every 15 s): full (every service, at
  start-up, every 5 minutes and after a write of the dashboard's own) and
  incremental (only services whose minutes, cases or windows changed; here one);
- rendering: ``MainScreen.show`` with every probe age changed, and the
  compositor frame that follows (timed inside the screen's update, so the
  test pilot's idle-waiting is not counted).
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

from core.configfile import load_config  # noqa: E402
from core.status import DOWN, UP  # noqa: E402
from core.timeutil import to_minute  # noqa: E402
from store import MinuteRow, ProbeState, open_store  # noqa: E402
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
    async with await open_store(config) as store:

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


async def worker_figures(config_path: Path) -> float:
    config = load_config(config_path)
    source = StoreSource(config)
    writer = await open_store(config)
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
            await asyncio.to_thread(source.months, NOW, full=True)
            passes.append(time.perf_counter() - t0)
        incremental, recomputed = [], set()
        for k in range(3):
            minute = to_minute(NOW) - 1
            await writer.record_minutes([MinuteRow("svc-0002", "agent", minute, DOWN, 50 + k)])
            await probe_changed()
            t0 = time.perf_counter()
            await asyncio.to_thread(source.months, NOW)
            incremental.append(time.perf_counter() - t0)
            recomputed.add(source.recomputed)
    finally:
        await writer.close()
        await source.close()
    print(f"refresh worker, nothing committed:            {ms(unchanged)}")
    print(f"refresh worker, probe states changed:         {ms(fast)}")
    print(f"month pass, full (thread):                    {ms(passes)}")
    print(
        f"month pass, one service changed (thread):     {ms(incremental)}"
        f", recomputed {sorted(recomputed)} of {SERVICES}"
    )
    return statistics.median(fast)


class Frames:
    """Times every compositor frame of the main screen (benchmark instrumentation)."""

    def __init__(self) -> None:
        self.drawn: list[tuple[float, float]] = []  # (finished at, seconds spent)
        original = MainScreen._compositor_refresh

        def timed(screen: MainScreen) -> None:
            t0 = time.perf_counter()
            original(screen)
            t1 = time.perf_counter()
            self.drawn.append((t1, t1 - t0))

        MainScreen._compositor_refresh = timed  # type: ignore[method-assign]


async def app_figures(config_path: Path, worker: float) -> None:
    config = load_config(config_path)
    frames = Frames()
    starts, complete = [], []
    for _ in range(3):
        app = SlawatchApp(config, now=pinned, refresh_every=3600)
        t0 = time.perf_counter()
        async with app.run_test(size=(160, 45)) as pilot:
            while app.refreshes < 1:
                await pilot.pause(0.005)
            shown = time.perf_counter()
            while not frames.drawn or frames.drawn[-1][0] < shown:
                await pilot.pause(0.005)
            starts.append(next(t for t, _ in frames.drawn if t >= shown) - t0)
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
        await pilot.pause()
        main = app.screen
        assert isinstance(main, MainScreen) and app.snapshot is not None
        snap = app.snapshot
        renders, painted, waited = [], [], []
        for k in range(10):
            later = NOW + timedelta(seconds=k + 1)  # every probe age changes: 1,000 cells
            frames.drawn.clear()
            t0 = time.perf_counter()
            main.show(snap, later, None)
            t1 = time.perf_counter()
            await pilot.pause()
            waited.append(time.perf_counter() - t0)
            renders.append(t1 - t0)
            painted.append(t1 - t0 + sum(spent for _, spent in frames.drawn))
    print(f"render, show() as 1,000 probe ages change:    {ms(renders)}")
    print(f"render, show() plus the frame it causes:      {ms(painted)}")
    print(f"  (wall time to the pilot seeing idle:        {ms(waited)})")
    cycle = worker + statistics.median(painted)
    print(f"refresh cycle, worker + render + frame:       {cycle * 1000:8.2f} ms")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        config_path = await build(Path(tmp))
        print(
            f"{SERVICES} services, {DAYS} days of minutes each, seeded in "
            f"{time.perf_counter() - t0:.1f} s"
        )
        worker = await worker_figures(config_path)
        await app_figures(config_path, worker)
    print("targets: refresh cycle < 100 ms, first paint < 1.5 s")


if __name__ == "__main__":
    asyncio.run(main())
