"""``slawatch demo``: the whole product on one machine, with no set-up and no network.

A scripted hosted service (``slawatch.simulator``) answers on 127.0.0.1; a
temporary config points four services at it; the database is seeded through
the store API with a believable history; the real agent probes the simulator
in-process; the dashboard opens. Quitting stops the agent and the simulator
and (without ``--keep``) removes the temporary folder.

The seeded story, relative to the moment the demo starts:

- ``portal`` had three outages last month (180, 150 and 70 minutes): the month
  owes a 25 % credit; two outages were reported with linked cases, the third
  never was.
- ``mail`` went down for 25 minutes about 30 hours ago and nobody opened a
  case: the dashboard warns while it can still be reported.
- three cases are open: one answered, one awaiting its first response, one
  past its response deadline.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from core.config import Config
from core.configfile import load_config
from core.status import DEGRADED, DOWN, UP
from core.timeutil import YearMonth, from_minute, to_minute, utc_now
from slawatch.simulator import Simulator
from store import MinuteRow, Store, open_store

SOURCE = "agent"
SERVICES = ("portal", "billing", "search", "mail")
BASE_LATENCY = {"portal": 45, "billing": 100, "search": 60, "mail": 15}

# Outages as (service, offset into the previous month in minutes, length).
PREVIOUS_MONTH_OUTAGES = (
    ("portal", 5 * 1440 + 9 * 60 + 12, 180),
    ("portal", 13 * 1440 + 14 * 60 + 40, 150),
    ("portal", 22 * 1440 + 3 * 60 + 5, 70),
    ("search", 17 * 1440 + 11 * 60, 35),
    ("billing", 9 * 1440 + 16 * 60, 20),
)


def _latency(service: str, minute: int) -> int:
    """A daily rhythm plus a little wobble, so sparklines look like a real service."""
    base = BASE_LATENCY[service]
    day = math.sin(2 * math.pi * (minute % 1440) / 1440)
    wobble = 3 * math.sin(minute / 7) + (minute * 2654435761 >> 7) % 3
    return round(base * (1 + 0.35 * day) + wobble)


def _rows(
    service: str,
    start: int,
    end: int,
    down: Sequence[tuple[int, int]],
    slow: Sequence[tuple[int, int]],
) -> Iterator[MinuteRow]:
    down_at = {m for a, b in down for m in range(a, b)}  # a month of minutes: a set
    slow_at = {m for a, b in slow for m in range(a, b)}  # look-up, not a scan of spans each
    for minute in range(start, end):
        if minute in down_at:
            yield MinuteRow(service, SOURCE, minute, DOWN, None, "status:503")
        elif minute in slow_at:
            yield MinuteRow(service, SOURCE, minute, DEGRADED, 2400 + minute % 300, "slow")
        else:
            yield MinuteRow(service, SOURCE, minute, UP, _latency(service, minute))


def _batched(rows: Iterator[MinuteRow], size: int = 20_000) -> Iterator[list[MinuteRow]]:
    batch: list[MinuteRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def seed(store: Store, now: datetime) -> None:
    """Write the demo's history up to the minute before ``now``."""
    utc = ZoneInfo("UTC")
    this_month = YearMonth.of(now, utc)
    prev = this_month.prev()
    p_start, _ = prev.bounds(utc)
    end = to_minute(now)
    start = p_start
    downs: dict[str, list[tuple[int, int]]] = {s: [] for s in SERVICES}
    for service, offset, length in PREVIOUS_MONTH_OUTAGES:
        downs[service].append((p_start + offset, p_start + offset + length))
    mail_down = end - 30 * 60
    downs["mail"].append((mail_down, mail_down + 25))
    isp_down = end - 3 * 1440 - 400  # excluded below: our ISP's fault, not the provider's
    downs["mail"].append((isp_down, isp_down + 18))
    search_old = end - 5 * 1440 - 200
    downs["search"].append((search_old, search_old + 12))
    slows: dict[str, list[tuple[int, int]]] = {s: [] for s in SERVICES}
    slows["billing"] = [(end - d * 1440 - 300, end - d * 1440 - 290) for d in range(1, 9, 2)]

    def every_row() -> Iterator[MinuteRow]:
        for service in SERVICES:
            yield from _rows(service, start, end, downs[service], slows[service])

    await store.import_minutes(_batched(every_row()))
    await store.add_exclusion(
        "mail", isp_down - 2, isp_down + 20, "upstream DNS failure at our ISP (ticket ISP-88121)"
    )
    await _seed_cases(store, now, downs)


async def _seed_cases(store: Store, now: datetime, downs: dict[str, list[tuple[int, int]]]) -> None:
    # Last month: two of portal's three outages reported, each with a linked case.
    for (a, b), ref in zip(downs["portal"][:2], ("SUP-4471", "SUP-4502"), strict=True):
        opened = from_minute(a) + timedelta(minutes=14)
        case = await store.open_case(
            "portal", "critical", "Portal unreachable: HTTP 503 on every page", opened, ref=ref
        )
        await store.respond_case(case.id, opened + timedelta(minutes=22))
        await store.resolve_case(case.id, from_minute(b) + timedelta(minutes=10))
        await store.link_case(case.id, a, b)
    # search's outage five days ago: reported in time, resolved.
    a, b = downs["search"][-1]
    case = await store.open_case(
        "search",
        "high",
        "Search API returns 503",
        from_minute(a) + timedelta(minutes=5),
        ref="SUP-4630",
    )
    await store.respond_case(case.id, from_minute(a) + timedelta(minutes=40))
    await store.resolve_case(case.id, from_minute(b) + timedelta(hours=2))
    await store.link_case(case.id, a, b)
    # Open now: answered, waiting, and breached.
    answered = await store.open_case(
        "billing",
        "medium",
        "Invoice PDF export slow at month end",
        now - timedelta(hours=5),
        ref="SUP-4711",
    )
    await store.respond_case(answered.id, now - timedelta(hours=3, minutes=10))
    await store.open_case(
        "portal",
        "high",
        "Login intermittently fails with 503",
        now - timedelta(minutes=38),
        ref="SUP-4720",
    )
    await store.open_case(
        "search",
        "critical",
        "Search results stale in the EU region",
        now - timedelta(minutes=47),
        ref="SUP-4718",
    )


