"""A real fleet agent process on a fast clock, for the fleet fault tests (a script).

    python fleet_agent.py CONFIG NAME BASE T0 RATE INTERVAL HOLD

``run_agent``'s foreground ``Server`` (signals, the ticker, the real spool and
forwarder), on the fast clock of tests/fastagent.py, named NAME. The
forwarder's PostgreSQL store announces each batch on stdout:

    BEGIN n .        a batch of n rows is about to be sent
    COMMITTED n .    PostgreSQL committed it; the outbox still holds it for HOLD s

so the test can SIGKILL the agent inside a transaction or in the window
between PostgreSQL's commit and the outbox's delete. Lines end with `` .``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from agent.forwarder import Forwarder
from core.configfile import load_config
from store.postgres import PostgresStore
from store.rows import MinuteRow
from tests.fastagent import fast_clock, run_fast_agent


def say(text: str) -> None:
    os.write(1, text.encode())


def main() -> int:
    config_path, name = Path(sys.argv[1]), sys.argv[2]
    base, t0, rate, interval, hold = map(float, sys.argv[3:8])

    class Announcing(PostgresStore):
        async def record_minutes(self, rows: Sequence[MinuteRow]) -> None:
            say(f"BEGIN {len(rows)} .\n")
            await super().record_minutes(rows)
            say(f"COMMITTED {len(rows)} .\n")
            await asyncio.sleep(hold)

    async def open_postgres(url: str) -> PostgresStore:
        return await Announcing.open(url)

    clock = fast_clock(base, t0, rate)
    config = load_config(config_path)
    assert config.spool_path is not None and config.storage_url is not None
    forwarder = Forwarder(
        config.spool_path, config.storage_url, name, clock=clock, tick=0.05,
        open_postgres=open_postgres,
    )  # fmt: skip
    return run_fast_agent(
        config_path, None, base=base, t0=t0, rate=rate, interval=interval, tick=0.05,
        log_level="INFO", name=name, forwarder=forwarder,
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
