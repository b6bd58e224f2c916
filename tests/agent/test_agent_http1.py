"""agent.http1 (direct probes) against httpx's own path, on the same raw answers.

A scripted loopback server answers each path with fixed bytes; every case is
probed twice, once on the direct path and once through httpx (``Prober`` with an
injected ``httpx.AsyncHTTPTransport``: the path proxied probes take). Both must
give the same verdict and error class, and the server must receive the same
request bytes from both, redirect hops included.
"""

from __future__ import annotations

import asyncio
import codecs
import gzip
import socket
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from agentkit import quick
from httpx._decoders import SUPPORTED_DECODERS, ContentDecoder

from agent.probe import Prober, ProbeResult
from core.config import Probe
from core.status import DOWN, UP


def _answer(status: str, body: bytes = b"", extra: str = "", length: bool = True) -> bytes:
    head = f"HTTP/1.1 {status}\r\n{extra}"
    if length:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


NEEDLE = b"<html>all systems go: needle</html>"
_RAW_DEFLATE = zlib.compressobj(wbits=-zlib.MAX_WBITS)
RAW_DEFLATE = _RAW_DEFLATE.compress(NEEDLE) + _RAW_DEFLATE.flush()

SCRIPTS: dict[str, bytes] = {
    "/gzip": _answer("200 OK", gzip.compress(NEEDLE), "Content-Encoding: gzip\r\n"),
    "/deflate": _answer("200 OK", zlib.compress(NEEDLE), "Content-Encoding: deflate\r\n"),
    "/rawdeflate": _answer("200 OK", RAW_DEFLATE, "Content-Encoding: deflate\r\n"),
    "/badgzip": _answer("200 OK", b"not gzip at all", "Content-Encoding: gzip\r\n"),
    "/brotli": _answer("200 OK", NEEDLE, "Content-Encoding: br\r\n"),  # not decoded: kept
    "/continue": b"HTTP/1.1 100 Continue\r\n\r\n" + _answer("200 OK", NEEDLE),
    "/toclose": _answer("200 OK", NEEDLE, length=False),  # the body runs to the FIN
    "/chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"a\r\n<html>all \r\n19\r\nsystems go: needle</html>\r\n0\r\n\r\n",
    "/nocontent": b"HTTP/1.1 204 No Content\r\n\r\n",
    "/head": b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",  # HEAD: no body follows
    "/303": _answer("303 See Other", b"", "Location: /landing\r\n"),
    "/307": _answer("307 Temporary Redirect", b"", "Location: /landing\r\n"),
    "/absolute": b"",  # filled in with the server's own address
    "/badlocation": _answer("302 Found", b"", "Location: http://[::1\r\n"),
    "/ftp": _answer("302 Found", b"", "Location: ftp://127.0.0.1/file\r\n"),
    "/landing": _answer("200 OK", NEEDLE),
    "/control": _answer("200 OK", NEEDLE, "X-Request-Id: a\x01b\r\n"),
    "/halfhead": b"HTTP/1.1 200 OK\r\nContent-Le",
    "/nothing": b"",
    "/garbage": b"\x16\x03\x01 this is no status line\r\n\r\n",
    "/badlength": b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\nok",
    "/keepalive": _answer("200 OK", NEEDLE, "Connection: keep-alive\r\n"),
    # Sloppy but readable: h11 takes them, so the direct path must too (no false down).
    "/barelf": b"HTTP/1.1 200 OK\nContent-Length: %d\n\n" % len(NEEDLE) + NEEDLE,
    "/lengthandchunked": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
    + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n" % len(NEEDLE)
    + NEEDLE
    + b"\r\n0\r\n\r\n",
    "/chunkblank": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x \r\n" % len(NEEDLE)
    + NEEDLE
    + b"\r\n0\r\n\r\n",
    "/tinychunks": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    + b"1\r\na\r\n" * 20_000
    + b"%x\r\n" % len(NEEDLE)
    + NEEDLE
    + b"\r\n0\r\nX-Trailer: 1\r\n\r\n",
    "/cutshort": _answer("200 OK", NEEDLE, "X-Request-Id: req-42\r\n")[:-5],  # then FIN
    "/switch": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
    + b"Connection: Upgrade\r\n\r\n",
    "/twolengths": _answer("200 OK", NEEDLE, f"Content-Length: {len(NEEDLE)}\r\n"),
    "/listlength": _answer(
        "200 OK", NEEDLE, f"Content-Length: {len(NEEDLE)}, {len(NEEDLE)}\r\n"
    ).replace(b"Content-Length: %d\r\n\r\n" % len(NEEDLE), b"\r\n"),
    "/otherlengths": _answer("200 OK", NEEDLE, "Content-Length: 3\r\n"),
    "/barelfbig": b"HTTP/1.1 200 OK\nContent-Length: %d\n\n" % (len(NEEDLE) + 300_000)
    + NEEDLE
    + b"x" * 300_000,
    "/http12": b"HTTP/1.2 200 OK\r\nContent-Length: %d\r\n\r\n" % len(NEEDLE) + NEEDLE,
}


