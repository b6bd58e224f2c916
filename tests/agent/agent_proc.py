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

import sys
from collections.abc import Sequence
from pathlib import Path

from agent.sink import StoreSink
from store.rows import MinuteRow, StateSave
from tests.fastagent import run_fast_agent


class AckingSink(StoreSink):
    async def record_minutes(
        self, rows: Sequence[MinuteRow], *, state: StateSave | None = None
    ) -> None:
        print(f"BEGIN {len(rows)}", flush=True)
        await super().record_minutes(rows, state=state)
        sys.stdout.write("".join(f"ACK {r.service} {r.minute} {r.status}\n" for r in rows))
        sys.stdout.flush()


def main() -> int:
    config_path, base, t0, rate, interval = sys.argv[1:6]
    return run_fast_agent(
        Path(config_path),
        AckingSink,
        base=float(base),
        t0=float(t0),
        rate=float(rate),
        interval=float(interval),
        tick=0.1,
        log_level="INFO",
    )


if __name__ == "__main__":
    sys.exit(main())
