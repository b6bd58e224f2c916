"""Name lookups (``agent.resolver``): one provider's dead name servers starve no one else."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from agentkit import Target, quick

from agent import resolver
from agent.probe import Prober
from core.status import DOWN, UP

HANG = 2.0  # s: a lookup of a name whose name servers never answer


@pytest.fixture
def dead_name_servers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names under ``bad.test`` hang in the resolver, then fail; every other name is
    resolved for real (``localhost`` from /etc/hosts). No name server on this machine can
    be made to hang, so the blocking call is what the test replaces; threads, pool and
    sockets are real. Returns the names looked up, one entry per call."""
    real = socket.getaddrinfo
    asked: list[str] = []
    lock = threading.Lock()

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name.endswith("bad.test"):
            with lock:
                asked.append(name)
            time.sleep(HANG)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


async def test_a_name_that_hangs_does_not_starve_the_other_probes(
    target: Target, dead_name_servers: list[str]
) -> None:
    """Before: 8 probes of names whose lookups hang filled asyncio's 6-thread pool, and a
    healthy service's probe (its lookup queued behind them) was down ``timeout``."""
    lookups = resolver.install()
    prober = Prober()
    try:
        bad = [
            quick(f"http://s{i}.bad.test:{target.port}/ok", timeout=timedelta(milliseconds=300))
            for i in range(8)
        ]
        results = await asyncio.gather(*(prober.check(p) for p in bad))
        assert {(r.status, r.error) for r in results} == {(DOWN, "timeout")}
        good = quick(f"http://localhost:{target.port}/ok", timeout=timedelta(seconds=1))
        result = await prober.check(good)
        assert (result.status, result.error) == (UP, None)
    finally:
        await prober.aclose()
        lookups.close()


async def test_probes_of_one_hanging_name_share_one_lookup(
    target: Target, dead_name_servers: list[str]
) -> None:
    """A hung lookup cannot be cancelled: before, each probe of the name (and each retry)
    took one more thread. Now callers asking the same while it runs share it, including
    those that gave up; once it ends the next probe asks again, and its error is the
    resolver's (``dns``)."""
    lookups = resolver.install()
    prober = Prober()
    try:
        probe = quick(f"http://api.bad.test:{target.port}/ok", timeout=timedelta(seconds=0.2))
        for _ in range(5):
            assert (await prober.check(probe)).error == "timeout"
        assert dead_name_servers == ["api.bad.test"]
        patient = quick(probe.url, timeout=timedelta(seconds=HANG + 1))
        assert (await prober.check(patient)).error == "dns"  # joined the one running
        assert (await prober.check(probe)).error == "timeout"  # a new lookup
        assert dead_name_servers == ["api.bad.test"] * 2
    finally:
        await prober.aclose()
        lookups.close()


async def test_closing_gives_the_loop_its_own_lookups_back() -> None:
    loop = asyncio.get_running_loop()
    lookups = resolver.install()
    assert resolver.install() is lookups and loop.getaddrinfo == lookups.getaddrinfo
    assert await loop.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
    lookups.close()
    assert "getaddrinfo" not in vars(loop)
    assert await loop.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
    assert resolver.install() is not lookups
    resolver.install().close()