class Scripted:
    """Answers each path with its script's bytes, records each raw request."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> Scripted:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        SCRIPTS["/absolute"] = _answer(
            "302 Found", b"", f"Location: http://127.0.0.1:{self.port}/landing\r\n"
        )
        return self

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length) if length else b""
            self.requests.append(head + body)
            path = head.split(b" ", 2)[1].decode()
            writer.write(SCRIPTS[path])
            await writer.drain()
            if path == "/keepalive":  # the client must hang up (and not wait for us)
                async with asyncio.timeout(2):
                    await reader.read()
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()


@pytest.fixture
async def scripted() -> AsyncIterator[Scripted]:
    s = await Scripted().start()
    yield s
    await s.close()


CASES: list[tuple[str, dict[str, Any], tuple[int, str | None]]] = [
    ("/gzip", {"contains": "needle"}, (UP, None)),
    ("/deflate", {"contains": "needle"}, (UP, None)),
    ("/rawdeflate", {"contains": "needle"}, (UP, None)),
    ("/badgzip", {}, (DOWN, "protocol")),
    ("/brotli", {"contains": "needle"}, (UP, None)),
    ("/continue", {"contains": "needle"}, (UP, None)),
    ("/toclose", {"contains": "needle"}, (UP, None)),
    ("/chunked", {"contains": "needle"}, (UP, None)),
    ("/nocontent", {}, (UP, None)),
    ("/head", {"method": "HEAD"}, (UP, None)),
    ("/303", {"method": "POST", "body": "x=1", "contains": "needle"}, (UP, None)),
    ("/307", {"method": "POST", "body": "x=1", "contains": "needle"}, (UP, None)),
    ("/absolute", {"headers": {"Authorization": "Bearer t"}}, (UP, None)),
    ("/badlocation", {}, (DOWN, "protocol")),
    ("/ftp", {}, (DOWN, "http")),
    ("/control", {"contains": "needle"}, (UP, None)),
    ("/halfhead", {}, (DOWN, "reset")),
    ("/nothing", {}, (DOWN, "reset")),
    ("/garbage", {}, (DOWN, "protocol")),
    ("/badlength", {}, (DOWN, "protocol")),
    ("/keepalive", {"contains": "needle"}, (UP, None)),
    ("/barelf", {"contains": "needle"}, (UP, None)),
    ("/lengthandchunked", {"contains": "needle"}, (UP, None)),
    ("/chunkblank", {"contains": "needle"}, (UP, None)),
    ("/http12", {"contains": "needle"}, (UP, None)),
    ("/barelfbig", {"contains": "needle"}, (UP, None)),
    ("/twolengths", {"contains": "needle"}, (UP, None)),
    ("/listlength", {"contains": "needle"}, (UP, None)),
    ("/otherlengths", {}, (DOWN, "protocol")),
    ("/switch", {}, (DOWN, "protocol")),
    ("/cutshort", {}, (DOWN, "truncated")),
    ("/tinychunks", {"contains": "needle"}, (UP, None)),
]


async def _on_both_paths(probe: Probe) -> list[ProbeResult]:
    """The probe's result on the direct path, then through httpx."""
    results = []
    for prober in (Prober(), Prober(transport=httpx.AsyncHTTPTransport())):
        try:
            results.append(await prober.check(probe))
        finally:
            await prober.aclose()
    return results


