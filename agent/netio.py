"""The probes' network I/O: httpcore's network backend on asyncio's own streams.

httpx sends its requests through httpcore, which by default reaches the
network through anyio. For plain HTTP that costs little; for HTTPS anyio runs
the TLS record layer itself (an ``ssl.SSLObject`` over memory buffers, with a
cancel scope and a checkpoint around each step), and a probe, which opens a new
connection and handshakes every time, spends most of its CPU there: 3.5 ms per
HTTPS probe on loopback against about 1 ms in OpenSSL itself (cProfile with a
CPU clock, ``benchmarks/blackbox_compare.py``). asyncio's streams do the same
work in its transport (``loop.start_tls``) with fewer layers. Probes that go
through no proxy no longer come here at all (``agent.http1``); of the proxied
ones, clients for ``https://`` targets through an HTTP proxy use it
(``agent.probe.Prober``); plain HTTP keeps anyio.

The exceptions are httpcore's (``ConnectError``, ``ReadTimeout``...), raised
from the ``OSError`` / ``ssl.SSLError`` underneath, so httpx wraps them as it
always does and ``agent.probe.classify`` finds the cause in the chain as
before (``socket.gaierror`` for dns, ``ssl.SSLCertVerificationError`` for the
tls classes, ``ConnectionResetError`` for reset).

A TLS connection is closed without the close_notify exchange (``abort``): a
probe has read what it needs, and a server that never answers the shutdown
must not hold the probe (anyio's ``standard_compatible=False`` does the same).

No connection pool (``FreshConnections``): the probes keep no connection alive,
yet httpcore's pool walks every connection and every waiting request of the
pool on each request and each response closed, so its cost per probe grows
with the probes in flight: at 10,000 targets on a loaded machine (hundreds in
flight) it was most of the agent's CPU (cProfile: 15 of 41 s in
``_assign_requests_to_connections``), and a probe that cost more made more of
them wait. Each request now gets an ``httpcore.AsyncHTTPConnection`` of its own,
closed with its response: what the pool did with ``max_keepalive_connections=0``,
without the walk.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import AsyncIterator, Iterable
from types import TracebackType
from typing import Any

import httpcore

from agent.http1 import HAPPY_EYEBALLS_DELAY, is_address

# (level, option, value) or (level, option, None, length): httpcore's SOCKET_OPTION
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: an asyncio reader and writer, TLS started on it when asked."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._tls = False

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except OSError as exc:  # ssl.SSLError included
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        if self._tls:
            self._writer.transport.abort()  # no close_notify wait (see the module's doc)
        else:
            self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._writer.transport.abort()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:  # ssl.SSLError, ssl.SSLCertVerificationError, resets
            self._writer.transport.abort()
            raise httpcore.ConnectError(str(exc)) from exc
        self._tls = True
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        if info == "is_readable":
            return _readable(self._writer.get_extra_info("socket"))
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """httpcore's ``AsyncNetworkBackend`` on ``asyncio.open_connection``."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    local_addr=None if local_address is None else (local_address, 0),
                    # An address has nothing to race: no staggered race, its tasks, its cost.
                    happy_eyeballs_delay=None if is_address(host) else HAPPY_EYEBALLS_DELAY,
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:  # refused, unreachable, socket.gaierror (dns)
            raise httpcore.ConnectError(str(exc)) from exc
        except UnicodeError as exc:  # a name IDNA cannot encode (a label over 63): no name
            # Raised and caught, so the gaierror is the ConnectError's context: httpcore's
            # pool re-raises ``from None``, which drops a cause but keeps the context.
            try:
                raise socket.gaierror(socket.EAI_NONAME, str(exc)) from exc
            except socket.gaierror as unresolvable:
                raise httpcore.ConnectError(str(exc)) from unresolvable
        sock = writer.get_extra_info("socket")
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _readable(sock: socket.socket | None) -> bool:
    """Whether a read would return at once (data, or the end): httpcore asks before
    reusing a pooled connection (the probes keep none, but the interface wants it)."""
    if sock is None or sock.fileno() < 0:
        return True
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    return bool(poller.poll(0))


def use_asyncio(transport: object) -> bool:
    """Put an ``httpx.AsyncHTTPTransport``'s connection pool on ``AsyncioBackend``;
    False (the transport is left as it is) when it is another kind of transport, or
    its pool tunnels through an HTTPS or SOCKS proxy (TLS inside TLS, which asyncio's
    transports do not do: anyio keeps those)."""
    pool = getattr(transport, "_pool", None)
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
        return False
    if isinstance(pool, httpcore.AsyncSOCKSProxy):
        return False
    proxy = getattr(pool, "_proxy_url", None)
    if proxy is not None and getattr(proxy, "scheme", b"") != b"http":
        return False
    pool._network_backend = AsyncioBackend()
    return True


class FreshConnections:
    """Stands in for an ``httpcore.AsyncConnectionPool`` that keeps no connection
    alive: each request on a new connection, closed when its response is (see the
    module's doc). The pool's settings (TLS context, network backend, local
    address, socket options, connect retries) are kept."""

    def __init__(self, pool: httpcore.AsyncConnectionPool) -> None:
        self._ssl_context = pool._ssl_context
        self._backend = pool._network_backend
        self._local_address = pool._local_address
        self._uds = pool._uds
        self._socket_options = pool._socket_options
        self._retries = pool._retries
        self._open: set[httpcore.AsyncHTTPConnection] = set()  # closed by aclose, if left

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        scheme = request.url.scheme
        if scheme not in (b"http", b"https"):
            raise httpcore.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme.decode()}://'."
            )
        connection = httpcore.AsyncHTTPConnection(
            origin=request.url.origin,
            ssl_context=self._ssl_context,
            retries=self._retries,
            local_address=self._local_address,
            uds=self._uds,
            network_backend=self._backend,
            socket_options=self._socket_options,
        )
        self._open.add(connection)
        try:
            response = await connection.handle_async_request(request)
        except BaseException:
            self._open.discard(connection)
            await connection.aclose()
            raise
        return httpcore.Response(
            status=response.status,
            headers=response.headers,
            content=_ClosingStream(response.stream, connection, self._open),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        connections, self._open = list(self._open), set()
        for connection in connections:
            await connection.aclose()

    async def __aenter__(self) -> FreshConnections:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.aclose()


class _ClosingStream:
    """A response body whose closing (or failing) also closes its connection."""

    def __init__(
        self,
        stream: Any,
        connection: httpcore.AsyncHTTPConnection,
        open_connections: set[httpcore.AsyncHTTPConnection],
    ) -> None:
        self._stream = stream
        self._connection = connection
        self._open = open_connections
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for part in self._stream:
                yield part
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if hasattr(self._stream, "aclose"):
                await self._stream.aclose()
        finally:
            self._open.discard(self._connection)
            await self._connection.aclose()


def fresh_connections(transport: object) -> bool:
    """Give an ``httpx.AsyncHTTPTransport`` a ``FreshConnections`` in place of its
    connection pool; False (left as it is) for another kind of transport or a pool
    that goes through a proxy (``AsyncHTTPProxy``, ``AsyncSOCKSProxy``)."""
    pool = getattr(transport, "_pool", None)
    if type(pool) is not httpcore.AsyncConnectionPool:
        return False
    transport._pool = FreshConnections(pool)  # type: ignore[attr-defined]
    return True
