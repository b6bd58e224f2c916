"""Direct HTTP/1.1 probes on an asyncio ``Protocol`` with a C parser (``httptools``).

A probe of an ``http://`` or ``https://`` target that goes through no proxy is
one connection, one request, one response read to its end (bounded), then
closed. httpx reaches that through httpcore, h11 and anyio: a dozen layers of
Python per request (cancel scopes, checkpoints, event objects, per-header
validation) that cost most of a probe's CPU. At 10,000 plain-HTTP targets a
minute the whole agent spent about 1.9 ms of CPU per probe, about 1.2 ms of it
in that path (``benchmarks/blackbox_compare.py --scale 10000``, py-spy). Here the
same exchange is ``loop.create_connection`` (asyncio's own TLS for ``https://``),
the request written as bytes built once per target, and the answer parsed by
llhttp (``httptools``, the parser uvicorn uses) in the protocol's callbacks.

What httpx still does: it builds the request once per target (the same headers,
User-Agent, Host, Accept-Encoding, body and Content-Length as before) and each
redirect's next request (``_build_redirect_request``: the method change, the
dropped Authorization and body headers, the relative ``Location``), so what a
server receives is what it received before, byte for byte. Probes through a
proxy, and an injected transport (tests, the demo), keep httpx's whole path.

The outcome is what httpx's path gave, as the same exceptions, so
``agent.probe.classify`` names them as before:

* connect failures, DNS (``socket.gaierror``), TLS verification: the
  ``OSError`` / ``ssl`` error ``create_connection`` raises;
* the connection closed before a whole response head: ``httpx.RemoteProtocolError``
  ("Server disconnected without sending a response", class ``reset``); a reset:
  ``httpx.ReadError`` (``reset``);
* a body cut short of its Content-Length or its chunked end:
  ``httpx.RemoteProtocolError`` ("... complete message body", ``truncated``);
* not HTTP, a response head or a chunked body's trailers over ``MAX_HEAD`` bytes
  (h11's bound in httpcore), a 101 nobody asked for: ``httpx.RemoteProtocolError``
  (``protocol``); a body gzip or deflate cannot decode: ``httpx.DecodingError``
  (``protocol``);
* more than ``max_redirects`` hops: ``httpx.TooManyRedirects`` (``redirects``).

What h11 reads, this reads too (a sloppy answer must not become a false down):
lines ended by a bare LF, Content-Length beside chunked, a Content-Length given
twice with one value, blanks after a chunk size, control characters in a header.

The body is read (decoded as httpx decodes it: gzip, deflate, a slice at a time
so a compression bomb inflates no further than the limit; another coding is
kept as it came) up to ``BODY_LIMIT`` bytes (``agent.probe.JSON_LIMIT`` for a JSON
check); the connection is closed as soon as the response is complete or the
limit is reached (keep-alive is off on purpose,
``agent.probe.Prober``). A TLS connection is aborted rather than shut down with
close_notify, as ``agent.netio`` does, and so is one whose request is still being
sent (an early answer to a large body). ``fetch`` hands the final response's head
to ``on_head`` as it comes in, so a body that then fails keeps what the head said.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httptools
import httpx
from httpx._decoders import SUPPORTED_DECODERS, ContentDecoder

BODY_LIMIT = 64 * 1024
"""At most this many bytes of a body are read (for every probe; checks see this much)."""

MAX_HEAD = 100 * 1024
"""A response head (status line and headers) longer than this is refused (``protocol``):
httpcore's bound for h11 (``MAX_INCOMPLETE_EVENT_SIZE``)."""

_DECODE_SLICE = 4096  # compressed bytes decoded at once (agent.http1._Exchange.on_body)

HAPPY_EYEBALLS_DELAY = 0.25  # s: the next address is tried after this (RFC 8305)

_REDIRECTS = frozenset((301, 302, 303, 307, 308))  # httpx's ``has_redirect_location``


