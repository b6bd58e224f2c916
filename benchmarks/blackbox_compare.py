"""A second opinion: Prometheus's blackbox exporter and slawatch's prober, same targets.

    uv run python benchmarks/blackbox_compare.py [--probes 1000] [--rate 100] [--timeout 1]

Needs Debian's ``prometheus-blackbox-exporter`` (``apt-get install -y
prometheus-blackbox-exporter``). Everything runs on 127.0.0.1:

* a target process (this file with ``--serve``) with one plain HTTP server and
  four HTTPS servers (certificates made with ``trustme``: a good one from the CA
  both probers trust, an expired one from that CA, one from a CA nobody trusts,
  one for another host name), misbehaving on purpose by path;
* the exporter, started on a free loopback port with a config this script
  writes (``http_2xx``: redirects followed, the trusted CA as ``ca_file``;
  ``tcp_connect``), asked through its ``/probe?target=...&module=...`` endpoint;
* slawatch's ``agent.probe.Prober`` in this process, each target as a
  ``[service.probe]`` with the same timeout and no retries.

The DNS failure is a name under the reserved ``.invalid`` TLD. Resolvers do not
answer that locally (glibc and Go both send it to the ``nameserver`` of
``/etc/resolv.conf``), so unless every nameserver there is already on loopback,
the script re-runs itself in a private mount namespace (``unshare --mount``,
root only) with a ``resolv.conf`` naming 127.0.0.1, where the target process
answers every query NXDOMAIN and counts them. Without that (not root, no
``unshare``, port 53 taken), the DNS row is left out and the script says so:
no query ever leaves the machine.

It prints the verdict table side by side (with the verdict an SLA user expects),
then the CPU cost per 1,000 probes of each at the same rate: the exporter's
process CPU (user + system, all threads, from ``/proc/PID/stat``) around N
``/probe`` requests, and the agent's ``time.process_time()`` around N
``Prober.check`` calls, both paced at ``--rate`` per second. Then the cost with
storage (``--no-storage`` leaves it out): a real Prometheus (Debian
``prometheus``) scraping the exporter for 100 HTTPS targets every second and
storing the samples, against the whole agent (probes, journal, minutes in
SQLite) for 100 services at the same pace (docs/blackbox-compare.md). The whole
run is bounded (``--deadline``, default 300 s) and stops everything it started.

``--scale N`` (e.g. 10000) replaces the 100/s runs with both at N services, each
probed once every ``--scale-interval`` s (60): Prometheus scraping the exporter
for N targets and storing the samples, then ``slawatch agent`` in its own
process with its SQLite store, plain HTTP then HTTPS, one after the other; CPU
of each process from ``/proc`` over a ``--scale-window`` s (60) steady window
after one interval and 15 s of warm-up, per probe the targets answered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXPORTER = "prometheus-blackbox-exporter"
PROMETHEUS = "prometheus"
DNS_NAME = "slawatch-compare.invalid"
NS_ENV = "SLAWATCH_BB_NAMESPACE"
COST_TIMEOUT = 10  # the cost runs measure CPU, not verdicts: room for a busy machine

# --------------------------------------------------------------------------- targets


class Targets:
    """The target process: misbehaving HTTP(S) servers and an NXDOMAIN resolver."""

    def __init__(self) -> None:
        self.dns_queries = 0
        self.answered: dict[str, int] = {}  # listener -> requests for /ok (the probes)

    def on(self, listener: str):  # type: ignore[no-untyped-def]
        """The connection handler of one listener (``http``, ``good``...)."""

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await self.handle(listener, reader, writer)

        return handle

    async def handle(
        self, listener: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            async with asyncio.timeout(40):
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1].decode() if head.count(b" ") >= 2 else "/"
                path = path.split("?", 1)[0]  # ?i=N: one service each in the storage runs
                if path == "/ok":
                    self.answered[listener] = self.answered.get(listener, 0) + 1
                await self.answer(path, writer)
        except Exception:
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def answer(self, path: str, writer: asyncio.StreamWriter) -> None:
        def send(status: str, body: bytes = b"", extra: str = "", length: int | None = None):
            n = len(body) if length is None else length
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Length: {n}\r\n"
                f"Connection: close\r\n{extra}\r\n".encode()
                + body
            )

        if path == "/ok":
            send("200 OK", b"ok")
        elif path == "/503":
            send("503 Service Unavailable", b"down")
        elif path == "/500":
            send("500 Internal Server Error", b"oops")
        elif path.startswith("/redir/"):  # /redir/N/dest: N hops of 302, then /dest
            _, _, hops, dest = path.split("/", 3)
            n = int(hops)
            to = f"/redir/{n - 1}/{dest}" if n > 1 else f"/{dest}"
            send("302 Found", extra=f"Location: {to}\r\n")
        elif path == "/loop":
            send("302 Found", extra="Location: /loop\r\n")
        elif path == "/nolocation":
            send("302 Found")
        elif path == "/slow":  # headers after 3 s: beyond any probe timeout used here
            await asyncio.sleep(3)
            send("200 OK", b"ok")
        elif path == "/reset":  # promise 100 KiB, send 10 bytes, then RST
            send("200 OK", b"x" * 10, length=102400)
            await writer.drain()
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return
        elif path == "/nobody":  # headers, then a body that never comes
            send("200 OK", length=100)
            await writer.drain()
            await asyncio.sleep(30)
        elif path == "/truncated":  # Content-Length 100, 10 bytes, then FIN
            send("200 OK", b"x" * 10, length=100)
        elif path == "/trickle":  # a chunked body, one byte every 200 ms, for 30 s
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )
            for _ in range(150):
                writer.write(b"1\r\nx\r\n")
                await writer.drain()
                await asyncio.sleep(0.2)
        elif path == "/garbage":  # not HTTP at all
            writer.write(b"SSH-2.0-OpenSSH_9.2\r\n")
        elif path == "/dnscount":
            send("200 OK", str(self.dns_queries).encode())
        elif path == "/answered":
            send("200 OK", json.dumps(self.answered).encode())
        else:
            send("404 Not Found")
        await writer.drain()


class NxDomain(asyncio.DatagramProtocol):
    """Answers every DNS query NXDOMAIN (the question echoed, no records)."""

    def __init__(self, targets: Targets) -> None:
        self.targets = targets

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12:
            return
        self.targets.dns_queries += 1
        qid, flags, qdcount = struct.unpack("!HHH", data[:6])
        rd = flags & 0x0100
        reply = struct.pack("!HHHHHH", qid, 0x8000 | rd | 0x0080 | 3, qdcount, 0, 0, 0)
        self.transport.sendto(reply + data[12:], addr)  # type: ignore[attr-defined]


async def serve(folder: Path, dns: bool) -> None:
    targets = Targets()
    ports: dict[str, int] = {}
    plain = await asyncio.start_server(targets.on("http"), "127.0.0.1", 0, backlog=4096)
    ports["http"] = plain.sockets[0].getsockname()[1]
    servers = [plain]
    for name in ("good", "expired", "untrusted", "wronghost"):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(folder / f"{name}.pem")
        server = await asyncio.start_server(targets.on(name), "127.0.0.1", 0, ssl=ctx, backlog=4096)
        ports[name] = server.sockets[0].getsockname()[1]
        servers.append(server)
    if dns:
        loop = asyncio.get_running_loop()
        try:
            await loop.create_datagram_endpoint(
                lambda: NxDomain(targets), local_addr=("127.0.0.1", 53)
            )
            ports["dns"] = 53
        except OSError as exc:
            ports["dns_error"] = exc.errno or -1
    print(json.dumps(ports), flush=True)
    # Until the parent closes our stdin (or dies), at most 20 minutes.
    loop = asyncio.get_running_loop()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.read), 1200)
    for server in servers:
        server.close()
    os._exit(0)


def make_certs(folder: Path) -> Path:
    import trustme

    ca, stranger = trustme.CA(), trustme.CA()
    now = datetime.now(UTC)
    leaves = {
        "good": ca.issue_cert("127.0.0.1", "localhost"),
        "expired": ca.issue_cert(
            "127.0.0.1", not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
        ),
        "untrusted": stranger.issue_cert("127.0.0.1"),
        "wronghost": ca.issue_cert("service.example.test"),
    }
    for name, leaf in leaves.items():
        leaf.private_key_and_cert_chain_pem.write_to_path(str(folder / f"{name}.pem"))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    return folder / "ca.pem"


# --------------------------------------------------------------------------- table


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    module: str  # the exporter's module
    expect: str  # the verdict an SLA user expects: "up" or "down"


def target_list(ports: dict[str, int], refused: int) -> list[Target]:
    http = f"http://127.0.0.1:{ports['http']}"
    rows = [
        Target("200", f"{http}/ok", "http_2xx", "up"),
        Target("503", f"{http}/503", "http_2xx", "down"),
        Target("404", f"{http}/nothing-here", "http_2xx", "down"),
        Target("302 x3 -> 200", f"{http}/redir/3/ok", "http_2xx", "up"),
        Target("302 -> 500", f"{http}/redir/1/500", "http_2xx", "down"),
        Target("302 -> 503", f"{http}/redir/2/503", "http_2xx", "down"),
        Target("302 loop", f"{http}/loop", "http_2xx", "down"),
        Target("302 x12 -> 200", f"{http}/redir/12/ok", "http_2xx", "down"),
        Target("302, no Location", f"{http}/nolocation", "http_2xx", "down"),
        Target("slow (3 s > timeout)", f"{http}/slow", "http_2xx", "down"),
        Target("reset mid-body", f"{http}/reset", "http_2xx", "down"),
        Target("body never comes", f"{http}/nobody", "http_2xx", "down"),
        Target("truncated body (FIN)", f"{http}/truncated", "http_2xx", "down"),
        Target("body trickles", f"{http}/trickle", "http_2xx", "down"),
        Target("not HTTP", f"{http}/garbage", "http_2xx", "down"),
        Target("https 200", f"https://127.0.0.1:{ports['good']}/ok", "http_2xx", "up"),
        Target("https -> 503", f"https://127.0.0.1:{ports['good']}/503", "http_2xx", "down"),
        Target("tls expired", f"https://127.0.0.1:{ports['expired']}/ok", "http_2xx", "down"),
        Target(
            "tls untrusted CA", f"https://127.0.0.1:{ports['untrusted']}/ok", "http_2xx", "down"
        ),
        Target("tls wrong host", f"https://127.0.0.1:{ports['wronghost']}/ok", "http_2xx", "down"),
        Target("https to plain port", f"https://127.0.0.1:{ports['http']}/ok", "http_2xx", "down"),
        Target("refused", f"http://127.0.0.1:{refused}/", "http_2xx", "down"),
        Target("tcp open", f"tcp://127.0.0.1:{ports['http']}", "tcp_connect", "up"),
        Target("tcp refused", f"tcp://127.0.0.1:{refused}", "tcp_connect", "down"),
    ]
    if "dns" in ports:
        rows.append(Target("dns NXDOMAIN", f"http://{DNS_NAME}/", "http_2xx", "down"))
    return rows


def exporter_config(ca: Path, timeout: float) -> str:
    def http(name: str, seconds: float) -> str:
        return f"""  {name}:
    prober: http
    timeout: {seconds}s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      follow_redirects: true
      tls_config:
        ca_file: {ca}
