"""Corroboration (#15 item 6): each failing request keeps what the provider can look
up in its own logs, the store keeps it, bundles carry it for the outage minutes,
the letter lists it, and verify checks it.

A real HTTPS server on 127.0.0.1 (a trustme certificate) answers 503 with the
``Date``, ``X-Request-Id``, ``traceparent`` and ``CF-Ray`` headers a provider's
edge sends; the real agent probes it (``run_once``, the clock pinned) into a
real SQLite store, and the real CLI exports, verifies and writes the letter.
"""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from agent.runner import Agent
from core.configfile import load_config
from core.corroboration import MAX_VALUE
from slawatch.cli import main
from store.sqlite import SqliteStore
from tests import configs
from tests.loopback import QuietHandler

T0 = datetime(2026, 10, 3, 14, 5, 7, 250000, tzinfo=UTC)
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class Failing(QuietHandler):
    """503 with a provider's identifiers; ``/hostile`` sends control characters and a
    10 KB request id; ``/ok`` answers 200."""

    count = 0

    def do_GET(self) -> None:
        if self.path == "/ok":
            self.answer(200)
            return
        Failing.count += 1
        self.send_response(503)
        if self.path == "/hostile":
            self.send_header("X-Request-Id", "evil\x01|id" + "x" * 10_000)
        else:
            self.send_header("X-Request-Id", f"req-{Failing.count:04d}")
            self.send_header("traceparent", TRACE)
            self.send_header("CF-Ray", f"8f1c2d3e4a5b{Failing.count:04d}-CDG")
        body = b"down"
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server(ca: trustme.CA) -> Iterator[tuple[int, str]]:
    """(port, the certificate's SHA-256) of a TLS server answering ``Failing``."""
    cert = ca.issue_cert("127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    der = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()).public_bytes(Encoding.DER)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Failing)
    httpd.daemon_threads = True
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield int(httpd.server_address[1]), hashlib.sha256(der).hexdigest()
    finally:
        httpd.shutdown()
        httpd.server_close()


def _config(folder: Path, port: int, path: str = "/") -> Path:
    text = configs.toml(
        storage="slawatch.db",
        agent={"name": "paris-1"},
        contracts=[configs.contract("std", report_within="72h")],
        services=[
            configs.service(
                "portal",
                "std",
                probe=configs.probe(f"https://127.0.0.1:{port}{path}", retries=0, timeout="5s"),
            )
        ],
    )
    out = folder / "config.toml"
    out.write_text(text, encoding="utf-8")
    return out


async def _probe(config_path: Path, ca: trustme.CA, minutes: int, path: str = "/") -> None:
    """The real agent probes once a minute for ``minutes`` minutes from T0 (clock pinned)."""
    trusting = ssl.create_default_context()
    ca.configure_trust(trusting)
    config = load_config(config_path)
    for i in range(minutes):
        at = T0 + timedelta(minutes=i)
        agent = Agent(config, ssl_context=trusting, clock=lambda at=at: at)
        _verdicts, written = await agent.run_once()
        assert written


@pytest.fixture(scope="module")
def exported(
    server: tuple[int, str], ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, str]:
    """(config, bundle, certificate SHA-256): three failing minutes probed and exported."""
    import asyncio

    folder = tmp_path_factory.mktemp("corroboration")
    port, fingerprint = server
    config = _config(folder, port)
    asyncio.run(_probe(config, ca, 3))
    out = folder / "claim.json"
    code = main(
        ["--config", str(config), "claim", "export", "--service", "portal", "--month",
         "2026-10", "--out", str(out)],
        clock=lambda: NOW,
    )  # fmt: skip
    assert code == 0
    return config, out, fingerprint


def _verify(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str]:
    code = main(["claim", "verify", str(path), "--allow-unsigned", *extra])
    return code, capsys.readouterr().out


async def test_each_failing_probe_is_stored_with_the_providers_identifiers(
    exported: tuple[Path, Path, str],
) -> None:
    config, _, fingerprint = exported
    store = await SqliteStore.open(config.parent / "slawatch.db", readonly=True)
    try:
        rows = await store.evidence_between("portal", 0, 2**40)
    finally:
        await store.close()
    assert [r.source for r in rows] == ["paris-1"] * 3
    assert [r.minute for r in rows] == [int(T0.timestamp()) // 60 + i for i in range(3)]
    first = rows[0].seen
    assert first.at == T0  # when the request was sent (the pinned clock), to the microsecond
    assert first.error == "status:503" and first.http_status == 503
    assert first.server_ip == "127.0.0.1"
    assert first.tls_sha256 == fingerprint
    assert first.traceparent == TRACE
    assert first.x_request_id is not None and first.x_request_id.startswith("req-")
    assert first.cf_ray is not None and first.cf_ray.endswith("-CDG")
    # The server's own Date header, as sent (http.server writes RFC 7231 dates).
    assert first.date is not None and first.date.endswith(" GMT")
    assert len({r.seen.x_request_id for r in rows}) == 3


def test_the_bundle_carries_them_for_the_outage_minutes_and_verify_checks_them(
    exported: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, bundle, fingerprint = exported
    doc: dict[str, Any] = json.loads(bundle.read_text())
    items = doc["corroboration"]
    assert len(items) == 3
    assert items[0]["source"] == "paris-1"
    assert items[0]["minute"] == "2026-10-03T14:05:00Z"
    assert items[0]["at"] == "2026-10-03T14:05:07.250Z"
    assert items[0]["tls_sha256"] == fingerprint and items[0]["http_status"] == 503
    code, out = _verify(bundle, capsys)
    assert code == 0, out
    assert "corroboration paris-1" in out and "3 failing requests" in out
    assert "3 failing requests of the outage minutes" in out  # what verify says it proves
    # Unsigned: nothing covers them (it said 'covered by the signature' all the same).
    assert "covered by the signature" not in out
    assert "the agents' records, covered by no signature (the bundle is not signed)" in out


def test_a_request_moved_onto_a_minute_recorded_up_is_named(
    exported: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, bundle, _ = exported
    doc = json.loads(bundle.read_text())
    doc["corroboration"][2]["minute"] = "2026-10-03T15:00:00Z"  # nothing recorded there
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc))
    code, out = _verify(edited, capsys)
    assert code == 1
    assert "DIFFERS" in out and "corroboration paris-1" in out


def test_a_signed_bundle_whose_request_id_is_changed_fails(
    exported: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, bundle, _ = exported
    key = tmp_path / "keys" / "a.key"
    assert main(["key", "init", "--out", str(key)]) in (0, None) or key.exists()
    from slawatch import signing

    doc = signing.sign(json.loads(bundle.read_text()), signing.load_private(key))
    signed = tmp_path / "signed.json"
    signed.write_text(json.dumps(doc))
    capsys.readouterr()
    assert _verify(signed, capsys, "--key", f"{key}.pub")[0] == 0
    doc["corroboration"][0]["x_request_id"] = "req-9999"
    signed.write_text(json.dumps(doc))
    code, out = _verify(signed, capsys, "--key", f"{key}.pub")
    assert code == 1 and "signature" in out


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("server_ip", "not-an-ip", "not an IP address"),
        ("tls_sha256", "ABC", "SHA-256"),
        ("http_status", "503", "integer"),
        ("x_request_id", "a\nb", "printable ASCII"),
        ("source", "nobody", "not one of the bundle's sources"),
        ("at", "2026-10-03T14:05:07Z", "UTC instant"),
        ("failed_at", "2026-10-03T14:06:07Z", "UTC instant"),
        ("extra", 1, "unknown member"),
    ],
)
def test_a_malformed_entry_is_one_line_and_exit_2(
    exported: tuple[Path, Path, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    key: str,
    value: Any,
    says: str,
) -> None:
    _, bundle, _ = exported
    doc = json.loads(bundle.read_text())
    doc["corroboration"][0][key] = value
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    code = main(["claim", "verify", str(bad), "--allow-unsigned"])
    err = capsys.readouterr().err
    assert code == 2
    assert says in err and "corroboration[0]" in err and len(err.strip().splitlines()) == 1


def test_a_bundle_without_corroboration_still_verifies(
    exported: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, bundle, _ = exported
    doc = json.loads(bundle.read_text())
    del doc["corroboration"]  # as every bundle written before it existed
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    code, out = _verify(old, capsys)
    assert code == 0 and "corroboration" not in out.lower()


def test_the_letter_lists_each_request(
    exported: tuple[Path, Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, bundle, fingerprint = exported
    assert main(["claim", "letter", str(bundle)]) == 0
    letter = capsys.readouterr().out
    assert "## Requests you can look up in your own logs" in letter
    assert "2026-10-03T14:05:07.250Z" in letter
    assert "X-Request-Id req-" in letter and TRACE in letter and fingerprint in letter
    assert letter.count("| paris-1 |") == 3


@pytest.mark.parametrize(
    ("minute", "failed_at", "holds"),
    [
        # Sent at 14:05:07, timed out at 14:06:02: evidence of minute 14:06 as well
        # (an overrunning run's minute judged down by it alone, docs/probes.md).
        ("2026-10-03T14:06:00Z", "2026-10-03T14:06:02.250Z", True),
        # Under a minute after the one it was sent in, with no instant it failed there.
        ("2026-10-03T14:06:00Z", None, False),
        # Said to fail in another minute than the one it is listed under.
        ("2026-10-03T14:06:00Z", "2026-10-03T14:07:02.250Z", False),
        # Failed before it was sent.
        ("2026-10-03T14:05:00Z", "2026-10-03T14:05:02.250Z", False),
        # A timeout is at most the interval, at most an hour.
        ("2026-10-03T15:07:00Z", "2026-10-03T15:07:02.250Z", False),
    ],
)
def test_a_request_that_failed_in_a_later_minute(
    exported: tuple[Path, Path, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    minute: str,
    failed_at: str | None,
    holds: bool,
) -> None:
    _, bundle, _ = exported
    doc = json.loads(bundle.read_text())
    late = {**doc["corroboration"][0], "minute": minute}
    if failed_at is not None:
        late["failed_at"] = failed_at
    doc["corroboration"].insert(1, late)
    edited = tmp_path / "late.json"
    edited.write_text(json.dumps(doc))
    code, out = _verify(edited, capsys)
    assert code == (0 if holds else 1), out
    if not holds:
        assert "DIFFERS" in out
        return
    # Three requests, one of them also under the minute it failed in: verify counts
    # requests as the letter lists them (it said 4 failing requests, the letter 3).
    assert (
        "OK        3 failing requests (4 rows: 1 also under the later minute it failed "
        "in), each on a minute recorded down or degraded"
    ) in out
    assert "Corroboration: 3 failing requests of the outage minutes" in out
    assert "4 failing requests" not in out
    assert main(["claim", "letter", str(edited)]) == 0
    letter = capsys.readouterr().out
    assert letter.count("| paris-1 |") == 3  # each request once
    assert letter.count("2026-10-03T14:05:07.250Z") == 1
    assert "Corroboration: 3 failing requests of the outage minutes" in letter


@pytest.mark.parametrize(
    "extra",
    [
        # The same row twice: one failure counted as two.
        [(0, {})],
        # One request said to fail in two minutes (it failed once).
        [(0, {"minute": "2026-10-03T14:06:00Z", "failed_at": "2026-10-03T14:06:02.250Z"}),
         (0, {"minute": "2026-10-03T14:07:00Z", "failed_at": "2026-10-03T14:07:02.250Z"})],
        # The request sent at 14:07:07 listed under 14:05 too (within its retries),
        # without failing there: an agent keeps a request under one minute.
        [(2, {"minute": "2026-10-03T14:05:00Z"})],
        # Its later row with other identifiers than the request's own.
        [(0, {"minute": "2026-10-03T14:06:00Z", "failed_at": "2026-10-03T14:06:02.250Z",
              "x_request_id": "req-9999"})],
    ],
)  # fmt: skip
def test_a_request_listed_again_does_not_hold(
    exported: tuple[Path, Path, str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    extra: list[tuple[int, dict[str, str]]],
) -> None:
    """A bundle repeating a request beyond what an agent keeps (once, and once more
    under the later minute it failed in) does not hold. Before, each of these held:
    every row was on a minute recorded down, so one failure could count as several."""
    _, bundle, _ = exported
    doc = json.loads(bundle.read_text())
    rows = doc["corroboration"]
    assert [r["at"][11:19] for r in rows] == ["14:05:07", "14:06:07", "14:07:07"]
    rows += [{**rows[i], **edit} for i, edit in extra]
    edited = tmp_path / "again.json"
    edited.write_text(json.dumps(doc))
    code, out = _verify(edited, capsys)
    assert code == 1, out
    assert "listed again as a request listed already" in out


def test_hostile_headers_are_kept_short_and_printable(
    server: tuple[int, str], ca: trustme.CA, tmp_path: Path
) -> None:
    import asyncio

    config = _config(tmp_path, server[0], "/hostile")
    asyncio.run(_probe(config, ca, 1, "/hostile"))

    async def read() -> list[Any]:
        store = await SqliteStore.open(tmp_path / "slawatch.db", readonly=True)
        try:
            return await store.evidence_between("portal", 0, 2**40)
        finally:
            await store.close()

    (row,) = asyncio.run(read())
    value = row.seen.x_request_id
    assert value is not None and len(value) == MAX_VALUE
    assert value.startswith("evil|id") and value.isprintable()


def test_a_probe_that_works_leaves_no_row(
    server: tuple[int, str], ca: trustme.CA, tmp_path: Path
) -> None:
    import asyncio

    config = _config(tmp_path, server[0], "/ok")
    asyncio.run(_probe(config, ca, 1, "/ok"))

    async def count() -> int:
        store = await SqliteStore.open(tmp_path / "slawatch.db", readonly=True)
        try:
            return len(await store.evidence_between("portal", 0, 2**40))
        finally:
            await store.close()

    assert asyncio.run(count()) == 0
