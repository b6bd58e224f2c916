"""Issue 16's probe and agent keys: redirects, proxies, TLS, request shape, JSON checks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.config import Config
from core.configfile import parse_config
from core.errors import ConfigError

HEAD = """
[agent]
name = "probe-eu"
{agent}

[[service]]
name = "api"
monthly_fee = "10"
[service.probe]
url = "https://api.example.com/health"
{probe}
"""


def parse(probe: str = "", agent: str = "") -> Config:
    text = HEAD.format(probe=probe, agent=agent)
    return parse_config(text, Path("/srv/sla/config.toml"), display="config.toml")


def error(probe: str = "", agent: str = "") -> str:
    with pytest.raises(ConfigError) as info:
        parse(probe, agent)
    return str(info.value)


def test_defaults_follow_redirects_and_the_environment() -> None:
    cfg = parse()
    probe = cfg.services["api"].probe
    assert probe is not None
    assert (probe.method, probe.body, probe.follow_redirects, probe.max_redirects) == (
        "GET",
        None,
        True,
        10,
    )
    assert probe.proxy is None and probe.ca_file is None and probe.json_path is None
    assert cfg.agent.proxy is None and cfg.agent.tls_warn_days == 14


def test_every_new_key() -> None:
    cfg = parse(
        probe="""