"""

    return f"""modules:
{http("http_2xx", timeout)}{http("http_cost", COST_TIMEOUT)}  tcp_connect:
    prober: tcp
    timeout: {timeout}s
    tcp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
"""


def exporter_target(t: Target) -> str:
    return t.url.removeprefix("tcp://") if t.module == "tcp_connect" else t.url


def probe_path(t: Target) -> str:
    return f"/probe?target={quote(exporter_target(t), safe='')}&module={t.module}"


def exporter_reason(text: str) -> str:
    """The exporter's own words from a debug=true answer: the last error it logged."""
    reason = ""
    for line in text.splitlines():
        if 'msg="Probe failed"' in line:
            continue
        if "level=error" in line or ("err=" in line and "level=info" in line):
            msg = _field(line, "msg")
            err = _field(line, "err")
            reason = f"{msg}: {err}" if err else msg
    for line in text.splitlines():
        if line.startswith("probe_http_status_code "):
            code = line.split()[1]
            if code != "0" and not reason:
                reason = f"status {code}"
    return reason


def _field(line: str, key: str) -> str:
    marker = f"{key}="
    at = line.find(marker)
    if at < 0:
        return ""
    rest = line[at + len(marker) :]
    if rest.startswith('"'):
        end = rest.find('"', 1)
        while end > 0 and rest[end - 1] == "\\":
            end = rest.find('"', end + 1)
        return rest[1:end] if end > 0 else rest[1:]
    return rest.split(" ", 1)[0]


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------- cost


