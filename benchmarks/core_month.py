"""How long the month engine takes: one month and one year of one service.

Run: ``uv run python benchmarks/core_month.py``. The target is well under 10 ms
per month of 44,640 minutes. The data is a realistic worst case: two sources
that disagree now and then, a few hundred outages, weekly maintenance, one-off
windows and support cases.
"""

from __future__ import annotations

import random
import statistics
import time
from pathlib import Path

from core.cases import Case
from core.config import Config
from core.configfile import parse_config
from core.month import MonthReport, compute_month
from core.status import DEGRADED, DOWN, UNKNOWN, UP
from core.timeutil import YearMonth, from_minute
from core.windows import Window

CONFIG = """
[[contract]]
name = "paris"
timezone = "Europe/Paris"

[[service]]
name = "portal"
contract = "paris"
monthly_fee = "1000.00"
[[service.maintenance]]
day = "sat"
from = "22:00"
to = "04:00"
"""


def source(rng: random.Random, length: int) -> bytes:
    """Mostly up, with ~300 outages a month, some degraded runs and gaps."""
    data = bytearray([UP]) * length
    for _ in range(length // 150):
        start = rng.randrange(length)
        code = rng.choice((DOWN, DOWN, DEGRADED, UNKNOWN))
        n = rng.randint(1, 30)
        data[start : start + n] = bytes([code]) * len(data[start : start + n])
    return bytes(data)


def inputs(
    cfg: Config, month: YearMonth, rng: random.Random
) -> tuple[int, dict[str, bytes], list[Window], list[Case]]:
    contract = cfg.contract_for("portal")
    start, end = month.bounds(contract.timezone)
    span_start = start - 3 * 1440  # a few days of the previous month
    length = end - span_start
    sources = {"eu": source(rng, length), "us": source(rng, length), "asia": source(rng, length)}
    windows = [
        Window(start + d * 1440, start + d * 1440 + 90, "exclusion", "upstream") for d in (3, 17)
    ]
    cases = [
        Case(
            i,
            "portal",
            "high",
            "down",
            from_minute(start + rng.randrange(end - start)),
            links=((start + i * 1000, start + i * 1000 + 30),),
        )
        for i in range(20)
    ]
    return span_start, sources, windows, cases


def run(
    cfg: Config, month: YearMonth, data: tuple[int, dict[str, bytes], list[Window], list[Case]]
) -> MonthReport:
    span_start, sources, windows, cases = data
    return compute_month(
        service=cfg.services["portal"],
        contract=cfg.contract_for("portal"),
        month=month,
        span_start=span_start,
        sources=sources,
        windows=windows,
        cases=cases,
    )


def main() -> None:
    cfg = parse_config(CONFIG, Path("benchmark.toml"))
    rng = random.Random(2026)
    october = YearMonth(2026, 10)  # 31 days and a DST change: 44,700 minutes
    data = inputs(cfg, october, rng)
    timings = []
    for _ in range(50):
        t0 = time.perf_counter()
        report = run(cfg, october, data)
        timings.append(time.perf_counter() - t0)
    print(
        f"one month ({report.minutes_in_month:,} min, 3 sources, {len(report.outages)} outages):"
        f" median {statistics.median(timings) * 1000:.2f} ms, best {min(timings) * 1000:.2f} ms"
    )
    months = [YearMonth(2026, m) for m in range(1, 13)]
    year = [(m, inputs(cfg, m, rng)) for m in months]
    t0 = time.perf_counter()
    for m, d in year:
        run(cfg, m, d)
    elapsed = time.perf_counter() - t0
    print(f"one year (12 months, 3 sources): {elapsed * 1000:.1f} ms")
    single = {"eu": data[1]["eu"]}
    t0 = time.perf_counter()
    for _ in range(50):
        run(cfg, october, (data[0], single, data[2], data[3]))
    print(f"one month, one source: {(time.perf_counter() - t0) / 50 * 1000:.2f} ms")


if __name__ == "__main__":
    main()
