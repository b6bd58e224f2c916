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
        help="private key file (default: $XDG_CONFIG_HOME/slawatch/keys/AGENT.key, AGENT "
        "being [agent] name; never inside the database folder); the public key is FILE.pub",
    )
    init.set_defaults(handler=_init)


def _init(args: argparse.Namespace, ctx: Context) -> int:
    from slawatch.signing import (
        check_outside,
        default_key_path,
        fingerprint,
        generate,
        public_path,
    )

    path = (
        Path(args.out).expanduser().absolute()
        if args.out
        else default_key_path(ctx.config.agent.name)
    )
    check_outside(path, ctx.config)
    pub = generate(path)
    print(f"private key: {path} (keep it secret; mode 0600)")
    print(f"public key:  {public_path(path)} (give it to whoever checks your claims)")
    print(f"fingerprint: {fingerprint(pub)}")
    return 0