def proc_cpu(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def paced(n: int, rate: float, work) -> float:
    """Run ``work()`` n times, one started every 1/rate s; returns the wall time."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i in range(n):
        delay = start + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(work()))
    await asyncio.gather(*tasks)
    return loop.time() - start


# --------------------------------------------------------------------------- storage

STORE_SERVICES = 100  # services (and Prometheus targets) in the storage runs: 100 probes/s
STORE_SECONDS = 20  # the Prometheus run's measured window


def prometheus_config(exporter: str, url: str, n: int, interval: int = 1) -> str:
    """Prometheus scraping the exporter's /probe for ``n`` targets every ``interval``
    seconds (the usual blackbox relabelling), so it stores every probe's samples as it
    would. Prometheus spreads the targets' scrapes across the interval by itself."""
    targets = ", ".join(f'"{url}?i={i}"' for i in range(n))
    return f"""global:
  scrape_interval: {interval}s
  scrape_timeout: {min(interval, COST_TIMEOUT)}s
scrape_configs:
  - job_name: blackbox
    metrics_path: /probe
    params:
      module: [http_cost]
    static_configs:
      - targets: [{targets}]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: {exporter}
"""


async def prometheus_cost(
    folder: Path, exporter_pid: int, exporter_addr: str, url: str
) -> tuple[float, float, int, float] | str:
    """(exporter CPU, Prometheus CPU, probes scraped, samples per probe) over
    STORE_SECONDS of Prometheus scraping STORE_SERVICES blackbox targets each second;
    a sentence when Prometheus is not installed or does not come up."""
    import httpx

    if shutil.which(PROMETHEUS) is None:
        return f"{PROMETHEUS} is not installed (apt-get install -y {PROMETHEUS})"
    port = free_port()
    (folder / "prometheus.yml").write_text(prometheus_config(exporter_addr, url, STORE_SERVICES))
    prom = start_daemon(
        PROMETHEUS, folder / "prometheus.yml", port, f"--storage.tsdb.path={folder / 'tsdb'}"
    )
    api = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=api, timeout=10, trust_env=False) as client:
            for _ in range(300):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get("/-/ready")).status_code == 200:
                        break
                if prom.poll() is not None:
                    return f"{PROMETHEUS} exited with {prom.returncode}"
                await asyncio.sleep(0.1)
            else:
                return f"{PROMETHEUS} did not become ready"
            await asyncio.sleep(5)  # every target scraped a few times: series created
            ex0, pr0, t0 = proc_cpu(exporter_pid), proc_cpu(prom.pid), time.time()
            await asyncio.sleep(STORE_SECONDS)
            ex1, pr1, t1 = proc_cpu(exporter_pid), proc_cpu(prom.pid), time.time()

            async def scalar(query: str) -> float:
                answer = await client.get("/api/v1/query", params={"query": query, "time": t1})
                result = answer.json()["data"]["result"]
                return float(result[0]["value"][1]) if result else 0.0

            window = f"{round(t1 - t0)}s"
            probes = await scalar(f'sum(count_over_time(up{{job="blackbox"}}[{window}]))')
            samples = await scalar('avg(scrape_samples_scraped{job="blackbox"})')
        return ex1 - ex0, pr1 - pr0, int(probes), samples + 5  # + up, scrape_* series
    finally:
        stop(prom, terminate=True)


