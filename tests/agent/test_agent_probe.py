"""Probes against real loopback servers: each misbehaviour gets its verdict and error class."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from agentkit import SECRET, Target, closed_port, quick
from loopback import QuietHandler, serve

from agent.probe import BODY_LIMIT, Prober, classify, resolve_headers
from agent.verdict import fold
from core.config import Probe
from core.errors import ConfigError
from core.status import DEGRADED, DOWN, UP

MINUTE = 29_000_000


async def verdict_of(
    prober: Prober, probe_kw: dict[str, object], url: str
) -> tuple[int, str | None]:
    result = await prober.check(quick(url, **probe_kw))
    v = fold("svc", MINUTE, [result])
    return v.status, v.error


@pytest.mark.parametrize(
    ("path", "probe_kw", "status", "error"),
    [
        ("/ok", {}, UP, None),
        ("/503", {}, DOWN, "status:503"),
        ("/slow", {"degraded_latency": timedelta(milliseconds=100)}, DEGRADED, "slow"),
        ("/never", {"timeout": timedelta(milliseconds=300)}, DOWN, "timeout"),
        ("/body", {"contains": "ok"}, DOWN, "body"),
        ("/ok", {"contains": "ok"}, UP, None),
        ("/reset", {}, DOWN, "reset"),
        ("/503", {"expect_status": ((500, 503),)}, UP, None),
    ],
)
async def test_http_targets(
    target: Target, path: str, probe_kw: dict[str, object], status: int, error: str | None
) -> None:
    prober = Prober()
    try:
        assert await verdict_of(prober, probe_kw, target.url(path)) == (status, error)
    finally:
        await prober.aclose()


async def test_slow_answer_within_threshold_is_up_with_its_latency(target: Target) -> None:
    prober = Prober()
    result = await prober.check(quick(target.url("/slow"), degraded_latency=timedelta(seconds=2)))
    await prober.aclose()
    assert result.status == UP
    assert result.latency_ms is not None and 250 <= result.latency_ms < 2000


async def test_bad_tls_certificate_is_tls(tls_target: Target) -> None:
    prober = Prober()  # default roots: the test CA is not trusted
    try:
        assert await verdict_of(prober, {}, tls_target.url("/ok")) == (DOWN, "tls:untrusted")
    finally:
        await prober.aclose()


async def test_trusted_tls_is_up_and_verify_off_skips_the_check(
    tls_target: Target, trusting: ssl.SSLContext
) -> None:
    prober = Prober(ssl_context=trusting)
    plain = Prober()
    try:
        assert await verdict_of(prober, {}, tls_target.url("/ok")) == (UP, None)
        assert await verdict_of(plain, {"verify_tls": False}, tls_target.url("/ok")) == (UP, None)
    finally:
        await prober.aclose()
        await plain.aclose()


async def test_contains_reads_only_a_bounded_prefix(target: Target) -> None:
    prober = Prober()
    try:
        # "needle" sits after 100 KiB: beyond the 64 KiB the probe is willing to read.
        assert BODY_LIMIT < 100 * 1024
        assert await verdict_of(prober, {"contains": "needle"}, target.url("/big")) == (
            DOWN,
            "body",
        )
        assert await verdict_of(prober, {"contains": "aaaa"}, target.url("/big")) == (UP, None)
    finally:
        await prober.aclose()


async def test_tcp_probes() -> None:
    import asyncio

    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    prober = Prober()
    try:
        assert await verdict_of(prober, {}, f"tcp://127.0.0.1:{port}") == (UP, None)
        assert await verdict_of(prober, {}, f"tcp://127.0.0.1:{closed_port()}") == (DOWN, "connect")
    finally:
        await prober.aclose()
        server.close()
        await server.wait_closed()


async def test_a_tcp_probe_and_the_canary_try_every_address_of_a_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A name with two addresses, the first dead (a listener whose queue is full drops
    the SYN: what a blackholed address does). Tried one after the other, the probe
    waited on the first until its timeout: down, while the name answers on its second
    address (and the HTTP probes, which race the addresses, said up). The sockets are
    real; only the name's answer is given by the test (no resolver here has two
    loopback addresses for one name)."""
    import asyncio

    from agent.canary import probe_canary

    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    dead = socket.socket()
    dead.bind(("127.0.0.2", port))
    dead.listen(0)
    queued = []
    for _ in range(4):  # fill its accept queue: later SYNs are dropped
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.2", port))
        queued.append(s)
    loop = asyncio.get_running_loop()
    resolve = loop.getaddrinfo

    async def two_addresses(host: Any, *args: Any, **kw: Any) -> list[Any]:
        if host in ("two.test", b"two.test"):
            first, second = [await resolve(a, *args, **kw) for a in ("127.0.0.2", "127.0.0.1")]
            return [*first, *second]
        return await resolve(host, *args, **kw)

    monkeypatch.setattr(loop, "getaddrinfo", two_addresses)
    prober = Prober()
    try:
        url = f"tcp://two.test:{port}"
        result = await prober.check(quick(url, timeout=timedelta(seconds=2)))
        assert (result.status, result.error) == (UP, None)
        assert await probe_canary(url, 2.0)
    finally:
        await prober.aclose()
        for s in (*queued, dead):
            s.close()
        server.close()
        await server.wait_closed()


