"""SIGKILL at 50 random moments, during writes and checkpoints among them: afterwards
the database is intact, every acknowledged minute is there, the hash chains verify,
and the minutes while the agent was dead are unknown (nothing invented)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from store.sqlite import SqliteStore
from tests import configs

HERE = Path(__file__).parent
REPO = HERE.parents[1]
RATE = 600.0  # the agent's clock: a minute every 0.1 s
INTERVAL = 0.05  # real seconds between probes of a service
SERVICES = 3
ROUNDS = 50


def write_config(folder: Path, port: int) -> Path:
    path = folder / "config.toml"
    path.write_text(
        configs.agent_toml(
            configs.numbered(
                SERVICES,
                f"http://127.0.0.1:{port}/{{i}}",
                monthly_fee="1.00",
                interval="5s",
                timeout="2s",
                retries=0,
            ),
        )
    )
    return path


class Zygote:
    """The forking agent launcher (zygote.py), its stdout read by a thread."""

    def __init__(self, config: Path, log: IO[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "zygote.py"), str(config), str(RATE), str(INTERVAL)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def next(self, timeout: float = 10.0) -> list[str]:
        """The next complete announcement (a line cut short by a kill is skipped)."""
        while True:
            words = self.lines.get(timeout=timeout).split()
            if words and words[-1] == ".":
                return words[:-1]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def recorded(db: Path) -> dict[tuple[str, int], int]:
    """Every (service, minute) with a record, read straight from the hour blocks."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT s.name, b.hour, b.status FROM minute_blocks b"
            " JOIN services s ON s.id = b.service_id"
        ).fetchall()
    return {
        (name, hour * 60 + i): code
        for name, hour, status in rows
        for i, code in enumerate(status)
        if code
    }


async def chains(db: Path) -> tuple[int, int]:
    async with await SqliteStore.open(db, readonly=True) as store:
        summary = await store.check_chains()
    return summary.chains, len(summary.breaks)


def test_sigkill_at_50_random_moments_loses_nothing_acknowledged(
    tmp_path: Path, http_port: int
) -> None:
    rng = random.Random(int(os.environ.get("SLAWATCH_FAULT_SEED", "7")))
    db = tmp_path / "data" / "slawatch.db"
    log = (tmp_path / "agent.log").open("w")
    zygote = Zygote(write_config(tmp_path, http_port), log)
    acked: dict[tuple[str, int], int] = {}
    alive: list[tuple[int, int]] = []  # each round's minutes on the agent's clock [lo, hi]
    gaps: list[range] = []
    modes: dict[str, int] = {}
    start = (time.time() // 60) * 60  # the first round starts at a whole minute
    pid = 0
    try:
        for _round in range(ROUNDS):
            t0 = time.time()
            zygote.send(f"RUN {start} {t0}")
            pid_words = zygote.next()
            assert pid_words[0] == "PID"
            pid = int(pid_words[1])
            mode = rng.choice(["write", "checkpoint", "time"])
            modes[mode] = modes.get(mode, 0) + 1
            wanted = {"write": "BEGIN", "checkpoint": "CKPT", "time": ""}[mode]
            nth = rng.randint(1, 2)
            kill_at = time.monotonic() + rng.uniform(0.03, 0.3)
            while True:
                timeout = max(0.0, kill_at - time.monotonic()) if mode == "time" else 10.0
                try:
                    words = zygote.next(timeout=timeout)
                except queue.Empty:
                    break  # the random moment came
                if words[0] == "ACK":
                    acked[(words[1], int(words[2]))] = int(words[3])
                elif words[0] == wanted:
                    nth -= 1
                    if nth == 0:
                        time.sleep(rng.uniform(0, 0.004))  # somewhere inside it
                        break
            os.kill(pid, signal.SIGKILL)
            killed = start + (time.time() - t0) * RATE
            zygote.send(f"REAP {pid}")
            while (words := zygote.next())[0] != "REAPED":
                if words[0] == "ACK":  # committed and announced just before the kill
                    acked[(words[1], int(words[2]))] = int(words[3])
            pid = 0  # reaped: that number may belong to someone else now
            alive.append((int(start // 60), int(killed // 60)))
            # The agent stays dead for 1 to 3 minutes of its clock (no real waiting).
            restart = (int(killed // 60) + 1 + rng.randint(1, 3)) * 60
            gaps.append(range(int(killed // 60) + 1, restart // 60))
            start = restart

            with sqlite3.connect(db) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            stored = recorded(db)
            lost = {k: v for k, v in acked.items() if stored.get(k) != v}
            assert not lost, f"round {_round} ({mode}): acknowledged minutes lost: {lost}"
    finally:
        if pid:  # a round that failed half-way must not leave an agent running
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        zygote.close()
        log.close()

    stored = recorded(db)
    assert all(stored.get(k) == v for k, v in acked.items())
    invented = [k for k in stored if not any(lo <= k[1] <= hi for lo, hi in alive)]
    assert not invented, f"minutes recorded while no agent ran: {invented[:5]}"
    assert not [k for k in stored if any(k[1] in g for g in gaps)]
    n_chains, breaks = asyncio.run(chains(db))
    assert n_chains == SERVICES and breaks == 0
    assert len(acked) >= ROUNDS  # the kills did not all land before the first write
    print(
        f"\ncrash: {ROUNDS} SIGKILLs ({modes}), {len(acked)} minutes acknowledged,"
        f" {len(stored)} stored, 0 lost, {sum(len(g) for g in gaps)} dead minutes unknown"
    )