AGENT_CONFIG = """
[storage]
path = "{db}"

[agent]
name = "compare"

[[contract]]
name = "c"
"""

AGENT_SERVICE = """
[[service]]
name = "s{i}"
contract = "c"
monthly_fee = "100.00"
[service.probe]
url = "{url}?i={i}"
timeout = "{timeout}s"
retries = 0
ca_file = "{ca}"
"""


async def agent_whole_cost(folder: Path, url: str, ca: Path, minutes: int) -> tuple[float, int]:
    """(CPU seconds, probes) of the real agent (``agent.Agent``: probes, each probe
    result journalled, each minute judged and written to SQLite with its hash chain,
    the latest probe states, its health) for STORE_SERVICES services probed once a
    minute, ``minutes`` minutes on a hand-turned clock; the probes of a minute are
    paced at 100/s as the scheduler spreads them."""
    from agent.runner import Agent
    from agent.sink import StoreSink
    from core.configfile import load_config

    db = folder / "agent.db"
    text = AGENT_CONFIG.format(db=db.as_posix()) + "".join(
        AGENT_SERVICE.format(i=i, url=url, timeout=COST_TIMEOUT, ca=ca.as_posix())
        for i in range(STORE_SERVICES)
    )
    (folder / "agent.toml").write_text(text)
    config = load_config(folder / "agent.toml")
    now = [datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes + 2)]
    sink = StoreSink(db)
    agent = Agent(config, clock=lambda: now[0], sink=sink)
    names = sorted(agent.targets)

    async def one_minute() -> None:
        it = iter(names)
        await paced(len(names), 100.0, lambda: agent.probe_service(next(it)))
        now[0] += timedelta(minutes=1)
        await agent.tick()

    try:
        await one_minute()  # warm-up: the database, its tables and the services created
        cpu0 = time.process_time()
        for _ in range(minutes):
            await one_minute()
        return time.process_time() - cpu0, minutes * len(names)
    finally:
        await agent.stop(within=5)
        await sink.close()


# --------------------------------------------------------------------------- scale

SCALE_SERVICE = """
[[service]]
name = "s{i:05d}"
contract = "c"
monthly_fee = "100.00"
[service.probe]
url = "{url}?i={i}"
interval = "{interval}s"
timeout = "{timeout}s"
retries = 0
{ca_line}"""


@dataclass(frozen=True)
class Window:
    """What one steady-state window measured: CPU seconds per process, probes served."""

    cpu: dict[str, float]
    probes: int
    load: tuple[float, float]  # 1-minute load average at the window's start and end
    seconds: float
    stopped: str = ""  # how the measured process ended (the agent: within the unit's 15 s?)

    def per_probe_ms(self, *names: str) -> float:
        return sum(self.cpu[n] for n in names) / max(1, self.probes) * 1000


