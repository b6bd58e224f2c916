"""Hash chain and claim costs: prints figures, asserts nothing.

- the time ``store.chain.ChainStore._extend_chains`` adds to importing 50 services x one month
  (the import target is 300,000 rows/s overall), and the import rate with it;
- walking every chain of that database (``slawatch store verify``);
- exporting one service-month's claim bundle and verifying it;
- issue 15: the agent's cost of logging (each minute's verdicts written with their
  hash chains, and the failing probes' corroboration) and of checkpointing (the
  signed heads, hourly) per service-minute, beside the CPU of the probe itself
  (real HTTPS probes of a loopback server in another process), as a share of the
  agent's CPU (target: under 5 %); and every bundle of the 50-service month, each
  with a failing request's corroboration per down minute: size, export and verify
  time (target: one service-month verified in under 1 s);
- issue 15 item 4: the time of one audit entry appended (``AuditStore._audit``, in its
  own write transaction) to a log of 100, 10,000 and 100,000 entries, on SQLite and on
  PostgreSQL (a throwaway cluster on loopback, ``tests/pg.py``): the first append
  (which rebuilds the tree's kept frontier when the log was written without it) and
  the median of the next ones.

Run: ``uv run python benchmarks/chain.py`` (everything), or
``uv run python benchmarks/chain.py appends`` (the audit appends alone).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path, and benchmarks/store.py
# would hide the ``store`` package: put the repository there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from core import bundle  # noqa: E402
from core.claim import verify  # noqa: E402
from core.configfile import parse_config  # noqa: E402
from core.timeutil import YearMonth, to_minute  # noqa: E402
from slawatch import claims  # noqa: E402
from store import chain as store_chain  # noqa: E402
from store.db import Conn  # noqa: E402
from store.rows import MinuteRow  # noqa: E402
from store.sqlite import SqliteStore  # noqa: E402
from tests.configs import contract, service, toml  # noqa: E402

SERVICES = 50
BATCH = 50_000
MONTH = YearMonth(2026, 10)
CONFIG = toml(
    storage="bench.db",
    contracts=[contract()],
    services=[service(f"svc{i}") for i in range(SERVICES)],
)


def month_rows(service: str) -> list[MinuteRow]:
    start = to_minute(datetime(2026, 10, 1, tzinfo=UTC))
    return [
        MinuteRow(service, "agent", start + i, 3 if i % 997 < 20 else 1, 90 + i % 40, None)
        for i in range(44_640)
    ]


async def main() -> None:
    spent = [0.0]
    extend = store_chain.ChainStore._extend_chains

    async def timed(
        self: store_chain.ChainStore, db: Conn, rows: Sequence[MinuteRow], **known: Any
    ) -> Any:
        t = time.perf_counter()
        try:
            return await extend(self, db, rows, **known)  # what the audit trail logs
        finally:
            spent[0] += time.perf_counter() - t

    store_chain.ChainStore._extend_chains = timed  # type: ignore[method-assign]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "config.toml").write_text(CONFIG, encoding="utf-8")
        config = parse_config(CONFIG, folder / "config.toml")
        rows = [r for i in range(SERVICES) for r in month_rows(f"svc{i}")]
        async with await SqliteStore.open(folder / "bench.db") as store:
            t = time.perf_counter()
            n = await store.import_minutes(rows[i : i + BATCH] for i in range(0, len(rows), BATCH))
            total = time.perf_counter() - t
        store_chain.ChainStore._extend_chains = extend  # type: ignore[method-assign]
        print(f"import {n:,} rows ({SERVICES} services x 1 month): {total:.2f} s,"
              f" {n / total:,.0f} rows/s overall")  # fmt: skip
        print(f"  of which chain extend: {spent[0]:.2f} s ({n / spent[0]:,.0f} rows/s on its own,"
              f" {spent[0] / total:.0%} of the import)")  # fmt: skip
        async with await SqliteStore.open(folder / "bench.db", readonly=True) as store:
            t = time.perf_counter()
            summary = await store.check_chains()
            walk = time.perf_counter() - t
            print(f"store verify: {summary.chains} chains, {summary.hours:,} sealed hours in"
                  f" {walk:.2f} s; broken: {len(summary.breaks)}")  # fmt: skip
            t = time.perf_counter()
            exported = await claims.gather(store, config, "svc0", MONTH, datetime.now(tz=UTC))
            text = bundle.dumps(exported.document)
            export = time.perf_counter() - t
        t = time.perf_counter()
        claim, _ = bundle.parse(text.encode(), "bench.json")
        checks = verify(claim)
        check = time.perf_counter() - t
        print(f"claim export (one service-month): {export * 1000:.0f} ms,"
              f" {len(text) / 1024:.0f} KiB")  # fmt: skip
        print(f"claim verify: {check * 1000:.0f} ms, {len(checks)} checks,"
              f" all hold: {all(c.ok for c in checks)}")  # fmt: skip
        await agent_costs(folder, config)
        await fleet_month(folder, config)


async def probe_cpu(probes: int = 300) -> float:
    """CPU seconds of this process per real HTTPS probe (with corroboration) of a
    loopback server running in another process."""
    import ssl
    import subprocess

    import trustme

    from agent.probe import Prober
    from core.config import Probe

    ca = trustme.CA()
    with tempfile.TemporaryDirectory() as tmp:
        cert = ca.issue_cert("127.0.0.1")
        pem = Path(tmp) / "server.pem"
        cert.private_key_and_cert_chain_pem.write_to_path(str(pem))
        server = subprocess.Popen(  # noqa: ASYNC220 (started once, before the timing)
            [sys.executable, "-c", _SERVER, str(pem)], stdout=subprocess.PIPE, text=True
        )
        try:
            assert server.stdout is not None
            port = int(server.stdout.readline())
            trusting = ssl.create_default_context()
            ca.configure_trust(trusting)
            prober = Prober(ssl_context=trusting)
            probe = Probe(url=f"https://127.0.0.1:{port}/", retries=0)
            prober.prepare([probe])
            await prober.check(probe)  # warm
            cpu = time.process_time()
            for _ in range(probes):
                result = await prober.check(probe)
            spent = (time.process_time() - cpu) / probes
            assert result.seen is not None and result.seen.tls_sha256
            await prober.aclose()
        finally:
            server.terminate()
            server.wait()
    return spent


_SERVER = """
import socket, ssl, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(503)
        self.send_header("X-Request-Id", "req-1")
        self.send_header("CF-Ray", "8f1c2d3e4a5b0001-CDG")
        self.send_header("Content-Length", "4")
        self.end_headers()
        self.wfile.write(b"down")
    def log_message(self, *a): pass
s = ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(sys.argv[1])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
"""


async def agent_costs(folder: Path, config: Any) -> None:
    """Logging and checkpointing as the agent does them, per service-minute."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from agent.checkpoints import make_note
    from core.corroboration import Corroboration
    from store.rows import ProbeEvidence

    hours = 6
    start = to_minute(datetime(2026, 11, 1, tzinfo=UTC))
    path = folder / "agent.db"
    async with await SqliteStore.open(path) as store:
        # An hour first: names and the chains' first seals are made once, not per minute.
        for m in range(start - 60, start):
            await store.record_minutes([MinuteRow(f"svc{i}", "agent", m, 1, 90) for i in
                                        range(SERVICES)])  # fmt: skip
        cpu = time.process_time()
        for m in range(start, start + hours * 60):  # one write per minute, as the writer does
            await store.record_minutes([MinuteRow(f"svc{i}", "agent", m, 1, 90 + i) for i in
                                        range(SERVICES)])  # fmt: skip
        log_up = (time.process_time() - cpu) / (hours * 60 * SERVICES)
        down_cpu = evidence_cpu = 0.0
        for m in range(start + hours * 60, start + 2 * hours * 60):  # every service down
            cpu = time.process_time()
            await store.record_minutes([MinuteRow(f"svc{i}", "agent", m, 3, None, "status:503")
                                        for i in range(SERVICES)])  # fmt: skip
            down_cpu += time.process_time() - cpu
            cpu = time.process_time()
            at = datetime.fromtimestamp(m * 60 + 7, tz=UTC)
            await store.record_evidence([
                ProbeEvidence(f"svc{i}", "agent", m, Corroboration(
                    at, "status:503", 503, "127.0.0.1", "ab" * 32,
                    "Sun, 01 Nov 2026 06:00:07 GMT", f"req-{m}-{i}", None, "8f1c2d3e4a5b0001-CDG"))
                for i in range(SERVICES)
            ])  # fmt: skip
            evidence_cpu += time.process_time() - cpu
        log_down = down_cpu / (hours * 60 * SERVICES)
        log_evidence = evidence_cpu / (hours * 60 * SERVICES)
    key = Ed25519PrivateKey.generate()
    from dataclasses import replace

    agent_config = replace(config, storage_path=path)
    cpu = time.process_time()
    rounds = 20
    for _ in range(rounds):
        note = await make_note(agent_config, "agent", key, lambda: datetime.now(tz=UTC))
    checkpoint = (time.process_time() - cpu) / rounds
    per_checkpoint_minute = checkpoint / (60 * SERVICES)  # one checkpoint an hour
    probe = await probe_cpu()
    print(f"agent, per service-minute (CPU; {SERVICES} services, one probe a minute each):")
    print(f"  probe (HTTPS, loopback, with corroboration): {probe * 1e6:,.0f} us")
    print(f"  logging an up minute (minute block + hash chain): {log_up * 1e6:,.0f} us")
    print(f"  logging a down minute (+ its error class): {log_down * 1e6:,.0f} us")
    print(f"  its failing probe's corroboration row: {log_evidence * 1e6:,.0f} us")
    print(f"  checkpoint: {checkpoint * 1000:.1f} ms each ({len(note):,} bytes), hourly:"
          f" {per_checkpoint_minute * 1e6:.1f} us per service-minute")  # fmt: skip
    # A failing probe is sent 1 + retries times (default retries = 2) before it counts;
    # with retries = 0 a down minute costs one request: logging weighs the most.
    for label, log, sent in (
        ("all up", log_up, 1),
        ("all down, retries = 0", log_down + log_evidence, 1),
        ("all down", log_down + log_evidence, 3),
    ):
        extra = log + per_checkpoint_minute
        print(
            f"  logging + checkpointing, {label} ({sent} request(s) a probe):"
            f" {extra / (sent * probe + extra):.1%} of the agent's CPU (target: under 5 %)"
        )


