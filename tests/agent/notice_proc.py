"""A real agent process that kills itself (SIGKILL) at one point of the
write / save / send sequence of an outage notification (run as a script, not
collected). Test-only: the production agent has no such hook.

    python notice_proc.py CONFIG BASE RATE INTERVAL POINT

The clock runs RATE times faster than the wall clock and reads BASE (epoch
seconds) once the script has imported everything. POINT is ``STEP:EVENT``,
EVENT ``start`` or ``end``, STEP one of

* ``write``: the minutes whose state carries the notification are about to be
  written (killed before the transaction begins);
* ``inside``: inside that transaction, the minutes and the state written, not
  yet committed;
* ``saved``: that transaction committed, the notification not yet sent;
* ``sent``: every notifier had it, not yet forgotten in the store;

or ``none`` (run until SIGTERM). The agent writes its SQLite database, or in
fleet mode its spool (the same transaction with the outbox). A failed
notification is retried after 0.2 s, doubling to 0.4 s (10 s to 10 min in
production: the test's clock is fast, the retries' waits are real seconds).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from agent import notify
from agent.sink import SpoolSink, StoreSink
from core.configfile import load_config
from store.agentstate import AgentStateStore
from store.db import Conn
from store.rows import MinuteRow, StateSave
from tests.fastagent import run_fast_agent


def main() -> int:
    config_path, base, rate, interval, point = sys.argv[1:6]
    notify.RETRY_FIRST, notify.RETRY_CAP = 0.2, 0.4
    step, _, event = point.partition(":")

    def carries(state: StateSave | None) -> bool:
        return state is not None and any(
            json.loads(n.payload)["event"] == event for n in state.notices
        )

    def die() -> None:
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    save_in = AgentStateStore._save_agent_state_in

    async def saving(store: AgentStateStore, db: Conn, state: StateSave) -> None:
        await save_in(store, db, state)
        if step == "inside" and carries(state):
            die()

    AgentStateStore._save_agent_state_in = saving  # type: ignore[method-assign]
    config = load_config(Path(config_path))
    fleet = config.storage_url is not None
    base_class: type[StoreSink] = SpoolSink if fleet else StoreSink

    class Killing(base_class):  # type: ignore[valid-type,misc]
        def __init__(self, path: Path) -> None:
            if fleet:
                assert config.spool_path is not None
                super().__init__(config.spool_path, config.agent.spool_max_minutes)
            else:
                super().__init__(path)

        async def record_minutes(
            self, rows: Sequence[MinuteRow], *, state: StateSave | None = None
        ) -> None:
            if step == "write" and carries(state):
                die()
            await super().record_minutes(rows, state=state)
            if step == "saved" and carries(state):
                die()

        async def forget_notices(self, source: str, ids: Sequence[str]) -> None:
            if step == "sent" and any(i.endswith("/" + event) for i in ids):
                die()
            await super().forget_notices(source, ids)

    return run_fast_agent(
        Path(config_path),
        Killing,
        base=float(base),
        t0=time.time(),
        rate=float(rate),
        interval=float(interval),
        tick=0.05,
        log_level="INFO",
    )


if __name__ == "__main__":
    sys.exit(main())