async def steady_window(
    procs: dict[str, subprocess.Popen[bytes]],
    answered: Callable[[], Awaitable[int]],
    warmup: float,
    window: float,
) -> Window | str:
    """After ``warmup`` s, each process's CPU (``/proc/PID/stat``) and the probes the
    targets answered over ``window`` s; a sentence when a process died meanwhile."""
    await asyncio.sleep(warmup)
    for name, proc in procs.items():
        if proc.poll() is not None:
            return f"{name} exited with {proc.returncode} during the warm-up"
    cpu0 = {n: proc_cpu(p.pid) for n, p in procs.items()}
    n0, load0, t0 = await answered(), os.getloadavg()[0], time.monotonic()
    await asyncio.sleep(window)
    cpu1 = {n: proc_cpu(p.pid) for n, p in procs.items()}
    n1, load1, t1 = await answered(), os.getloadavg()[0], time.monotonic()
    for name, proc in procs.items():
        if proc.poll() is not None:
            return f"{name} exited with {proc.returncode} during the window"
    cpu = {n: cpu1[n] - cpu0[n] for n in procs}
    return Window(cpu, n1 - n0 - 1, (load0, load1), t1 - t0)  # - 1: answered's own request


async def scale_agent(
    folder: Path, url: str, ca: Path | None, args: argparse.Namespace, answered
) -> Window | str:  # type: ignore[no-untyped-def]
    """The whole agent as ``slawatch agent`` runs it (its scheduler, probes, journal,
    minutes and probe states in SQLite), in its own process, for ``args.scale``
    services probed once every ``args.scale_interval`` seconds."""
    run = Path(tempfile.mkdtemp(prefix="agent-", dir=folder))
    ca_line = f'ca_file = "{ca.as_posix()}"\n' if ca is not None else ""
    text = AGENT_CONFIG.format(db=(run / "agent.db").as_posix()) + "".join(
        SCALE_SERVICE.format(
            i=i, url=url, interval=args.scale_interval, timeout=COST_TIMEOUT, ca_line=ca_line
        )
        for i in range(args.scale)
    )
    (run / "agent.toml").write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    log = (run / "agent.log").open("wb")  # the child's stderr
    agent = _popen(
        [sys.executable, "-m", "slawatch", "--config", str(run / "agent.toml"), "agent"],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=env,
        cwd=ROOT,
    )
    try:
        window = await steady_window(
            {"agent": agent}, answered, args.scale_interval + 15, args.scale_window
        )
    finally:
        began = time.monotonic()
        stop(agent, terminate=True, grace=15)  # the unit's TimeoutStopSec
        took = time.monotonic() - began
        log.close()
    if isinstance(window, str):
        return window
    if agent.returncode == 0:
        return replace(window, stopped=f"agent stopped {took:.1f} s after SIGTERM")
    if agent.returncode == -9:
        return replace(window, stopped="agent did NOT stop within 15 s of SIGTERM (killed)")
    return replace(window, stopped=f"agent exited {agent.returncode} {took:.1f} s after SIGTERM")


async def scale_exporter(
    folder: Path, exporter: subprocess.Popen[bytes], addr: str, url: str, args, answered
) -> Window | str:  # type: ignore[no-untyped-def]
    """A real Prometheus scraping the exporter's /probe for ``args.scale`` targets every
    ``args.scale_interval`` seconds, storing the samples in its TSDB."""
    if shutil.which(PROMETHEUS) is None:
        return f"{PROMETHEUS} is not installed (apt-get install -y {PROMETHEUS})"
    run = Path(tempfile.mkdtemp(prefix="prometheus-", dir=folder))
    port = free_port()
    (run / "prometheus.yml").write_text(
        prometheus_config(addr, url, args.scale, args.scale_interval)
    )
    prom = start_daemon(PROMETHEUS, run / "prometheus.yml", port, f"--storage.tsdb.path={run}")
    try:
        return await steady_window(
            {"exporter": exporter, "prometheus": prom},
            answered,
            args.scale_interval + 15,
            args.scale_window,
        )
    finally:
        stop(prom, terminate=True)


