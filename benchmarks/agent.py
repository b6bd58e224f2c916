"""Benchmark: the real agent probing 1,000 and 10,000 loopback targets at a 60 s interval.

    uv run python benchmarks/agent.py [--targets 1000 10000] [--interval 60]

For each size it starts a small asyncio HTTP server in a separate process (so
its CPU is not counted as the agent's), writes a config with that many
services, runs the real ``Agent`` (scheduler, probes, minute judging, writer,
SQLite store) for one full interval, stops it, and prints:

* cycle: from start until every target had been probed once (the schedule
  spreads the first runs over the interval, so about one interval is ideal);
* lateness p50 / p99 / max: how long after its scheduled time each probe run
  started (the scheduler's and event loop's delay);
* CPU per probe: the agent process's CPU time (all threads, including the
  SQLite writer thread) divided by the probes done;
* RSS: resident memory at the end and at its peak.

Targets (issue 4): 10,000 targets per minute on 2 cores with p99 lateness
under 1 s and under 200 MB resident.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent import Agent  # noqa: E402
from core.configfile import load_config  # noqa: E402

SERVER = textwrap.dedent(
    """
    import asyncio, sys

    ANSWER = b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\nok"

    class Ok(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport, self.buf = transport, b""

        def data_received(self, data):
            self.buf += data
            if b"\\r\\n\\r\\n" in self.buf:
                self.transport.write(ANSWER)
                self.transport.close()

    async def main(n):
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(Ok, "127.0.0.1", 0, backlog=4096) for _ in range(n)]
        print(" ".join(str(s.sockets[0].getsockname()[1]) for s in servers), flush=True)
        await asyncio.Event().wait()

    asyncio.run(main(int(sys.argv[1])))
    """
)


def write_config(folder: Path, ports: list[int], targets: int, interval: int) -> Path:
    parts = [
        '[storage]\npath = "bench.db"\n[agent]\nname = "bench"\n',
        '[[contract]]\nname = "c"\nbands = [{ min_availability = 0.0, credit_percent = 0 }]\n',
    ]
    for i in range(targets):
        port = ports[i % len(ports)]
        parts.append(
            f'[[service]]\nname = "t{i:05d}"\ncontract = "c"\nmonthly_fee = "1.00"\n'
            f'[service.probe]\nurl = "http://127.0.0.1:{port}/{i}"\ninterval = "{interval}s"\n'
            'timeout = "5s"\nretries = 0\n'
        )
    path = folder / "config.toml"
    path.write_text("".join(parts))
    return path


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def run(targets: int, interval: int, ports: list[int], folder: Path) -> None:
    config = load_config(write_config(folder, ports, targets, interval))
    agent = Agent(config)
    first_done: dict[str, float] = {}
    all_probed = asyncio.Event()
    probe = agent.probe_service

    async def timed(name: str) -> None:
        await probe(name)
        first_done.setdefault(name, time.monotonic())
        if len(first_done) == targets:
            all_probed.set()

    agent.scheduler._run = timed  # observe completions without changing what runs
    cpu0, t0 = time.process_time(), time.monotonic()
    await agent.start()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(interval * 2):
            await all_probed.wait()
    cycle = max(first_done.values()) - t0 if first_done else float("nan")
    await asyncio.sleep(max(0.0, t0 + interval + 1 - time.monotonic()))
    ok = await agent.stop()
    cpu = time.process_time() - cpu0
    late = list(agent.scheduler.lateness)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{targets:>6} targets @ {interval}s | cycle {cycle:6.1f} s"
        f" | probed {len(first_done)}/{targets}, {agent.probes_done} probes"
        f" | lateness p50 {percentile(late, 0.5) * 1000:6.1f} ms"
        f" p99 {percentile(late, 0.99) * 1000:7.1f} ms max {max(late, default=0) * 1000:7.1f} ms"
        f" | CPU/probe {cpu / max(1, agent.probes_done) * 1000:5.2f} ms"
        f" (total {cpu:5.1f} s)"
        f" | RSS {rss_mb():5.1f} MB (peak {peak:5.1f} MB)"
        f" | skipped {agent.scheduler.skipped_busy} missed {agent.scheduler.missed}"
        f" | written {agent.writer.written}{'' if ok else ' (NOT all written)'}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--targets", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--ports", type=int, default=4, help="loopback server ports")
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(args.ports)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        ports = [int(p) for p in server.stdout.readline().split()]
        for n in args.targets:
            with tempfile.TemporaryDirectory() as tmp:
                asyncio.run(run(n, args.interval, ports, Path(tmp)))
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