@dataclass(slots=True)
class Answer:
    """The final response of a probe: what ``agent.probe`` judges and keeps."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    headers_at: float  # perf_counter when the final response's head was complete
    peer: Any  # the server's address (``getpeername``)
    ssl_object: ssl.SSLObject | None

    def header(self, name: str) -> str | None:
        """The first value of a header (case-insensitive), as httpx decodes it."""
        key = name.lower().encode()
        for k, v in self.headers:
            if k.lower() == key:
                return _text(v)
        return None


OnHead = Callable[[Answer], None]


def _text(value: bytes) -> str:
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:  # httpx's ``Headers`` fall back the same way
        return value.decode("utf-8", errors="replace")


def wire(request: httpx.Request) -> bytes:
    """The request as it goes on the wire: what httpcore and h11 send for it."""
    body = request.read()
    head = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), request.url.raw_path)]
    head.extend(b"%s: %s\r\n" % (k, v) for k, v in request.headers.raw)
    head.append(b"\r\n")
    return b"".join(head) + body


class _Decoder:
    """httpx's content decoding (gzip, deflate, chained; br and zstd where httpx has
    them), for the bounded read."""

    def __init__(self, codings: list[str]) -> None:
        self._steps: list[Any] = []
        for coding in reversed(codings):
            if coding in ("gzip", "x-gzip"):
                self._steps.append(zlib.decompressobj(zlib.MAX_WBITS | 16))
            elif coding == "deflate":
                self._steps.append(_Deflate())
            elif coding != "identity" and coding in SUPPORTED_DECODERS:
                # br, zstd: httpx decodes them, and asks for them (Accept-Encoding), when
                # brotli or zstandard can be imported, as on many a system Python
                self._steps.append(_HttpxStep(SUPPORTED_DECODERS[coding]()))
            # identity, and codings httpx cannot decode either: kept as they came

    @property
    def active(self) -> bool:
        return bool(self._steps)

    def decode(self, data: bytes) -> bytes:
        try:
            for step in self._steps:
                data = step.decompress(data)
        except zlib.error as exc:
            raise httpx.DecodingError(str(exc)) from exc
        return data

    def flush(self) -> bytes:
        data = b""
        try:
            for step in self._steps:
                data = step.decompress(data) + step.flush() if data else step.flush()
        except zlib.error as exc:
            raise httpx.DecodingError(str(exc)) from exc
        return data


class _HttpxStep:
    """One of httpx's own decoders as a step (its errors are httpx.DecodingError)."""

    def __init__(self, decoder: ContentDecoder) -> None:
        self.decompress = decoder.decode
        self.flush = decoder.flush


class _Deflate:
    """zlib-wrapped deflate, or raw deflate when the first bytes say so (as httpx)."""

    def __init__(self) -> None:
        self._first = True
        self._obj = zlib.decompressobj()

    def decompress(self, data: bytes) -> bytes:
        was_first, self._first = self._first, False
        try:
            return self._obj.decompress(data)
        except zlib.error:
            if not was_first:
                raise
            self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._obj.decompress(data)

    def flush(self) -> bytes:
        return self._obj.flush()


def _head_end(raw: bytes) -> int:
    """Where the first head in ``raw`` ends (its blank line starts), or -1."""
    found = (raw.find(b"\r\n\r\n"), raw.find(b"\n\n"), raw.find(b"\n\r\n"))
    ends = [at for at in found if at >= 0]
    return min(ends) if ends else -1


def _one_length(head: bytes) -> bytes | None:
    """``head`` with its Content-Length headers made one, or None when their values
    differ or are not a number."""
    values: set[bytes] = set()
    kept: list[bytes] = []
    first = -1
    for i, line in enumerate(head.split(b"\n")):
        line = line.removesuffix(b"\r")
        name, colon, value = line.partition(b":")
        if i and colon and name.strip().lower() == b"content-length":
            values.update(v.strip() for v in value.split(b","))
            if first < 0:
                first = len(kept)
                kept.append(b"")
            continue
        kept.append(line)
    if first < 0 or len(values) != 1:
        return None
    (value,) = values
    if not value.isdigit():
        return None
    kept[first] = b"Content-Length: " + value
    return b"\r\n".join(kept)


