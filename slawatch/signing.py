"""Ed25519 keys for signing claim bundles: files on disk, signatures on bundles.

The private key is PKCS#8 PEM, written with mode 0600 inside a 0700 folder and
never overwritten; the public key (SubjectPublicKeyInfo PEM) sits next to it
with ``.pub`` appended, to hand to whoever checks the claims. A signature
covers the bundle's canonical JSON without its ``signature`` member
(``core.claim.signed_bytes``), so any change to any figure, minute or term
breaks it.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.bundle import signed_bytes
from core.errors import InputError

KEY_NAME = "agent.key"
ALGORITHM = "ed25519"


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


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(str(path), f"cannot read: {exc.strerror or exc}") from None


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError):
        raise InputError(str(path), "not an unencrypted Ed25519 private key (PEM)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(str(path), "not an Ed25519 private key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(_read(path))
    except (ValueError, TypeError):
        raise InputError(str(path), "not an Ed25519 public key (PEM)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(str(path), "not an Ed25519 public key")
    return key


def sign(bundle: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The bundle with a ``signature`` member over everything else."""
    body = {k: v for k, v in bundle.items() if k != "signature"}
    pub = key.public_key()
    raw_pub = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    body["signature"] = {
        "algorithm": ALGORITHM,
        "public_key": base64.b64encode(raw_pub).decode(),
        "key_fingerprint": fingerprint(pub),
        "value": base64.b64encode(key.sign(signed_bytes(body))).decode(),
    }
    return body


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
        embedded = Ed25519PublicKey.from_public_bytes(
            base64.b64decode(sig["public_key"], validate=True)
        )
        value = base64.b64decode(sig["value"], validate=True)
    except (ValueError, TypeError, KeyError):
        return False, "malformed signature member"
    key = trusted or embedded
    try:
        key.verify(value, signed_bytes(bundle))
    except InvalidSignature:
        who = "the trusted key" if trusted else "the key it names"
        return False, f"INVALID: bundle changed after signing, or not signed by {who}"
    if trusted is None:
        return True, f"valid, by key {fingerprint(embedded)} (pass --key to check who signed)"
    return True, f"valid, by trusted key {fingerprint(trusted)}"
