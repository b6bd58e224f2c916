"""``key init``, ``claim export --sign`` and ``claim verify --key``.

The key lives outside the database folder (``$XDG_CONFIG_HOME/slawatch/keys/``,
one per agent); the signature covers RFC 8785 canonical JSON of the whole bundle,
its own algorithm and key id included.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from slawatch.cli import main
from tests.claims.conftest import World
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def xdg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg")


def key_cli(world: World, xdg: Path, *args: object) -> Any:
    return run_cli("--config", world.config, *args, env={"XDG_CONFIG_HOME": str(xdg)})


@pytest.fixture(scope="module")
def signed(
    world: World, xdg: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Path]:
    """(signed bundle, public key, another key's public key)."""
    made = key_cli(world, xdg, "key", "init")
    assert made.returncode == 0, made.stderr
    key = xdg / "slawatch" / "keys" / "agent.key"
    out = tmp_path_factory.mktemp("signed") / "claim.json"
    result = world.cli(
        "claim", "export", "--service", "portal", "--month", "2026-10", "--out", out, "--sign", key
    )
    assert result.returncode == 0, result.stderr
    other = tmp_path_factory.mktemp("other") / "k" / "other.key"
    assert main(["key", "init", "--out", str(other)]) == 0
    return out, Path(f"{key}.pub"), Path(f"{other}.pub")


def test_key_files_are_private(world: World, xdg: Path, signed: tuple[Path, Path, Path]) -> None:
    key = xdg / "slawatch" / "keys" / "agent.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    assert not (world.db.parent / "keys").exists()  # nothing next to the database
    again = key_cli(world, xdg, "key", "init")
    assert again.returncode == 2 and "never overwritten" in again.stderr


def test_a_key_inside_the_database_folder_is_refused(world: World) -> None:
    inside = world.db.parent / "keys" / "agent.key"
    result = world.cli("key", "init", "--out", inside)
    assert result.returncode == 2
    assert "inside the database folder" in result.stderr and result.stderr.count("\n") == 1
    assert not inside.exists()


def test_a_fleet_config_keeps_keys_out_of_the_spool_folder_not_its_own(tmp_path: Path) -> None:
    """With PostgreSQL the machine's data is the agent's spool: a key beside the config
    (/etc/slawatch/keys, as deploy/fleet.md has it) was refused as 'inside the database
    folder', the unused default path beside the config; one beside the spool passed."""
    from tests import configs

    etc, var = tmp_path / "etc", tmp_path / "var"
    etc.mkdir()
    config = etc / "config.toml"
    config.write_text(
        configs.toml(url="postgresql://db.internal/slawatch", spool=var / "spool.db",
                     contracts=[configs.contract("std")], services=[configs.service("portal")]),
        encoding="utf-8",
    )  # fmt: skip
    beside_config = run_cli("--config", config, "key", "init", "--out", etc / "keys" / "a.key")
    assert beside_config.returncode == 0, beside_config.stderr
    in_spool = run_cli("--config", config, "key", "init", "--out", var / "a.key")
    assert in_spool.returncode == 2 and in_spool.stderr.count("\n") == 1
    assert f"is inside the spool's folder '{var}'" in in_spool.stderr
    assert not (var / "a.key").exists()


def test_signing_with_a_key_inside_the_database_folder_is_refused(
    world: World, tmp_path: Path
) -> None:
    inside = world.db.parent / "stray" / "agent.key"
    assert main(["key", "init", "--out", str(tmp_path / "k.key")]) == 0
    inside.parent.mkdir()
    try:
        inside.write_bytes((tmp_path / "k.key").read_bytes())
        result = world.cli(
            "claim", "export", "--service", "portal", "--month", "2026-10", "--out",
            tmp_path / "c.json", "--sign", inside,
        )  # fmt: skip
    finally:
        inside.unlink()
        inside.parent.rmdir()
    assert result.returncode == 2 and "inside the database folder" in result.stderr
    assert not (tmp_path / "c.json").exists()


def test_a_key_readable_by_others_is_warned_about(world: World, tmp_path: Path) -> None:
    key = tmp_path / "k" / "open.key"
    assert main(["key", "init", "--out", str(key)]) == 0
    key.chmod(0o644)
    result = world.cli(
        "claim", "export", "--service", "portal", "--month", "2026-10", "--out",
        tmp_path / "c.json", "--sign", key,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"warning: {key} is readable by other users (mode 0644)" in result.stderr


@pytest.mark.parametrize(
    "field", ["algorithm", "canonical", "key_id", "public_key"], ids=lambda f: f
)
def test_the_signature_covers_its_own_metadata(
    signed: tuple[Path, Path, Path], tmp_path: Path, field: str, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(signed[0].read_text())
    sig = doc["signature"]
    assert sig["algorithm"] == "ed25519" and sig["canonical"] == "rfc8785"
    changed = {
        "algorithm": "ed25519ph",
        "canonical": "json-sorted",
        "key_id": "SHA256:0000000000000000",
        "public_key": sig["public_key"][:-4] + "AAA=",
    }[field]
    sig[field] = changed
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc), encoding="utf-8")
    assert main(["claim", "verify", str(edited)]) == 1
    out = capsys.readouterr().out
    assert "DOES NOT HOLD" in out and "signature" in out.split("DOES NOT HOLD")[1]


def test_signed_bytes_are_rfc8785(signed: tuple[Path, Path, Path]) -> None:
    import rfc8785

    from core.bundle import signed_bytes

    doc = json.loads(signed[0].read_text())
    body = {k: v for k, v in doc.items() if k != "signature"}
    body["signature"] = {k: v for k, v in doc["signature"].items() if k != "value"}
    assert signed_bytes(doc) == rfc8785.dumps(body)
    reordered = dict(reversed(list(doc.items())))
    assert signed_bytes(reordered) == signed_bytes(doc)


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
        # A broken signature covers nothing: no line says a source is covered by it.
        assert "covered by the bundle's one signature" not in out


def test_a_wrong_key_is_told_apart_from_a_changed_bundle(
    signed: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found checking a claim as a finance manager given the wrong public key: verify said
    'bundle changed after signing, or not signed by the trusted key', which leaves a
    reader unable to tell a forged claim from a mix-up of keys. Both are still refused."""
    bundle, pub, other = signed
    signer = json.loads(bundle.read_text())["signature"]["key_id"]
    assert main(["claim", "verify", str(bundle), "--key", str(other)]) == 1
    out = capsys.readouterr().out
    assert "or not signed by" not in out
    assert (
        f"NOT BY YOUR KEY: unchanged since signed by key {signer}, not by the key you gave" in out
    )
    assert "SIGNED BY ANOTHER KEY" in out and "ask the sender for the signer's public key" in out
    doc = json.loads(bundle.read_text())
    doc["cases"][0]["title"] = "something else"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc), encoding="utf-8")
    for key in (pub, other):
        assert main(["claim", "verify", str(edited), "--key", str(key)]) == 1
        out = capsys.readouterr().out
        assert "INVALID: the bundle was changed after it was signed" in out, key
        assert "NOT BY YOUR KEY" not in out and "or not signed by" not in out


def test_a_valid_signature_covers_the_sources(
    signed: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    bundle, pub, _ = signed
    assert main(["claim", "verify", str(bundle), "--key", str(pub)]) == 0
    assert "covered by the bundle's one signature" in capsys.readouterr().out


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
