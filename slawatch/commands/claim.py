"""``slawatch claim export|verify|letter``: evidence a customer can check.

``export`` writes one self-contained bundle (or a claim letter with
``--format md|html``); ``verify`` recomputes everything from the bundle alone,
with no config and no database, and says in plain words what that proves:
exit 0 when every figure, minute, link and pin holds (interfaces.md), 1 naming
what disagrees, 2 for a file that is not a bundle. An unsigned bundle that holds
is said to be "self-consistent only" (nothing outside the file vouches for it);
with ``--require-signed`` that is ``EXIT_UNSIGNED`` (3) instead of 0. ``letter`` renders the
claim letter from a received bundle file, bound to it by its SHA-256.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InputError
from core.percent import availability_text, coverage_text
from core.timeutil import YearMonth
from slawatch.commands._args import Subparsers, group, month_option, service_option
from slawatch.commands._support import with_store
from slawatch.files import read_bytes
from slawatch.tables import on_screen, visible

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from core.checkpoint import Signed
    from core.claim import Check
    from core.proof import Pins
    from slawatch.cli import Context

EXIT_UNSIGNED = 3  # every check holds, but the bundle is not signed: self-consistent only
_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")


def register(sub: Subparsers) -> None:
    actions = group(sub, "claim", "export, verify or write the letter of a month's credit claim")
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
        "--vouch",
        action="append",
        default=[],
        metavar="NOTE",
        help="carry a signed checkpoint of a source's own agent (repeat: one per agent), so"
        " each source's records are vouched for by its own key",
    )
    ex.add_argument(
        "--provisional",
        action="store_true",
        help="export a month not yet over (its figures may still change; the letter says so)",
    )
    ex.set_defaults(handler=_export)
    ve = actions.add_parser(
        "verify",
        help="recompute a claim from its bundle alone and say what that proves",
        description="Recompute every figure, outage and hash of a claim bundle, check the "
        "pins given, and say in plain words what is proven and what is not. Exit 0: it "
        "holds (an unsigned bundle is said to be self-consistent only); 1: something "
        "disagrees; 2: not a bundle; 3: with --require-signed, it holds but is not signed.",
        epilog="example: slawatch claim verify claim-portal-2026-10.json --key agent.key.pub "
        "--terms claim-portal-2026-09.json --prev-head agent=3f0c...",
    )
    ve.add_argument("file", metavar="FILE")
    ve.add_argument(
        "--key",
        metavar="[NAME=]PUBFILE",
        action="append",
        default=[],
        help="a public key you trust (repeatable, e.g. each agent's): the bundle must be "
        "signed by one of them; a checkpoint counts when signed by its own agent's key "
        "(a key is bound to the agent NAME, by default its file's: NAME.key.pub)",
    )
    ve.add_argument(
        "--checkpoint",
        metavar="NOTE",
        action="append",
        default=[],
        help="a checkpoint an agent sent you (repeatable): each source's chain must match "
        "the one its own agent signed",
    )
    ve.add_argument(
        "--require-signed",
        action="store_true",
        help="exit 3 (not 0) for an unsigned bundle that holds: it proves only that it "
        "agrees with itself",
    )
    ve.add_argument(  # the default since interfaces.md's exit 0 was restored; kept for scripts
        "--allow-unsigned", action="store_true", help=argparse.SUPPRESS
    )
    ve.add_argument(
        "--terms",
        metavar="FILE",
        help="the agreed service and terms: a bundle (e.g. last month's accepted one) or a "
        'JSON file {"service": ..., "terms": {...}} whose service and terms this one must equal',
    )
    ve.add_argument(
        "--terms-digest",
        metavar="HEX",
        help="the agreed service and terms' SHA-256 (verify prints it)",
    )
    ve.add_argument(
        "--prev-head",
        metavar="[SOURCE=]HEX",
        action="append",
        default=[],
        help="a chain head you hold (last month's): each source's chain (or SOURCE's) must "
        "continue from it; repeatable",
    )
    ve.add_argument("--sources", metavar="NAME,...", help="the agreed sources: no more, no fewer")
    ve.add_argument(
        "--tsr",
        metavar="TSR",
        help="an RFC 3161 token over the bundle file (slawatch timestamp get); needs --tsa-ca",
    )
    ve.add_argument("--tsa-ca", metavar="PEM", help="the time-stamping authority's CA")
    ve.set_defaults(handler=_verify)
    le = actions.add_parser(
        "letter",
        help="the claim letter (md or html) from a received bundle file",
        description="Render the claim letter from a bundle file alone (not the live "
        "database): both parties, the contract, the period, the credit and how it is to be "
        "applied, bound to the bundle by its SHA-256, each source's chain head and the "
        "signing key.",
        epilog="example: slawatch claim letter claim-portal-2026-10.json --format html "
        "--out letter.html",
    )
    le.add_argument("bundle", metavar="BUNDLE")
    le.add_argument("--format", choices=("md", "html"), default="md", help="md (default) or html")
    le.add_argument("--out", metavar="FILE", help="write the letter here (default: stdout)")
    le.set_defaults(handler=_letter)


def _export(args: argparse.Namespace, ctx: Context) -> int:
    from core import bundle
    from reads.reports import service_of
    from slawatch import claims, signing

    config = ctx.config
    service = service_of(config, args.service).name
    month = YearMonth.parse(args.month, "--month")
    if args.sign and args.format != "json":
        raise InputError("--sign", "only the JSON bundle is signed; use --format json")
    key = None
    if args.sign:
        key_path = Path(args.sign).expanduser().absolute()
        signing.check_outside(key_path, config)
        key = signing.load_private(key_path)
    out = Path(args.out).expanduser().absolute()
    now = ctx.now()
    if not args.provisional:
        claims.require_month_over(
            config, service, month, now, "--month", "pass --provisional to export them anyway"
        )

    exported = with_store(
        config, lambda store: claims.gather(store, config, service, month, now), readonly=True
    )
    document = exported.document
    if args.vouch:
        if args.format != "json":
            raise InputError("--vouch", "only the JSON bundle carries notes; use --format json")
        document = {**document, "vouching": [_note(n) for n in args.vouch]}
    if args.format == "json":
        if key is not None:
            document = signing.sign(document, key)
        claims.write_atomic(out, bundle.dumps(document))
    else:
        claims.write_atomic(out, claims.letter(document, args.format, f"{out.stem}.json"))
    r = exported.report
    said = (
        f"{out}: {service} {month}: availability {availability_text(r.availability_percent)}, "
        f"credit {r.credit_amount:.2f} {r.currency}, claimable "
        f"{r.claimable_credit_amount:.2f} {r.currency}"
        + (" (signed)" if key is not None else "")
        + (" (PROVISIONAL: the month is not over)" if r.provisional else "")
        + (
            f" (LOW COVERAGE: only {coverage_text(r.coverage_percent)} of the month's minutes"
            " recorded, the rest counted as "
            + (
                "excluded)"
                if exported.claim.contract.unknown_minutes == "excluded"
                else "available)"
            )
            if r.coverage_low
            else ""
        )
    )
    print(on_screen(said, then="  "))
    return 0


def _note(name: str) -> str:
    """A signed checkpoint note to carry in a bundle, read and checked for its form."""
    from core import checkpoint

    try:
        text = Path(name).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or exc
        raise InputError(name, f"cannot read: {why}") from None
    checkpoint.read_note(text, name)
    return text


def _carried(
    path: Path, document: dict[str, Any], keys: list[tuple[str, Ed25519PublicKey]]
) -> tuple[Signed, ...]:
    """The notes the bundle carries (``vouching``), each opened with the key of the agent
    it names; one signed by none of them, or not holding, is said and left out."""
    from core import checkpoint

    out = []
    for i, text in enumerate(document.get("vouching", [])):
        where = f"{path.name}: vouching[{i}]"
        try:
            out.append(checkpoint.open_note(text, where, keys))
        except InputError as exc:
            print(visible(f"{exc.where}: {exc.what}: not counted"))
    return tuple(out)


def _pins(args: argparse.Namespace) -> Pins:
    from core.bundle import terms_digest
    from core.claimjson import View, decode
    from core.proof import Pins

    digest = None
    if args.terms_digest is not None:
        digest = args.terms_digest.lower()
        if not _HEX64.match(digest):
            raise InputError("--terms-digest", "must be 64 hex digits (a SHA-256)")
    if args.terms is not None:
        path = Path(args.terms).expanduser()
        root = View.root(decode(read_bytes(path), str(path)), str(path))
        root.obj("terms")
        from_file = terms_digest({"service": root.text("service"), "terms": root.data["terms"]})
        if digest is not None and digest != from_file:
            raise InputError("--terms-digest", f"disagrees with the terms in {path}")
        digest = from_file
    heads: dict[str, str] = {}
    for item in args.prev_head:
        name, _, head = item.rpartition("=")
        if not _HEX64.match(head.lower()):
            raise InputError("--prev-head", f"{item!r} is not [SOURCE=]HEX (64 hex digits)")
        heads[name] = head.lower()
    sources = None
    if args.sources is not None:
        sources = frozenset(n.strip() for n in args.sources.split(",") if n.strip())
        if not sources:
            raise InputError("--sources", "names no source; give the agreed ones: NAME,...")
    return Pins(digest, heads, sources, _timestamp(args))


def _checkpoints(
    files: list[str], keys: list[tuple[str, Ed25519PublicKey]]
) -> tuple[Signed, ...] | None:
    """The checkpoints given, each opened with one of ``keys`` (each bound to the agent it
    signs for); a note signed by none of them, or by one agent's key for another, is
    said and left out (its source then reads as not vouched for)."""
    from core import checkpoint

    if not files:
        return None
    if not keys:
        raise InputError("--checkpoint", "needs --key: the public keys that sign checkpoints")
    held = []
    for name in files:
        try:
            text = Path(name).expanduser().read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise InputError(name, f"cannot read: {why}") from None
        try:
            held.append(checkpoint.open_note(text, name, keys))
        except checkpoint.UnknownSigner as exc:
            print(visible(f"{name}: {exc.what}: not counted"))
    return tuple(held)


def _timestamp(args: argparse.Namespace) -> tuple[str, str] | None:
    """``--tsr`` checked against the bundle file and ``--tsa-ca``: (time, authority);
    ("", why) when the token does not hold (exit 1 through the ``timestamp`` check)."""
    if (args.tsr is None) != (args.tsa_ca is None):
        raise InputError("--tsr", "--tsr and --tsa-ca go together")
    if args.tsr is None:
        return None
    from rfc3161_client import VerificationError

    from core.corroboration import at_text
    from slawatch import timestamps

    roots = timestamps.load_roots(Path(args.tsa_ca).expanduser())
    tsr = Path(args.tsr).expanduser()
    data, token = read_bytes(Path(args.file).expanduser()), read_bytes(tsr)
    try:
        stamp = timestamps.check(data, token, roots, str(tsr))
    except VerificationError as exc:
        return "", str(exc)
    return at_text(stamp.at), stamp.tsa


def _verify(args: argparse.Namespace, ctx: Context) -> int:
    from core.bundle import terms_digest
    from core.claim import Check, verify
    from core.outages import reporting_rule
    from core.proof import Signature, checkpoint_checks, lines, pin_checks, statement
    from slawatch import claims, signing

    path = Path(args.file).expanduser()
    named = [signing.load_named_public(k) for k in args.key]
    keys = [k for _, k in named]
    held = _checkpoints(args.checkpoint, named)
    claim, document = claims.read_bundle(path)
    if document.get("vouching") and named:  # each source's own agent, in the bundle
        held = (held or ()) + _carried(path, document, named)
    elif document.get("vouching"):
        print(f"vouching: {len(document['vouching'])} signed note(s) carried; give each agent's"
              " public key (--key) to check them")  # fmt: skip
    pins = replace(_pins(args), checkpoints=held)
    checks = verify(claim)
    checks += pin_checks(claim, document, pins)
    checks += checkpoint_checks(claim, pins)
    # The key the signature names, when it is one of those given; else the first.
    said_key = signing.signer(document)
    trusted = next(
        (k for k in keys if signing.fingerprint(k) == said_key), keys[0] if keys else None
    )
    state, holds, said = signing.assess(document, trusted)
    signed = state != "unsigned"
    checks.append(Check("signature", "signed" if signed else "-", said, holds))
    if pins.timestamp is not None:
        when, tsa = pins.timestamp
        if when:
            checks.append(Check("timestamp", args.tsr, f"existed by {when} ({tsa})", True))
        else:  # the token does not vouch for these bytes under that CA
            checks.append(Check("timestamp", args.tsr, f"DOES NOT HOLD: {tsa}", False))
            pins = replace(pins, timestamp=None)
    told = statement(
        claim,
        Signature(
            state,
            signing.signer(document),
            trusted is not None,
            other_than=(
                signing.fingerprint(trusted)
                if trusted is not None and not holds and signing.intact(document)
                else None
            ),
        ),
        pins,
        len(document.get("vouching") or ()),
    )
    print(on_screen(visible(f"claim {claim.service.name} {claim.month} ({path})"), then="  "))
    rule = reporting_rule(claim.contract.report_within, claim.contract.report_channels)
    print(on_screen(visible(f"claimable: outages {rule}"), then="  "))
    if claim.band_reading is not None:  # a version 2 bundle: from 0 or from 1
        print(on_screen(visible(claim.band_reading), then="  "))
    _print_checks(checks)
    print(on_screen(f"terms digest: {terms_digest(document)} (the service and its terms)"))
    for line in lines(told):
        print(on_screen(visible(line), then="    "))
    failed = [c.name for c in checks if not c.ok]
    if failed:
        shown = ", ".join(failed[:8]) + (f" and {len(failed) - 8} more" if len(failed) > 8 else "")
        print(on_screen(visible(f"DOES NOT HOLD: {len(failed)} check(s) disagree: {shown}")))
        return 1
    if not signed:
        strict = args.require_signed and not args.allow_unsigned
        print(
            on_screen(
                f"HOLDS, SELF-CONSISTENT ONLY: all {len(checks)} checks agree, but the bundle "
                "is not signed: nothing outside this file vouches for it"
                + (f" (exit {EXIT_UNSIGNED}: --require-signed)" if strict else "")
            )
        )
        return EXIT_UNSIGNED if strict else 0
    print(f"HOLDS: all {len(checks)} checks agree")
    return 0


def _letter(args: argparse.Namespace, ctx: Context) -> int:
    from slawatch import claims

    path = Path(args.bundle).expanduser()
    try:
        text = claims.letter_from_file(path, args.format)
    except claims.DoesNotHold as exc:
        shown = ", ".join(exc.failed[:8]) + (" and more" if len(exc.failed) > 8 else "")
        print(
            f"slawatch: {path}: does not hold ({len(exc.failed)} check(s) disagree: {shown});"
            f" no letter written: `slawatch claim verify {path}` shows why",
            file=sys.stderr,
        )
        return 1
    if args.out is None:
        sys.stdout.write(text)  # its control characters escaped (``letter.render``)
        return 0
    out = Path(args.out).expanduser().absolute()
    claims.write_atomic(out, text)
    print(f"{out}: the claim letter for {path.name}")
    return 0


def _print_checks(checks: list[Check]) -> None:
    """One line per check (on a terminal, a long finding wraps under its own column)."""
    width = min(max(len(c.name) for c in checks), 40)
    for c in checks:
        if c.ok:
            line = f"{c.name:<{width}}  OK        {c.recomputed}"
        else:
            line = (
                f"{c.name:<{width}}  DIFFERS   bundle states {c.stated}; {c.against} {c.recomputed}"
            )
        sys.stdout.write(on_screen(visible(line.rstrip()), then=" " * (width + 12)) + "\n")
