"""Loopback targets and test-sized probes for the agent's tests (imported by name).

``Target`` is a tiny real HTTP/1.1 server on 127.0.0.1 (optionally TLS) whose
paths misbehave on purpose: ``/ok``, ``/503``, ``/slow``, ``/never``,
``/body``, ``/reset``, ``/flaky`` (fails its first requests), ``/big`` (the
word "needle" after 100 KiB), ``/auth`` (200 only with the right token) and
``/hook`` (records POSTed JSON, for webhooks); for redirects and request
shapes: ``/hop/N/END`` (N redirects, then ``END`` among ok/500/login),
``/to/PORT/PATH`` (302 to another origin), ``/noloc`` (302 without
Location), ``/loop``, ``/login`` (200 "please sign in"), ``/500``,
``/json/VALUE`` (``{"status": VALUE}``), ``/bigjson`` (``"status": "ok"``
after 100 KiB), ``/echo`` (records
each request's method, headers and body in ``seen``); for bodies: ``/nobody``
(headers, then the body never comes), ``/truncated`` (half the announced
body, then FIN), ``/trickle`` (a byte every 100 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from core.config import Config, Probe
from tests.configs import QUICK, agent_toml, service

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
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    host: str = "127.0.0.1"

    def url(self, path: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{path}"

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
        if await self.shapes(method, path, headers, body, writer):
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

    async def shapes(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """The redirect, request-shape and body paths; False for the others."""

        def answer(status: int, payload: bytes = b"", extra: str = "") -> None:
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(payload)}\r\n{extra}"
                "Connection: close\r\n\r\n".encode()
                + payload
            )

        parts = path.split("/")
        if path.startswith("/hop/"):
            hops, end = int(parts[2]), parts[3]
            target = f"/hop/{hops - 1}/{end}" if hops > 1 else f"/{end}"
            answer(302, b"moved", f"Location: {target}\r\n")
        elif path.startswith("/to/"):  # a redirect to another origin: /to/PORT/PATH
            port, _, rest = path[len("/to/") :].partition("/")
            answer(302, b"moved", f"Location: http://127.0.0.1:{port}/{rest}\r\n")
        elif path == "/noloc":
            answer(302, b"moved, but where?")
        elif path == "/loop":
            answer(302, b"", "Location: /loop\r\n")
        elif path == "/login":
            answer(200, b"please sign in")
        elif path == "/500":
            answer(500, b"oops")
        elif path == "/bigjson":  # a status page's summary: healthy, and over 64 KiB
            answer(200, b'{"pad": "%s", "status": "ok"}' % (b"a" * 100 * 1024))
        elif path.startswith("/json/"):
            answer(200, b'{"status": "%s", "checks": [{"db": "ok"}]}' % parts[2].encode())
        elif path == "/echo":
            self.seen.append((method, headers, body))
            answer(200, b"ok")
        elif path == "/nobody":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(30)
        elif path == "/truncated":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
        elif path == "/slowbody":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nok")
            await writer.drain()
            await asyncio.sleep(0.3)
            writer.write(b"ok")
        elif path == "/trickle":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
            for _ in range(100):
                await writer.drain()
                await asyncio.sleep(0.1)
                writer.write(b"x")
        else:
            return False
        await writer.drain()
        return True

    async def start(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> Target:
        self.host = host
        self.server = await asyncio.start_server(self.handle, host, 0, ssl=tls)
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


@dataclass
class ForwardProxy:
    """A forwarding HTTP proxy on 127.0.0.1: absolute-URI requests (plain HTTP) and
    CONNECT tunnels (HTTPS). ``auth`` set: 407 unless ``Proxy-Authorization`` is it."""

    auth: str | None = None
    server: asyncio.Server | None = None
    port: int = 0
    requests: list[str] = field(default_factory=list)  # request lines, in order
    credentials: list[str] = field(default_factory=list)  # Proxy-Authorization values seen

    def url(self, userinfo: str = "") -> str:
        return f"http://{userinfo}127.0.0.1:{self.port}"

    async def start(self) -> ForwardProxy:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            if hasattr(self.server, "close_clients"):
                self.server.close_clients()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
            self.requests.append(f"{method} {target}")
            fields = [ln for ln in lines[1:] if ln]
            creds = [
                ln.split(":", 1)[1].strip()
                for ln in fields
                if ln.lower().startswith("proxy-authorization:")
            ]
            self.credentials += creds
            if self.auth is not None and creds != [self.auth]:
                writer.write(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n"
                )
                await writer.drain()
                return
            if method == "CONNECT":
                host, _, port = target.rpartition(":")
                up_r, up_w = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await asyncio.gather(_pipe(reader, up_w), _pipe(up_r, writer))
                return
            from urllib.parse import urlsplit

            parts = urlsplit(target)
            up_r, up_w = await asyncio.open_connection(parts.hostname, parts.port or 80)
            kept = [ln for ln in fields if not ln.lower().startswith("proxy-")]
            path = parts.path or "/"
            up_w.write(("\r\n".join([f"{method} {path} {version}", *kept]) + "\r\n\r\n").encode())
            await up_w.drain()
            await _pipe(up_r, writer)
            up_w.close()
        except (ConnectionError, asyncio.IncompleteReadError, OSError, ValueError):
            pass
        finally:
            writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.write_eof()


def closed_port() -> int:
    """A loopback port with nothing listening on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quick(url: str, **kw: Any) -> Probe:
    """A probe with test-sized timings (the dataclass, not the parser, so below 5 s)."""
    return Probe(url=url, **(QUICK | kw))


def config_text(services: Iterable[str], agent_lines: str = "") -> str:
    """One probed service per name (the URL is swapped for a test probe by the caller)."""
    return agent_toml(
        [service(n, "c", "100.00", probe="http://127.0.0.1:9/") for n in services],
        agent_lines=agent_lines,
        report_within="72h",
    )


ConfigFactory = Callable[..., Config]
