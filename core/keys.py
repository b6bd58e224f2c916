"""An agent's Ed25519 signing key: where it lives by default, and reading its PEM.

One rule for the CLI (``slawatch key init``, ``claim export --sign``,
``checkpoint make``) and the agent (its checkpoints). Pure: the environment,
the home folder and the file's bytes are passed in; reading the file is the
caller's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core.errors import InputError


def default_key_path(agent: str, env: Mapping[str, str], home: Path) -> Path:
    """``$XDG_CONFIG_HOME/slawatch/keys/AGENT.key`` (``HOME/.config`` when unset): outside
    the database folder, so a copy of the data does not carry the means to re-sign it."""
    base = env.get("XDG_CONFIG_HOME") or str(home / ".config")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in agent).lstrip(".")
    return Path(base) / "slawatch" / "keys" / f"{safe or 'agent'}.key"


def private_from_pem(pem: bytes, where: str) -> Ed25519PrivateKey:
    """The Ed25519 private key in ``pem`` (unencrypted PKCS#8); InputError naming ``where``."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise InputError(where, "not an unencrypted Ed25519 private key (PEM)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(where, "not an Ed25519 private key")
    return key