async def fleet_month(folder: Path, config: Any) -> None:
    """Every bundle of the 50-service month, with a failing request per down minute."""
    from core.corroboration import Corroboration
    from store.rows import ProbeEvidence

    start = to_minute(datetime(2026, 10, 1, tzinfo=UTC))
    async with await SqliteStore.open(folder / "bench.db") as store:
        for i in range(SERVICES):
            rows = [r for r in month_rows(f"svc{i}") if r.status == 3]
            await store.record_evidence([
                ProbeEvidence(r.service, "agent", r.minute, Corroboration(
                    datetime.fromtimestamp(r.minute * 60 + 7, tz=UTC), "status:503", 503,
                    "203.0.113.5", "ab" * 32, "Sat, 03 Oct 2026 14:05:07 GMT",
                    f"req-{r.minute}", None, f"8f1c{r.minute:012x}-CDG"))
                for r in rows
            ])  # fmt: skip
    del start
    sizes, exports, checks_t = [], [], []
    requests = 0
    async with await SqliteStore.open(folder / "bench.db", readonly=True) as store:
        for i in range(SERVICES):
            t = time.perf_counter()
            exported = await claims.gather(store, config, f"svc{i}", MONTH, datetime.now(tz=UTC))
            text = bundle.dumps(exported.document)
            exports.append(time.perf_counter() - t)
            sizes.append(len(text.encode()))
            requests += len(exported.claim.corroboration)
            t = time.perf_counter()
            claim, _ = bundle.parse(text.encode(), "bench.json")
            ok = all(c.ok for c in verify(claim))
            checks_t.append(time.perf_counter() - t)
            assert ok
    print(f"50-service month, {requests:,} failing requests carried as corroboration:")
    print(f"  bundles: {sum(sizes) / 2**20:.1f} MiB in all, {max(sizes) / 1024:.0f} KiB the"
          f" largest; export {sum(exports):.1f} s in all")  # fmt: skip
    print(f"  verify one service-month: {sum(checks_t) / len(checks_t) * 1000:.0f} ms on"
          f" average, {max(checks_t) * 1000:.0f} ms the slowest (target: under 1 s);"
          f" all {SERVICES} in {sum(checks_t):.1f} s")  # fmt: skip


APPEND_SIZES = (100, 10_000, 100_000)
APPENDS = 21


async def fill_audit_log(store: Any, size: int) -> None:
    """``size`` entries written straight into ``audit_log``, leaves and heads as slawatch's."""
    from core import merkle
    from core.audit import AuditEntry, canonical_json
    from store.base import seconds

    at = datetime(2026, 10, 1, tzinfo=UTC)
    entries = [
        AuditEntry(i, at, "bench", "bench.fill", "svc0", (i, i + 30), None, {"reason": i})
        for i in range(1, size + 1)
    ]
    leaves = [e.leaf() for e in entries]
    rows = [
        (e.seq, seconds(e.at), e.actor, e.kind, e.service, e.seq, e.seq + 30, "null",
         canonical_json(e.after), leaf, head)
        for e, leaf, head in zip(entries, leaves, merkle.roots(leaves), strict=True)
    ]  # fmt: skip
    async with store._write() as db:
        await db.executemany(
            "INSERT INTO audit_log (seq, at, actor, kind, service, span_start, span_end,"
            " before_json, after_json, leaf, head) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


async def time_appends(store: Any) -> list[float]:
    """Seconds per append, each in its own write transaction, as a minute write's."""
    spent = []
    for i in range(APPENDS):
        t = time.perf_counter()
        async with store._write() as db:
            await store._audit(db, "bench.append", "svc0", (i, i + 1), None, {"n": i})
        spent.append(time.perf_counter() - t)
    return spent


async def audit_appends() -> None:
    from statistics import median

    from store.postgres import PostgresStore
    from tests.pg import cluster

    print(f"audit append (one entry, its own transaction; first, then median of {APPENDS - 1}):")
    with tempfile.TemporaryDirectory() as tmp, cluster() as pg:
        for size in APPEND_SIZES:
            for backend in ("sqlite", "postgresql"):
                if backend == "sqlite":
                    store = await SqliteStore.open(Path(tmp) / f"audit-{size}.db")
                else:
                    store = await PostgresStore.open(pg.url(pg.new_database()), init=True)
                async with store:
                    await fill_audit_log(store, size)
                    spent = await time_appends(store)
                    summary = await store.check_audit()
                    assert summary.entries == size + APPENDS and not summary.problems
                print(f"  {size:>7,} entries, {backend:<10}: first {spent[0] * 1000:8.2f} ms,"
                      f" then {median(spent[1:]) * 1000:8.2f} ms")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:] == ["appends"]:
        asyncio.run(audit_appends())
    else:
        asyncio.run(main())
        asyncio.run(audit_appends())
