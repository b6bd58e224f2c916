"""Issue 16 against real loopback servers: redirects, proxies, TLS, request shapes, bodies."""

from __future__ import annotations

import base64
import json
import logging
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme
from agentkit import ForwardProxy, Target, closed_port, quick

from agent.probe import Prober, proxy_from_env, resolve_headers, user_agent
from agent.verdict import fold
from core.status import DOWN, UNKNOWN, UP
from tests.conftest import REPO

MINUTE = 29_000_000


async def outcome(prober: Prober, url: str, **kw: object) -> tuple[int, str | None]:
    result = await prober.check(quick(url, **kw))
    v = fold("svc", MINUTE, [result])
    return v.status, v.error


@pytest.fixture
async def prober() -> AsyncIterator[Prober]:
    p = Prober()
    yield p
    await p.aclose()


# -- redirects ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "kw", "expected"),
    [
        ("/hop/3/ok", {}, (UP, None)),  # a healthy chain, judged at its end
        ("/hop/2/ok", {"expect_status": ((200, 299),)}, (UP, None)),  # 2xx at the end: up
        ("/hop/1/500", {}, (DOWN, "status:500")),  # a redirect to an error page
        ("/hop/1/login", {"contains": "ok"}, (DOWN, "body")),  # to a login page
        ("/loop", {}, (DOWN, "redirects")),
        ("/hop/4/ok", {"max_redirects": 3}, (DOWN, "redirects")),  # too many hops
        ("/noloc", {}, (DOWN, "redirects")),  # a 302 that goes nowhere
        ("/hop/1/500", {"follow_redirects": False}, (UP, None)),  # today's: the 3xx itself
        (
            "/noloc",
            {"follow_redirects": False, "expect_status": ((200, 299),)},
            (DOWN, "status:302"),
        ),
    ],
)
async def test_redirects_are_followed_and_the_final_answer_judged(
    target: Target,
    prober: Prober,
    path: str,
    kw: dict[str, object],
    expected: tuple[int, str | None],
) -> None:
    kw = {"timeout": timedelta(seconds=5), **kw}  # many connections: room for a busy machine
    assert await outcome(prober, target.url(path), **kw) == expected


# -- request shape -------------------------------------------------------------------


async def test_method_headers_body_and_user_agent_are_sent(target: Target) -> None:
    prober = Prober(agent_name="paris-1")
    try:
        probe = quick(
            target.url("/echo"),
            method="POST",
            body='{"ping": 1}',
            headers={"Content-Type": "application/json"},
            header_env={"X-Token": "TOKEN"},
        )
        headers = resolve_headers(probe, {"TOKEN": "t0k"}, "config.toml")
        assert (await prober.check(probe, headers)).status == UP
    finally:
        await prober.aclose()
    method, headers, body = target.seen[-1]
    assert (method, body) == ("POST", b'{"ping": 1}')
    assert headers["content-type"] == "application/json" and headers["x-token"] == "t0k"
    assert headers["user-agent"] == user_agent("paris-1")
    assert (
        headers["user-agent"].startswith("slawatch-agent/") and "(paris-1)" in headers["user-agent"]
    )


async def test_header_secrets_never_follow_a_redirect_to_another_origin(target: Target) -> None:
    """A ``header_env`` secret (an API key) went with every redirect hop, to whatever host
    the Location named (httpx drops only Authorization): a provider's open redirect, its
    SSO host or a CDN got the customer's key. Same-origin hops keep it."""
    other = await Target().start()
    prober = Prober()
    try:
        names = {"X-Api-Key": "KEY", "Authorization": "AUTH"}
        env = {"KEY": "k3y-never-elsewhere", "AUTH": "Bearer t0k"}
        away = quick(target.url(f"/to/{other.port}/echo"), header_env=names)
        assert (await prober.check(away, resolve_headers(away, env, "c"))).status == UP
        home = quick(target.url("/hop/1/echo"), header_env=names)
        assert (await prober.check(home, resolve_headers(home, env, "c"))).status == UP
        again = await prober.check(away, resolve_headers(away, env, "c"))  # the cached request
        assert again.status == UP
    finally:
        await prober.aclose()
        await other.close()
    assert len(other.seen) == 2
    for _method, headers, _body in other.seen:
        assert "x-api-key" not in headers and "authorization" not in headers
    (_method, headers, _body) = target.seen[-1]  # the same-origin hop
    assert headers["x-api-key"] == "k3y-never-elsewhere"
    assert headers["authorization"] == "Bearer t0k"


