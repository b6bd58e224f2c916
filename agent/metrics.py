"""The agent's own metrics, for Prometheus / Grafana / Alertmanager (``[agent] metrics``).

Off by default. ``metrics = "127.0.0.1:9464"`` (or ``":9464"``, or ``true``)
serves them at ``http://HOST:PORT/metrics`` with ``prometheus-client`` (the
Prometheus text format, OpenMetrics when the scraper asks for it); the host is
loopback unless one is written out. Port 0 picks a free one (``port``).

Per service (label ``service``):

- ``slawatch_probes_total``, ``slawatch_probe_failures_total{error}`` (the
  probe's error class: timeout, connect, status:503...);
- ``slawatch_probe_latency_seconds``: histogram of answered probes;
- ``slawatch_minute_status``: the last judged minute's status (0 unknown, 1 up,
  2 degraded, 3 down) and ``slawatch_minute_timestamp_seconds`` its start;
- ``slawatch_minutes_recorded_total{status}``: minutes the store confirmed.

Per agent (label ``agent``, this agent's source name):

- ``slawatch_agent_backlog_minutes``: minutes measured but not yet stored;
- ``slawatch_agent_last_write_timestamp_seconds``: when the store last took
  minutes;
- ``slawatch_agent_clock_offset_seconds``: this machine's clock against the
  reference (fleet mode); absent until someone measures it.

Feeding it from elsewhere (fleet mode: a spool in front of PostgreSQL) is three
calls on ``Agent.metrics`` (None when metrics are off)::

    metrics.backlog_from(lambda: spool.pending_minutes)   # read at each scrape
    metrics.note_write(at)                                # a forward succeeded
    metrics.set_clock_offset(seconds)                     # None: unknown again

By default the backlog is the writer's unwritten minutes and a write is a
successful ``record_minutes`` of the writer's sink (``counting``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from agent.probe import ProbeResult
from agent.verdict import Verdict
from agent.writer import MinuteSink
from core.status import DOWN, NAMES
from store.rows import MinuteRow, ProbeState

log = logging.getLogger("slawatch.agent.metrics")

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class AgentMetrics:
    """The metrics of one agent, in a registry of their own."""

    def __init__(self, agent: str, *, backlog: Callable[[], int] | None = None) -> None:
        self.agent = agent
        self.registry = CollectorRegistry()
        self._backlog = backlog
        self._last_write: float | None = None
        self._clock_offset: float | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port: int | None = None
        r = self.registry
        self.probes = Counter(
            "slawatch_probes", "Probes made, per service.", ["service"], registry=r
        )
        self.failures = Counter(
            "slawatch_probe_failures",
            "Failed probes, per service and error class.",
            ["service", "error"],
            registry=r,
        )
        self.latency = Histogram(
            "slawatch_probe_latency_seconds",
            "Latency of the probes that got an answer.",
            ["service"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.status = Gauge(
            "slawatch_minute_status",
            "Status of the last judged minute: 0 unknown, 1 up, 2 degraded, 3 down.",
            ["service"],
            registry=r,
        )
        self.minute = Gauge(
            "slawatch_minute_timestamp_seconds",
            "Start of the last judged minute (Unix time).",
            ["service"],
            registry=r,
        )
        self.recorded = Counter(
            "slawatch_minutes_recorded",
            "Minute records the store confirmed, per service and status.",
            ["service", "status"],
            registry=r,
        )
        r.register(_AgentCollector(self))

    # -- what the agent tells it ---------------------------------------------------

    def probe(self, service: str, result: ProbeResult) -> None:
        self.probes.labels(service).inc()
        if result.status == DOWN:
            self.failures.labels(service, result.error or "unknown").inc()
        elif result.latency_ms is not None:
            self.latency.labels(service).observe(result.latency_ms / 1000)

    def verdicts(self, verdicts: Iterable[Verdict]) -> None:
        for v in verdicts:
            self.status.labels(v.service).set(v.status)
            self.minute.labels(v.service).set(v.minute * 60)

    def rows_written(self, rows: Sequence[MinuteRow], at: float) -> None:
        for row in rows:
            self.recorded.labels(row.service, NAMES.get(row.status, "unknown")).inc()
        self._last_write = at

    # -- the small API for other feeders (fleet mode) --------------------------

    def backlog_from(self, read: Callable[[], int]) -> None:
        """Where the backlog comes from: called at each scrape."""
        self._backlog = read

    def note_write(self, at: datetime) -> None:
        """Minutes reached the database at ``at`` (aware)."""
        self._last_write = at.timestamp()

    def set_clock_offset(self, seconds: float | None) -> None:
        """This machine's clock minus the reference's, in seconds (None: unknown)."""
        self._clock_offset = seconds

    def counting(self, sink: MinuteSink, clock: Callable[[], datetime]) -> MinuteSink:
        """``sink`` with every confirmed ``record_minutes`` counted (and timed)."""
        return _CountingSink(sink, self, clock)

    # -- the endpoint --------------------------------------------------------------

    def serve(self, host: str, port: int) -> None:
        """Serve ``/metrics`` on ``host:port`` in a thread (OSError if it cannot listen)."""
        self._server, self._thread = start_http_server(port, addr=host, registry=self.registry)
        self.port = int(self._server.server_address[1])
        log.info("metrics on http://%s:%d/metrics", host, self.port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class _AgentCollector(Collector):
    """The per-agent gauges, read when scraped."""

    def __init__(self, metrics: AgentMetrics) -> None:
        self.m = metrics

    def collect(self) -> Iterator[GaugeMetricFamily]:
        m = self.m
        backlog = None if m._backlog is None else float(m._backlog())
        for name, text, value in (
            ("backlog_minutes", "Minutes measured but not yet in the database.", backlog),
            (
                "last_write_timestamp_seconds",
                "When the database last took this agent's minutes (Unix time).",
                m._last_write,
            ),
            (
                "clock_offset_seconds",
                "This machine's clock minus the reference clock (fleet mode).",
                m._clock_offset,
            ),
        ):
            if value is not None:  # a gauge nobody feeds is left out, not shown as 0
                family = GaugeMetricFamily(f"slawatch_agent_{name}", text, labels=["agent"])
                family.add_metric([m.agent], value)
                yield family


class _CountingSink:
    """A MinuteSink that counts what its inner sink confirmed; everything else passes."""

    def __init__(self, inner: MinuteSink, metrics: AgentMetrics, clock: Callable[[], datetime]):
        self._inner = inner
        self._metrics = metrics
        self._clock = clock

    async def record_minutes(self, rows: Sequence[MinuteRow], **state: Any) -> Any:
        result = await self._inner.record_minutes(rows, **state)
        self._metrics.rows_written(rows, self._clock().timestamp())
        return result

    async def record_probe(self, state: ProbeState) -> Any:
        return await self._inner.record_probe(state)

    def __getattr__(self, name: str) -> Any:  # record_health, record_probes...
        return getattr(self._inner, name)
