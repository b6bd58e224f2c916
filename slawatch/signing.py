"""Ed25519 keys for signing claim bundles: files on disk, signatures on bundles.

The private key is PKCS#8 PEM, written with mode 0600 inside a 0700 folder and
never overwritten; the public key (SubjectPublicKeyInfo PEM) sits next to it
with ``.pub`` appended, to hand to whoever checks the claims. Each agent has
its own key, kept outside the database folder (a copy or backup of the data
must not carry the means to re-sign it): by default
``$XDG_CONFIG_HOME/slawatch/keys/AGENT.key``. A key readable by other users is
warned about each time it is used.

A signature covers the RFC 8785 canonical JSON of the whole bundle, its
``signature`` member included but for the value itself
(``core.bundle.signed_bytes``): any change to a figure, minute, term, the
algorithm or the key id breaks it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import sys
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core import keys
from core.bundle import signed_bytes
from core.config import Config
from core.errors import InputError
from core.proof import SignatureState
from slawatch.files import read_bytes

ALGORITHM = "ed25519"
CANONICAL = "rfc8785"  # how the signed bytes are made (JSON Canonicalization Scheme)


def default_key_path(agent: str) -> Path:
    """``$XDG_CONFIG_HOME/slawatch/keys/AGENT.key`` (``~/.config`` when unset)."""
    return keys.default_key_path(agent, os.environ, Path.home()).expanduser().absolute()


def check_outside(private: Path, config: Config) -> None:
    """Refuse a key inside the folder of the data this machine keeps: the database's,
    or in fleet mode (PostgreSQL elsewhere) the agent's spool's (InputError naming it).
    A fleet config names no local database: its unused default path, beside the config
    file, would refuse keys under /etc/slawatch/keys for no reason."""
    fleet = config.storage_url is not None and config.spool_path is not None
    data = config.spool_path if fleet and config.spool_path else config.storage_path
    what = "the spool's folder" if fleet else "the database folder"
    key, folder = private.absolute(), data.parent.absolute()
    if key == folder or folder in key.parents:
        raise InputError(
            str(private),
            f"is inside {what} {str(folder)!r}; keep the signing key elsewhere "
            "(whoever copies the data must not get the means to re-sign it)",
        )


def warn_if_exposed(private: Path) -> str | None:
    """A warning line when the key file or its folder lets other users read it."""
    try:
        mode = stat.S_IMODE(private.stat().st_mode)
    except OSError:
        return None
    if mode & 0o077:
        return (
            f"warning: {private} is readable by other users (mode {mode:04o}); "
            f"run: chmod 600 {private}"
        )
    return None


def public_path(private: Path) -> Path:
    return private.with_name(private.name + ".pub")


def fingerprint(public: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: SHA-256 of its raw bytes, 16 hex digits."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "SHA256:" + hashlib.sha256(raw).hexdigest()[:16]


def generate(private: Path) -> Ed25519PublicKey:
    """Create a key pair at ``private`` (0600, folder 0700); never replaces a key."""
    folder = private.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
    except OSError as exc:
        raise InputError(str(folder), f"cannot create the key folder: {exc.strerror}") from None
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    pub = key.public_key()
    pub_pem = pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for path in (private, public_path(private)):
        if path.exists():
            raise InputError(str(path), "already exists; a key is never overwritten")
    _write_new(private, pem, 0o600)
    _write_new(public_path(private), pub_pem, 0o644)
    return pub


def _write_new(path: Path, data: bytes, mode: int) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise InputError(str(path), f"cannot create: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def load_private(path: Path) -> Ed25519PrivateKey:
    warning = warn_if_exposed(path)
    if warning:
        sys.stderr.write(warning + "\n")
    return keys.private_from_pem(read_bytes(path), str(path))


def load_public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(read_bytes(path))
    except (ValueError, TypeError):
        raise InputError(str(path), "not an Ed25519 public key (PEM)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(str(path), "not an Ed25519 public key")
    return key


def load_named_public(arg: str) -> tuple[str, Ed25519PublicKey]:
    """``--key [NAME=]FILE``: a public key and the agent (source) it signs for.

    Without ``NAME=`` the name is the file's, as ``slawatch key init`` writes it
    (``paris-1.key.pub`` or ``paris-1.pub`` -> ``paris-1``). A checkpoint is
    only accepted under the name its key is bound to (``core.checkpoint.open_note``).
    """
    name, sep, file = arg.partition("=")
    if not sep or not name or Path(arg).expanduser().exists():
        path = Path(arg).expanduser()
        name = path.name.removesuffix(".pub").removesuffix(".key")
    else:
        path = Path(file).expanduser()
    if not name:
        raise InputError(arg, "names no agent; give --key NAME=FILE")
    return name, load_public(path)


def sign(bundle: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The bundle with a ``signature`` member over everything else and its own metadata."""
    body = {k: v for k, v in bundle.items() if k != "signature"}
    pub = key.public_key()
    raw_pub = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    body["signature"] = {
        "algorithm": ALGORITHM,
        "canonical": CANONICAL,
        "key_id": fingerprint(pub),
        "public_key": base64.b64encode(raw_pub).decode(),
    }
    body["signature"]["value"] = base64.b64encode(key.sign(signed_bytes(body))).decode()
    return body


