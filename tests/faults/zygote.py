"""Forks real agent processes on demand, for the SIGKILL test (run as a script).

    python zygote.py CONFIG RATE INTERVAL

Starting Python and importing the agent costs most of a second; fifty crash
rounds would spend the suite's whole budget on it. So this process imports
everything once, then for each ``RUN BASE T0`` line on stdin forks a
child that runs ``run_agent``'s foreground ``Server`` (signals, the ticker, the
real store) exactly as ``slawatch agent`` does. It answers ``PID n``; the test
SIGKILLs that child whenever it likes and says ``REAP n``, answered by
``REAPED n`` once the child is gone, so no line of a dead child can arrive
after it. Test-only differences from ``slawatch agent``, as in
tests/agent/agent_proc.py: the child's clock runs RATE times faster than the
wall clock and reads BASE at wall time T0 (so a restart can land minutes later
on the agent's clock without waiting), probes fire every INTERVAL real seconds, and
the sink announces its work on stdout:

    BEGIN n                     a write of n rows starts
    ACK service minute status . one row committed (``record_minutes`` returned)
    CKPT / CKPTDONE             a WAL checkpoint (TRUNCATE) starts / ends

Lines end with `` .`` so that a line cut short by the kill is never believed.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from agent.sink import StoreSink
from store.rows import MinuteRow, StateSave
from tests.fastagent import run_fast_agent


def say(text: str) -> None:
    os.write(1, text.encode())  # one write(2) per announcement, no Python buffering


class AckingSink(StoreSink):
    async def record_minutes(
        self, rows: Sequence[MinuteRow], *, state: StateSave | None = None
    ) -> None:
        say(f"BEGIN {len(rows)} .\n")
        await super().record_minutes(rows, state=state)
        say("".join(f"ACK {r.service} {r.minute} {r.status} .\n" for r in rows))
        store = await self._get()
        say("CKPT .\n")
        await store.checkpoint()  # every write is followed by a checkpoint to be killed in
        say("CKPTDONE .\n")


def child(config_path: Path, rate: float, interval: float, base: float, t0: float) -> int:
    return run_fast_agent(
        config_path,
        AckingSink,
        base=base,
        t0=t0,
        rate=rate,
        interval=interval,
        tick=0.05,
        log_level="WARNING",
    )


def main() -> int:
    config_path, rate, interval = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for line in sys.stdin:
        word, arg, *more = line.split()
        if word == "RUN":
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    code = child(config_path, rate, interval, float(arg), float(more[0]))
                finally:
                    os._exit(code)
            say(f"PID {pid} .\n")
        elif word == "REAP":
            os.waitpid(int(arg), 0)
            say(f"REAPED {arg} .\n")
    while True:  # stdin closed: reap whatever is left (the test kills it on failure)
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return 0


if __name__ == "__main__":
    sys.exit(main())