class _Exchange(asyncio.Protocol):
    """One request and its response on one connection, parsed as it arrives."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        request: bytes,
        head_only: bool,
        limit: int,
        on_head: OnHead | None = None,
    ) -> None:
        self._request = request
        self._on_head = on_head
        self._limit = limit  # body bytes read at most
        self._head_only = head_only  # HEAD: the response has no body, whatever it says
        self._parser = self._new_parser()
        self.done: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.headers_at = 0.0
        self._head_bytes = 0
        self._head: list[bytes] = []  # what came while in the head (a second parse's input)
        self._relength = 0  # 1: the head is gathered for a second parse; 2: it was done
        self._in_head = True
        # After the head: raw bytes fed, raw body bytes among them, chunks begun. What is
        # neither body nor chunk framing (chunked trailers: headers again) is bounded as
        # the head is; h11 bounds each of its events the same way.
        self._after_head = 0
        self._raw_body = 0
        self._chunks = 0
        self._framed = False  # Content-Length or chunked: an early end is a truncation
        self._decoder: _Decoder | None = None

    def _new_parser(self) -> httptools.HttpResponseParser:
        parser = httptools.HttpResponseParser(self)
        # What h11 takes, llhttp must take too: a provider's sloppy answer that httpx read
        # must not turn its 200 into "protocol", a false down. Control characters in a
        # header value (kept headers are cleaned: core.corroboration.clean), lines ended
        # by a bare LF (embedded devices, shell-script health checks), Content-Length
        # beside Transfer-Encoding: chunked (chunked wins, as in h11), blanks after a
        # chunk size, an HTTP/1.x version other than 1.0 and 1.1.
        parser.set_dangerous_leniencies(
            lenient_headers=True,
            lenient_optional_cr_before_lf=True,
            lenient_chunked_length=True,
            lenient_spaces_after_chunk_size=True,
            lenient_version=True,
        )
        return parser

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self._request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD and not self._fits_head(data):
                self._fail(httpx.RemoteProtocolError("response head over the size limit"))
                return
            self._head.append(data)
            if self._relength == 1:
                self._parse_with_one_length()
                return
        else:
            self._after_head += len(data)
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
            overhead = self._after_head - self._raw_body
            if overhead > MAX_HEAD + 64 * self._chunks and not self.done.done():
                self._fail(httpx.RemoteProtocolError("response trailers over the size limit"))
        except httptools.HttpParserUpgrade:  # after a 101: refused above
            pass
        except httptools.HttpParserError as exc:
            if self._in_head and self._relength == 0 and "Content-Length" in str(exc):
                self._relength = 1
                self._parse_with_one_length()
                return
            self._fail(httpx.RemoteProtocolError(f"malformed HTTP response: {exc}"))

    def _parse_with_one_length(self) -> None:
        """Content-Length given twice (or as ``42, 42``) with one value: h11 takes it
        (RFC 9110 8.6 allows it), llhttp refuses it. Once the head is whole, it is parsed
        again, from its first byte, with the header given once; differing values stay
        ``protocol``."""
        raw = b"".join(self._head)
        end = _head_end(raw)
        if end < 0:
            return  # the rest of the head is still to come
        head = _one_length(raw[:end])
        if head is None:
            self._fail(httpx.RemoteProtocolError("malformed HTTP response: Content-Length"))
            return
        self._relength = 2
        self._parser = self._new_parser()
        self.headers = []
        self._feed(head + raw[end:])

    def _fits_head(self, data: bytes) -> bool:
        """Over the limit only counting body bytes that came with the head's end?"""
        end = _head_end(data)  # a head whose lines end in a bare LF too
        return end >= 0 and self._head_bytes - len(data) + end + 4 <= MAX_HEAD

    def eof_received(self) -> bool:
        self._ended(None)
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)

    def _ended(self, exc: Exception | None) -> None:
        if self.done.done():
            return
        if exc is not None:
            self._fail(httpx.ReadError(str(exc) or type(exc).__name__), exc)
        elif self._in_head:
            self._fail(httpx.RemoteProtocolError("Server disconnected without sending a response."))
        elif self._framed:
            self._fail(
                httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body"
                )
            )
        else:  # neither Content-Length nor chunked: the body runs to the end of the connection
            self._complete()

    # -- httptools callbacks -------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._in_head:  # not a chunked body's trailers: httpx keeps those out too
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status == 101:  # switching protocols, for a request that asked for no upgrade
            self._fail(httpx.RemoteProtocolError("switching protocols: not an HTTP response"))
            return
        if 100 <= status < 200:  # informational: the real answer follows
            self.headers = []
            return
        self.status = status
        self.headers_at = time.perf_counter()
        self._in_head = False
        codings: list[str] = []
        for name, value in self.headers:
            key = name.lower()
            if key == b"content-length" or (
                key == b"transfer-encoding" and b"chunked" in value.lower()
            ):
                self._framed = True
            elif key == b"content-encoding":
                codings.extend(c.strip() for c in _text(value).lower().split(",") if c.strip())
        if codings:
            decoder = _Decoder(codings)
            self._decoder = decoder if decoder.active else None
        if self._on_head is not None:  # before the body: a body that fails keeps the head
            self._on_head(self.answer())
        if self._head_only or status in (204, 304):
            self._complete()

    def on_chunk_header(self) -> None:
        self._chunks += 1

    def on_body(self, data: bytes) -> None:
        if self.done.done():
            return
        self._raw_body += len(data)
        if self._decoder is None:
            self._take(data)
            return
        # Decoded a slice at a time: deflate expands up to ~1,000 times, so a whole read
        # (up to 256 KiB) of a gzip bomb was 256 MB inflated in one go, the event loop
        # (every other probe's clock) held for over a second; now at most ~4 MB at once.
        for at in range(0, len(data), _DECODE_SLICE):
            try:
                piece = self._decoder.decode(data[at : at + _DECODE_SLICE])
            except httpx.DecodingError as exc:
                self._fail(exc)
                return
            if self._take(piece):
                return

    def _take(self, data: bytes) -> bool:
        """Keep ``data``; True when the body is at its limit (the exchange complete)."""
        self.body += data
        if len(self.body) < self._limit:
            return False
        del self.body[self._limit :]
        self._complete()  # enough read: the rest is not the probe's to wait for
        return True

    def on_message_complete(self) -> None:
        if not self._in_head:  # not the end of an informational response
            self._complete()

    def answer(self) -> Answer:
        """The response as far as it came (the body read so far)."""
        transport = self.transport
        extra = transport.get_extra_info if transport is not None else (lambda _: None)
        return Answer(
            self.status,
            self.headers,
            bytes(self.body),
            self.headers_at,
            extra("peername"),
            extra("ssl_object"),
        )

    # -- ending ----------------------------------------------------------------------------

    def _complete(self) -> None:
        if self.done.done():
            return
        if self._decoder is not None and len(self.body) < self._limit:
            try:
                self.body += self._decoder.flush()
            except httpx.DecodingError as exc:
                self._fail(exc)
                return
            del self.body[self._limit :]
        self.done.set_result(None)
        self.close()

    def _fail(self, exc: BaseException, cause: BaseException | None = None) -> None:
        if cause is not None:
            exc.__cause__ = cause
        if not self.done.done():
            self.done.set_exception(exc)
        self.close()

    def close(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if transport.get_extra_info("ssl_object") is not None:
            transport.abort()  # no close_notify wait (agent.netio)
        elif transport.get_write_buffer_size():
            # The answer came before the request was all sent (a large body the server
            # never reads): close() would wait for the peer to take the rest, holding
            # the socket as long as the server holds the connection, after every probe.
            transport.abort()
        else:
            transport.close()


async def exchange(
    request: httpx.Request,
    data: bytes,
    tls: ssl.SSLContext | None,
    limit: int = BODY_LIMIT,
    on_head: OnHead | None = None,
) -> tuple[_Exchange, asyncio.Transport]:
    """Connect to the request's origin, send ``data``, read the response to its end
    (or ``limit`` body bytes). The caller bounds the time."""
    loop = asyncio.get_running_loop()
    url = request.url
    host = url.raw_host.decode("ascii")
    https = url.scheme == "https"
    port = url.port or (443 if https else 80)
    proto = _Exchange(loop, data, request.method == "HEAD", limit, on_head)
    try:
        transport, _ = await loop.create_connection(
            lambda: proto,
            host,
            port,
            ssl=tls if https else None,
            server_hostname=host if https else None,
            # An address has nothing to race: no staggered race, its tasks, its cost.
            happy_eyeballs_delay=None if is_address(host) else HAPPY_EYEBALLS_DELAY,
        )
    except UnicodeError as exc:  # a name IDNA cannot encode (a label over 63): no name
        raise socket.gaierror(socket.EAI_NONAME, str(exc)) from exc
    except BaseException:
        # Cancelled (the agent stopping) after connection_made: closing the transport
        # ends the exchange with an error no one will await; it is not one.
        if proto.done.done():
            if not proto.done.cancelled():
                proto.done.exception()
        else:
            proto.done.cancel()
        raise
    try:
        await proto.done
    except BaseException:
        transport.abort()
        raise
    return proto, transport


def is_address(host: str) -> bool:
    """``host`` is an IP address (nothing to resolve, nothing to race)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def fetch(
    client: httpx.AsyncClient,
    request: httpx.Request,
    data: bytes,
    tls: ssl.SSLContext | None,
    *,
    follow_redirects: bool,
    limit: int = BODY_LIMIT,
    on_head: OnHead | None = None,
) -> Answer:
    """The probe's request and, when ``follow_redirects``, its redirects (up to the
    client's ``max_redirects``, as httpx counts them): the final response. Each
    redirect's request is built by ``client`` and passed through its request hooks,
    as httpx does for every hop (``agent.probe`` keeps secrets home with one).
    ``on_head`` is given the final response as soon as its head is in (its body
    empty), so what the head said is known even when its body then fails; a redirect
    that is followed is not given (as httpx's path, which notes only what ``send``
    returns: a redirect to a dead host is ``connect`` with no answer, not a 302's)."""
    final = on_head
    if on_head is not None and follow_redirects:

        def final(answer: Answer) -> None:
            if not (answer.status in _REDIRECTS and answer.header("location") is not None):
                on_head(answer)

    hops = 0
    while True:
        proto, _transport = await exchange(request, data, tls, limit, final)
        status = proto.status
        location = any(k.lower() == b"location" for k, _ in proto.headers)
        if not (follow_redirects and status in _REDIRECTS and location):
            return proto.answer()
        response = httpx.Response(status, headers=proto.headers, request=request)
        request = client._build_redirect_request(request, response)
        hops += 1
        if hops > client.max_redirects:  # as httpx counts: the hops taken so far
            raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)
        for hook in client.event_hooks["request"]:
            await hook(request)
        if request.url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{request.url.scheme}://'."
            )
        data = wire(request)
