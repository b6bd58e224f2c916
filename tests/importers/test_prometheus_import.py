"""``slawatch import prometheus`` against a real Prometheus and blackbox exporter.

The stack is the SRE standard, all on loopback: a target (tests.loopback) that
goes down for five minutes, the blackbox exporter probing it, Prometheus
holding the samples. Minutes are not waited for: the blackbox exporter really
probes the target twice per simulated minute (up, then down, then up again), and
its answers, stamped three hours ago, are backfilled into Prometheus's storage
with ``promtool tsdb create-blocks-from openmetrics`` before Prometheus starts;
Prometheus also scrapes the exporter live every second, as in production.
Then ``import prometheus`` reads the live server's HTTP API over a span of more
than 10,000 minutes (two ``query_range`` chunks).

Under ``CI=true`` the binaries must be there (``.ci/run`` installs the Debian
packages); elsewhere the test skips when they are missing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from core.configfile import load_config
from slawatch.importers.prometheus import CHUNK_POINTS, chunks
from store import open_store
from tests import configs
from tests.cli.common import assert_user_error, ok_json
from tests.loopback import QuietHandler, serve
from tests.tools import missing as absent

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

BINARIES = ("prometheus", "promtool", "prometheus-blackbox-exporter")
MINUTES = 20
OUTAGE = range(8, 13)  # minutes of the simulated span when the target is down

CONFIG = configs.toml(
    storage="slawatch.db", contracts=[configs.contract()], services=[configs.service()]
)


def binaries() -> dict[str, str]:
    found = {name: shutil.which(name) for name in BINARIES}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        absent(f"{missing} not installed (Debian: prometheus prometheus-blackbox-exporter)")
    return {name: path for name, path in found.items() if path is not None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_http(url: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} never answered: {log.read_text(errors='replace')[-2000:]}")


class Switch:
    up = True


class Target(QuietHandler):
    def do_GET(self) -> None:
        self.answer(200 if Switch.up else 503)


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in the blackbox answer:\n{text}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    bins = binaries()
    folder = tmp_path_factory.mktemp("prom")
    bb_port, prom_port = free_port(), free_port()
    (folder / "blackbox.yml").write_text(
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 2s\n"
        "    http:\n      preferred_ip_protocol: ip4\n",
        encoding="utf-8",
    )
    with serve(Target) as target_port:
        target = f"http://127.0.0.1:{target_port}/"
        bb_log = folder / "blackbox.log"
        with process(
            [
                bins["prometheus-blackbox-exporter"],
                f"--config.file={folder / 'blackbox.yml'}",
                f"--web.listen-address=127.0.0.1:{bb_port}",
            ],
            bb_log,
        ):
            wait_http(f"http://127.0.0.1:{bb_port}/", bb_log)
            # The simulated span: 20 minutes starting on an hour, three hours ago.
            now = int(time.time())
            base = (now - 3 * 3600) // 3600 * 3600
            probe = f"http://127.0.0.1:{bb_port}/probe"
            labels = f'{{instance="{target}",job="blackbox"}}'
            success, duration = [], []
            for i in range(MINUTES):
                Switch.up = i not in OUTAGE
                for second in (15, 45):
                    answer = httpx.get(probe, params={"target": target, "module": "http_2xx"})
                    assert answer.status_code == 200, answer.text
                    at = base + 60 * i + second
                    success.append(
                        f"probe_success{labels} {metric(answer.text, 'probe_success')} {at}"
                    )
                    seconds = metric(answer.text, "probe_duration_seconds")
                    duration.append(f"probe_duration_seconds{labels} {seconds} {at}")
            Switch.up = True
            history = folder / "history.om"
            history.write_text(
                "# TYPE probe_success gauge\n" + "\n".join(success) + "\n"
                "# TYPE probe_duration_seconds gauge\n" + "\n".join(duration) + "\n# EOF\n",
                encoding="utf-8",
            )
            data = folder / "data"
            subprocess.run(
                [bins["promtool"], "tsdb", "create-blocks-from", "openmetrics", "-q",
                 str(history), str(data)],
                check=True, capture_output=True, timeout=60,
            )  # fmt: skip
            (folder / "prometheus.yml").write_text(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "scrape_configs:\n"
                "  - job_name: blackbox-live\n    metrics_path: /probe\n"
                "    params:\n      module: [http_2xx]\n"
                f"    static_configs:\n      - targets: ['{target}']\n"
                "    relabel_configs:\n"
                "      - source_labels: [__address__]\n        target_label: __param_target\n"
                "      - source_labels: [__param_target]\n        target_label: instance\n"
                f"      - target_label: __address__\n        replacement: 127.0.0.1:{bb_port}\n",
                encoding="utf-8",
            )
            prom_log = folder / "prometheus.log"
            with process(
                [
                    bins["prometheus"],
                    f"--config.file={folder / 'prometheus.yml'}",
                    f"--storage.tsdb.path={data}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                    "--storage.tsdb.retention.time=30d",
                ],
                prom_log,
            ):
                url = f"http://127.0.0.1:{prom_port}"
                wait_http(f"{url}/-/ready", prom_log)
                yield {"url": url, "target": target, "base": base, "log": prom_log}


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_outage_from_a_live_prometheus(
    stack: dict[str, object], tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    url, target, base = str(stack["url"]), str(stack["target"]), int(str(stack["base"]))
    config = write_config(tmp_path, CONFIG)

    start = base - 7 * 86400  # a week before: more than one query_range chunk
    assert len(list(chunks(start // 60, base // 60 + MINUTES))) == 2
    result = run_cli(
        "--config", config, "import", "prometheus", "--url", url,
        "--query", 'probe_success{job="blackbox"}',
        "--latency-query", 'probe_duration_seconds{job="blackbox"}',
        "--from", iso(start), "--to", iso(base + 60 * MINUTES),
        "--service-label", "instance", "--map", f"{target}=portal",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"imported {MINUTES} minute records from {url} (1 series")

    month = datetime.fromtimestamp(base, UTC).strftime("%Y-%m")
    outages = ok_json(
        run_cli, "--config", config, "outages", "--month", month, "--service", "portal", "--json"
    )
    assert [(o["start"], o["end"], o["minutes"]) for o in outages] == [
        (iso(base + 60 * OUTAGE.start), iso(base + 60 * OUTAGE.stop), len(OUTAGE))
    ]

    import asyncio

    async def read() -> tuple[dict[str, bytes], list[tuple[int, int | None]]]:
        async with await open_store(load_config(config), readonly=True) as store:
            lo, hi = base // 60 - 1, base // 60 + MINUTES + 1
            return await store.minutes("portal", lo, hi), await store.latencies("portal", lo, hi)

    statuses, latencies = asyncio.run(read())
    expected = bytes([0] + [3 if i in OUTAGE else 1 for i in range(MINUTES)] + [0])
    assert statuses == {"prometheus": expected}
    up_latencies = [lat for m, lat in latencies if m - base // 60 not in OUTAGE]
    assert len(up_latencies) == MINUTES - len(OUTAGE)
    assert all(lat is not None and 0 <= lat < 2000 for lat in up_latencies)

    # The same answer saved to a file gives the same records.
    saved = httpx.get(
        f"{url}/api/v1/query_range",
        params={"query": 'probe_success{job="blackbox"}', "start": str(base + 60),
                "end": str(base + 60 * MINUTES), "step": "60"},
    )  # fmt: skip
    answer_file = tmp_path / "answer.json"
    answer_file.write_bytes(saved.content)
    again = run_cli(
        "--config", config, "import", "prometheus", "--file", answer_file,
        "--service-label", "instance", "--map", f"{target}=portal", "--source", "saved",
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"imported {MINUTES} minute records from {answer_file}")


def test_bad_answers_give_one_line(
    stack: dict[str, object], tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    url, base = str(stack["url"]), int(str(stack["base"]))
    config = write_config(tmp_path, CONFIG)
    span = ["--from", iso(base), "--to", iso(base + 600), "--service-label", "instance"]
    # Prometheus refuses the query: HTTP 400 and its own error text.
    bad = run_cli(
        "--config", config, "import", "prometheus", "--url", url, "--query", "probe_success{", *span
    )
    assert_user_error(bad, url, "HTTP 400", "parse error")
    # Not a Prometheus at all: the target answers 200 "ok" to every path.
    target = str(stack["target"]).rstrip("/")
    bad = run_cli(
        "--config", config, "import", "prometheus", "--url", target, "--query", "up", *span
    )
    assert_user_error(bad, target, "not JSON")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    bad = run_cli(
        "--config", config, "import", "prometheus", "--url", closed, "--query", "up", *span
    )
    assert_user_error(bad, closed, "cannot reach Prometheus")
    # A query that matches nothing of the config.
    nothing = run_cli(
        "--config",
        config,
        "import",
        "prometheus",
        "--url",
        url,
        "--query",
        'probe_success{job="blackbox"}',
        *span,
    )
    assert_user_error(nothing, "no series maps to a service", "--map VALUE=SERVICE")

    def matrix(*series: dict[str, object]) -> bytes:
        data = {"resultType": "matrix", "result": list(series)}
        return json.dumps({"status": "success", "data": data}).encode()

    files = {
        "text.json": b"<html>not json</html>",
        "error.json": json.dumps({"status": "error", "errorType": "bad_data", "error": "boom"})
        .encode(),
        "vector.json": json.dumps({"status": "success", "data": {"resultType": "vector"}})
        .encode(),
        "half.json": matrix({"metric": {"instance": "portal"}, "values": [[base + 60, "0.5"]]}),
        "nolabel.json": matrix({"metric": {"job": "x"}, "values": [[base + 60, "1"]]}),
    }  # fmt: skip
    messages = {
        "text.json": "not JSON",
        "error.json": "Prometheus says bad_data: boom",
        "vector.json": "resultType 'matrix'",
        "half.json": "0.5 is not 0 or 1",
        "nolabel.json": "has no label 'instance'",
    }
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = run_cli(
            "--config",
            config,
            "import",
            "prometheus",
            "--file",
            path,
            "--service-label",
            "instance",
        )
        assert_user_error(result, str(path), messages[name])


def test_chunks_stay_under_the_points_limit() -> None:
    for lo, hi in [(0, 1), (100, 10_100), (0, 10_001), (5, 123_456)]:
        spans = list(chunks(lo, hi))
        assert all((end - start) // 60 + 1 <= CHUNK_POINTS < 11_000 for start, end in spans)
        evaluations = [t for start, end in spans for t in range(start, end + 1, 60)]
        assert evaluations == [(m + 1) * 60 for m in range(lo, hi)]


def test_a_saved_answer_of_another_step_is_refused(
    stack: dict[str, object], tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """A query_range answer saved with step=300 (what Grafana asks for a month's panel)
    has a point every fifth minute: read as minutes, the 5-minute outage was 1 minute
    down and 4 unknown, counted available, and the import said it went well. Asked
    with step=15, four evaluations fell into each minute. Both are refused, the step
    named, and nothing is kept."""
    url, target, base = str(stack["url"]), str(stack["target"]), int(str(stack["base"]))
    config = write_config(tmp_path, CONFIG)
    for step in ("300", "15"):
        saved = httpx.get(
            f"{url}/api/v1/query_range",
            params={"query": 'probe_success{job="blackbox"}', "start": str(base + 60),
                    "end": str(base + 60 * MINUTES), "step": step},
        )  # fmt: skip
        assert saved.status_code == 200, saved.text
        answer_file = tmp_path / f"step{step}.json"
        answer_file.write_bytes(saved.content)
        result = run_cli(
            "--config", config, "import", "prometheus", "--file", answer_file,
            "--service-label", "instance", "--map", f"{target}=portal",
        )  # fmt: skip
        assert_user_error(
            result, str(answer_file), f"points are {step} s apart, not 60 s", "step=60"
        )
    month = datetime.fromtimestamp(base, UTC).strftime("%Y-%m")
    outages = ok_json(
        run_cli, "--config", config, "outages", "--month", month, "--service", "portal", "--json"
    )
    assert outages == []


def test_prometheus_also_scrapes_the_exporter_live(stack: dict[str, object]) -> None:
    """The live series shows up within seconds. Last in the file: its first scrape came
    5.6 s after Prometheus said it was ready (measured), which the tests above now
    spend working; first in the live import's test, it was waited for."""
    deadline = time.monotonic() + 20
    live: list[object] = []
    while not live and time.monotonic() < deadline:
        answer = httpx.get(
            f"{stack['url']}/api/v1/query", params={"query": 'probe_success{job="blackbox-live"}'}
        )
        live = answer.json()["data"]["result"]
        if not live:
            time.sleep(0.2)
    assert live and live[0]["value"][1] == "1", live  # type: ignore[index]
