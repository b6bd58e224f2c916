"""Probes: one HTTP(S) request or TCP connect, and the confirmation retries around it.

A probe answers three questions about one target at one instant: did it work,
how long did it take, and if it failed, in which way. The way is a short error
class, the vocabulary every other part (minute records, notifications, claim
bundles) shares:

    timeout        no complete answer (headers AND body) within the probe's ``timeout``
    dns            the host name did not resolve
    connect        the connection was refused or could not be made
    tls            the TLS handshake failed; ``tls:expired``, ``tls:untrusted``,
                   ``tls:self-signed``, ``tls:hostname`` and ``tls:not-yet-valid``
                   say why when the certificate check said so
    reset          the peer reset or dropped the connection mid-exchange
    truncated      the body ended before its announced length (a FIN mid-body)
    protocol       the answer was not valid HTTP
    redirects      a redirect loop, more than ``max_redirects`` hops, or a 3xx
                   without a usable ``Location`` while following redirects
    proxy          the proxy itself could not be reached or refused us (407):
                   the agent's own network, so the minute is unknown, not down
    status:503     an HTTP status (of the final response) outside ``expect_status``
    body           the ``contains`` text was not in the first ``BODY_LIMIT`` bytes
                   (``JSON_LIMIT`` for a probe with a ``json_path``)
    json           the body is not JSON (or longer than ``JSON_LIMIT``), or
                   ``json_path`` is not ``json_expect``
    http           any other transport error

The whole response counts: the body is read for every probe, up to
``BODY_LIMIT`` bytes, so headers followed by a body that never comes, a
truncated body or one trickling slower than the timeout all fail; the latency
is measured to the end of that read (``headers_ms`` keeps the time to the
headers). A body longer than ``BODY_LIMIT`` is not a failure: the read stops
there.

Redirects are followed (``max_redirects`` hops) and the final response is
judged; ``follow_redirects = false`` judges the 3xx itself.

The wire: a probe through no proxy is one connection of its own, one request,
one response (``agent.http1``: asyncio and a C parser, about a third of httpx's
CPU per probe); a proxied probe, or a ``Prober`` given a transport, goes
through httpx. Both send the same bytes and give the same error classes.

Trust: the operating system's certificate store (the system bundle, as OpenSSL
and the machine's admin configure it, loaded once per client), plus the
probe's ``ca_file``; ``verify_tls = false`` checks nothing. Each HTTPS
answer records its certificate's expiry (``tls_expires_at``).

Corroboration: each answer also keeps what the provider can find in its own
logs (``seen``: Date, X-Request-Id, traceparent, CF-Ray, status, server IP,
certificate SHA-256; ``agent.corroborate``), kept by the agent for failing probes.

Secrets: header values named by ``header_env`` are read from the environment
once, kept in memory, sent with the request and never logged or stored; an
error class never contains a header, a body or a proxy's credentials.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

import core.tls
from agent.corroborate import seen, seen_parts
from agent.http1 import BODY_LIMIT, HAPPY_EYEBALLS_DELAY, Answer, fetch, wire
from agent.limits import secret_problem
from agent.netio import fresh_connections, use_asyncio
from core.config import Probe
from core.corroboration import Corroboration
from core.errors import ConfigError
from core.jsonpath import lookup, matches
from core.status import DEGRADED, DOWN, UP
from core.timeutil import utc_now

log = logging.getLogger("slawatch.agent.probe")

JSON_LIMIT = 1024 * 1024
"""A probe with ``json_path`` reads up to this much instead: a JSON document cut short
cannot be parsed, and a healthy one can pass 64 KiB (a status page's summary)."""

Sleep = Callable[[float], Awaitable[None]]


def agent_version() -> str:
    """The installed slawatch's version (``importlib.metadata``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("slawatch")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"


def user_agent(name: str) -> str:
    """``slawatch-agent/VERSION (NAME)``: lets a provider tell the agents apart in its logs."""
    clean = "".join(c for c in name if c.isprintable() and c not in "()\r\n") or "agent"
    return f"slawatch-agent/{agent_version()} ({clean})"


USER_AGENT = f"slawatch-agent/{agent_version()}"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """The outcome of one probe (after confirmation, the last attempt's outcome)."""

    at: datetime  # when the first attempt started (aware UTC): decides the minute
    status: int  # core.status UP, DEGRADED (worked but slow) or DOWN (failed)
    latency_ms: int | None  # to the end of the response; None when nothing answered
    error: str | None  # error class when DOWN, ``"slow"`` when DEGRADED, else None
    attempts: int = 1
    headers_ms: int | None = None  # time to the response headers
    tls_expires_at: datetime | None = None  # the server certificate's notAfter (HTTPS)
    seen: Corroboration | None = None  # what the last answer left in the provider's logs

    @property
    def failed(self) -> bool:
        return self.status == DOWN


@dataclass(frozen=True, slots=True)
class _Attempt:
    latency_ms: int | None
    error: str | None
    headers_ms: int | None = None
    tls_expires_at: datetime | None = None
    seen: Corroboration | None = None


def resolve_headers(probe: Probe, env: Mapping[str, str], where: str) -> dict[str, str]:
    """The probe's request headers, secret values taken from ``env`` by name.

    A missing variable, or one whose value no HTTP request can carry (a line break
    inside it, a control character), is the admin's to fix, so it is a ConfigError
    naming the header and the variable, never the value: sent, every probe would
    fail as ``http``, a false down. The blanks and line breaks around a value are
    dropped (a secret read from a file, an environment file with CRLF line ends).
    """
    headers = dict(probe.headers)
    for header, var in probe.header_env.items():
        problem = secret_problem(env, var)
        if problem is not None:
            raise ConfigError(f"{where}.header_env.{header}", problem)
        headers[header] = env[var].strip(" \t\r\n")
    return headers


def proxy_from_env(url: str, env: Mapping[str, str]) -> str | None:
    """The proxy ``$HTTPS_PROXY`` / ``$HTTP_PROXY`` / ``$ALL_PROXY`` name for ``url``,
    unless ``$NO_PROXY`` exempts its host (curl's rules: lower case first)."""

    def var(name: str) -> str | None:
        return env.get(name.lower()) or env.get(name.upper()) or None

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    proxy = var(f"{parts.scheme}_proxy") or var("all_proxy")
    if not proxy:
        return None
    no_proxy = var("no_proxy")
    if no_proxy and _exempt(parts.hostname.lower(), parts.port, no_proxy):
        return None
    return proxy.strip()


def _exempt(host: str, port: int | None, no_proxy: str) -> bool:
    """``NO_PROXY``: ``*``, or host names (a leading dot optional, matching subdomains
    too), each with an optional ``:port``, or addresses and ranges (``10.0.0.0/8``,
    ``fd00::/8``, as curl and Go read them), comma separated."""
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return True
        if not entry:
            continue
        network = _network(entry)
        if network is not None:
            if _in_network(host, network):
                return True
            continue
        if entry.startswith("[") and "]" in entry:  # [::1]:8080
            name, _, rest = entry[1:].partition("]")
            want_port = rest[1:] if rest.startswith(":") else ""
        elif entry.count(":") == 1:
            name, _, want_port = entry.partition(":")
        else:
            name, want_port = entry, ""
        if want_port and (port is None or want_port != str(port)):
            continue
        name = name.lstrip(".")
        if host == name or host.endswith("." + name):
            return True
    return False


def _network(entry: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(entry.strip("[]"), strict=False)
    except ValueError:
        return None


def _in_network(host: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(host) in network
    except ValueError:  # a name: ranges hold addresses only
        return False


def parse_tcp_target(url: str) -> tuple[str, int]:
    """``tcp://host:port`` -> (host, port); raises ValueError when malformed."""
    parts = urlsplit(url)
    if parts.scheme != "tcp" or not parts.hostname or parts.port is None:
        raise ValueError(f"{url!r} is not tcp://host:port")
    return parts.hostname, parts.port


# OpenSSL's X509_V_ERR_* codes behind a failed certificate check, by what they mean.
_TLS_REASONS = {
    9: "tls:not-yet-valid",
    10: "tls:expired",
    18: "tls:self-signed",
    19: "tls:untrusted",  # self-signed certificate in the chain
    2: "tls:untrusted",  # unable to get issuer certificate
    20: "tls:untrusted",  # unable to get local issuer certificate
    21: "tls:untrusted",  # unable to verify the first certificate
    62: "tls:hostname",
    64: "tls:hostname",  # IP address mismatch
}


def classify(exc: BaseException, *, via_proxy: bool = False) -> str:
    """The error class for an exception raised while probing.

    ``via_proxy``: the request went to a proxy, so failing to connect at all
    (or a 407) is the proxy's failure (``proxy``), not the target's. A proxy
    that was reached but answered the CONNECT with 502/503/504 could not reach
    the target: that is the target's ``connect`` failure.
    """
    if isinstance(exc, httpx.ProxyError):
        code = str(exc).split(" ", 1)[0]
        return "connect" if code in ("502", "503", "504") else "proxy"
    if via_proxy and isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        chain = _chain(exc)
        if not any(isinstance(e, ssl.SSLError | ssl.CertificateError) for e in chain):
            return "proxy"
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        return "timeout"
    chain = _chain(exc)
    if any(isinstance(e, socket.gaierror) for e in chain):
        return "dns"
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return _TLS_REASONS.get(getattr(e, "verify_code", None) or 0, "tls")
        if isinstance(e, ssl.CertificateError):
            return "tls:hostname"
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return "tls"
    if any(isinstance(e, ConnectionResetError | BrokenPipeError) for e in chain):
        return "reset"
    if isinstance(exc, httpx.ConnectError | ConnectionRefusedError):
        return "connect"
    if isinstance(exc, httpx.RemoteProtocolError):
        # h11 says "Server disconnected without sending a response" when the
        # peer closed the connection: that is a dropped connection, not bad HTTP;
        # "peer closed connection without sending complete message body" is a body
        # cut short of its Content-Length (or chunked end).
        text = str(exc)
        if "complete message body" in text:
            return "truncated"
        return "reset" if "disconnected" in text else "protocol"
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


# Where distributions keep their CA bundle, for a Python whose OpenSSL was built
# with other default paths (python-build-standalone, pyenv against another OpenSSL).
_CA_FILE_CANDIDATES = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Arch, Gentoo, Alpine
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  # Fedora, RHEL 7+
    "/etc/pki/tls/certs/ca-bundle.crt",  # older Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/pki/tls/cacert.pem",  # OpenELEC
    "/etc/ssl/cert.pem",  # Alpine, the BSDs
)


def default_ssl_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """Verified TLS against the operating system's trust store, plus ``ca_file`` when
    given: an internal CA the machine trusts works under systemd's clean environment
    (certifi's bundle alone would refuse it). ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``
    apply, as they do to OpenSSL itself.

    The store is loaded once, when the context is built (the agent builds its
    contexts at start and on SIGHUP). ``truststore`` did this on Linux too, but
    again inside every handshake: 40-60 ms of CPU per HTTPS probe parsing the
    system bundle, measured by ``benchmarks/blackbox_compare.py``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, host names checked
    defaults = ssl.get_default_verify_paths()
    if defaults.cafile or (defaults.capath and _capath_has_certs(defaults.capath)):
        ctx.set_default_verify_paths()
    else:
        for candidate in _CA_FILE_CANDIDATES:
            if Path(candidate).is_file():
                ctx.load_verify_locations(cafile=candidate)
                break
    if ca_file is not None:
        load_ca_file(ctx, ca_file)
    return ctx


def _capath_has_certs(capath: str) -> bool:
    """OpenSSL's hashed folder (``c_rehash``: ``1a2b3c4d.0``) holds at least one entry."""
    import re

    try:
        names = Path(capath).iterdir()
        return any(re.fullmatch(r"[0-9a-fA-F]{8}\.[0-9]", p.name) for p in names)
    except OSError:
        return False


def load_ca_file(ctx: ssl.SSLContext, ca_file: Path) -> None:
    """Add a PEM file of CA certificates; a ConfigError naming the file when unusable."""
    try:
        ctx.load_verify_locations(cafile=str(ca_file))
    except FileNotFoundError:
        raise ConfigError(str(ca_file), "ca_file: no such file") from None
    except ssl.SSLError:  # before OSError: it is one
        raise ConfigError(str(ca_file), "ca_file: no PEM certificate in this file") from None
    except OSError as exc:
        raise ConfigError(str(ca_file), f"ca_file: cannot be read: {exc.strerror}") from None


def _cert_expiry(response: httpx.Response) -> datetime | None:
    """The server certificate's notAfter, read from the live connection (HTTPS only)."""
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    if not der:
        return None
    return _expiry_of(der)


_EXPIRY_CACHE: dict[bytes, datetime | None] = {}


def _expiry_of(der: bytes) -> datetime | None:
    """Parsed once per distinct certificate (the same one comes back every probe)."""
    if der in _EXPIRY_CACHE:
        return _EXPIRY_CACHE[der]
    from cryptography import x509

    try:
        expiry: datetime | None = x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        expiry = None
    if len(_EXPIRY_CACHE) > 10_000:
        _EXPIRY_CACHE.clear()
    _EXPIRY_CACHE[der] = expiry
    return expiry


class _NoCookies(CookieJar):
    """A jar that keeps nothing: no probe carries a cookie from one run to the next."""

    def __init__(self) -> None:
        super().__init__(DefaultCookiePolicy(allowed_domains=[]))

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Any) -> None:
        return None


_ClientKey = tuple[bool, Path | None, str | None, int, bool]


def _client_key(probe: Probe) -> _ClientKey:
    https = probe.url.lower().startswith("https:")
    return (probe.verify_tls, probe.ca_file, probe.proxy or None, probe.max_redirects, https)


class Prober:
    """Runs probes for one agent: a few shared ``httpx.AsyncClient``, bounded concurrency.

    ``transport`` replaces the network for HTTP probes (tests, the demo);
    ``ssl_context`` replaces the trusted roots. Keep-alive is off on purpose:
    each probe pays DNS, connect and TLS like a user arriving after a pause,
    so a broken listener cannot hide behind a pooled connection. Probes that
    differ in trust (``verify_tls``, ``ca_file``), proxy or ``max_redirects``
    share a client per combination, built by ``prepare`` before probing starts
    (building one loads the trust store: ~100 ms that must not land inside the
    first probe's timing) or, failing that, before the timer starts.
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
        agent_name: str | None = None,
    ) -> None:
        self._transport = transport
        self._ssl_context = ssl_context
        self._clock = clock
        self._sleep = sleep
        self._gate = asyncio.Semaphore(max_concurrency)
        self._clients: dict[_ClientKey, httpx.AsyncClient] = {}
        self._tls: dict[_ClientKey, ssl.SSLContext] = {}  # each client's, for direct probes
        self._requests: dict[tuple[object, ...], tuple[httpx.Request, bytes]] = {}
        self.user_agent = USER_AGENT if agent_name is None else user_agent(agent_name)

    def prepare(self, probes: Iterable[Probe]) -> None:
        """Build every client these probes need now (ConfigError for a bad ``ca_file``),
        and load what httpcore would otherwise import during the first request (its
        anyio backend: ~0.3 s of imports that the first probe's latency would carry)."""
        import importlib

        for module in ("anyio._backends._asyncio", "anyio.streams.tls", "anyio.to_thread"):
            with contextlib.suppress(ImportError):
                importlib.import_module(module)
        for probe in probes:
            if probe.kind == "http":
                self._client(probe)

    def _client(self, probe: Probe) -> httpx.AsyncClient:
        key = _client_key(probe)
        client = self._clients.get(key)
        if client is None:
            verify, ca_file, proxy, max_redirects, https = key
            tls: ssl.SSLContext | bool = False
            if verify:
                if self._ssl_context is not None and ca_file is None:
                    tls = self._ssl_context
                elif self._ssl_context is not None:
                    tls = ssl.create_default_context()
                    tls.load_verify_locations(cadata=_ca_data(self._ssl_context))
                    load_ca_file(tls, ca_file)  # type: ignore[arg-type]
                else:
                    tls = default_ssl_context(ca_file)
            self._tls[key] = _direct_tls(tls)
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=0)
            transport = self._transport
            if transport is None:  # the proxy goes to the transport: no mounts to mind
                transport = httpx.AsyncHTTPTransport(
                    verify=tls, proxy=proxy, trust_env=False, limits=limits
                )
                if https:  # asyncio's own TLS: fewer layers (agent.netio)
                    use_asyncio(transport)
                fresh_connections(transport)  # no pool to walk: none is kept (agent.netio)
                proxy = None
            client = httpx.AsyncClient(
                transport=transport,
                verify=tls,
                proxy=proxy,
                trust_env=False,  # proxies are resolved by the agent; no ~/.netrc
                follow_redirects=False,
                max_redirects=max_redirects,
                limits=limits,
                headers={"User-Agent": self.user_agent},
                cookies=_NoCookies(),  # a jar, not httpx.Cookies: those are copied, policy lost
                event_hooks={"request": [_keep_secrets_home]},
            )
            self._clients[key] = client
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
        on_attempt: Callable[[ProbeResult], None] | None = None,
    ) -> ProbeResult:
        """Probe with confirmation: a failure is retried ``retries`` times,
        ``retry_delay`` apart, and counts only if every attempt fails.

        ``at`` (default: now) is the instant the result is filed under.
        ``on_attempt`` hears each attempt's own outcome as it ends (its ``at``: the
        instant that attempt was sent; the first one's is ``at``)."""
        at = at or self._clock()
        sent = at
        attempt = await self.attempt(probe, headers)
        attempts = 1
        while True:
            if on_attempt is not None:
                on_attempt(_result(probe, sent, attempt, 1))
            if attempt.error is None or attempts > probe.retries:
                return _result(probe, at, attempt, attempts)
            await self._sleep(probe.retry_delay.total_seconds())
            sent = self._clock()
            attempt = await self.attempt(probe, headers)
            attempts += 1

    async def attempt(self, probe: Probe, headers: Mapping[str, str] | None = None) -> _Attempt:
        """One try, never raising: the whole try is bounded by ``probe.timeout``."""
        async with self._gate:
            request: httpx.Request | None = None
            client: httpx.AsyncClient | None = None
            data = b""
            if probe.kind == "http":
                try:  # outside the timed section: building a client is not the target's time
                    client = self._client(probe)
                    request, data = self._request(client, probe, headers or {})
                except Exception as exc:  # a URL httpx refuses, an unreadable ca_file...
                    log.warning("probe of %s cannot be sent: %s", urlsplit(probe.url).hostname, exc)
                    return _Attempt(None, classify(exc))
            started = time.perf_counter()
            timing = _Timing()
            try:
                async with asyncio.timeout(probe.timeout.total_seconds()):
                    if client is None or request is None:
                        await tcp_connect(probe.url)
                    else:
                        if self._transport is None and not probe.proxy:  # agent.http1
                            http = self._direct(client, request, data, probe, started, timing)
                        else:
                            http = self._http(client, request, probe, started, timing)
                        error = await http
                        if error is not None:
                            return _Attempt(
                                _elapsed_ms(started),
                                error,
                                timing.headers_ms,
                                timing.expiry,
                                timing.seen,
                            )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = classify(exc, via_proxy=bool(probe.proxy))
                if error == "http":  # only the host: a URL may carry user:password@
                    host = urlsplit(probe.url).hostname
                    log.warning("probe of %s: unexpected %s", host, type(exc).__name__)
                return _Attempt(None, error, timing.headers_ms, timing.expiry, timing.seen)
            return _Attempt(
                _elapsed_ms(started), None, timing.headers_ms, timing.expiry, timing.seen
            )

    def _request(
        self, client: httpx.AsyncClient, probe: Probe, headers: Mapping[str, str]
    ) -> tuple[httpx.Request, bytes]:
        """The target's request, built once, and its bytes on the wire (``agent.http1``)."""
        seconds = probe.timeout.total_seconds()
        key = (
            probe.url,
            probe.method,
            probe.body,
            _client_key(probe),
            seconds,
            tuple(sorted(headers.items())),
        )
        built = self._requests.get(key)
        if built is None:
            request = client.build_request(
                probe.method,
                probe.url,
                headers=headers,
                content=None if probe.body is None else probe.body.encode(),
                timeout=httpx.Timeout(seconds),
                extensions=_secrets_of(probe, probe.url),
            )
            # A URL's user:password@ is Basic auth, which httpx adds in ``send``; the
            # direct path never calls it, so it is added here, once, as ``send`` would.
            request = next(client._build_request_auth(request).sync_auth_flow(request))
            built = self._requests[key] = (request, wire(request))
        return built

    async def _direct(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        data: bytes,
        probe: Probe,
        started: float,
        timing: _Timing,
    ) -> str | None:
        """A probe through no proxy: ``agent.http1``'s lean exchange (redirects built by
        the probe's httpx client and its hooks, so each hop's request is httpx's)."""
        sent_at = self._clock()
        tls = self._tls.get(_client_key(probe))

        def head(answer: Answer) -> None:
            """Noted as each head comes in: a body that then fails (never comes, cut
            short) keeps the time to its head and what it left in the provider's logs,
            as httpx's path keeps them."""
            timing.headers_ms = round((answer.headers_at - started) * 1000)
            with contextlib.suppress(Exception):
                if answer.ssl_object is not None:
                    der = answer.ssl_object.getpeercert(binary_form=True)
                    timing.expiry = _expiry_of(der) if der else None
            with contextlib.suppress(Exception):  # the provider's own identifiers of it
                timing.seen = seen_parts(
                    sent_at, answer.status, answer.header, answer.peer, answer.ssl_object
                )

        answer = await fetch(
            client,
            request,
            data,
            tls,
            follow_redirects=probe.follow_redirects,
            limit=_body_limit(probe),
            on_head=head,
        )
        return _judge(probe, answer.status, answer.body)

    async def _http(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        probe: Probe,
        started: float,
        timing: _Timing,
    ) -> str | None:
        sent_at = self._clock()
        response = await client.send(request, stream=True, follow_redirects=probe.follow_redirects)
        try:
            timing.headers_ms = _elapsed_ms(started)
            with contextlib.suppress(Exception):
                timing.expiry = _cert_expiry(response)
            with contextlib.suppress(Exception):  # the provider's own identifiers of it
                timing.seen = seen(response, sent_at)
            body = await _read_body(response, _body_limit(probe))
            status = response.status_code
            if status == 407 and probe.proxy:
                return "proxy"  # our proxy wants credentials: our network's problem
            return _judge(probe, status, body)
        finally:
            await response.aclose()


def _body_limit(probe: Probe) -> int:
    return BODY_LIMIT if probe.json_path is None else JSON_LIMIT


def _judge(probe: Probe, status: int, body: bytes) -> str | None:
    """The final response's error class against the probe's checks, or None."""
    if probe.follow_redirects and 300 <= status < 400 and status != 304:
        return "redirects"  # a redirect we could not follow: no usable Location
    if not any(lo <= status <= hi for lo, hi in probe.expect_status):
        return f"status:{status}"
    if probe.contains is not None and probe.contains.encode() not in body:
        return "body"
    if probe.json_path is not None and not _json_ok(body, probe):
        return "json"
    return None


def _direct_tls(tls: ssl.SSLContext | bool) -> ssl.SSLContext:
    """The client's TLS context for ``agent.http1`` (``False``: verify nothing, as httpx's
    ``verify=False``), offering HTTP/1.1 by ALPN as httpcore does."""
    if isinstance(tls, ssl.SSLContext):
        ctx = tls
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


_SECRETS = "slawatch.secrets"  # a request extension; httpx carries it to each redirect hop


def _secrets_of(probe: Probe, url: str) -> dict[str, Any]:
    """The ``header_env`` header names and the origin they belong to, for the hook below."""
    if not probe.header_env:
        return {}
    return {_SECRETS: (_origin(httpx.URL(url)), tuple(probe.header_env))}


async def _keep_secrets_home(request: httpx.Request) -> None:
    """httpx's request hook, on every hop: a redirect to another origin loses the
    ``header_env`` secrets (httpx itself drops only Authorization), so no provider's
    redirect (an open one, its SSO host, a CDN) hands the customer's key elsewhere.
    An upgrade to HTTPS on the same host keeps them."""
    secrets = request.extensions.get(_SECRETS)
    if secrets is None:
        return
    (scheme, host, port), names = secrets
    to = _origin(request.url)
    if to == (scheme, host, port) or (to[1] == host and (scheme, to[0]) == ("http", "https")):
        return
    for name in names:
        request.headers.pop(name, None)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host.lower(), url.port)


