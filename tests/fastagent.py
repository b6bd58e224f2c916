"""The real agent on a fast clock, shared by the process tests' scripts
(tests/agent/agent_proc.py and tests/faults/zygote.py).

Two test-only differences from ``slawatch agent``: the clock runs ``rate`` times
faster than the wall clock and reads ``base`` at wall time ``t0`` (a minute
passes in a fraction of a second), and probes fire every ``interval`` real
seconds (below the 5 s the config parser allows). Everything else is
``run_agent``'s foreground ``Server``: signals, the ticker, the real store.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from agent.logs import configure_logging
from agent.runner import Server
from agent.sink import StoreSink
from core.configfile import load_config


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
    config = load_config(config_path)
    if name is not None:
        config = replace(config, agent=replace(config.agent, name=name))
    step = timedelta(seconds=interval)
    config = replace(
        config,
        services={
            n: replace(s, probe=replace(s.probe, interval=step)) if s.probe else s
            for n, s in config.services.items()
        },
    )

    def clock() -> datetime:
        return datetime.fromtimestamp(base + (time.time() - t0) * rate, tz=UTC)

    configure_logging(log_level)
    sink = None if sink_class is None else sink_class(config.storage_path)

    async def serve() -> int:
        try:
            return await Server(config, clock=clock, sink=sink, tick=tick, **agent_options).serve()
        finally:
            if sink is not None:
                await sink.close()

    return asyncio.run(serve())