CONFIG = """\
# Written by `slawatch demo`: four services on a simulated provider at 127.0.0.1.
[storage]
path = "slawatch.db"

[agent]
name = "{source}"

[customer]                            # who claims: named by the claim letter
name = "Demo Customer GmbH"
contact = "Alex Finance"
email = "finance@customer.example"
apply_credit = "as a deduction from the next invoice"

[provider]                            # from whom, under which contract
name = "Simulated Provider Ltd"
email = "billing@provider.example"
contract_ref = "MSA-2026-001"

[[contract]]
name = "demo-saas"
profile = "saas-standard"
timezone = "UTC"
report_within = "72h"
[contract.priorities]                 # round-the-clock targets, so the countdowns move
critical = {{ response = "30m", clock = "24x7" }}
high     = {{ response = "1h",  clock = "24x7" }}
medium   = {{ response = "8h",  clock = "24x7" }}
low      = {{ response = "2d",  clock = "24x7" }}
{services}"""

SERVICE = """
[[service]]
name = "{name}"
contract = "demo-saas"
monthly_fee = "{fee}"
currency = "EUR"
[service.probe]
url = "{url}"
interval = "5s"
timeout = "3s"
retries = 1
retry_delay = "1s"
degraded_latency = "1s"
{extra}"""

FEES = {"portal": "1200.00", "billing": "800.00", "search": "450.00", "mail": "150.00"}
EXTRA = {
    "mail": """[[service.maintenance]]
day = "sun"
from = "02:00"
to = "03:00"
reason = "mail relay patching"
""",
}


def write_config(folder: Path, base_url: str) -> Path:
    """The demo's config.toml, pointing every service at ``base_url`` (the simulator)."""
    services = "".join(
        SERVICE.format(
            name=name, fee=FEES[name], url=f"{base_url}/{name}/health", extra=EXTRA.get(name, "")
        )
        for name in SERVICES
    )
    path = folder / "config.toml"
    path.write_text(CONFIG.format(source=SOURCE, services=services), encoding="utf-8")
    return path


async def prepare(folder: Path, simulator: Simulator, now: datetime) -> Config:
    """Write the config and seed the database; returns the parsed config."""
    config = load_config(write_config(folder, simulator.url("")))
    if not config.storage_path.exists():  # a kept database is reused as it is
        async with await open_store(config) as store:
            await seed(store, now)
    return config


def _log_to_file(folder: Path) -> logging.Handler:
    """The dashboard owns the terminal: the agent's (and its libraries') logs go to a file."""
    handler = logging.FileHandler(folder / "demo.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler


STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
HANGUP_GRACE_S = 5.0


async def run_demo_async(
    folder: Path,
    clock: Callable[[], datetime] = utc_now,
    hung_up: Callable[[], None] | None = None,
) -> int:
    from agent import Agent
    from slawatch.claims import export_claim
    from tui.app import SlawatchApp

    # SIGTERM (kill) and SIGHUP (the terminal closed) end the demo as q does (or, before
    # the dashboard is up, cancel it): the agent and the simulator stop and run_demo
    # removes the temporary folder, instead of the process dying on the spot.
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    app: SlawatchApp | None = None

    def stop(signum: int) -> None:
        for sig in STOP_SIGNALS:  # once is enough: the clean-up is not interrupted
            loop.add_signal_handler(sig, lambda: None)
        if signum == signal.SIGHUP and hung_up is not None:
            # The terminal is gone, and the dashboard's shutdown can wait on it for
            # good: if the clean stop has not finished in a few seconds, ``hung_up``.
            timer = threading.Timer(HANGUP_GRACE_S, hung_up)
            timer.daemon = True
            timer.start()
        if app is not None and app.is_running:
            app.exit(130)
        elif task is not None:
            task.cancel()

    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop, sig)
    simulator = Simulator()
    simulator.start()
    try:
        config = await prepare(folder, simulator, clock())
        agent = Agent(config)
        await agent.start()
        try:
            app = SlawatchApp(config, now=clock, exporter=export_claim)
            return await app.run_async() or 0
        finally:
            await agent.stop()
    finally:
        simulator.stop()
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def run_demo(keep: Path | None = None, clock: Callable[[], datetime] = utc_now) -> int:
    """Run the demo in this terminal; ``keep`` is a folder to leave the database in."""
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        folder = keep
    else:
        folder = Path(tempfile.mkdtemp(prefix="slawatch-demo-"))
    handler = _log_to_file(folder)

    def hung_up() -> None:
        """SIGHUP and the clean stop is stuck: remove the temporary folder, and go."""
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
        os._exit(129)

    try:
        return asyncio.run(run_demo_async(folder, clock, hung_up))
    except asyncio.CancelledError:  # SIGTERM or SIGHUP before the dashboard was up
        return 130
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