@dataclass(slots=True)
class _Timing:
    headers_ms: int | None = None
    expiry: datetime | None = None
    seen: Corroboration | None = None


def _ca_data(ctx: ssl.SSLContext) -> str:
    """The CA certificates loaded into ``ctx`` as PEM text (to extend an injected context)."""
    ders = ctx.get_ca_certs(binary_form=True)
    return "".join(ssl.DER_cert_to_PEM_cert(der) for der in ders)


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    """The (decoded) body up to ``limit`` bytes; the read stops there.

    Reading it is what makes a body that never comes, comes too slowly or is
    cut short fail; the caller's timeout bounds the time it may take."""
    seen = bytearray()
    async for chunk in response.aiter_bytes():
        seen += chunk
        if len(seen) >= limit:
            return bytes(seen[:limit])
    return bytes(seen)


def _json_ok(body: bytes, probe: Probe) -> bool:
    assert probe.json_path is not None
    try:
        document: Any = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, cut at JSON_LIMIT, or absurdly nested
        return False
    return matches(lookup(document, probe.json_path), probe.json_expect)


async def tcp_connect(url: str) -> None:
    """Connect to ``tcp://host:port``, then close. Every address of a name is tried,
    raced as the HTTP probes race them (RFC 8305): tried one after the other, a dead
    first address (a blackholed AAAA, a drained node still in DNS) held the probe
    until its timeout, a false down for a name that answers on its next address."""
    host, port = parse_tcp_target(url)
    _reader, writer = await asyncio.open_connection(
        host, port, happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY
    )
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _result(probe: Probe, at: datetime, attempt: _Attempt, attempts: int) -> ProbeResult:
    if attempt.error is not None:
        status, error = DOWN, attempt.error
    elif probe.degraded_latency is not None and (
        (attempt.latency_ms or 0) >= probe.degraded_latency.total_seconds() * 1000
    ):
        status, error = DEGRADED, "slow"
    else:
        status, error = UP, None
    return ProbeResult(
        at,
        status,
        attempt.latency_ms,
        error,
        attempts,
        attempt.headers_ms,
        attempt.tls_expires_at,
        attempt.seen,
    )


def tls_warning(result: ProbeResult, warn_days: int, now: datetime) -> str | None:
    """A line saying the certificate expires within ``warn_days`` (or has), else None."""
    expiry = result.tls_expires_at
    if expiry is None or not core.tls.warns(expiry, now, warn_days):
        return None
    return core.tls.warning_line(expiry, now)
