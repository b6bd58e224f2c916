"""Probes: one HTTP(S) GET or TCP connect, and the confirmation retries around it.

A probe answers three questions about one target at one instant: did it work,
how long did it take, and if it failed, in which way. The way is a short error
class, the vocabulary every other part (minute records, notifications, claim
bundles) shares:

    timeout        no complete answer within the probe's ``timeout``
    dns            the host name did not resolve
    connect        the connection was refused or could not be made
    tls            the TLS handshake failed (bad certificate, wrong host name...)
    reset          the peer reset or dropped the connection mid-exchange
    protocol       the answer was not valid HTTP
    status:503     an HTTP status outside ``expect_status``
    body           the ``contains`` text was not in the first ``BODY_LIMIT`` bytes
    http           any other transport error

Secrets: header values named by ``header_env`` are read from the environment
once, kept in memory, sent with the request and never logged or stored; an
error class never contains a header or a body.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from urllib.parse import urlsplit

import httpx

from core.config import Probe
from core.errors import ConfigError
from core.status import DEGRADED, DOWN, UP
from core.timeutil import utc_now

log = logging.getLogger("slawatch.agent.probe")

BODY_LIMIT = 64 * 1024
"""At most this many bytes of a body are read for a ``contains`` check."""

USER_AGENT = "slawatch-agent/0.1"

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome of one probe (after confirmation, the last attempt's outcome)."""

    at: datetime  # when the first attempt started (aware UTC): decides the minute
    status: int  # core.status UP, DEGRADED (worked but slow) or DOWN (failed)
    latency_ms: int | None  # None when there was no answer to time
    error: str | None  # error class when DOWN, ``"slow"`` when DEGRADED, else None
    attempts: int = 1

    @property
    def failed(self) -> bool:
        return self.status == DOWN


@dataclass(frozen=True, slots=True)
class _Attempt:
    latency_ms: int | None
    error: str | None


def resolve_headers(probe: Probe, env: Mapping[str, str], where: str) -> dict[str, str]:
    """The probe's request headers, secret values taken from ``env`` by name.

    A missing variable is the admin's to fix, so it is a ConfigError naming the
    header and the variable, never the (absent) value.
    """
    headers = dict(probe.headers)
    for header, var in probe.header_env.items():
        value = env.get(var)
        if value is None:
            raise ConfigError(where, f"header_env.{header}: environment variable {var} is not set")
        headers[header] = value
    return headers


def parse_tcp_target(url: str) -> tuple[str, int]:
    """``tcp://host:port`` -> (host, port); raises ValueError when malformed."""
    parts = urlsplit(url)
    if parts.scheme != "tcp" or not parts.hostname or parts.port is None:
        raise ValueError(f"{url!r} is not tcp://host:port")
    return parts.hostname, parts.port


def classify(exc: BaseException) -> str:
    """The error class for an exception raised while probing."""
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return "timeout"
    chain = _chain(exc)
    if any(isinstance(e, socket.gaierror) for e in chain):
        return "dns"
    if any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain):
        return "tls"
    if any(isinstance(e, ConnectionResetError | BrokenPipeError) for e in chain):
        return "reset"
    if isinstance(exc, httpx.ConnectError | ConnectionRefusedError):
        return "connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        # h11 says "Server disconnected without sending a response" when the
        # peer closed the connection: that is a dropped connection, not bad HTTP.
        return "reset" if "disconnected" in str(exc) else "protocol"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return "reset"
    if isinstance(exc, httpx.TooManyRedirects):
        return "redirects"
    if isinstance(exc, httpx.DecodingError):
        return "protocol"
    if isinstance(exc, OSError):
        return "connect"
    return "http"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from (httpx wraps httpcore wraps OSError)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def default_ssl_context() -> ssl.SSLContext:
    """Verified TLS: certifi's roots, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set."""
    return httpx.create_ssl_context(verify=True, trust_env=True)


