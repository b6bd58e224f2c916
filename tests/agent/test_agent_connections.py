"""Each probe on a connection of its own, closed with its answer; no pool (agent.http1 for
direct probes, agent.netio's FreshConnections behind a proxy)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator

import httpcore
import pytest
import trustme
from agentkit import ForwardProxy, quick

from agent.probe import Prober
from core.status import UP

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"  # keep-alive: the client must close


class KeepAliveServer:
    """Answers every request on a connection without closing it, and notes for each
    connection whether the client closed it (EOF) within a second of the answer."""

    def __init__(self) -> None:
        self.connections = 0
        self.closed_by_client = 0
        self.server: asyncio.Server | None = None

    async def start(self, tls: ssl.SSLContext | None = None) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=tls)
        return int(self.server.sockets[0].getsockname()[1])

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(ANSWER)
            await writer.drain()
            async with asyncio.timeout(1.0):
                while await reader.read(1024):
                    pass  # a second request would be here: there is none
            self.closed_by_client += 1
        except (TimeoutError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[KeepAliveServer]:
    s = KeepAliveServer()
    yield s
    await s.close()


async def settle(server: KeepAliveServer, want: int) -> None:
    for _ in range(100):
        if server.closed_by_client >= want:
            return
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("https", [False, True])
async def test_every_probe_opens_its_own_connection_and_closes_it(
    server: KeepAliveServer, https: bool
) -> None:
    ca = trustme.CA()
    tls = None
    trusting = None
    if https:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(tls)
        trusting = ssl.create_default_context()
        ca.configure_trust(trusting)
    port = await server.start(tls)
    url = f"{'https' if https else 'http'}://127.0.0.1:{port}/ok"
    prober = Prober(ssl_context=trusting)
    try:
        results = await asyncio.gather(*(prober.check(quick(url)) for _ in range(20)))
        results.append(await prober.check(quick(url)))  # and one after the others
        assert all(r.status == UP for r in results), [r.error for r in results]
        await settle(server, 21)
    finally:
        await prober.aclose()
    assert server.connections == 21  # none reused, though the server would keep them
    assert server.closed_by_client == 21  # the probe closed each, the server did not wait


@pytest.mark.parametrize("proxied", [False, True])
async def test_a_probe_cancelled_mid_answer_leaves_no_connection_open(proxied: bool) -> None:
    hung_up = asyncio.Event()  # the client closed its end (EOF or reset) while owed a body

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nok")  # 98 bytes owed
        await writer.drain()
        try:
            async with asyncio.timeout(5):
                await reader.read()
            hung_up.set()
        except (TimeoutError, OSError):
            pass
        writer.close()

    listener = await asyncio.start_server(stall, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    proxy = await ForwardProxy().start() if proxied else None
    prober = Prober()
    try:
        kw = {"proxy": proxy.url()} if proxy is not None else {}
        task = asyncio.ensure_future(prober.check(quick(f"http://127.0.0.1:{port}/", **kw)))
        await asyncio.sleep(0.3)  # headers in, the body still owed
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        if proxy is None:  # the connection is the probe's own: closed at once
            async with asyncio.timeout(2):
                await hung_up.wait()
        else:  # through httpcore's proxy pool, on a connection of its own (agent.netio)
            client = next(iter(prober._clients.values()))
            pool = client._transport._pool  # type: ignore[attr-defined]
            assert isinstance(pool, httpcore.AsyncHTTPProxy)
            assert not pool.connections  # none kept
    finally:
        await prober.aclose()
        if proxy is not None:
            await proxy.close()
        listener.close()


async def test_a_proxied_probe_keeps_httpcores_proxy_pool() -> None:
    proxy = await ForwardProxy().start()
    prober = Prober()
    try:
        prober.prepare([quick("http://127.0.0.1:9/", proxy=proxy.url())])
        pool = next(iter(prober._clients.values()))._transport._pool  # type: ignore[attr-defined]
        assert isinstance(pool, httpcore.AsyncHTTPProxy)
    finally:
        await prober.aclose()
        await proxy.close()
