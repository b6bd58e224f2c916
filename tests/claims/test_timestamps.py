"""RFC 3161 timestamps (#15 item 5): a bundle timestamped by a local ``openssl ts``
authority verifies; changed afterwards, it does not.

The authority is the test's own: a throwaway CA and a time-stamping certificate
(critical extended key usage timeStamping) made here with ``cryptography``, and
a tiny HTTP server on 127.0.0.1 that answers each query with ``openssl ts
-reply``. Never a public TSA.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from slawatch.cli import main
from tests.claims.conftest import World
from tests.loopback import QuietHandler
from tests.tools import require

CONF = """\
[ tsa ]
default_tsa = tsa1
[ tsa1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str, key: ec.EllipticCurvePrivateKey, issuer: str, signer: ec.EllipticCurvePrivateKey,
    *, ca: bool,
) -> x509.Certificate:  # fmt: skip
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
        )
    return builder.sign(signer, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def make_authority(folder: Path, name: str) -> Path:
    """A CA and its TSA certificate in ``folder``; returns the CA's PEM file."""
    folder.mkdir()
    ca_key = ec.generate_private_key(ec.SECP256R1())
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(f"{name} CA", ca_key, f"{name} CA", ca_key, ca=True)
    tsa = _cert(f"{name} TSA", tsa_key, f"{name} CA", ca_key, ca=False)
    (folder / "ca.pem").write_bytes(_pem(ca))
    (folder / "tsa.pem").write_bytes(_pem(tsa))
    (folder / "tsa.key").write_bytes(
        tsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(CONF.format(dir=folder))
    return folder / "ca.pem"


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    """(URL, CA PEM, a second CA PEM that signed nothing) of a loopback ``openssl ts``."""
    openssl = require("openssl")
    base = tmp_path_factory.mktemp("tsa")
    ca = make_authority(base / "authority", "Loopback")
    other = make_authority(base / "other", "Stranger")
    folder = ca.parent
    lock = threading.Lock()

    class Authority(QuietHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            query = self.rfile.read(length)
            with lock:
                (folder / "q.tsq").write_bytes(query)
                done = subprocess.run(
                    [openssl, "ts", "-reply", "-config", str(folder / "tsa.cnf"),
                     "-queryfile", str(folder / "q.tsq"), "-out", str(folder / "r.tsr")],
                    capture_output=True, timeout=30, check=False,
                )  # fmt: skip
                reply = (folder / "r.tsr").read_bytes() if done.returncode == 0 else b""
            if not reply:
                self.answer(500, done.stderr[-200:])
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Authority)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/tsr", ca, other
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def bundle(world: World, tmp_path: Path) -> Path:
    """A copy of a real claim bundle (the shared October world's)."""
    copy = tmp_path / "claim-portal-2026-10.json"
    copy.write_bytes(world.bundle.read_bytes())
    return copy


def test_a_timestamped_bundle_verifies_and_changed_afterwards_does_not(
    tsa: tuple[str, Path, Path], bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, ca, _ = tsa
    assert main(["timestamp", "get", str(bundle), "--tsa", url]) == 0
    token = bundle.with_name(bundle.name + ".tsr")
    assert token.is_file() and token.stat().st_size > 200
    capsys.readouterr()
    assert main(["timestamp", "verify", str(bundle), "--ca", str(ca)]) == 0
    out = capsys.readouterr().out
    assert "HOLDS" in out and "CN=Loopback TSA" in out
    # openssl's own verifier agrees with ours about the very same token.
    openssl = shutil.which("openssl")
    assert openssl is not None
    agree = subprocess.run(
        [openssl, "ts", "-verify", "-data", str(bundle), "-in", str(token), "-CAfile",
         str(ca), "-untrusted", str(ca.parent / "tsa.pem")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert agree.returncode == 0, agree.stderr
    # One byte changed afterwards: the token no longer vouches for the file.
    data = bundle.read_bytes()
    bundle.write_bytes(data.replace(b'"monthly_fee": "1000.00"', b'"monthly_fee": "1000.01"', 1))
    assert bundle.read_bytes() != data
    assert main(["timestamp", "verify", str(bundle), "--ca", str(ca)]) == 1
    assert "DOES NOT HOLD" in capsys.readouterr().out


def test_a_token_from_a_ca_you_do_not_trust_does_not_hold(
    tsa: tuple[str, Path, Path], bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _, stranger = tsa
    assert main(["timestamp", "get", str(bundle), "--tsa", url]) == 0
    capsys.readouterr()
    assert main(["timestamp", "verify", str(bundle), "--ca", str(stranger)]) == 1
    assert "DOES NOT HOLD" in capsys.readouterr().out


def test_a_checkpoint_note_can_be_timestamped_too(
    tsa: tuple[str, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, ca, _ = tsa
    note = tmp_path / "heads.txt"
    note.write_text("slawatch.example/checkpoint/v1\npartis-1\n42\nabc=\n\n— key sig\n")
    out = tmp_path / "stamps" / "heads.tsr"
    out.parent.mkdir()
    assert main(["timestamp", "get", str(note), "--tsa", url, "--out", str(out)]) == 0
    assert main(["timestamp", "verify", str(note), "--tsr", str(out), "--ca", str(ca)]) == 0


def test_bad_input_is_one_line_exit_2(
    tsa: tuple[str, Path, Path], bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _url, ca, _ = tsa
    junk = tmp_path / "junk.tsr"
    junk.write_bytes(b"not DER")
    capsys.readouterr()
    assert main(["timestamp", "verify", str(bundle), "--tsr", str(junk), "--ca", str(ca)]) == 2
    err = capsys.readouterr().err
    assert "junk.tsr" in err and "TimeStampResp" in err and len(err.strip().splitlines()) == 1
    assert main(["timestamp", "verify", str(bundle), "--tsr", str(junk), "--ca", str(junk)]) == 2
    assert "no PEM certificate" in capsys.readouterr().err
    assert main(["timestamp", "get", str(bundle), "--tsa", "ftp://x"]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err


def test_claim_verify_with_the_token_says_since_when_the_bundle_existed(
    tsa: tuple[str, Path, Path], bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url, ca, _ = tsa
    assert main(["timestamp", "get", str(bundle), "--tsa", url]) == 0
    token = bundle.with_name(bundle.name + ".tsr")
    pinned = ["--allow-unsigned", "--tsr", str(token), "--tsa-ca", str(ca)]
    capsys.readouterr()
    assert main(["claim", "verify", str(bundle), *pinned]) == 0
    out = capsys.readouterr().out
    assert "timestamp" in out and "existed by" in out
    assert "Timestamped: this bundle existed, byte for byte, no later than" in out
    assert "the time it states is the claimant's word, not a timestamp" not in out
    # A change that keeps the bundle well-formed and self-consistent (one more newline):
    # every other check still holds, the timestamp does not.
    bundle.write_bytes(bundle.read_bytes() + b"\n")
    assert main(["claim", "verify", str(bundle), *pinned]) == 1
    out = capsys.readouterr().out
    assert "DOES NOT HOLD: 1 check(s) disagree: timestamp" in out
    assert "the time it states is the claimant's word, not a timestamp" in out
    assert main(["claim", "verify", str(bundle), "--tsr", str(token)]) == 2
    assert "--tsr and --tsa-ca go together" in capsys.readouterr().err
