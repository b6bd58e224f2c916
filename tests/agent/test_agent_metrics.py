"""``[agent] metrics``: the agent's Prometheus endpoint, scraped for real and parsed with
prometheus_client's own parsers (the text format and OpenMetrics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from agentkit import ConfigFactory, Target, closed_port, quick
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_families
from prometheus_client.parser import text_string_to_metric_families

from agent import Agent
from core.configfile import parse_config
from core.errors import ConfigError
from core.status import DOWN, UP
from core.timeutil import from_minute, to_minute

T0 = datetime(2026, 11, 2, 9, 0, 10, tzinfo=UTC)
M0 = to_minute(T0)
HOUR = timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_endpoint_scraped_and_parsed(
    make_config: ConfigFactory, target: Target
) -> None:
    config = make_config(
        {"portal": quick(target.url("/ok"), interval=HOUR),
         "api": quick(f"http://127.0.0.1:{closed_port()}/", interval=HOUR)},
        agent='metrics = "127.0.0.1:0"',
    )  # fmt: skip
    assert config.agent.metrics == ("127.0.0.1", 0)
    clock = Clock()
    agent = Agent(config, clock=clock)
    await agent.start()
    try:
        assert agent.metrics is not None and agent.metrics.port
        for minute in (M0, M0 + 1):
            clock.now = from_minute(minute) + timedelta(seconds=10)
            for name in sorted(agent.targets):
                await agent.probe_service(name)
        clock.now = from_minute(M0 + 2)
        await agent.tick()
        agent.metrics.set_clock_offset(-0.25)  # what fleet mode feeds in
        url = f"http://127.0.0.1:{agent.metrics.port}/metrics"
        async with httpx.AsyncClient() as client:
            text = (await client.get(url)).text
            om = await client.get(url, headers={"Accept": "application/openmetrics-text"})
    finally:
        await agent.stop()

    got = samples(text)
    portal, api = (("service", "portal"),), (("service", "api"),)
    probed_portal = got[("slawatch_probes_total", portal)]
    probed_api = got[("slawatch_probes_total", api)]
    assert probed_portal >= 2 and probed_api >= 2  # the scheduler may have fired once too
    assert got[("slawatch_probe_failures_total", (("error", "connect"), *api))] == probed_api
    assert ("slawatch_probe_failures_total", (("error", "connect"), *portal)) not in got
    assert got[("slawatch_probe_latency_seconds_count", portal)] == probed_portal
    assert got[("slawatch_probe_latency_seconds_bucket", (("le", "+Inf"), *portal))] == (
        probed_portal
    )
    assert got[("slawatch_minute_status", portal)] == UP
    assert got[("slawatch_minute_status", api)] == DOWN
    assert got[("slawatch_minute_timestamp_seconds", portal)] == (M0 + 1) * 60
    assert got[("slawatch_minutes_recorded_total", (*portal, ("status", "up")))] == 2
    assert got[("slawatch_minutes_recorded_total", (*api, ("status", "down")))] == 2
    me = (("agent", "probe-1"),)
    assert got[("slawatch_agent_backlog_minutes", me)] == 0
    assert (
        got[("slawatch_agent_last_write_timestamp_seconds", me)] == from_minute(M0 + 2).timestamp()
    )
    assert got[("slawatch_agent_clock_offset_seconds", me)] == -0.25

    assert om.headers["content-type"].startswith("application/openmetrics-text")
    names = {f.name for f in om_families(om.text)}
    assert {
        "slawatch_probes",
        "slawatch_probe_latency_seconds",
        "slawatch_agent_backlog_minutes",
    } <= names

    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):  # stopped: the port is closed
            await client.get(url, timeout=2)


def test_metrics_key_is_off_by_default_and_loopback_by_default(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"

    def agent(line: str) -> tuple[str, int] | None:
        return parse_config(f"[agent]\n{line}\n", path).agent.metrics

    assert parse_config("", path).agent.metrics is None
    assert agent('metrics = "127.0.0.1:9464"') == ("127.0.0.1", 9464)
    assert agent('metrics = ":9100"') == ("127.0.0.1", 9100)
    assert agent('metrics = "9100"') == ("127.0.0.1", 9100)
    assert agent("metrics = true") == ("127.0.0.1", 9464)
    assert agent("metrics = false") is None
    assert agent('metrics = "0.0.0.0:9464"') == ("0.0.0.0", 9464)  # written out: the admin's call
    assert agent('metrics = "[::1]:9464"') == ("::1", 9464)
    for bad in ('metrics = "host:port"', 'metrics = ":70000"', "metrics = 9464"):
        with pytest.raises(ConfigError, match=r"agent\.metrics"):
            agent(bad)


async def test_a_port_in_use_is_a_config_error(make_config: ConfigFactory, target: Target) -> None:
    config = make_config(
        {"portal": quick(target.url("/ok"), interval=HOUR)},
        agent=f'metrics = "127.0.0.1:{target.port}"',
    )
    agent = Agent(config)
    with pytest.raises(ConfigError, match=r"agent\.metrics: cannot listen on 127\.0\.0\.1"):
        await agent.start()
    assert not agent.started
