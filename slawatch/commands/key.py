"""``slawatch key init``: the agent's Ed25519 key pair for signing claim bundles."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from slawatch.commands._args import Subparsers, group

if TYPE_CHECKING:
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    init = group(sub, "key", "the key that signs claim bundles").add_parser(
        "init", help="generate the signing key pair"
    )
    init.add_argument(
        "--out",
        metavar="FILE",
        help="private key file (default: keys/agent.key next to the database); "
        "the public key is written to FILE.pub",
    )
    init.set_defaults(handler=_init)


def default_key_path(ctx: Context) -> Path:
    """keys/agent.key in the database's folder."""
    from slawatch.signing import KEY_NAME

    return ctx.config.storage_path.parent / "keys" / KEY_NAME


def _init(args: argparse.Namespace, ctx: Context) -> int:
    from slawatch.signing import fingerprint, generate, public_path

    path = Path(args.out).expanduser().absolute() if args.out else default_key_path(ctx)
    pub = generate(path)
    print(f"private key: {path} (keep it secret; mode 0600)")
    print(f"public key:  {public_path(path)} (give it to whoever checks your claims)")
    print(f"fingerprint: {fingerprint(pub)}")
    return 0
