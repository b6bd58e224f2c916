"""Claim export and verification: the I/O around ``core.claim``.

``export`` gathers one month from the store (the same month ``report`` shows,
stretched to the true edges of any outage crossing the month), builds the
bundle, and writes it atomically (temp file in the same folder, fsync,
rename): a reader never sees half a bundle and a failed export leaves nothing.
``verify_file`` reads a bundle with no config and no database.
The claim letter (``--format md|html``) is rendered from the bundle alone.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from core import bundle
from core import claim as model
from core.audit import audit_proof
from core.config import Config
from core.errors import InputError
from core.month import MonthReport
from core.status import DEGRADED, DOWN
from core.timeutil import YearMonth, from_minute, iso_z, to_minute
from reads.reports import month_inputs, service_of
from slawatch.files import read_bytes
from slawatch.letter import Evidence, render
from store import Store


@dataclass(frozen=True)
class Exported:
    claim: model.Claim
    report: MonthReport
    document: dict[str, Any]


READ_TRIES = 3  # a store written while it is read (a live agent, a fleet): read again


async def gather(
    store: Store, config: Config, service: str, month: YearMonth, now: datetime
) -> Exported:
    """Build one month's claim from the store; its figures are ``report``'s.

    The month is read once (``month_inputs``: minutes, windows, cases) and
    computed once; the hash-chain evidence is read for the claim's span (the
    month stretched to its outages' true edges), and its minutes must be the
    ones the month was computed from. The two reads are two queries: an agent
    (in a fleet, any of them) recording a minute between them makes them differ,
    and the month is read again, up to ``READ_TRIES`` times.
    """
    service_of(config, service)
    for _ in range(READ_TRIES):
        exported = await _gather_once(store, config, service, month, now)
        if exported is not None:
            return exported
    # Read that often and never the same: a bug in slawatch, never the user's to fix.
    raise RuntimeError(f"claim for {service} {month} disagrees with 'slawatch report'")


async def _gather_once(
    store: Store, config: Config, service: str, month: YearMonth, now: datetime
) -> Exported | None:
    """``gather``'s one read; None when the minutes changed between its two reads."""
    inputs = await month_inputs(store, config, service, month)
    report = inputs.compute(now)  # as of the export: provisional, ongoing
    m_start, m_end = inputs.bounds
    span = (
        min([m_start, *(to_minute(o.start) for o in report.outages)]),
        max([m_end, *(to_minute(o.end) for o in report.outages)]),
    )
    sources = await store.evidence(service, *model.record_hours(span))
    claim = model.build(
        service=inputs.service,
        contract=inputs.contract,
        month=month,
        span=span,
        windows=inputs.windows_in(*span),
        cases=inputs.cases,
        sources=sources,
        generated_at=now,
        report=report,
        customer=config.customer,
        provider=config.provider,
        tzdata=tzdata_version(),
    )
    outages = [(to_minute(o.start), to_minute(o.end)) for o in report.outages]
    recorded = model.span_bytes(claim)
    failing = [  # the failing requests of the outage minutes, for the provider to look up
        (e.source, e.minute, e.seen)
        for e in await store.evidence_between(service, *span)
        if any(a <= e.minute < b for a, b in outages)
        and recorded.get(e.source, b"")[e.minute - span[0] : e.minute - span[0] + 1]
        in _FAILED  # the source's own minute failed (not made unknown by the canary)
    ]
    if failing:
        claim = replace(claim, corroboration=tuple(failing))
    corrections = await store.audit_entries(service=service, span=span)
    if corrections:  # a month nobody corrected keeps the bundle it always had
        claim = replace(claim, audit=audit_proof(corrections, await store.audit_leaves()))
    if _known(model.span_bytes(claim)) != _known(inputs.sources_in(*span)):
        return None  # a minute recorded between the two reads (or a bug: see gather)
    return Exported(claim, report, bundle.to_document(claim))


_FAILED = (bytes((DEGRADED,)), bytes((DOWN,)))


def tzdata_version() -> str | None:
    """The IANA tz database version ``zoneinfo`` reads: the first folder of its search
    path holding a ``tzdata.zi`` (``# version 2026a``), else the ``tzdata`` package's."""
    import zoneinfo

    for folder in zoneinfo.TZPATH:
        try:
            with open(os.path.join(folder, "tzdata.zi"), encoding="ascii") as fh:
                first = fh.readline().split()
        except (OSError, UnicodeDecodeError):
            continue
        if len(first) == 3 and first[:2] == ["#", "version"]:
            return first[2]
    try:
        import tzdata  # type: ignore[import-untyped]

        return str(tzdata.IANA_VERSION)
    except (ImportError, AttributeError):
        return None


