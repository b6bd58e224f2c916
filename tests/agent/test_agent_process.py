"""The agent as a real process: SIGTERM flushes and exits, SIGKILL loses nothing acknowledged."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.status import UP
from tests import configs

HERE = Path(__file__).parent
SLAWATCH = [sys.executable, "-m", "slawatch"]
RATE = 120  # the crash test's agent clock: a minute every half second


def write_config(tmp_path: Path, port: int, services: int) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        configs.agent_toml(
            configs.numbered(
                services,
                f"http://127.0.0.1:{port}/{{i}}",
                name="svc{i:03d}",
                monthly_fee="1.00",
                interval="5s",
                timeout="2s",
                retries=0,
            ),
        )
    )
    return path


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    yield sock, path
    sock.close()


def receive_until(sock: socket.socket, wanted: str) -> list[str]:
    got: list[str] = []
    while not any(wanted in m for m in got):
        got.append(sock.recv(4096).decode())
    return got


def rows(db: Path) -> dict[tuple[str, int], int]:
    """Every recorded (service, minute) -> status, read with plain sqlite3 via the store."""
    import asyncio

    from store.sqlite import SqliteStore

    async def read() -> dict[tuple[str, int], int]:
        out: dict[tuple[str, int], int] = {}
        async with await SqliteStore.open(db, readonly=True) as store:
            for i in range(200):
                name = f"svc{i:03d}"
                bounds = await store.data_bounds(name)
                if bounds is None:
                    continue
                data = await store.minutes(name, bounds[0], bounds[1])
                for j, status in enumerate(data.get("probe-1", b"")):
                    if status:
                        out[(name, bounds[0] + j)] = status
        return out

    return asyncio.run(read())


def test_sigterm_flushes_notifies_systemd_and_exits_in_time(
    tmp_path: Path, http_port: int, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, sock_path = notify_socket
    config = write_config(tmp_path, http_port, services=1)
    env = {**os.environ, "NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "400000"}
    proc = subprocess.Popen(
        [*SLAWATCH, "--config", str(config), "agent"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        messages = receive_until(sock, "READY=1")
        messages += receive_until(sock, "WATCHDOG=1")
        time.sleep(0.3)  # the first probes fire at start
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - started
        messages += receive_until(sock, "STOPPING=1")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert elapsed < 10
    assert any(m.startswith("READY=1") for m in messages)
    recorded = rows(tmp_path / "data" / "slawatch.db")
    assert {s for s, _m in recorded} == {"svc000"}  # its first probe fires at start
    assert set(recorded.values()) == {UP}
    lines = err.strip().splitlines()
    assert any("received SIGTERM" in ln for ln in lines)
    assert all(ln[:4].isdigit() for ln in lines), "one line per event, timestamped"


def start_fast_agent(config: Path, base: float, t0: float) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            str(HERE / "agent_proc.py"),
            str(config),
            str(base),
            str(t0),
            str(RATE),
            "0.25",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent.parent)},
    )


def read_acks(proc: subprocess.Popen[str], batches: int) -> tuple[dict[tuple[str, int], int], int]:
    """Read the agent's stdout until ``batches`` writes have begun; returns the rows
    acknowledged so far and the minute on the agent's clock when the last write began."""
    acked: dict[tuple[str, int], int] = {}
    begun = 0
    assert proc.stdout is not None
    for line in proc.stdout:
        word, *rest = line.split()
        if word == "ACK":
            acked[(rest[0], int(rest[1]))] = int(rest[2])
        elif word == "BEGIN":
            begun += 1
            if begun >= batches:
                break
    return acked, begun