async def scale(
    args: argparse.Namespace,
    folder: Path,
    exporter: subprocess.Popen[bytes],
    addr: str,
    ports: dict[str, int],
    ca: Path,
    get,  # type: ignore[no-untyped-def]
) -> None:
    """Both at ``args.scale`` services, each probed once every ``args.scale_interval``
    seconds, plain HTTP then HTTPS, one after the other (never both at once): CPU per
    probe over a steady window, storage included on both sides."""
    n, interval = args.scale, args.scale_interval
    print(
        f"\nAt {n:,} services, each probed every {interval} s ({n / interval:.0f} probes/s),"
        f" {args.scale_window} s windows after {interval + 15} s of warm-up, CPU per probe:"
    )
    print(
        f"{'':<6} {'exporter':>9} {'+ Prometheus':>13} {'agent':>7}"
        f" {'agent/exporter':>15} {'agent/(exp+Prom)':>17}  probes exp/agent  load 1 min"
    )
    http = f"http://127.0.0.1:{ports['http']}/ok"
    https = f"https://127.0.0.1:{ports['good']}/ok"
    for kind, url, listener, ca_file in (
        ("http", http, "http", None),
        ("https", https, "good", ca),
    ):

        async def answered(listener: str = listener) -> int:
            return int(json.loads(await get("/answered")).get(listener, 0))

        ex = await scale_exporter(folder, exporter, addr, url, args, answered)
        ag = await scale_agent(folder, url, ca_file, args, answered)
        if isinstance(ex, str) or isinstance(ag, str):
            print(f"{kind:<6} not measured: {ex if isinstance(ex, str) else ag}")
            continue
        e, p, a = (
            ex.per_probe_ms("exporter"),
            ex.per_probe_ms("prometheus"),
            ag.per_probe_ms("agent"),
        )
        loads = f"{ex.load[0]:.1f}-{ex.load[1]:.1f} / {ag.load[0]:.1f}-{ag.load[1]:.1f}"
        print(
            f"{kind:<6} {e:>6.2f} ms {p:>10.2f} ms {a:>4.2f} ms {a / e:>14.2f}x"
            f" {a / (e + p):>16.2f}x  {ex.probes:>6} / {ag.probes:<6}  {loads}",
            flush=True,
        )
        print(f"{'':<6} ({ag.stopped})")
    print(
        "(exporter, Prometheus, agent: each process's user+system CPU from /proc/PID/stat;"
        " probes: the requests the targets answered in the window)"
    )


# --------------------------------------------------------------------------- main