async def test_refused_http_is_connect() -> None:
    prober = Prober()
    try:
        url = f"http://127.0.0.1:{closed_port()}/"
        assert await verdict_of(prober, {}, url) == (DOWN, "connect")
    finally:
        await prober.aclose()


async def test_confirmation_retries_hide_one_lost_answer(target: Target) -> None:
    prober = Prober()
    try:
        target.flaky_failures = 1
        result = await prober.check(quick(target.url("/flaky"), retries=2))
        assert (result.status, result.attempts) == (UP, 2)
        target.requests.clear()
        target.flaky_failures = 10
        result = await prober.check(
            quick(target.url("/flaky"), retries=2, retry_delay=timedelta(milliseconds=50))
        )
        assert (result.status, result.error, result.attempts) == (DOWN, "status:500", 3)
        assert target.requests["/flaky"] == 3
    finally:
        await prober.aclose()


async def test_header_secret_from_env_is_sent_but_never_logged(
    target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    probe = quick(target.url("/auth"), header_env={"Authorization": "PORTAL_TOKEN"})
    headers = resolve_headers(probe, {"PORTAL_TOKEN": f"Bearer {SECRET}"}, "config.toml")
    prober = Prober()
    try:
        assert (await prober.check(probe, headers)).status == UP
        wrong = resolve_headers(probe, {"PORTAL_TOKEN": "Bearer wrong"}, "config.toml")
        result = await prober.check(probe, wrong)
        assert (result.status, result.error) == (DOWN, "status:401")
    finally:
        await prober.aclose()
    assert SECRET not in caplog.text
    with pytest.raises(ConfigError, match="PORTAL_TOKEN is not set"):
        resolve_headers(probe, {}, "config.toml")


async def test_a_header_secret_with_a_line_break_is_refused_never_sent(target: Target) -> None:
    """A secret read from a file keeps its newline; an environment file written on
    Windows, its CR. Sent as is, no request could be made: every probe ``http``, a
    false down every minute. The line end around the value is dropped; one inside
    it is a ConfigError naming the header and the variable, never the value."""
    probe = quick(target.url("/auth"), header_env={"Authorization": "PORTAL_TOKEN"})
    prober = Prober()
    try:
        for around in (f"Bearer {SECRET}\n", f"Bearer {SECRET}\r\n", f" Bearer {SECRET} "):
            headers = resolve_headers(probe, {"PORTAL_TOKEN": around}, "config.toml")
            assert headers == {"Authorization": f"Bearer {SECRET}"}
            result = await prober.check(probe, headers)
            assert (result.status, result.error) == (UP, None)
    finally:
        await prober.aclose()
    for inside, why in ((f"Bearer {SECRET}\r\nX-Evil: 1", "line break"), ("a\x00b", "control")):
        with pytest.raises(ConfigError) as info:
            resolve_headers(probe, {"PORTAL_TOKEN": inside}, "config.toml")
        message = str(info.value)
        assert "header_env.Authorization" in message and "$PORTAL_TOKEN" in message
        assert why in message and SECRET not in message and "Evil" not in message


async def test_injected_transport_replaces_the_network() -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["user-agent"])
        return httpx.Response(502)

    at = datetime(2026, 11, 1, 12, 0, 30, tzinfo=UTC)
    prober = Prober(transport=httpx.MockTransport(answer))
    result = await prober.check(quick("https://portal.example.com/health"), at=at)
    await prober.aclose()
    assert (result.status, result.error, result.at) == (DOWN, "status:502", at)
    assert seen and seen[0].startswith("slawatch-agent/")


def test_classify_walks_the_cause_chain() -> None:
    def wrapped(inner: BaseException) -> httpx.ConnectError:
        try:
            try:
                raise inner
            except BaseException as exc:
                raise httpx.ConnectError("boom") from exc
        except httpx.ConnectError as outer:
            return outer

    assert classify(wrapped(socket.gaierror(-2, "Name or service not known"))) == "dns"
    assert classify(wrapped(ssl.SSLCertVerificationError("bad cert"))) == "tls"
    assert classify(wrapped(ConnectionRefusedError())) == "connect"
    assert classify(httpx.ReadTimeout("slow")) == "timeout"
    assert classify(httpx.RemoteProtocolError("illegal header")) == "protocol"


async def test_cookies_are_never_carried_from_one_probe_to_the_next() -> None:
    """The first answer of /a sets a cookie and redirects to /b; the next probe's
    redirect hop to /b must not carry it (before: the refusing policy was lost when
    httpx copied the jar, which kept every cookie and sent it on later hops)."""
    seen: list[str | None] = []
    first = [True]

    class Cookie(QuietHandler):
        def do_GET(self) -> None:
            if self.path == "/a":
                self.send_response(302)
                self.send_header("Location", "/b")
                if first[0]:
                    first[0] = False
                    self.send_header("Set-Cookie", "session=abc; Path=/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            seen.append(self.headers.get("Cookie"))
            self.answer(200)

    prober = Prober()
    try:
        with serve(Cookie) as port:
            probe = Probe(url=f"http://127.0.0.1:{port}/a", timeout=timedelta(seconds=5))
            for _ in range(2):
                assert (await prober.check(probe)).status == UP
    finally:
        await prober.aclose()
    assert seen == [None, None]
