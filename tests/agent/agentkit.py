"""Loopback targets and test-sized probes for the agent's tests (imported by name).

``Target`` is a tiny real HTTP/1.1 server on 127.0.0.1 (optionally TLS) whose
paths misbehave on purpose: ``/ok``, ``/503``, ``/slow``, ``/never``,
``/body``, ``/reset``, ``/flaky`` (fails its first requests), ``/big`` (the
word "needle" after 100 KiB), ``/auth`` (200 only with the right token) and
``/hook`` (records POSTed JSON, for webhooks).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from core.config import Config, Probe

SECRET = "s3cr3t-token-never-logged"


@dataclass
class Target:
    server: asyncio.Server | None = None
    port: int = 0
    scheme: str = "http"
    slow_seconds: float = 0.3
    flaky_failures: int = 1
    requests: dict[str, int] = field(default_factory=dict)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    hook_status: int = 200

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (
            asyncio.IncompleteReadError,
            ConnectionError,
            ssl.SSLError,
            asyncio.LimitOverrunError,
        ):
            writer.close()
            return
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {
            k.strip().lower(): v.strip()
            for k, v in (ln.split(":", 1) for ln in lines[1:] if ":" in ln)
        }
        body = b""
        if int(headers.get("content-length", "0")):
            body = await reader.readexactly(int(headers["content-length"]))
        self.requests[path] = self.requests.get(path, 0) + 1
        try:
            await self.respond(method, path, headers, body, writer)
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def respond(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        writer: asyncio.StreamWriter,
    ) -> None:
        if path == "/never":
            await asyncio.sleep(30)
            return
        if path == "/reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        status, payload = 200, b"ok"
        if path == "/503":
            status = 503
        elif path == "/slow":
            await asyncio.sleep(self.slow_seconds)
        elif path == "/body":
            payload = b"nope"
        elif path == "/flaky" and self.requests[path] <= self.flaky_failures:
            status = 500
        elif path == "/big":
            payload = b"a" * (100 * 1024) + b"needle"
        elif path == "/auth" and headers.get("authorization") != f"Bearer {SECRET}":
            status = 401
        elif path == "/hook" and method == "POST":
            self.hooks.append(json.loads(body))
            status = self.hook_status
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: {len(payload)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + payload
        )
        await writer.drain()

    async def start(self, tls: ssl.SSLContext | None = None) -> Target:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0, ssl=tls)
        self.port = self.server.sockets[0].getsockname()[1]
        self.scheme = "https" if tls else "http"
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            if hasattr(self.server, "close_clients"):
                self.server.close_clients()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1)


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quick(url: str, **kw: Any) -> Probe:
    """A probe with test-sized timings (the dataclass, not the parser, so below 5 s)."""
    options: dict[str, Any] = {
        "interval": timedelta(seconds=5),
        "timeout": timedelta(seconds=1),
        "retries": 0,
        "retry_delay": timedelta(0),
    }
    options.update(kw)
    return Probe(url=url, **options)


CONFIG = """
[storage]
path = "data/slawatch.db"

[agent]
name = "probe-1"
{agent}

[[contract]]
name = "c"
report_within = "72h"
bands = [
  {{ min_availability = 99.5, credit_percent = 0 }},
  {{ min_availability = 0.0, credit_percent = 25 }},
]
{services}
"""

SERVICE = """
[[service]]
name = "{name}"
contract = "c"
monthly_fee = "100.00"
[service.probe]
url = "http://127.0.0.1:9/"
"""

ConfigFactory = Callable[..., Config]