@pytest.mark.parametrize(
    ("path", "json_path", "expect", "verdict"),
    [
        ("/json/ok", ("status",), "ok", (UP, None)),
        ("/json/degraded", ("status",), "ok", (DOWN, "json")),  # 200, but says degraded
        ("/json/ok", ("checks", 0, "db"), "ok", (UP, None)),
        ("/json/ok", ("missing",), None, (DOWN, "json")),
        ("/ok", ("status",), "ok", (DOWN, "json")),  # not JSON at all
        ("/bigjson", ("status",), "ok", (UP, None)),  # cut at 64 KiB it was down "json"
    ],
)
async def test_json_health_checks(
    target: Target,
    prober: Prober,
    path: str,
    json_path: tuple[str | int, ...],
    expect: str | None,
    verdict: tuple[int, str | None],
) -> None:
    assert (
        await outcome(prober, target.url(path), json_path=json_path, json_expect=expect) == verdict
    )


async def test_ipv6_targets(prober: Prober) -> None:
    v6 = await Target().start(host="::1")
    try:
        assert await outcome(prober, v6.url("/ok")) == (UP, None)
        assert await outcome(prober, f"tcp://[::1]:{v6.port}") == (UP, None)
    finally:
        await v6.close()


async def test_a_name_that_cannot_resolve_is_dns(prober: Prober) -> None:
    # A label of 64 characters is refused by the resolver library itself (RFC 1035
    # allows 63): the lookup fails on this machine without a packet leaving it.
    name = "a" * 64 + ".example"
    assert await outcome(prober, f"http://{name}/") == (DOWN, "dns")


# -- the whole response ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/nobody", "timeout"),  # headers, then the body never comes
        ("/truncated", "truncated"),  # half the Content-Length, then FIN
        ("/trickle", "timeout"),  # a byte per 100 ms: 10 s for 100 bytes
    ],
)
async def test_a_body_that_does_not_arrive_in_full_fails(
    target: Target, prober: Prober, path: str, error: str
) -> None:
    result = await prober.check(quick(target.url(path), timeout=timedelta(milliseconds=600)))
    assert (result.status, result.error) == (DOWN, error)


async def test_latency_runs_to_the_end_of_the_body_and_headers_time_is_kept(
    target: Target, prober: Prober
) -> None:
    result = await prober.check(quick(target.url("/slowbody"), timeout=timedelta(seconds=5)))
    assert result.status == UP and result.headers_ms is not None and result.latency_ms is not None
    # headers at once, the body 300 ms later: the latency is the whole answer's
    assert result.headers_ms < 200 and result.latency_ms >= 280


_FIRST_PROBE_SCRIPT = """
import asyncio, json, sys
from agent.probe import Prober
from agentkit import Target, quick

async def main():
    target = await Target().start()
    prober = Prober()
    probe = quick(target.url("/ok"))
    prober.prepare([probe, quick("https://127.0.0.1:1/", verify_tls=False)])
    loaded = set(sys.modules)
    first = await prober.check(probe)
    new = sorted(set(sys.modules) - loaded)
    second = await prober.check(probe)
    clients = len(prober._clients)
    await prober.aclose()
    await target.close()
    print(json.dumps([clients, first.status, new, first.latency_ms, second.latency_ms]))

asyncio.run(main())
"""


def test_the_first_probe_is_not_timed_with_the_client_being_built() -> None:
    """Everything the first request would build or import (clients, trust store,
    httpcore's anyio backend) is done by ``prepare``: nothing is left to load inside
    the timed section (it cost the first probe ~150-400 ms against 3 ms). In a fresh
    interpreter, so nothing an earlier test imported can hide it."""
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_PROBE_SCRIPT],
        env={**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'tests' / 'agent'}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    clients, status, new_modules, first_ms, second_ms = json.loads(done.stdout)
    assert clients == 2 and status == UP  # both clients built before any probe ran
    assert new_modules == []  # no import inside the first probe's timing
    print(f"\nfirst probe {first_ms} ms, second {second_ms} ms")