method = "post"
body = '{"ping": true}'
follow_redirects = false
max_redirects = 3
proxy = "http://user:pw@proxy.corp:3128"
verify = false
ca_file = "certs/internal-ca.pem"
json_path = "$.checks[0].status"
json_expect = "ok"
degraded_latency = "750ms"
tls_warn_days = 30
""",
        agent='proxy = ""\ntls_warn_days = 7',
    )
    probe = cfg.services["api"].probe
    assert probe is not None
    assert probe.method == "POST" and probe.body == '{"ping": true}'
    assert not probe.follow_redirects and probe.max_redirects == 3
    assert probe.proxy == "http://user:pw@proxy.corp:3128" and probe.verify_tls is False
    assert probe.ca_file == Path("/srv/sla/certs/internal-ca.pem")
    assert probe.json_path == ("checks", 0, "status") and probe.json_expect == "ok"
    assert probe.degraded_latency == timedelta(milliseconds=750)
    assert probe.tls_warn_days == 30
    assert cfg.agent.proxy == "" and cfg.agent.tls_warn_days == 7


@pytest.mark.parametrize(
    ("probe", "where", "what"),
    [
        ('method = "BREW"', "probe.method", "must be one of"),
        ('body = "x"', "probe.body", "a GET has no body"),
        ("max_redirects = 99", "probe.max_redirects", "at most 30"),
        ('proxy = "socks5://p:1080"', "probe.proxy", "http:// or https://"),
        ('json_expect = "ok"', "probe.json_expect", "needs json_path"),
        ('json_path = "a..b"', "probe.json_path", "expected a path"),
        ("verify = true\nverify_tls = false", "probe.verify", "disagree"),
        ('degraded_latency = "0ms"', "probe.degraded_latency", "longer than zero"),
    ],
)
def test_mistakes_name_their_key(probe: str, where: str, what: str) -> None:
    message = error(probe)
    assert where in message and what in message


def test_a_bad_proxy_url_never_repeats_its_password() -> None:
    message = error('proxy = "ftp://user:hunter2@proxy:21"')
    assert "hunter2" not in message and "***" in message


@pytest.mark.parametrize(
    ("probe", "place", "why"),
    [
        ('headers = { X-Token = "a\\r\\nX-Evil: 1" }', "headers.X-Token", "holds a line break"),
        ('headers = { X-Token = "a\\u0000b" }', "headers.X-Token", "holds a control character"),
        ('headers = { X-Token = "café" }', "headers.X-Token", "not ASCII"),
        ('headers = { "X Token" = "a" }', "headers.X Token", "is not an HTTP header name"),
        ('headers = { "" = "a" }', "headers.", "is not an HTTP header name"),
        ('headers = { Content-Length = "5" }', "headers.Content-Length", "set by the agent"),
        ('header_env = { "X:Token" = "TOKEN" }', "header_env.X:Token", "not an HTTP header"),
    ],
)
def test_a_header_no_request_can_carry_is_refused(probe: str, place: str, why: str) -> None:
    """Sent, such a header fails every probe before it leaves (``http``): a false down,
    every minute, blamed on the provider. The value is never repeated (it may be a secret)."""
    message = error(probe=probe)
    assert f'service "api".probe.{place}: ' in message and why in message, message
    assert "Evil" not in message and "café" not in message


def test_the_blanks_around_a_header_value_are_not_part_of_it() -> None:
    probe = parse(probe='headers = { Authorization = "  Bearer t0k\\t", X-Empty = "" }')
    assert probe.services["api"].probe is not None
    assert dict(probe.services["api"].probe.headers) == {
        "Authorization": "Bearer t0k",
        "X-Empty": "",
    }


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:notaport/", "the port must be a number from 1 to 65535"),
        ("https://portal.example.com:99999/health", "the port must be a number from 1 to 65535"),
        ("https://portal.example.com:0/", "the port must be a number from 1 to 65535"),
        ("https://[::1/health", "has a malformed host"),
        ("http://portal example.com/", "must not contain spaces"),
        ("https://:8443/health", "names no host"),
    ],
)
def test_a_url_the_agent_could_never_request_is_refused(url: str, why: str) -> None:
    """Accepted, such a URL failed every probe before it left (seen: 'Invalid port',
    an ExceptionGroup from the connection pool, a DNS failure for a name with a space):
    down every minute, blamed on the provider; a bracket left open, or a proxy with a
    port that is no number, was a traceback when the agent started. A proxy URL is
    read the same way, its password never repeated."""
    message = str(_refused(HEAD.format(probe="", agent="").replace(
        "https://api.example.com/health", url)))  # fmt: skip
    assert 'service "api".probe.url: ' in message and why in message, message
    proxy = url.replace("://", "://probe:hunter2@", 1)
    message = error(probe=f'proxy = "{proxy}"')
    assert 'service "api".probe.proxy: ' in message and why in message, message
    assert "hunter2" not in message


def test_a_bracketed_ipv6_url_with_its_port_is_accepted() -> None:
    text = HEAD.format(probe='proxy = "http://[::1]:3128"', agent="")
    cfg = parse_config(text.replace("api.example.com", "[::1]:8443"), Path("/srv/sla/c.toml"))
    probe = cfg.services["api"].probe
    assert probe is not None and probe.url == "https://[::1]:8443/health"


def _refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_config(text, Path("/srv/sla/config.toml"), display="config.toml")
    return info.value


@pytest.mark.parametrize("check", ['contains = "ok"', 'json_path = "status"'])
def test_a_head_probe_has_no_body_to_check(check: str) -> None:
    """A HEAD answer has no body: ``contains`` or ``json_path`` could only ever fail, a
    false down every minute."""
    message = error(probe=f'method = "HEAD"\n{check}')
    key = check.split(" ", 1)[0]
    assert f'service "api".probe.{key}: a HEAD answer has no body to check' in message


def test_http_keys_on_a_tcp_probe_are_refused_each_by_name() -> None:
    """A tcp:// probe only connects: `contains` or `json_path` on one was ignored, so a
    check the user wrote never ran and the service counted up regardless."""
    from core.errors import ConfigErrors

    probe = 'contains = "ok"\njson_path = "status"\ndegraded_latency = "1s"'
    text = HEAD.format(probe=probe, agent="")
    text = text.replace("https://api.example.com/health", "tcp://db.example.com:5432")
    with pytest.raises(ConfigErrors) as info:
        parse_config(text, Path("/srv/sla/config.toml"), display="config.toml")
    said = [str(e) for e in info.value.errors]
    assert said == [
        f'config.toml: service "api".probe.{key}: applies to http(s) probes only: a tcp://'
        " probe only connects"
        for key in ("contains", "json_path")
    ]  # degraded_latency applies to a connect too


def test_a_failing_probe_that_outlasts_its_turn_is_warned_about() -> None:
    """Found setting probes up: with interval 60s and timeout 30s (retries 2, 5 s apart,
    the defaults) a timing-out run takes 100 s; the agent skips the run it overlaps, so
    while the service is down it is probed every 2 minutes and every other minute has
    no verdict: unknown, which counts as available. Down minutes were lost, silently."""
    (warning,) = _probe_warnings('timeout = "30s"\n')
    assert warning.startswith('config.toml: service "api".probe: warning: ')
    assert "a failing probe takes up to 1m40s (3 attempts of 30s, 5s apart)" in warning
    assert "probed every 2m instead of every 1m" in warning
    assert "judged from the attempts of the run still going" in warning
    assert _probe_warnings('timeout = "10s"\n') == []  # 40 s: within its minute
    # Every 20 s: a 50 s run is probed again at 60 s, each minute still has one.
    assert (
        _probe_warnings('interval = "20s"\ntimeout = "10s"\nretries = 4\nretry_delay = "0s"\n')
        == []
    )
    # A 70 s run every 30 s starts again at 90 s: the minute from 60 s to 120 s has one,
    # but from 120 s on every third minute has none.
    assert _probe_warnings('interval = "30s"\ntimeout = "10s"\nretries = 3\nretry_delay = "10s"\n')


def _probe_warnings(probe: str) -> list[str]:
    return [w for w in parse(probe).warnings if ".probe:" in w]
