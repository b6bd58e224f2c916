"""The real agent on a fast clock, shared by the process tests' scripts
(tests/agent/agent_proc.py, tests/faults/zygote.py, tests/faults/fleet_agent.py,
tests/fleet/fast_slawatch.py).

Two test-only differences from ``slawatch agent``: the clock runs ``rate`` times
faster than the wall clock and reads ``base`` at wall time ``t0`` (a minute
passes in a fraction of a second), and probes fire every ``interval`` real
seconds (below the 5 s the config parser allows). Everything else is
``run_agent``'s foreground ``Server``: signals, the ticker, the real store.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent.logs import configure_logging
from agent.runner import Server
from agent.sink import StoreSink
from core.config import Config
from core.configfile import load_config


def fast_clock(base: float, t0: float, rate: float) -> Callable[[], datetime]:
    """A clock ``rate`` times faster than the wall clock, reading ``base`` at wall time ``t0``."""

    def clock() -> datetime:
        return datetime.fromtimestamp(base + (time.time() - t0) * rate, tz=UTC)

    return clock


def every(config: Config, interval: float) -> Config:
    """The config with every probe firing each ``interval`` real seconds."""
    step = timedelta(seconds=interval)
    return replace(
        config,
        services={
            n: replace(s, probe=replace(s.probe, interval=step)) if s.probe else s
            for n, s in config.services.items()
        },
    )


def run_fast_agent(
    config_path: Path,
    sink_class: type[StoreSink] | None,
    *,
    base: float,
    t0: float,
    rate: float,
    interval: float,
    tick: float,
    log_level: str,
    name: str | None = None,
    **agent_options: Any,
) -> int:
    """``sink_class`` None: the agent's own sink (in fleet mode its spool and forwarder)."""
    config = every(load_config(config_path), interval)
    if name is not None:
        config = replace(config, agent=replace(config.agent, name=name))
    clock = fast_clock(base, t0, rate)
    configure_logging(log_level)
    sink = None if sink_class is None else sink_class(config.storage_path)

    async def serve() -> int:
        try:
            return await Server(config, clock=clock, sink=sink, tick=tick, **agent_options).serve()
        finally:
            if sink is not None:
                await sink.close()

    return asyncio.run(serve())
