"""``slawatch claim export`` and ``slawatch claim verify``: evidence a customer can check.

``export`` writes one self-contained bundle (or a claim letter with
``--format md|html``); ``verify`` recomputes everything from the bundle alone,
with no config and no database: exit 0 when every figure, minute and link
holds, 1 naming what disagrees, 2 for a file that is not a bundle.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InputError
from core.timeutil import YearMonth, from_minute, iso_z, to_minute
from slawatch.commands._args import Subparsers, group, month_option, service_option
from slawatch.commands._support import run

if TYPE_CHECKING:
    from core.claim import Check
    from slawatch.cli import Context


def register(sub: Subparsers) -> None:
    actions = group(sub, "claim", "export or verify a month's credit claim evidence")
    ex = actions.add_parser("export", help="write the evidence bundle for one month")
    service_option(ex)
    month_option(ex)
    ex.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    ex.add_argument(
        "--format",
        choices=("json", "md", "html"),
        default="json",
        help="json: the bundle (default); md/html: the claim letter for people",
    )
    ex.add_argument("--sign", metavar="KEYFILE", help="sign the bundle with this Ed25519 key")
    ex.add_argument(
        "--provisional",
        action="store_true",
        help="export a month not yet over (its figures may still change; the letter says so)",
    )
    ex.set_defaults(handler=_export)
    ve = actions.add_parser("verify", help="recompute a claim from its bundle alone")
    ve.add_argument("file", metavar="FILE")
    ve.add_argument("--key", metavar="PUBFILE", help="require a signature by this public key")
    ve.set_defaults(handler=_verify)


def _export(args: argparse.Namespace, ctx: Context) -> int:
    from core import bundle
    from reads.reports import service_of
    from slawatch import claims, signing
    from store import open_store

    config = ctx.config
    service = service_of(config, args.service).name
    month = YearMonth.parse(args.month, "--month")
    if args.sign and args.format != "json":
        raise InputError("--sign", "only the JSON bundle is signed; use --format json")
    key = signing.load_private(Path(args.sign).expanduser()) if args.sign else None
    out = Path(args.out).expanduser().absolute()
    now = ctx.now()
    month_end = month.bounds(config.contract_for(service).timezone)[1]
    if to_minute(now) < month_end and not args.provisional:
        raise InputError(
            "--month",
            f"{month} is not over until {iso_z(from_minute(month_end))}: its figures are "
            "provisional; pass --provisional to export them anyway",
        )

    async def gather() -> claims.Exported:
        async with await open_store(config, readonly=True) as store:
            return await claims.gather(store, config, service, month, now)

    exported = run(gather())
    document = exported.document
    if args.format == "json":
        if key is not None:
            document = signing.sign(document, key)
        claims.write_atomic(out, bundle.dumps(document))
    else:
        claims.write_atomic(out, claims.letter(document, args.format, f"{out.stem}.json"))
    r = exported.report
    print(
        f"{out}: {service} {month}: availability {r.availability_percent:.4f} %, "
        f"credit {r.credit_amount:.2f} {r.currency}, claimable "
        f"{r.claimable_credit_amount:.2f} {r.currency}"
        + (" (signed)" if key is not None else "")
        + (" (PROVISIONAL: the month is not over)" if r.provisional else "")
    )
    return 0


def _verify(args: argparse.Namespace, ctx: Context) -> int:
    from core.claim import Check, verify
    from slawatch import claims, signing

    path = Path(args.file).expanduser()
    trusted = signing.load_public(Path(args.key).expanduser()) if args.key else None
    claim, document = claims.read_bundle(path)
    checks = verify(claim)
    holds, said = signing.check(document, trusted)
    checks.append(Check("signature", "signed" if "signature" in document else "-", said, holds))
    print(f"claim {claim.service.name} {claim.month} ({path})")
    _print_checks(checks)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        shown = ", ".join(failed[:8]) + (f" and {len(failed) - 8} more" if len(failed) > 8 else "")
        print(f"DOES NOT HOLD: {len(failed)} check(s) disagree: {shown}")
        return 1
    print(f"HOLDS: all {len(checks)} checks agree")
    return 0


def _print_checks(checks: list[Check]) -> None:
    width = min(max(len(c.name) for c in checks), 40)
    for c in checks:
        if c.ok:
            line = f"{c.name:<{width}}  OK        {c.recomputed}"
        else:
            line = (
                f"{c.name:<{width}}  DIFFERS   bundle states {c.stated}; recomputed {c.recomputed}"
            )
        sys.stdout.write(line.rstrip() + "\n")