def _known(sources: dict[str, bytes]) -> dict[str, bytes]:
    """Sources with at least one recorded minute (a source silent in a span is no source)."""
    return {name: data for name, data in sources.items() if data.strip(b"\0")}


def require_month_over(
    config: Config, service: str, month: YearMonth, now: datetime, where: str, instead: str
) -> None:
    """A claim is for a month that is over: before its end (in the contract's time zone)
    the figures are provisional. ``instead`` says how to export them anyway."""
    end = month.bounds(config.contract_for(service).timezone)[1]
    if to_minute(now) < end:
        raise InputError(
            where,
            f"{month} is not over until {iso_z(from_minute(end))}: its figures are "
            f"provisional; {instead}",
        )


async def export_claim(config: Config, service: str, month: YearMonth, now: datetime) -> str:
    """The dashboard's ``e``: what ``slawatch claim export`` writes, into ``claims/``
    next to the database; returns the one line to show. A month not over is refused,
    as the command refuses it without ``--provisional``."""
    from store import open_store

    require_month_over(
        config, service, month, now, "export",
        f"slawatch claim export --service {service} --month {month} --provisional"
        " exports them anyway",
    )  # fmt: skip

    folder = config.storage_path.parent / "claims"
    folder.mkdir(mode=0o700, exist_ok=True)
    out = folder / f"claim-{service}-{month}.json"
    async with await open_store(config, readonly=True) as store:
        exported = await gather(store, config, service, month, now)
    write_atomic(out, bundle.dumps(exported.document))
    r = exported.report
    return (
        f"{out}: credit {r.credit_amount:.2f} {r.currency},"
        f" claimable {r.claimable_credit_amount:.2f} {r.currency}"
    )


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write ``text`` (or bytes) to ``path`` via a temp file and rename: all of it or
    nothing."""
    folder = path.parent
    if not folder.is_dir():
        raise InputError("--out", f"folder {str(folder)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise InputError("--out", f"cannot write in {str(folder)!r}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError("--out", f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def letter(document: dict[str, Any], fmt: str, source_name: str = "this bundle") -> str:
    """The claim letter for people, from a bundle document (as ``claim export`` would
    write it: the digest named is that file's)."""
    return _letter(bundle.dumps(document).encode(), fmt, source_name)


class DoesNotHold(Exception):
    """A received bundle whose figures, outages or chains do not recompute: no letter
    can say what its evidence proves (``claim verify`` shows each difference)."""

    def __init__(self, failed: list[str]) -> None:
        super().__init__(", ".join(failed))
        self.failed = failed


def letter_from_file(path: Path, fmt: str) -> str:
    """The claim letter for a received bundle file, bound to its exact bytes.
    ``DoesNotHold`` when the bundle's own figures, outages or chains do not recompute
    (a signature that does not hold is said in the letter)."""
    data = read_bytes(path, limit=bundle_limit())
    return _letter(data, fmt, path.name, where=str(path), check=True)


def _letter(
    data: bytes, fmt: str, name: str, where: str | None = None, *, check: bool = False
) -> str:
    from core.claim import verify
    from core.proof import Pins, Signature, statement
    from slawatch import signing

    claim, document = bundle.parse(data, where or name)
    if check:
        failed = [c.name for c in verify(claim) if not c.ok]
        if failed:
            raise DoesNotHold(failed)
    state, _, _ = signing.assess(document, None)
    key_id = signing.signer(document) if state == "valid" else None
    evidence = Evidence(
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        terms_digest=bundle.terms_digest(document),
        signature=state,
        key_id=key_id,
        statement=statement(
            claim, Signature(state, key_id), Pins(), len(document.get("vouching") or ())
        ),
    )
    return render(claim, model.compute(claim), fmt, evidence)


def read_bundle(path: Path) -> tuple[model.Claim, dict[str, Any]]:
    """A bundle file, strictly parsed (InputError naming the file for anything else)."""
    return bundle.parse(read_bytes(path, limit=bundle_limit()), str(path))


def bundle_limit() -> int:
    from core.claimjson import MAX_BYTES

    return MAX_BYTES
