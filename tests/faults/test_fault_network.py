"""Network faults at the targets: each gives the right verdict within the probe's
timeout, and the agent's memory stays bounded (measured with tracemalloc)."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import trustme
from hostile import Hostile

from agent.probe import Prober, ProbeResult
from core.config import Probe
from core.status import DOWN, UP

TIMEOUT = 1.0
MEMORY_BOUND = 16 * 1024**2  # peak Python allocations while probing every fault at once


def probe(url: str, **kw: Any) -> Probe:
    options: dict[str, Any] = {
        "interval": timedelta(seconds=5),
        "timeout": timedelta(seconds=TIMEOUT),
        "retries": 0,
        "retry_delay": timedelta(0),
    }
    options.update(kw)
    return Probe(url=url, **options)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    h = await Hostile().start()
    yield h
    await h.close()


@pytest.fixture
async def plain_greeter() -> AsyncIterator[Hostile]:
    """A plain server that answers anything, a TLS ClientHello included, with HTTP 400."""
    h = await Hostile(greet=b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n").start()
    yield h
    await h.close()


@pytest.fixture
async def tls_hostile() -> AsyncIterator[tuple[Hostile, ssl.SSLContext]]:
    """A TLS server whose certificate the client does not trust, and one it does."""
    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    h = await Hostile().start(tls=server_ctx)
    yield h, trusting
    await h.close()


async def test_every_network_fault_gets_its_verdict_in_time_with_bounded_memory(
    hostile: Hostile, plain_greeter: Hostile, tls_hostile: tuple[Hostile, ssl.SSLContext]
) -> None:
    tls, trusting = tls_hostile
    strict = (200, 299)
    cases: dict[str, tuple[Probe, int, str | None]] = {
        "refused": (probe(f"http://127.0.0.1:{closed_port()}/"), DOWN, "connect"),
        "refused tcp": (probe(f"tcp://127.0.0.1:{closed_port()}"), DOWN, "connect"),
        "reset mid-response": (probe(hostile.url("/reset"), contains="needle"), DOWN, "reset"),
        "tls untrusted cert": (probe(tls.url("/ok", "https")), DOWN, "tls:untrusted"),
        "tls to a plain server": (probe(plain_greeter.url("/", "https")), DOWN, "tls"),
        "slowloris headers": (probe(hostile.url("/slowheaders")), DOWN, "timeout"),
        "slowloris body": (probe(hostile.url("/slowbody"), contains="needle"), DOWN, "timeout"),
        "never answers": (probe(hostile.url("/never")), DOWN, "timeout"),
        "2 GiB body, contains": (probe(hostile.url("/huge"), contains="needle"), DOWN, "body"),
        "2 GiB body, status only": (probe(hostile.url("/huge")), UP, None),
        "redirect loop": (probe(hostile.url("/loop"), max_redirects=3), DOWN, "redirects"),
        "redirect loop, not followed, 3xx accepted": (
            probe(hostile.url("/loop"), follow_redirects=False),
            UP,
            None,
        ),
        "redirect loop, not followed, 2xx expected": (
            probe(hostile.url("/loop"), expect_status=(strict,), follow_redirects=False),
            DOWN,
            "status:302",
        ),
        "not HTTP": (probe(hostile.url("/garbage")), DOWN, "protocol"),
        "1 MiB header line": (probe(hostile.url("/longheader")), DOWN, "protocol"),
        "control: ok": (probe(hostile.url("/ok")), UP, None),
    }
    prober = Prober(ssl_context=ssl.create_default_context())  # trusts nothing of the test CA
    trusted = Prober(ssl_context=trusting)

    async def timed(p: Probe) -> tuple[ProbeResult, float]:
        started = time.monotonic()
        result = await prober.check(p)
        return result, time.monotonic() - started

    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        outcomes = await asyncio.gather(*(timed(p) for p, _s, _e in cases.values()))
        peak = tracemalloc.get_traced_memory()[1] - baseline
        control = await trusted.check(probe(tls.url("/ok", "https")))
    finally:
        tracemalloc.stop()
        await prober.aclose()
        await trusted.aclose()

    got = {
        name: (result.status, result.error)
        for name, (result, _t) in zip(cases, outcomes, strict=True)
    }
    assert got == {name: (status, error) for name, (_p, status, error) in cases.items()}
    slowest = max(t for _r, t in outcomes)
    # The bound is the probe's own timeout; the margin only absorbs a loaded machine.
    assert slowest < 2 * TIMEOUT, f"a verdict took {slowest:.2f} s (timeout {TIMEOUT} s)"
    assert control.status == UP  # the TLS server works for a client that trusts it
    # The 2 GiB body was never read to the end: at most what fits the socket buffers.
    assert hostile.sent.get("/huge", 0) < 64 * 1024**2
    print(
        f"\nnetwork faults: {len(cases)} at once, slowest verdict {slowest:.2f} s, "
        f"peak traced memory {peak / 1024**2:.1f} MiB, 2 GiB body: "
        f"{hostile.sent.get('/huge', 0) / 1024**2:.1f} MiB sent before the agent hung up"
    )
    assert peak < MEMORY_BOUND