async def storage(
    args: argparse.Namespace, folder: Path, pid: int, addr: str, target: Target, ca: Path
) -> None:
    """The cost with storage: Prometheus scraping the exporter and storing every probe's
    samples, against the whole agent writing its minutes (both at 100 probes/s)."""
    minutes = max(1, args.probes // STORE_SERVICES)
    print(f"\nWith storage, {STORE_SERVICES} HTTPS services probed at 100/s, CPU per 1,000 probes:")
    prom = await prometheus_cost(folder, pid, addr, target.url)
    whole, probes = await agent_whole_cost(folder, target.url, ca, minutes)
    per_agent = whole / probes * 1000
    if isinstance(prom, str):
        print(f"  exporter + Prometheus: not measured ({prom})")
        print(f"  agent (probe, journal, minutes in SQLite): {per_agent:.2f} s ({probes} probes)")
        return
    ex, pr, scraped, samples = prom
    per_ex, per_pr = ex / scraped * 1000, pr / scraped * 1000
    print(
        f"  exporter {per_ex:.2f} s + Prometheus {per_pr:.2f} s = {per_ex + per_pr:.2f} s"
        f" ({scraped} probes scraped, {samples:.0f} samples stored per probe)"
    )
    print(
        f"  agent (probe, journal, minute verdicts and probe states in SQLite):"
        f" {per_agent:.2f} s ({probes} probes)"
    )
    print(f"  agent / (exporter + Prometheus): {per_agent / (per_ex + per_pr):.2f}x")


async def compare(args: argparse.Namespace, folder: Path, dns_note: str) -> int:
    import httpx

    from agent.probe import Prober
    from core.config import Probe
    from core.status import DEGRADED, UP

    ca = make_certs(folder)
    dns_wanted = os.environ.get(NS_ENV) == "1"
    serve_cmd = [sys.executable, __file__, "--serve", str(folder)] + (
        ["--dns"] if dns_wanted else []
    )
    server = _popen(serve_cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    exporter: subprocess.Popen[bytes] | None = None
    try:
        assert server.stdout is not None
        ports = json.loads(server.stdout.readline())
        if dns_wanted and "dns" not in ports:
            errno = ports.get("dns_error")
            dns_note = f"DNS row left out: 127.0.0.1:53 could not be bound (errno {errno})"
        refused = free_port()  # a port that refuses: bound once, now closed
        listen = free_port()
        (folder / "blackbox.yml").write_text(exporter_config(ca, args.timeout))
        exporter = start_daemon(EXPORTER, folder / "blackbox.yml", listen, stderr=subprocess.PIPE)
        base = f"http://127.0.0.1:{listen}"
        async with httpx.AsyncClient(
            base_url=base, timeout=15, trust_env=False, limits=httpx.Limits(max_connections=None)
        ) as bb:
            for _ in range(100):
                with contextlib.suppress(httpx.TransportError):
                    if (await bb.get("/-/healthy")).status_code == 200:
                        break
                if exporter.poll() is not None:
                    assert exporter.stderr is not None
                    sys.exit(f"{EXPORTER} exited: {exporter.stderr.read().decode()[-500:]}")
                await asyncio.sleep(0.1)
            print(f"exporter: {_exporter_version()}, on {base}")
            print(f"probe timeout {args.timeout} s, no retries, every target on 127.0.0.1")

            targets = target_list(ports, refused)
            timeout = timedelta(seconds=args.timeout)

            def spec(t: Target) -> Probe:
                return Probe(url=t.url, timeout=timeout, retries=0, ca_file=ca)

            prober = Prober()
            prober.prepare(spec(t) for t in targets)

            async def judge_exporter(t: Target) -> tuple[str, str]:
                r = await bb.get(probe_path(t) + "&debug=true")
                ok = "probe_success 1" in r.text.splitlines()
                return ("up" if ok else "down"), exporter_reason(r.text)

            async def judge_agent(t: Target) -> tuple[str, str]:
                res = await prober.check(spec(t))
                verdict = {UP: "up", DEGRADED: "degraded"}.get(res.status, "down")
                return verdict, res.error or f"{res.latency_ms} ms"

            ex = await asyncio.gather(*(judge_exporter(t) for t in targets))
            ag = await asyncio.gather(*(judge_agent(t) for t in targets))
            print()
            head = (
                f"{'target':<22} {'expected':<8} {'exporter':<8} {'agent':<8} "
                f"{'agent error':<16} exporter's reason"
            )
            print(head)
            print("-" * len(head))
            disagree = 0
            for t, (ev, er), (av, ar) in zip(targets, ex, ag, strict=True):
                mark = "" if ev == av == t.expect else "  <-- differs"
                disagree += bool(mark)
                print(f"{t.name:<22} {t.expect:<8} {ev:<8} {av:<8} {ar:<16} {short(er, 70)}{mark}")
            print(
                f"\n{len(targets)} targets, {disagree} where a verdict differs "
                "from the other or from the expected one"
            )
            if "dns" in ports:
                answer = await bb.get(f"http://127.0.0.1:{ports['http']}/dnscount")
                count = int(answer.text)
                resolv = " ".join(Path("/etc/resolv.conf").read_text().split())  # noqa: ASYNC240
                print(
                    f"DNS: resolv.conf in this run is {resolv!r}; the script's resolver on "
                    f"127.0.0.1:53 answered {count} queries NXDOMAIN"
                )
            if dns_note:
                print(dns_note)
            if args.scale:

                async def get(path: str) -> str:
                    return (await bb.get(f"http://127.0.0.1:{ports['http']}{path}")).text

                await scale(args, folder, exporter, f"127.0.0.1:{listen}", ports, ca, get)
                return 0

            # Cost: the same targets, the same pace.
            print(f"\nCPU per 1,000 probes, {args.probes} probes each at {args.rate:g}/s:")
            print(f"{'target':<12} {'exporter':>12} {'agent':>12} {'agent/exporter':>15}")
            ratios = []
            failed = {"exporter": 0, "agent": 0}
            errors: dict[str, int] = {}
            for t in (targets[0], next(t for t in targets if t.name == "https 200")):
                path = probe_path(t).replace("module=http_2xx", "module=http_cost")

                async def one_exporter(path: str = path) -> None:
                    try:
                        r = await bb.get(path, timeout=COST_TIMEOUT + 20)
                    except httpx.HTTPError:
                        failed["exporter"] += 1
                    else:
                        failed["exporter"] += "probe_success 1" not in r.text.splitlines()

                probe = Probe(
                    url=t.url, timeout=timedelta(seconds=COST_TIMEOUT), retries=0, ca_file=ca
                )
                prober.prepare([probe])

                async def one_agent(probe: Probe = probe) -> None:
                    res = await prober.check(probe)
                    if res.error is not None:
                        failed["agent"] += 1
                        errors[res.error] = errors.get(res.error, 0) + 1

                await paced(20, args.rate, one_exporter)  # warm both up
                await paced(20, args.rate, one_agent)
                cpu0 = proc_cpu(exporter.pid)
                await paced(args.probes, args.rate, one_exporter)
                ex_cpu = proc_cpu(exporter.pid) - cpu0
                cpu0 = time.process_time()
                await paced(args.probes, args.rate, one_agent)
                ag_cpu = time.process_time() - cpu0
                per_ex = ex_cpu / args.probes * 1000
                per_ag = ag_cpu / args.probes * 1000
                ratios.append(per_ag / per_ex)
                print(f"{t.name:<12} {per_ex:>10.2f} s {per_ag:>10.2f} s {per_ag / per_ex:>14.2f}x")
            print(f"failed probes during the cost runs: {failed}, the agent's: {errors}")
            print(
                "(exporter: its process's user+system CPU from /proc/PID/stat, serving /probe "
                "included; agent: process_time of Prober.check in this process)"
            )
            await prober.aclose()
            if not args.no_storage:
                https = next(t for t in targets if t.name == "https 200")
                await storage(args, folder, exporter.pid, f"127.0.0.1:{listen}", https, ca)
        return 0
    finally:
        if exporter is not None:
            stop(exporter, terminate=True)
        if server.stdin is not None:
            with contextlib.suppress(OSError):
                server.stdin.close()
        stop(server, terminate=False)


def loopback_resolvers() -> bool:
    try:
        text = Path("/etc/resolv.conf").read_text()
    except OSError:
        return False
    servers = [line.split()[1] for line in text.splitlines() if line.startswith("nameserver ")]
    return bool(servers) and all(s.startswith("127.") or s == "::1" for s in servers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--probes", type=int, default=1000, help="probes per cost figure")
    parser.add_argument("--rate", type=float, default=100.0, help="probes per second")
    parser.add_argument("--timeout", type=float, default=1.0, help="probe timeout, seconds")
    parser.add_argument(
        "--deadline", type=float, help="whole run, seconds (default 300, more with --scale)"
    )
    parser.add_argument(
        "--scale",
        type=int,
        metavar="N",
        help="instead of the 100/s runs: both at N services (e.g. 10000), storage included",
    )
    parser.add_argument("--scale-interval", type=int, default=60, help="seconds, with --scale")
    parser.add_argument("--scale-window", type=int, default=60, help="seconds, with --scale")
    parser.add_argument("--no-storage", action="store_true", help="leave out the runs with storage")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dns", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.deadline is None:
        each = args.scale_interval + 15 + args.scale_window + 30  # one side of one kind
        args.deadline = 300.0 + (4 * each if args.scale else 0)
    if args.serve:
        asyncio.run(serve(args.serve, args.dns))
        return 0
    if shutil.which(EXPORTER) is None:
        print(f"{EXPORTER} is not installed (apt-get install -y {EXPORTER})", file=sys.stderr)
        return 2
    dns_note = ""
    if os.environ.get(NS_ENV) is None and not loopback_resolvers():
        # A .invalid query would go to a non-loopback nameserver: re-run in a private
        # mount namespace whose resolv.conf names only 127.0.0.1 (where we answer).
        if os.geteuid() == 0 and shutil.which("unshare"):
            with tempfile.NamedTemporaryFile("w", suffix=".resolv.conf", delete=False) as f:
                f.write("nameserver 127.0.0.1\noptions attempts:1 timeout:1\n")
            try:
                cmd = (
                    f"mount --bind {f.name} /etc/resolv.conf && exec {sys.executable} "
                    + " ".join(map(_quote, sys.argv))
                )
                env = dict(os.environ, **{NS_ENV: "1"})
                inner = subprocess.run(
                    ["unshare", "--mount", "--propagation", "private", "sh", "-c", cmd],
                    env=env,
                    timeout=args.deadline + 30,
                    check=False,
                )
                return inner.returncode
            finally:
                os.unlink(f.name)
        dns_note = (
            "DNS row left out: /etc/resolv.conf names a non-loopback nameserver and this "
            "run cannot give itself a private one (needs root and unshare)"
        )
    elif os.environ.get(NS_ENV) is None:
        dns_note = "DNS row left out: the loopback resolver in /etc/resolv.conf is not ours"
    with tempfile.TemporaryDirectory(prefix="bbcompare-") as tmp:

        async def bounded() -> int:
            async with asyncio.timeout(args.deadline):
                return await compare(args, Path(tmp), dns_note)

        return asyncio.run(bounded())


def free_port() -> int:
    """A loopback port nothing listens on (bound once, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_daemon(
    binary: str, config: Path, port: int, *extra: str, stderr: int = subprocess.DEVNULL
):  # type: ignore[no-untyped-def]
    """A Prometheus-style daemon (the exporter, Prometheus) on 127.0.0.1:``port``."""
    return _popen(
        [
            binary,
            f"--config.file={config}",
            *extra,
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=stderr,
    )


def stop(proc: subprocess.Popen[bytes], *, terminate: bool, grace: float = 5) -> None:  # type: ignore[type-arg]
    """Ask ``proc`` to end (SIGTERM, or its stdin closed), then kill it after ``grace`` s."""
    if terminate:
        proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _popen(cmd: list[str], **kw):  # type: ignore[no-untyped-def]
    return subprocess.Popen(cmd, **kw)


def _exporter_version() -> str:
    out = subprocess.run([EXPORTER, "--version"], capture_output=True, text=True, check=False)
    return (out.stdout + out.stderr).splitlines()[0]


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


if __name__ == "__main__":
    sys.exit(main())