@pytest.mark.parametrize(("path", "kw", "expected"), CASES, ids=[c[0] for c in CASES])
async def test_direct_and_httpx_agree_on_verdict_and_request_bytes(
    scripted: Scripted, path: str, kw: dict[str, Any], expected: tuple[int, str | None]
) -> None:
    probe = quick(f"http://127.0.0.1:{scripted.port}{path}", timeout=timedelta(seconds=3), **kw)
    outcomes = []
    sent = []
    for prober in (Prober(), Prober(transport=httpx.AsyncHTTPTransport())):
        scripted.requests.clear()
        try:
            result = await prober.check(probe, probe.headers)
        finally:
            await prober.aclose()
        outcomes.append((result.status, result.error))
        sent.append(list(scripted.requests))
    direct, through_httpx = outcomes
    assert direct == through_httpx == expected
    assert sent[0] == sent[1]  # the same bytes on the wire, every hop


Send = Callable[[asyncio.StreamWriter], Awaitable[None]]


async def _probe_direct(send: Send, **kw: Any) -> ProbeResult:
    """One direct probe of a loopback server that reads the request, then runs ``send``."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            await send(writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    prober = Prober()
    try:
        return await prober.check(quick(f"http://127.0.0.1:{port}/", **kw))
    finally:
        await prober.aclose()
        server.close()


async def test_endless_trailers_are_bounded_as_a_head_is() -> None:
    """A chunked body whose trailers never end: h11 refuses them past its 100 KiB bound
    (``protocol``); the direct path kept every trailer line (half a gigabyte in two
    seconds on loopback) until the timeout. Now the same bound, the same class."""
    line = b"X-Trailer: " + b"t" * 1000 + b"\r\n"

    async def bomb(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"%x\r\n%s\r\n0\r\n" % (len(NEEDLE), NEEDLE))
        for _ in range(8_000):  # 8 MB of trailers, then silence
            writer.write(line)
            await writer.drain()
        await asyncio.sleep(5)

    result = await _probe_direct(bomb, timeout=timedelta(seconds=3))
    assert (result.status, result.error) == (DOWN, "protocol")


async def test_a_body_that_fails_keeps_what_its_head_said(scripted: Scripted) -> None:
    """A head, then a body cut short: the time to the head and what the provider can
    find in its logs (status, X-Request-Id, server address) are kept with the failure,
    on both paths (the direct path dropped both: the claim's evidence had no answer)."""
    probe = quick(f"http://127.0.0.1:{scripted.port}/cutshort", timeout=timedelta(seconds=3))
    for result in await _on_both_paths(probe):
        assert (result.status, result.error) == (DOWN, "truncated")
        assert result.headers_ms is not None
        assert result.seen is not None
        assert (result.seen.http_status, result.seen.x_request_id) == (200, "req-42")
        assert result.seen.server_ip == "127.0.0.1"


async def test_a_urls_credentials_go_as_basic_auth_on_both_paths(scripted: Scripted) -> None:
    """``http://user:password@host/``: httpx sends the credentials as Basic auth (in
    ``send``, which the direct path never calls: it sent none, a 401, a false down).
    Same bytes on both paths, the redirect hop to the same origin included."""
    probe = quick(f"http://mon:s%40cret@127.0.0.1:{scripted.port}/303", contains="needle")
    sent = []
    for prober in (Prober(), Prober(transport=httpx.AsyncHTTPTransport())):
        scripted.requests.clear()
        try:
            result = await prober.check(probe)
        finally:
            await prober.aclose()
        assert (result.status, result.error) == (UP, None)
        sent.append(list(scripted.requests))
    assert sent[0] == sent[1]
    assert len(sent[0]) == 2
    assert all(b"\r\nAuthorization: Basic bW9uOnNAY3JldA==\r\n" in r for r in sent[0])


async def test_a_followed_redirect_is_not_the_answer_kept(scripted: Scripted) -> None:
    """A redirect to a port nothing listens on: ``connect``, and no answer kept (the
    302 was followed, not judged), on both paths."""
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    SCRIPTS["/todead"] = _answer("302 Found", b"", f"Location: http://127.0.0.1:{port}/\r\n")
    probe = quick(f"http://127.0.0.1:{scripted.port}/todead", timeout=timedelta(seconds=3))
    for result in await _on_both_paths(probe):
        assert (result.status, result.error, result.seen, result.headers_ms) == (
            DOWN,
            "connect",
            None,
            None,
        )


def _gzip_bomb(megabytes: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1024 * 1024)
    return b"".join(packer.compress(zeros) for _ in range(megabytes)) + packer.flush()


async def test_a_gzip_bomb_is_inflated_only_as_far_as_the_body_limit() -> None:
    """128 MB of zeros in 130 KB of gzip: the check reads its 64 KiB and stops, without
    inflating whole reads at once (each up to 256 KiB: 256 MB, the loop held a second)."""
    import tracemalloc

    bomb = _answer("200 OK", _gzip_bomb(128), "Content-Encoding: gzip\r\n")

    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(bomb)
        await writer.drain()

    tracemalloc.start()
    try:
        result = await _probe_direct(send, timeout=timedelta(seconds=3), contains="x")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (result.status, result.error) == (DOWN, "body")  # 64 KiB of zeros read
    assert peak < 24 * 1024 * 1024


async def test_a_length_given_twice_in_a_head_that_comes_in_pieces() -> None:
    """Content-Length twice with one value, the head's end a read later: parsed again
    once the head is whole (up), the body read as announced."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Length: %d\r\n" % (
        len(NEEDLE),
        len(NEEDLE),
    )

    async def send(writer: asyncio.StreamWriter) -> None:
        for piece in (head, b"Server: slow\r\n", b"\r\n" + NEEDLE[:5], NEEDLE[5:]):
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.02)
        await asyncio.sleep(2)  # the length, not the end of the connection, ends it

    result = await _probe_direct(send, timeout=timedelta(seconds=1), contains="needle")
    assert (result.status, result.error) == (UP, None)


async def test_an_answer_before_the_whole_request_leaves_no_socket_open() -> None:
    """A POST body larger than the socket buffers, answered without being read, the
    connection then held by the server: the probe is over, its socket must be too
    (close() waited for the peer to take the rest of the request, for as long as the
    server kept the connection: one socket held per probe)."""
    import os

    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    async def send(writer: asyncio.StreamWriter) -> None:
        writer.write(_answer("413 Content Too Large"))
        await writer.drain()
        await asyncio.sleep(2)  # holds the connection, reads nothing

    before = open_fds()
    result = await _probe_direct(
        send,
        timeout=timedelta(seconds=3),
        method="POST",
        body="x" * (16 * 1024 * 1024),
        expect_status=((413, 413),),
    )
    await asyncio.sleep(0.2)  # a closed transport lets go of its socket a turn later
    # One socket more than before: the server's side of the connection, which it holds.
    assert (result.status, result.error, open_fds() - before) == (UP, None, 1)


class _Rot13(ContentDecoder):
    """A coding httpx is given (as it is br with brotli installed, zstd with zstandard)."""

    def decode(self, data: bytes) -> bytes:
        return codecs.encode(data.decode("ascii"), "rot13").encode("ascii")

    def flush(self) -> bytes:
        return b""


async def test_every_coding_httpx_decodes_is_decoded(
    scripted: Scripted, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where brotli (or zstandard) can be imported, httpx asks for br (zstd) and decodes
    it; the direct path sent the same Accept-Encoding and kept the body encoded, so
    ``contains`` failed: 'body', a false down. Now httpx's own decoder is used."""
    monkeypatch.setitem(SUPPORTED_DECODERS, "x-rot13", _Rot13)
    body = codecs.encode(NEEDLE.decode(), "rot13").encode()
    SCRIPTS["/rot13"] = _answer("200 OK", body, "Content-Encoding: x-rot13\r\n")
    probe = quick(f"http://127.0.0.1:{scripted.port}/rot13", contains="needle")
    for result in await _on_both_paths(probe):
        assert (result.status, result.error) == (UP, None)
