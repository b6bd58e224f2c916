"""The probe agent: probes services, judges each minute, records it, never loses one.

Public surface::

    run_agent(config, *, once=False, clock=utc_now) -> int   # `slawatch agent`
    Agent(config, ...)                                       # embeddable: start()/stop()

Modules: ``probe`` (HTTP/TCP probes, error classes, confirmation), ``verdict``
(a minute's probes -> one status; the canary rule), ``canary``, ``minutes``
(results grouped by minute), ``scheduler`` (APScheduler), ``writer``
(buffered, retrying), ``sink`` (the store, opened on demand), ``incidents`` and
``notify`` (outage start/end -> webhooks and commands), ``systemd`` (sd_notify,
the unit file), ``logs`` (one dictConfig), ``runner`` (the lifecycle).
"""

from __future__ import annotations

import logging

from agent.runner import Agent, Server, run_agent

# Quiet by default when embedded: the host program decides where logs go.
logging.getLogger("slawatch.agent").addHandler(logging.NullHandler())

__all__ = ["Agent", "Server", "run_agent"]
