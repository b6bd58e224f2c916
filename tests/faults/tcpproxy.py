"""A loopback TCP relay in front of PostgreSQL whose network the test can cut.

``Proxy(target_port)`` listens on a free 127.0.0.1 port and relays every
connection to the target. ``cut()`` is the network gone: every open connection
is torn down and new ones are dropped as soon as they arrive, until
``restore()``. ``hang()`` is a server that stops answering (a frozen host, a
half-open connection): connections stay open and new ones are taken, but no
byte goes through either way until ``flow()``. Threads are daemons and
``close()`` ends them all.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class Proxy:
    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._cut = False
        self._closed = False
        self._flowing = threading.Event()
        self._flowing.set()
        self.dropped = 0  # connections refused or torn down while cut
        self.accepted = 0  # connections taken (hung ones included)
        threading.Thread(target=self._accept, daemon=True, name="tcpproxy-accept").start()

    def url(self, database: str, user: str) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            doomed, self._open = self._open, []
        for s in doomed:
            _kill(s)
            self.dropped += 1

    def hang(self) -> None:
        self._flowing.clear()

    def flow(self) -> None:
        self._flowing.set()

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._flowing.set()
        _kill(self._listener)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            with self._lock:
                cut = self._cut
            if cut:
                _kill(client)
                self.dropped += 1
                continue
            self._flowing.wait()
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _kill(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=_pump, args=(a, b, self._flowing), daemon=True).start()


def _pump(src: socket.socket, dst: socket.socket, flowing: threading.Event) -> None:
    try:
        while data := src.recv(65536):
            flowing.wait()
            dst.sendall(data)
    except OSError:
        pass
    finally:
        _kill(src)
        _kill(dst)


def _kill(s: socket.socket) -> None:
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()
