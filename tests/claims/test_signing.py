"""``key init``, ``claim export --sign`` and ``claim verify --key``."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from slawatch.cli import main
from tests.claims.conftest import World
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def signed(world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(signed bundle, public key, another key's public key)."""
    made = world.cli("key", "init")
    assert made.returncode == 0, made.stderr
    key = world.db.parent / "keys" / "agent.key"
    out = tmp_path_factory.mktemp("signed") / "claim.json"
    result = world.cli(
        "claim", "export", "--service", "portal", "--month", "2026-10", "--out", out, "--sign", key
    )
    assert result.returncode == 0, result.stderr
    other = tmp_path_factory.mktemp("other") / "k" / "other.key"
    assert main(["key", "init", "--out", str(other)]) == 0
    return out, Path(f"{key}.pub"), Path(f"{other}.pub")


def test_key_files_are_private(world: World, signed: tuple[Path, Path, Path]) -> None:
    key = world.db.parent / "keys" / "agent.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    again = world.cli("key", "init")
    assert again.returncode == 2 and "never overwritten" in again.stderr


def test_signature_by_the_trusted_key_holds(signed: tuple[Path, Path, Path]) -> None:
    bundle, pub, _ = signed
    result = run_cli("claim", "verify", bundle, "--key", pub, cwd=bundle.parent)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid, by trusted key SHA256:" in result.stdout


def test_signature_fails_for_any_change_or_other_key(
    signed: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, pub, other = signed
    assert main(["claim", "verify", str(bundle), "--key", str(other)]) == 1
    assert "signature" in capsys.readouterr().out.split("DOES NOT HOLD")[1]
    doc = json.loads(bundle.read_text())
    doc["cases"][0]["title"] = "something else"  # changes no figure, only the signed text
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc), encoding="utf-8")
    for extra in ([], ["--key", str(pub)]):
        assert main(["claim", "verify", str(edited), *extra]) == 1
        out = capsys.readouterr().out
        assert "signature" in out and "INVALID" in out


def test_unsigned_bundle_fails_when_a_key_is_required(
    world: World, capsys: pytest.CaptureFixture[str], signed: tuple[Path, Path, Path]
) -> None:
    assert main(["claim", "verify", str(world.bundle), "--key", str(signed[1])]) == 1
    assert "missing: the bundle is not signed" in capsys.readouterr().out


def test_sign_needs_a_real_key(world: World, tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("not a key", encoding="utf-8")
    result = world.cli(
        "claim", "export", "--service", "portal", "--month", "2026-10", "--out",
        tmp_path / "x.json", "--sign", bad,
    )  # fmt: skip
    assert result.returncode == 2
    assert "not an unencrypted Ed25519 private key" in result.stderr
    assert not (tmp_path / "x.json").exists()