class Prober:
    """Runs probes for one agent: one shared ``httpx.AsyncClient``, bounded concurrency.

    ``transport`` replaces the network for HTTP probes (tests, the demo);
    ``ssl_context`` replaces the trusted roots. Keep-alive is off on purpose:
    each probe pays DNS, connect and TLS like a user arriving after a pause,
    so a broken listener cannot hide behind a pooled connection. Probes with
    ``verify_tls = false`` go through a second client, created only if needed.
    Cookies are refused (a probe must not carry state from one run to the next,
    and 10,000 targets must not grow a jar), and each target's request is built
    once and re-sent: building it is a third of httpx's cost per probe.
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_concurrency: int = 500,
        clock: Callable[[], datetime] = utc_now,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._transport = transport
        self._ssl_context = ssl_context
        self._clock = clock
        self._sleep = sleep
        self._gate = asyncio.Semaphore(max_concurrency)
        self._clients: dict[bool, httpx.AsyncClient] = {}
        self._requests: dict[tuple[object, ...], httpx.Request] = {}

    def _client(self, verify: bool) -> httpx.AsyncClient:
        client = self._clients.get(verify)
        if client is None:
            tls: ssl.SSLContext | bool = False
            if verify:
                tls = self._ssl_context or default_ssl_context()
            client = httpx.AsyncClient(
                transport=self._transport,
                verify=tls,
                trust_env=False,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
                headers={"User-Agent": USER_AGENT},
                cookies=httpx.Cookies(CookieJar(DefaultCookiePolicy(allowed_domains=[]))),
            )
            self._clients[verify] = client
        return client

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()

    async def check(
        self,
        probe: Probe,
        headers: Mapping[str, str] | None = None,
        *,
        at: datetime | None = None,
    ) -> ProbeResult:
        """Probe with confirmation: a failure is retried ``retries`` times,
        ``retry_delay`` apart, and counts only if every attempt fails.

        ``at`` (default: now) is the instant the result is filed under."""
        at = at or self._clock()
        attempt = await self.attempt(probe, headers)
        attempts = 1
        while attempt.error is not None and attempts <= probe.retries:
            await self._sleep(probe.retry_delay.total_seconds())
            attempt = await self.attempt(probe, headers)
            attempts += 1
        return _result(probe, at, attempt, attempts)

    async def attempt(self, probe: Probe, headers: Mapping[str, str] | None = None) -> _Attempt:
        """One try, never raising: the whole try is bounded by ``probe.timeout``."""
        async with self._gate:
            started = time.perf_counter()
            try:
                async with asyncio.timeout(probe.timeout.total_seconds()):
                    if probe.kind == "tcp":
                        await _tcp_connect(probe.url)
                    else:
                        error = await self._http(probe, headers or {})
                        if error is not None:
                            return _Attempt(_elapsed_ms(started), error)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = classify(exc)
                if error == "http":  # only the host: a URL may carry user:password@
                    host = urlsplit(probe.url).hostname
                    log.warning("probe of %s: unexpected %s", host, type(exc).__name__)
                return _Attempt(None, error)
            return _Attempt(_elapsed_ms(started), None)

    def _request(
        self, client: httpx.AsyncClient, probe: Probe, headers: Mapping[str, str]
    ) -> httpx.Request:
        seconds = probe.timeout.total_seconds()
        key = (probe.url, probe.verify_tls, seconds, tuple(sorted(headers.items())))
        request = self._requests.get(key)
        if request is None:
            request = client.build_request(
                "GET", probe.url, headers=headers, timeout=httpx.Timeout(seconds)
            )
            self._requests[key] = request
        return request

    async def _http(self, probe: Probe, headers: Mapping[str, str]) -> str | None:
        client = self._client(probe.verify_tls)
        response = await client.send(self._request(client, probe, headers), stream=True)
        try:
            if not any(lo <= response.status_code <= hi for lo, hi in probe.expect_status):
                return f"status:{response.status_code}"
            if probe.contains is not None and not await _body_contains(
                response, probe.contains.encode()
            ):
                return "body"
        finally:
            await response.aclose()
        return None


async def _body_contains(response: httpx.Response, needle: bytes) -> bool:
    """Whether ``needle`` appears in the first BODY_LIMIT bytes of the (decoded) body."""
    seen = b""
    async for chunk in response.aiter_bytes():
        seen = (seen + chunk)[:BODY_LIMIT]
        if needle in seen:
            return True
        if len(seen) >= BODY_LIMIT:
            return False
    return False


async def _tcp_connect(url: str) -> None:
    host, port = parse_tcp_target(url)
    _reader, writer = await asyncio.open_connection(host, port)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _result(probe: Probe, at: datetime, attempt: _Attempt, attempts: int) -> ProbeResult:
    if attempt.error is not None:
        return ProbeResult(at, DOWN, attempt.latency_ms, attempt.error, attempts)
    slow = probe.degraded_latency is not None and (
        (attempt.latency_ms or 0) >= probe.degraded_latency.total_seconds() * 1000
    )
    status = DEGRADED if slow else UP
    return ProbeResult(at, status, attempt.latency_ms, "slow" if slow else None, attempts)
