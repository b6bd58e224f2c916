"""A real agent process on a fast clock, for the crash test (run as a script, not collected).

    python agent_proc.py CONFIG BASE_EPOCH T0 RATE INTERVAL

It is ``run_agent``'s foreground server (signals, sd_notify, the real store)
with two test-only differences: the clock runs RATE times faster than the
wall clock from BASE_EPOCH (at wall time T0), so a minute passes in a second,
and the probes fire every INTERVAL real seconds (below the 5 s the config
parser allows). Every batch of minutes is announced on stdout as
``BEGIN n`` just before the write and ``ACK service minute status`` for each
row once ``record_minutes`` has returned (committed), so the test knows
exactly what was acknowledged when it pulls the plug.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from agent.logs import configure_logging
from agent.runner import Server
from agent.sink import StoreSink
from core.config import load_config
from store.rows import MinuteRow


class AckingSink(StoreSink):
    async def record_minutes(self, rows: Sequence[MinuteRow]) -> None:
        print(f"BEGIN {len(rows)}", flush=True)
        await super().record_minutes(rows)
        sys.stdout.write("".join(f"ACK {r.service} {r.minute} {r.status}\n" for r in rows))
        sys.stdout.flush()


def main() -> int:
    config_path, base, t0, rate, interval = sys.argv[1:6]
    config = load_config(Path(config_path))
    step = timedelta(seconds=float(interval))
    config = replace(
        config,
        services={
            n: replace(s, probe=replace(s.probe, interval=step)) if s.probe else s
            for n, s in config.services.items()
        },
    )

    def clock() -> datetime:
        return datetime.fromtimestamp(float(base) + (time.time() - float(t0)) * float(rate), tz=UTC)

    configure_logging("INFO")
    sink = AckingSink(config.storage_path)

    async def serve() -> int:
        try:
            return await Server(config, clock=clock, sink=sink, tick=0.1).serve()
        finally:
            await sink.close()

    return asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
