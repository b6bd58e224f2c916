"""``slawatch ARGS...`` with the agent on a fast clock (a script, not collected).

    python fast_slawatch.py BASE_EPOCH T0 RATE INTERVAL ARGS...

The real command line (``slawatch.cli.main``: the config file, ``--name``,
``$SLAWATCH_DATABASE_URL``, ``run_agent`` with its spool, forwarder, signals)
with the two test-only differences of tests/fastagent.py: the agent's clock runs
RATE times faster than the wall clock from BASE_EPOCH (at wall time T0), and
its probes fire every INTERVAL real seconds.
"""

from __future__ import annotations

import sys

import agent
from core.config import Config
from slawatch.cli import main
from tests.fastagent import every, fast_clock


def run() -> int:
    base, t0, rate, interval = map(float, sys.argv[1:5])
    real_run_agent = agent.run_agent

    def fast_run_agent(
        config: Config, *, once: bool = False, clock: object = None, early: object = None
    ) -> int:
        return real_run_agent(
            every(config, interval),
            once=once,
            clock=fast_clock(base, t0, rate),
            early=early,  # type: ignore[arg-type]
        )

    agent.run_agent = fast_run_agent  # what `slawatch agent` calls
    return main(sys.argv[5:])


if __name__ == "__main__":
    sys.exit(run())