def test_sigkill_in_the_middle_of_writing_loses_nothing_acknowledged(
    tmp_path: Path, http_port: int
) -> None:
    config = write_config(tmp_path, http_port, services=20)
    db = tmp_path / "data" / "slawatch.db"
    base = (time.time() // 60) * 60  # a fast clock that starts at a whole minute
    t0 = time.time()
    acked: dict[tuple[str, int], int] = {}
    for _round in range(2):
        proc = start_fast_agent(config, base, t0)
        try:
            got, _ = read_acks(proc, batches=3)
            proc.send_signal(signal.SIGKILL)  # right after a write began: mid-transaction
            proc.wait(timeout=5)
            assert proc.stdout is not None
            for line in proc.stdout:  # acks that were flushed just before the kill
                if line.startswith("ACK"):
                    _w, svc, minute, status = line.split()
                    got[(svc, int(minute))] = int(status)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        killed_at = base + (time.time() - t0) * RATE
        acked.update(got)
        time.sleep(1.1)  # the agent is down for more than two minutes of its clock
        restarted_at = base + (time.time() - t0) * RATE

        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        recorded = rows(db)
        lost = {k: v for k, v in acked.items() if recorded.get(k) != v}
        assert not lost, f"acknowledged minutes lost: {sorted(lost)[:5]}"
        gap = range(int(killed_at // 60) + 1, int(restarted_at // 60))
        assert len(gap) >= 1
        assert not [k for k in recorded if k[1] in gap], "a minute nobody probed was recorded"

    # A clean run after the crashes: everything acknowledged is still there.
    proc = start_fast_agent(config, base, t0)
    read_acks(proc, batches=2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
    recorded = rows(db)
    assert all(recorded.get(k) == v for k, v in acked.items())
    assert len(acked) >= 40  # at least two minutes of 20 services survived two crashes


def test_once_probes_records_prints_and_exits(tmp_path: Path, http_port: int) -> None:
    config = write_config(tmp_path, http_port, services=1)
    with config.open("a") as f:
        f.write(
            '[[service]]\nname = "closed"\ncontract = "c"\nmonthly_fee = "1.00"\n'
            f'[service.probe]\nurl = "tcp://127.0.0.1:{closed_tcp_port()}"\nretries = 0\n'
            # Answered, but not with the status expected: a failing probe that took time.
            '[[service]]\nname = "refused"\ncontract = "c"\nmonthly_fee = "1.00"\n'
            f'[service.probe]\nurl = "http://127.0.0.1:{http_port}/"\nretries = 0\n'
            'expect_status = "404"\n'
        )
    done = subprocess.run(
        [*SLAWATCH, "--config", str(config), "agent", "--once"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    lines = [ln.split("\t") for ln in done.stdout.splitlines()]
    assert [(ln[0], ln[1]) for ln in lines] == [
        ("closed", "down"), ("refused", "down"), ("svc000", "up"),
    ]  # fmt: skip
    assert lines[0][2] == "-" and lines[0][-1] == "connect"  # nothing answered
    # The latency printed is the one recorded and shown by ``status``, a failing probe's too.
    shown = subprocess.run(
        [*SLAWATCH, "--config", str(config), "status", "--json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    latency = {s["name"]: s["latency_ms"] for s in json.loads(shown.stdout)["services"]}
    assert latency["closed"] is None and latency["refused"] is not None
    for name, _state, printed, *_ in lines[1:]:
        assert printed == f"{latency[name]} ms", (name, printed, latency)
    assert UP in set(rows(tmp_path / "data" / "slawatch.db").values())  # svc000's minute


def test_missing_header_secret_is_a_one_line_config_error(tmp_path: Path, http_port: int) -> None:
    config = write_config(tmp_path, http_port, services=1)
    config.write_text(
        config.read_text() + '[service.probe.header_env]\nAuthorization = "NO_SUCH_TOKEN_VAR"\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "NO_SUCH_TOKEN_VAR"}
    done = subprocess.run(
        [*SLAWATCH, "--config", str(config), "agent", "--once"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert 'service "svc000".probe' in done.stderr and "NO_SUCH_TOKEN_VAR" in done.stderr


def closed_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sighup_reloads_and_a_bad_config_is_refused_in_one_line(
    tmp_path: Path, http_port: int, notify_socket: tuple[socket.socket, str]
) -> None:
    sock, sock_path = notify_socket
    config = write_config(tmp_path, http_port, services=1)
    good = config.read_text()
    env = {**os.environ, "NOTIFY_SOCKET": sock_path}
    proc = subprocess.Popen(
        [*SLAWATCH, "--config", str(config), "agent"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        receive_until(sock, "READY=1")
        write_config(tmp_path, http_port, services=2)  # one more service
        proc.send_signal(signal.SIGHUP)
        receive_until(sock, "RELOADING=1")
        receive_until(sock, "READY=1")
        time.sleep(3)  # svc001's first probe is at half its 5 s interval
        config.write_text(good + '[[service]]\nname = "bad"\nmonthly_fee = nope\n')
        proc.send_signal(signal.SIGHUP)
        receive_until(sock, "RELOADING=1")
        receive_until(sock, "READY=1")
        time.sleep(0.3)
        assert proc.poll() is None  # still running, on the last good config
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    lines = err.strip().splitlines()
    assert any("config reloaded" in ln and "2 service(s)" in ln for ln in lines), err
    refused = [ln for ln in lines if "config reload refused" in ln]
    assert len(refused) == 1 and "config.toml" in refused[0] and "ERROR" in refused[0]
    assert "Traceback" not in err
    recorded = rows(tmp_path / "data" / "slawatch.db")
    assert {s for s, _m in recorded} == {"svc000", "svc001"}  # the reloaded config probed


def test_a_reload_says_when_the_name_or_storage_changed_in_the_file_is_not_applied(
    tmp_path: Path, http_port: int, notify_socket: tuple[socket.socket, str]
) -> None:
    """A new [storage] (or [agent] name) takes a restart; a SIGHUP logged only 'config
    reloaded', so an admin moving the database believed it moved. Now one WARNING line
    names what was kept, and the agent goes on writing where it did."""
    sock, sock_path = notify_socket
    config = write_config(tmp_path, http_port, services=1)
    env = {**os.environ, "NOTIFY_SOCKET": sock_path}
    proc = subprocess.Popen(
        [*SLAWATCH, "--config", str(config), "agent", "--name", "paris-1"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        receive_until(sock, "READY=1")
        proc.send_signal(signal.SIGHUP)  # nothing changed: no warning
        receive_until(sock, "READY=1")
        text = config.read_text()
        config.write_text(text.replace('path = "data/slawatch.db"', 'path = "moved/sla.db"'))
        proc.send_signal(signal.SIGHUP)
        receive_until(sock, "READY=1")
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    warned = [ln for ln in err.splitlines() if "not applied until the agent restarts" in ln]
    assert len(warned) == 1, err
    assert "WARNING" in warned[0] and "[storage] changed in" in warned[0], warned
    assert "[agent] name" not in warned[0]  # --name beats the file's name: not a change
    assert "still agent 'paris-1', writing " in warned[0] and "data/slawatch.db" in warned[0]
    assert not (tmp_path / "moved").exists()


def _catches(pid: int, sig: signal.Signals) -> bool:
    """The process has a handler of its own for ``sig`` (``SigCgt`` in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (sig - 1) & 1)
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_while_the_agent_is_still_starting_is_one_line_and_exit_0(
    tmp_path: Path, http_port: int, sig: signal.Signals
) -> None:
    """``systemctl stop`` (or Ctrl+C) in the agent's first second, before its event loop
    runs: the signal is sent as soon as the process handles it, while it is still
    importing (asyncio not loaded yet). Before, it was handled only from the event loop
    on (a second or more in): SIGTERM killed the agent with no log line at all (exit
    -15), SIGINT printed a KeyboardInterrupt traceback."""
    config = write_config(tmp_path, http_port, services=1)
    proc = subprocess.Popen(
        [*SLAWATCH, "--config", str(config), "agent"], stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 20
        while not _catches(proc.pid, signal.SIGTERM) and time.monotonic() < deadline:
            time.sleep(0.002)
        early = "/_asyncio." not in Path(f"/proc/{proc.pid}/maps").read_text()
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert early, "the agent handled SIGTERM only once its event loop ran"
    assert proc.returncode == 0, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0][:4].isdigit(), err  # one timestamped line
    assert f"received {sig.name}, stopping" in lines[0]
    assert not (tmp_path / "data" / "slawatch.db").exists()  # nothing probed, nothing written


def test_a_reload_while_the_agent_is_still_starting_is_done_once_it_runs(
    tmp_path: Path, http_port: int
) -> None:
    """``systemctl reload`` in the agent's first second: before, the default SIGHUP
    handler killed it (exit -1, no log line); now the reload is done once it runs."""
    config = write_config(tmp_path, http_port, services=1)
    log_path = tmp_path / "agent.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            [*SLAWATCH, "--config", str(config), "agent"], stderr=log_file, text=True
        )
        try:
            deadline = time.monotonic() + 20
            while not _catches(proc.pid, signal.SIGHUP) and time.monotonic() < deadline:
                time.sleep(0.002)
            early = "/_asyncio." not in Path(f"/proc/{proc.pid}/maps").read_text()
            proc.send_signal(signal.SIGHUP)
            while "config reloaded" not in log_path.read_text() and time.monotonic() < deadline:
                if proc.poll() is not None:
                    break
                time.sleep(0.05)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = log_path.read_text()
    assert early, "the agent handled SIGHUP only once its event loop ran"
    assert proc.returncode == 0, err
    assert err.count("config reloaded from") == 1 and "received SIGTERM, stopping" in err
