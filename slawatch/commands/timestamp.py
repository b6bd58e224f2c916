"""``slawatch timestamp get|verify``: RFC 3161 timestamps over a bundle or a checkpoint.

``get`` asks a time-stamping authority for a token over a file's exact bytes
and keeps it beside the file (``FILE.tsr``); ``verify`` checks such a token
against the file and the TSA's CA certificate: exit 0 when the file existed,
byte for byte, no later than the token's time; 1 when the token does not hold
for these bytes (the file changed since) or these CAs; 2 for unreadable input.
See ``slawatch/timestamps.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InputError
from slawatch.commands._args import Subparsers, group
from slawatch.files import read_bytes

if TYPE_CHECKING:
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    commands = group(sub, "timestamp", "RFC 3161 timestamps over a claim bundle or a checkpoint")
    g = commands.add_parser(
        "get",
        help="ask a time-stamping authority for a token over FILE's exact bytes",
        description="Send FILE's SHA-256 to the RFC 3161 time-stamping authority at --tsa"
        " (with a fresh nonce), check its answer, and keep the token as FILE.tsr (or --out)."
        " Example: slawatch timestamp get claim-portal-2026-10.json --tsa"
        " https://tsa.example/tsr",
    )
    g.add_argument("file", metavar="FILE")
    g.add_argument("--tsa", required=True, metavar="URL", help="the authority's HTTP(S) URL")
    g.add_argument("--out", metavar="TSR", help="where to keep the token (default: FILE.tsr)")
    g.set_defaults(handler=_get)
    v = commands.add_parser(
        "verify",
        help="check that FILE is, byte for byte, what a timestamp token vouches for",
        description="Check the token (FILE.tsr or --tsr) against FILE and the TSA's CA"
        " certificate(s) in --ca: exit 0 when FILE existed unchanged no later than the"
        " token's time, 1 when it does not hold. Example: slawatch timestamp verify"
        " claim-portal-2026-10.json --ca tsa-ca.pem",
    )
    v.add_argument("file", metavar="FILE")
    v.add_argument("--tsr", metavar="TSR", help="the token (default: FILE.tsr)")
    v.add_argument("--ca", required=True, metavar="PEM", help="the TSA's CA certificate(s)")
    v.set_defaults(handler=_verify)


def _get(args: argparse.Namespace, ctx: Context) -> int:
    from slawatch import timestamps
    from slawatch.claims import write_atomic

    path = Path(args.file).expanduser()
    if not args.tsa.startswith(("http://", "https://")):
        raise InputError("--tsa", f"{args.tsa!r} is not an http(s) URL")
    token = timestamps.request(read_bytes(path), args.tsa)
    out = Path(args.out).expanduser() if args.out else path.with_name(path.name + ".tsr")
    write_atomic(out.absolute(), token)
    print(f"{out}: RFC 3161 token over {path.name} (SHA-256 of its bytes) from {args.tsa}")
    return 0


def _verify(args: argparse.Namespace, ctx: Context) -> int:
    from rfc3161_client import VerificationError

    from core.corroboration import at_text
    from slawatch import timestamps

    path = Path(args.file).expanduser()
    tsr = Path(args.tsr).expanduser() if args.tsr else path.with_name(path.name + ".tsr")
    roots = timestamps.load_roots(Path(args.ca).expanduser())
    try:
        stamp = timestamps.check(read_bytes(path), read_bytes(tsr), roots, str(tsr))
    except VerificationError as exc:
        print(f"{path}: DOES NOT HOLD: the token {tsr.name} does not vouch for these bytes"
              f" under the CA given ({exc})")  # fmt: skip
        return 1
    print(
        f"{path}: HOLDS: existed, byte for byte (SHA-256 {stamp.sha256}), no later than"
        f" {at_text(stamp.at)}, timestamped by {stamp.tsa} (serial {stamp.serial})"
    )
    return 0