def _holds(key: Ed25519PublicKey, value: bytes, signed: bytes) -> bool:
    try:
        key.verify(value, signed)
    except InvalidSignature:
        return False
    return True


def intact(bundle: dict[str, Any]) -> bool:
    """The bundle's signature holds under the key it names itself: unchanged since
    signing, whoever signed it (False when unsigned or malformed)."""
    return "signature" in bundle and check(bundle, None)[0]


def signer(bundle: dict[str, Any]) -> str | None:
    """The key id a bundle's signature names (unchecked), or None when unsigned."""
    sig = bundle.get("signature")
    key_id = sig.get("key_id") if isinstance(sig, dict) else None
    return key_id if isinstance(key_id, str) else None


def assess(
    bundle: dict[str, Any], trusted: Ed25519PublicKey | None
) -> tuple[SignatureState, bool, str]:
    """(state, holds, what to tell the reader): ``check`` with the state named."""
    holds, said = check(bundle, trusted)
    if "signature" not in bundle:
        return "unsigned", holds, said
    return ("valid" if holds else "invalid"), holds, said


def check(bundle: dict[str, Any], trusted: Ed25519PublicKey | None) -> tuple[bool, str]:
    """Check a bundle's signature: (holds, what to tell the reader).

    With ``trusted`` the signature must exist and be made by that key. Without
    it, a present signature is checked against the key it names, which proves
    the bundle is unchanged since signing but not who signed it.
    """
    sig = bundle.get("signature")
    if sig is None:
        if trusted is not None:
            return False, "missing: the bundle is not signed"
        return True, "none (bundle not signed)"
    try:
        if sig.get("algorithm") != ALGORITHM or sig.get("canonical") != CANONICAL:
            return False, f"unsupported: only {ALGORITHM} over {CANONICAL} canonical JSON"
        embedded = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(sig["public_key"], validate=True)
        )
        value = base64.b64decode(sig["value"], validate=True)
        if sig.get("key_id") != fingerprint(embedded):
            return False, "INVALID: the key id does not name the embedded public key"
        signed = signed_bytes(bundle)
    except (ValueError, TypeError, KeyError, AttributeError):
        return False, "malformed signature member"
    if not _holds(embedded, value, signed):
        return False, "INVALID: the bundle was changed after it was signed"
    if trusted is not None and not _holds(trusted, value, signed):
        # Intact under the key it names, which is not the one the reader trusts.
        return False, (
            f"NOT BY YOUR KEY: unchanged since signed by key {fingerprint(embedded)}, not by "
            f"the key you gave ({fingerprint(trusted)})"
        )
    if trusted is None:
        return True, f"valid, by key {fingerprint(embedded)} (pass --key to check who signed)"
    return True, f"valid, by trusted key {fingerprint(trusted)}"