# -- proxies --------------------------------------------------------------------------


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardProxy]:
    p = await ForwardProxy().start()
    yield p
    await p.close()


async def test_up_through_a_forwarding_proxy_http_and_https(
    target: Target,
    tls_target: Target,
    trusting: ssl.SSLContext,
    proxy: ForwardProxy,
) -> None:
    prober = Prober(ssl_context=trusting)
    try:
        assert await outcome(prober, target.url("/ok"), proxy=proxy.url()) == (UP, None)
        assert await outcome(prober, tls_target.url("/ok"), proxy=proxy.url()) == (UP, None)
        assert await outcome(prober, target.url("/503"), proxy=proxy.url()) == (DOWN, "status:503")
    finally:
        await prober.aclose()
    assert proxy.requests[0] == f"GET {target.url('/ok')}"
    assert proxy.requests[1] == f"CONNECT 127.0.0.1:{tls_target.port}"


async def test_a_dead_proxy_is_the_agents_network_unknown_not_down(
    target: Target, prober: Prober
) -> None:
    dead = f"http://127.0.0.1:{closed_port()}"
    result = await prober.check(quick(target.url("/ok"), proxy=dead))
    assert (result.status, result.error) == (DOWN, "proxy")  # the probe failed...
    v = fold("svc", MINUTE, [result])
    assert (v.status, v.error) == (UNKNOWN, "proxy")  # ...but measured nothing of the provider
    assert target.requests == {}


async def test_a_dead_proxy_leaves_the_live_state_unknown_not_down(
    make_config: Any, target: Target
) -> None:
    """The minute was unknown, but the live state (status, dashboard, the fleet's vote)
    said DOWN from the probe's own failure, and 'not recording ... no agent is recording
    it' for an agent probing every minute. Now both say what the agent knows."""
    from agent import Agent
    from reads.reports import overview
    from store.sqlite import SqliteStore

    dead = f"http://127.0.0.1:{closed_port()}"
    config = make_config({"shop": quick(target.url("/ok"), proxy=dead)})
    now = datetime(2026, 10, 3, 12, 30, 5, tzinfo=UTC)
    agent = Agent(config, clock=lambda: now)
    verdicts, written = await agent.run_once()
    assert written and (verdicts[0].status, verdicts[0].error) == (UNKNOWN, "proxy")
    async with await SqliteStore.open(config.storage_path, readonly=True) as store:
        (state,) = await store.probe_states()
        assert (state.status, state.error) == (UNKNOWN, "proxy")
        later = now + timedelta(minutes=2, seconds=50)  # nothing known since 12:00
        view = await overview(store, config, later)
    shop = view.to_json()["services"][0]
    assert shop["state"] == "unknown", shop
    assert [v["state"] for v in shop["vantage"]] == ["unknown"]
    assert shop["recording"] is False
    assert f"agent {config.agent.name} probes it but cannot tell: proxy" in shop["not_recording"]


