"""A loopback HTTP server that misbehaves on purpose, one path per network fault.

    /reset        headers promise 100 KiB, 10 bytes come, then a TCP reset
    /slowheaders  the status line and headers trickle in one byte per 50 ms, forever
    /slowbody     good headers, then a body that trickles forever (chunked)
    /never        reads the request and never answers
    /huge         a 2 GiB body, streamed from one 64 KiB buffer (never allocated)
    /loop         302 to itself
    /garbage      not HTTP at all
    /longheader   a header line of 1 MiB
    /ok           200 "ok" (503 while ``failing``)

``sent`` counts the body bytes each path managed to send before the client
hung up: proof that a 2 GiB body was not read to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from dataclasses import dataclass, field

CHUNK = b"x" * 65536
HUGE = 2 * 1024**3


@dataclass
class Hostile:
    server: asyncio.Server | None = None
    port: int = 0
    sent: dict[str, int] = field(default_factory=dict)
    failing: bool = False  # /ok answers 503 while set
    greet: bytes = b""  # written at once on connect, before any request (a non-TLS server)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def url(self, path: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def start(self, tls: ssl.SSLContext | None = None) -> Hostile:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=tls)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            for task in self.tasks:
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.tasks.add(task)
        try:
            if self.greet:
                writer.write(self.greet)
                await writer.drain()
                return
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            await self._respond(path, writer)
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, IndexError):
            pass
        except asyncio.CancelledError:
            pass  # the test is over; the handler just ends
        finally:
            self.tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _stream(self, path: str, writer: asyncio.StreamWriter, total: int) -> None:
        sent = 0
        while sent < total:
            piece = CHUNK[: min(len(CHUNK), total - sent)]
            writer.write(piece)
            await writer.drain()
            sent += len(piece)
            self.sent[path] = sent

    async def _respond(self, path: str, writer: asyncio.StreamWriter) -> None:
        if path == "/never":
            await asyncio.sleep(3600)
        elif path == "/reset":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 102400\r\n\r\n0123456789")
            await writer.drain()
            await asyncio.sleep(0.05)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif path == "/slowheaders":
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10**6:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.05)
        elif path == "/slowbody":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            while True:
                writer.write(b"1\r\nz\r\n")
                await writer.drain()
                self.sent[path] = self.sent.get(path, 0) + 1
                await asyncio.sleep(0.05)
        elif path == "/huge":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % HUGE)
            await self._stream(path, writer, HUGE)
        elif path == "/loop":
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n")
        elif path == "/garbage":
            writer.write(b"\x00\xffHELLO THERE\r\nthis is not http\r\n\r\n")
        elif path == "/longheader":
            writer.write(b"HTTP/1.1 200 OK\r\nX-Long: ")
            await self._stream(path, writer, 1024**2)
            writer.write(b"\r\nContent-Length: 2\r\n\r\nok")
        elif self.failing:
            writer.write(b"HTTP/1.1 503 Unavailable\r\nContent-Length: 0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()
