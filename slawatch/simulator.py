"""A scripted hosted service on loopback, for ``slawatch demo``.

Each path answers according to a script: a function from seconds since the
simulator started to a ``Reply`` (HTTP status and how long to take). The
server is a ``ThreadingHTTPServer`` in a daemon thread, so a slow reply never
holds up the dashboard's event loop, and ``stop()`` shuts it down for good.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    status: int = 200
    delay_s: float = 0.0


Script = Callable[[float], Reply]


def jitter_ms(t: float, low: int, high: int) -> float:
    """A deterministic wobble in [low, high) ms, so sparklines have some texture."""
    x = int(t) * 2654435761 % 4294967296
    return (low + x % max(1, high - low)) / 1000


def every(period_s: float, offset_s: float, length_s: float, t: float) -> bool:
    """True during ``length_s`` seconds of every ``period_s``, starting at ``offset_s``."""
    return t >= offset_s and (t - offset_s) % period_s < length_s


def flaky(t: float) -> Reply:
    """Mostly up; a short outage (45 s of 503s) every four minutes."""
    if every(240, 100, 45, t):
        return Reply(503)
    return Reply(200, jitter_ms(t, 20, 70))


def slow_spell(t: float) -> Reply:
    """Up, but answering in over a second for two minutes of every ten."""
    if every(600, 10, 120, t):
        return Reply(200, 1.2 + jitter_ms(t, 0, 200))
    return Reply(200, jitter_ms(t, 60, 140))


def long_outage(t: float) -> Reply:
    """One long outage, six minutes from 20 s in, then steady."""
    if 20 <= t < 380:
        return Reply(503)
    return Reply(200, jitter_ms(t, 30, 90))


def steady(t: float) -> Reply:
    return Reply(200, jitter_ms(t, 5, 25))


DEMO_SCRIPTS: Mapping[str, Script] = {
    "/portal/health": flaky,
    "/billing/health": slow_spell,
    "/search/health": long_outage,
    "/mail/health": steady,
}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up mid-reply is part of the script, not an error to print."""


class Simulator:
    """``start()`` binds 127.0.0.1 on a free port; ``stop()`` closes it and joins the thread."""

    def __init__(
        self,
        scripts: Mapping[str, Script] = DEMO_SCRIPTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scripts = dict(scripts)
        self._clock = clock
        self._started = clock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("simulator not started")
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, path: str) -> Reply:
        script = self.scripts.get(path)
        return Reply(404) if script is None else script(self._clock() - self._started)

    def start(self) -> int:
        simulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                reply = simulator.reply(self.path)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                body = b"ok\n" if reply.status < 400 else b"unavailable\n"
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the prober gave up (timeout) or the agent stopped
                    self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                """Silent: the dashboard owns the terminal."""

        self._started = self._clock()
        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="slawatch-simulator", daemon=True
        )
        self._thread.start()
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