async def test_proxy_credentials_are_sent_and_never_logged(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = "Basic " + base64.b64encode(b"probe:hunter2-secret").decode()
    proxy = await ForwardProxy(auth=token).start()
    prober = Prober()
    try:
        good = proxy.url("probe:hunter2-secret@")
        assert await outcome(prober, target.url("/ok"), proxy=good) == (UP, None)
        bad = proxy.url("probe:wrong-secret@")
        result = await prober.check(quick(target.url("/ok"), proxy=bad))
        assert (result.status, result.error) == (DOWN, "proxy")  # 407: ours to fix
    finally:
        await prober.aclose()
        await proxy.close()
    assert token in proxy.credentials
    assert "hunter2" not in caplog.text and "wrong-secret" not in caplog.text


def test_proxy_from_the_environment_and_no_proxy() -> None:
    env = {
        "HTTPS_PROXY": "http://p:3128",
        "http_proxy": "http://q:3128",
        "NO_PROXY": "internal,.corp",
    }
    assert proxy_from_env("https://api.saas.example/health", env) == "http://p:3128"
    assert proxy_from_env("http://api.saas.example/", env) == "http://q:3128"
    assert proxy_from_env("https://internal/", env) is None
    assert proxy_from_env("https://crm.corp/", env) is None
    assert proxy_from_env("https://corp.example/", env) == "http://p:3128"
    assert proxy_from_env("https://x/", {"NO_PROXY": "*", "HTTPS_PROXY": "http://p:1"}) is None
    assert proxy_from_env("https://x/", {}) is None


def test_no_proxy_ranges_exempt_the_addresses_in_them() -> None:
    """``NO_PROXY=10.0.0.0/8`` (curl since 7.86, Go, the blackbox exporter): an internal
    address was sent to the proxy, which cannot reach it: 502, down, a false down."""
    env = {"HTTPS_PROXY": "http://p:3128", "NO_PROXY": "localhost, 10.0.0.0/8,fd00::/8"}
    assert proxy_from_env("https://10.1.2.3/health", env) is None
    assert proxy_from_env("https://10.255.0.1:8443/", env) is None
    assert proxy_from_env("https://[fd12::1]/", env) is None
    assert proxy_from_env("https://11.1.2.3/", env) == "http://p:3128"
    assert proxy_from_env("https://[2001:db8::1]/", env) == "http://p:3128"
    assert proxy_from_env("https://ten.example/", env) == "http://p:3128"
    assert proxy_from_env("https://[::1]:8080/", {**env, "NO_PROXY": "::1"}) is None


# -- TLS ----------------------------------------------------------------------------------


async def _tls_server(cert: trustme.LeafCert) -> Target:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return await Target().start(tls=ctx)


async def test_tls_failures_say_why(ca: trustme.CA, trusting: ssl.SSLContext) -> None:
    past = datetime.now(UTC) - timedelta(days=30)
    expired = await _tls_server(
        ca.issue_cert("127.0.0.1", not_before=past, not_after=past + timedelta(days=1))
    )
    wrong_host = await _tls_server(ca.issue_cert("wrong.example"))
    stranger = await _tls_server(trustme.CA().issue_cert("127.0.0.1"))
    prober = Prober(ssl_context=trusting)
    try:
        assert await outcome(prober, expired.url("/ok")) == (DOWN, "tls:expired")
        assert await outcome(prober, wrong_host.url("/ok")) == (DOWN, "tls:hostname")
        assert await outcome(prober, stranger.url("/ok")) == (DOWN, "tls:untrusted")
        # verify = false: no check, and the (past) expiry is still recorded
        loose = await prober.check(quick(expired.url("/ok"), verify_tls=False))
        assert loose.status == UP and loose.tls_expires_at is not None
        assert loose.tls_expires_at < datetime.now(UTC)
    finally:
        await prober.aclose()
        for t in (expired, wrong_host, stranger):
            await t.close()


async def test_self_signed_certificate(tmp_path: Path) -> None:
    ca = trustme.CA()  # its own certificate, self-signed, served as the leaf
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    key = tmp_path / "key.pem"
    key.write_bytes(ca.private_key_pem.bytes())
    cert = tmp_path / "cert.pem"
    cert.write_bytes(ca.cert_pem.bytes())
    ctx.load_cert_chain(cert, key)
    server = await Target().start(tls=ctx)
    prober = Prober()
    try:
        assert await outcome(prober, server.url("/ok")) == (DOWN, "tls:self-signed")
    finally:
        await prober.aclose()
        await server.close()


async def test_expiry_recorded_and_ca_file_for_a_private_ca(
    ca: trustme.CA, tls_target: Target, tmp_path: Path
) -> None:
    bundle = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    prober = Prober()  # the system store: the test CA is not in it
    try:
        assert (await outcome(prober, tls_target.url("/ok")))[1] == "tls:untrusted"
        result = await prober.check(quick(tls_target.url("/ok"), ca_file=bundle))
        assert result.status == UP
        assert result.tls_expires_at is not None and result.tls_expires_at > datetime.now(UTC)
    finally:
        await prober.aclose()


_SYSTEM_STORE_SCRIPT = """
import asyncio, sys
from datetime import timedelta
from agent.probe import Prober
from agentkit import quick

async def main():
    prober = Prober()
    try:
        # 10 s: a fresh interpreter loading the system's trust store on a busy
        # machine can take more than quick()'s 1 s; only the verdict is checked.
        r = await prober.check(quick(sys.argv[1], timeout=timedelta(seconds=10)))
    finally:
        await prober.aclose()
    print(r.status, r.error)

asyncio.run(main())
"""


def test_the_machines_trust_store_is_used_under_a_clean_environment(
    ca: trustme.CA, tmp_path: Path
) -> None:
    """What OpenSSL on this machine trusts, the agent trusts, in an environment as bare
    as systemd's. A test cannot add a CA to the real system store, so the second run
    names a store the way OpenSSL itself is told (SSL_CERT_FILE): the public roots
    plus an internal CA. The first run (the real store, no internal CA) refuses it."""
    import certifi

    bundle = tmp_path / "system-store.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes() + ca.cert_pem.bytes())
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    target = loop.run_until_complete(Target().start(tls=server_ctx))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": f"{REPO}:{REPO / 'tests' / 'agent'}",
        }
        plain = subprocess.run(
            [sys.executable, "-c", _SYSTEM_STORE_SCRIPT, target.url("/ok")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert plain.stdout.split() == [str(DOWN), "tls:untrusted"], plain.stderr
        trusted = subprocess.run(
            [sys.executable, "-c", _SYSTEM_STORE_SCRIPT, target.url("/ok")],
            env={**env, "SSL_CERT_FILE": str(bundle)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert trusted.stdout.split() == [str(UP), "None"], trusted.stderr
    finally:
        asyncio.run_coroutine_threadsafe(target.close(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_default_context_is_the_system_store_loaded_once(ca: trustme.CA, tmp_path: Path) -> None:
    """Under a bare environment the default context holds what OpenSSL is told to
    trust (SSL_CERT_FILE here: the internal CA alone, so not certifi's roots), loaded
    when the context is built: the file can go away and the CA is still trusted
    (truststore re-read the system bundle inside every handshake, ~50 ms of CPU
    per HTTPS probe)."""
    bundle = tmp_path / "only-internal.pem"
    bundle.write_bytes(ca.cert_pem.bytes())
    script = (
        "import json, os, ssl, sys; from agent.probe import default_ssl_context;"
        "ctx = default_ssl_context(); os.unlink(sys.argv[1]);"
        "print(json.dumps([type(ctx) is ssl.SSLContext,"
        " [c['subject'] for c in ctx.get_ca_certs()]]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(bundle)],
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(REPO),
            "SSL_CERT_FILE": str(bundle),
            "SSL_CERT_DIR": str(tmp_path / "no-such-dir"),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    plain, subjects = json.loads(out.stdout)
    assert plain is True, out.stderr
    assert len(subjects) == 1 and "trustme" in json.dumps(subjects), subjects
    assert not bundle.exists()


async def test_tls_expiry_reaches_status_json_and_warns_ahead(
    make_config: Any, ca: trustme.CA, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from agent import Agent
    from reads.reports import overview
    from store.sqlite import SqliteStore

    soon = datetime.now(UTC) + timedelta(days=5)
    server = await _tls_server(ca.issue_cert("127.0.0.1", not_after=soon))
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    config = make_config({"shop": quick(server.url("/ok"), ca_file=bundle)})
    caplog.set_level(logging.WARNING)
    try:
        agent = Agent(config)
        verdicts, written = await agent.run_once()
    finally:
        await server.close()
    assert written and verdicts[0].status == UP
    async with await SqliteStore.open(config.storage_path, readonly=True) as store:
        view = await overview(store, config, datetime.now(UTC))
    shop = view.to_json()["services"][0]
    assert shop["tls_expires_at"] is not None and shop["tls_expires_at"].endswith("Z")
    assert abs(datetime.fromisoformat(shop["tls_expires_at"]) - soon) < timedelta(seconds=2)
    assert shop["tls_warning"] is True  # 5 days left, tls_warn_days = 14
    from slawatch.commands.status import render

    text = render(view)  # the text status says it in its own section, as the agent's log did
    assert "Certificates\nshop: its TLS certificate expires on " in text and "days left)" in text
    assert any("its TLS certificate expires on" in r.getMessage() for r in caplog.records)
