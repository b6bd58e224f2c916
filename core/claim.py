"""Claim bundles: the model, the month they claim, and their verification.

A claim (``Claim``) holds one month's evidence that anyone can re-check with no
database: the terms, the span of minutes the computation covers, the windows,
the cases, every source's recorded hours with their hash chain, and the figures
and outages slawatch computed. Its file form (JSON, the strict reader and the
writer) is ``core.bundle``.

:func:`build` makes a claim from stored data and the month computed from it;
:func:`verify` recomputes the figures and outages from the minutes and terms
with the very same rules (``core.month.compute_month``), re-hashes every hour
and walks the links, and returns one :class:`Check` per figure, outage, source
and chain (plus the problems ``core.bundle.parse`` found while reading);
:func:`days` is the month day by day for the claim letter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from core import chain
from core.audit import AuditProof, entry_included
from core.calendar import report_by
from core.cases import Case
from core.chain import SourceRecords
from core.config import Contract, Party, ReportWithin, Service
from core.corroboration import Corroboration
from core.errors import InputError
from core.month import MonthEvidence, MonthReport, combine_sources
from core.outages import run_table
from core.status import DEGRADED, DOWN
from core.timeutil import YearMonth, from_minute, iso_z, parse_instant, to_minute
from core.windows import Window, weekly_windows

_MONEY_RE = re.compile(r"^-?[0-9]{1,15}\.[0-9]{2}$")


# -- the model ------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    service: Service
    contract: Contract
    month: YearMonth
    span: tuple[int, int]  # [start, end) epoch minutes the computation covers
    windows: tuple[Window, ...]  # one-off maintenance and exclusions
    cases: tuple[Case, ...]
    sources: tuple[SourceRecords, ...]
    figures: Mapping[str, Any]  # the report JSON as stated
    outages: tuple[Mapping[str, Any], ...]  # the outages JSON as stated
    generated_at: datetime
    weekly: tuple[Window, ...] = ()  # weekly maintenance expanded over the span, as stated
    problems: tuple[Check, ...] = field(default=(), compare=False)  # found while reading
    customer: Party | None = None  # ``[customer]`` of the exporting config
    provider: Party | None = None  # ``[provider]``
    tzdata: str | None = None  # the IANA tz database version the month was computed with
    # The audit trail's entries touching this service and span (corrections: windows
    # added or removed, replaced minutes, case edits...), with inclusion proofs; None
    # when there are none (the bundle then has no ``audit`` member).
    audit: AuditProof | None = None
    # Failing requests of the outage minutes, with what the provider can look up in its
    # own logs, per source (``core.corroboration``); empty: no ``corroboration`` member.
    # (source, minute filed under, the request): the last attempt may be sent later.
    corroboration: tuple[tuple[str, int, Corroboration], ...] = ()
    # How a version 2 bundle's band numbers were read, from 0 or from 1 (``read_bands``:
    # one line); None when the bundle says how it counts them (version 3: from 1).
    band_reading: str | None = None


@dataclass(frozen=True)
class Check:
    """One thing verification compared: what the bundle states, what it recomputed
    (or, for a pin, what the verifier gave: ``against`` says which)."""

    name: str
    stated: str
    recomputed: str
    ok: bool
    against: str = "recomputed"


# -- computing ------------------------------------------------------------------


def record_hours(span: tuple[int, int]) -> tuple[int, int]:
    """[first, last) UTC hours of records a bundle carries for ``span``: every hour the
    span touches, and the minute on either side of it, so a reader can see that the
    span does not start or end inside a run of down minutes."""
    return (span[0] - 1) // 60, -(-(span[1] + 1) // 60)


def span_bytes(claim: Claim, start: int | None = None, end: int | None = None) -> dict[str, bytes]:
    """Each source's status bytes over [start, end) (default: the claim's span; 0 where
    nothing was recorded)."""
    start = claim.span[0] if start is None else start
    end = claim.span[1] if end is None else end
    out: dict[str, bytes] = {}
    for src in claim.sources:
        buf = bytearray(end - start)
        for h in src.hours:
            base = h.hour * 60 - start
            lo, hi = max(0, -base), min(60, end - start - base)
            if lo < hi:
                buf[base + lo : base + hi] = h.status[lo:hi]
        out[src.name] = bytes(buf)
    return out


def compute(claim: Claim) -> MonthReport:
    """The month, recomputed from the claim's own minutes and terms by the core rules."""
    # provisional and ongoing as of the export
    return month_evidence(claim).report(claim.cases, to_minute(claim.generated_at))


def month_evidence(claim: Claim) -> MonthEvidence:
    """The claim's minutes and terms as the core rules read them."""
    return MonthEvidence(
        claim.service, claim.contract, claim.month, claim.span[0], span_bytes(claim), claim.windows
    )


#: The figures that number a band: from 1 (the top band) since bundle version 3.
BAND_KEYS = ("band", "claimable_band")


def read_bands(claim: Claim) -> Claim:
    """A version 2 claim with its band numbers as this version counts them (from 1), and
    ``band_reading`` saying how they were read (one line, which ``claim verify`` prints).

    Version 2 does not say how it counts: bundles made before 6 December 2026 counted
    from 0, those made from then until version 3 counted from 1. They are read the way
    the bundle's own figures are consistent with: a stated band 0 anywhere is counted
    from 0; else, when every stated band number is the recomputed one counted from 1,
    from 1; else from 0 (each number plus 1), so a difference is named as it always was.
    Only ``BAND_KEYS`` are read differently: the credit percent and money are stated
    and checked as they are, recomputed from the minutes and terms, whatever the reading.
    """
    said = "version 2 bundle: band numbers read as counted from"
    stated = {k: claim.figures.get(k, "(missing)") for k in BAND_KEYS}
    whole = {k: v for k, v in stated.items() if isinstance(v, int) and not isinstance(v, bool)}
    if 0 in whole.values():
        why = "it states a band 0"
    else:
        recomputed = compute(claim).to_json()
        if all(same(v, recomputed[k]) for k, v in stated.items()):
            why = "its stated band numbers are the recomputed ones counted from 1"
            return replace(claim, band_reading=f"{said} 1 ({why})")
        why = "its stated band numbers are not the recomputed ones counted from 1"
    figures = {**claim.figures, **{k: v + 1 for k, v in whole.items()}}
    return replace(claim, figures=figures, band_reading=f"{said} 0 ({why}); shown below plus 1")


def relevant_cases(
    cases: Sequence[Case], span: tuple[int, int], within: ReportWithin
) -> list[Case]:
    """The cases that can report an outage inside ``span`` (rule 8): linked to a span
    overlapping it, or opened from its start to ``within`` after its end."""
    first, last = from_minute(span[0]), report_by(within, from_minute(span[1]))
    return [c for c in cases if c.links_overlap(*span) or first <= c.opened_at <= last]


def build(
    *,
    service: Service,
    contract: Contract,
    month: YearMonth,
    span: tuple[int, int],
    windows: Sequence[Window],
    cases: Sequence[Case],
    sources: Sequence[SourceRecords],
    generated_at: datetime,
    report: MonthReport,
    customer: Party | None = None,
    provider: Party | None = None,
    tzdata: str | None = None,
) -> Claim:
    """A claim from stored data and the month computed from the same minutes
    (``report``: what ``slawatch report`` shows, which verify recomputes)."""
    draft = Claim(
        service=service,
        contract=contract,
        month=month,
        span=span,
        windows=tuple(sorted(windows)),
        cases=tuple(sorted(relevant_cases(cases, span, contract.report_within), key=_case_key)),
        sources=tuple(sorted(sources, key=lambda s: s.name)),
        figures={},
        outages=(),
        generated_at=generated_at,
        weekly=tuple(weekly_windows(service.maintenance, contract.timezone, *span)),
        customer=customer,
        provider=provider,
        tzdata=tzdata,
    )
    # A chain's neighbours outside the carried hours are stated only where they show
    # that an outage at the span's edge begins or ends where the records do; other
    # bundles stay as they were.
    marks = _marks(draft, span[0] - 1, span[1] + 1)
    keep_before = marks[:2] == b"?D"
    keep_after = marks[-2:] == b"D?"
    draft = replace(
        draft,
        sources=tuple(
            replace(
                src,
                before=src.before if keep_before else None,
                after=src.after if keep_after else None,
            )
            for src in draft.sources
        ),
    )
    return Claim(
        **{
            **draft.__dict__,
            "figures": report.to_json(),
            "outages": tuple(o.to_json() for o in report.outages),
        }
    )


def _case_key(case: Case) -> tuple[datetime, int]:
    return case.opened_at, case.id


# -- verifying ------------------------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def same(a: Any, b: Any) -> bool:
    """Equal JSON values of the same JSON type: ``true`` is not ``1`` and ``25`` is not
    ``25.0`` (Python's ``==`` says both are), so a bundle states each figure as written."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, str) and _MONEY_RE.match(value):
        return Decimal(value)
    return None


def _difference(stated: Any, actual: Any) -> str:
    """`` (bundle +100.00)``: how far a stated number is from the recomputed one."""
    a, b = _number(stated), _number(actual)
    if a is None or b is None or a == b:
        return ""
    return f" (bundle {a - b:+f})"


def verify(claim: Claim) -> list[Check]:
    """Every figure, outage, minute list and chain of the claim, recomputed."""
    checks: list[Check] = []
    report = compute(claim)
    recomputed = json.loads(json.dumps(report.to_json()))
    for key in [*recomputed, *(k for k in claim.figures if k not in recomputed)]:
        stated = claim.figures.get(key, "(missing)")
        actual = recomputed.get(key, "(not computed)")
        shown = _show(actual) + _difference(stated, actual)
        checks.append(Check(key, _show(stated), shown, same(stated, actual)))
    checks += _outage_checks(claim, report)
    expected_weekly = weekly_windows(
        claim.service.maintenance, claim.contract.timezone, *claim.span
    )
    checks.append(
        Check(
            "weekly maintenance windows",
            f"{len(claim.weekly)} listed",
            f"{len(expected_weekly)} from the terms",
            [(w.start, w.end) for w in claim.weekly] == [(w.start, w.end) for w in expected_weekly],
        )
    )
    checks += claim.problems
    checks += edge_checks(claim, report)
    checks += neighbour_checks(claim)
    checks += later_than_generated(claim)
    for src in claim.sources:
        checks.append(_chain_check(claim.service.name, src))
    if claim.audit is not None:
        checks += audit_checks(claim, claim.audit)
    checks += corroboration_checks(claim)
    return checks


_RETRY_MINUTES = 30  # a probe's last attempt is sent at most this long after its minute
_LONGEST_ATTEMPT = timedelta(minutes=61)  # a timeout is at most the interval (at most 1 h)


def corroboration_checks(claim: Claim) -> list[Check]:
    """Each source's failing requests: on minutes that source recorded down or
    degraded (a request said to fail in a minute recorded up contradicts the records)."""
    by_source: dict[str, list[tuple[int, Corroboration]]] = {}
    for source, minute, seen in claim.corroboration:
        by_source.setdefault(source, []).append((minute, seen))
    lo, hi = record_hours(claim.span)
    data = span_bytes(claim, lo * 60, hi * 60)
    out = []
    for source, items in sorted(by_source.items()):
        status = data.get(source)
        if status is None:
            out.append(Check(f"corroboration {source}", f"{len(items)} requests",
                             "no such source in the bundle", False))  # fmt: skip
            continue
        wrong = [
            m for m, s in items
            if not lo * 60 <= m < hi * 60 or status[m - lo * 60] not in (DEGRADED, DOWN)
            or not _sent_for(s, m)
        ]  # fmt: skip
        twice = _listed_again(items)
        said = _requests_said(items)
        if wrong:
            first = iso_z(from_minute(wrong[0]))
            why = f"{len(wrong)} on minutes {source} did not record failing (first {first})"
        elif twice:
            first = iso_z(from_minute(twice[0]))
            why = (f"{len(twice)} listed again as a request listed already, which an agent "
                   f"keeps once, and once more where it failed (first {first})")  # fmt: skip
        else:
            why = f"{said}, each on a minute recorded down or degraded"
        out.append(Check(f"corroboration {source}", said, why, not wrong and not twice))
    return out


def failing_requests(claim: Claim) -> list[tuple[str, Corroboration]]:
    """The claim's failing requests, each once, in bundle order: a request an
    overrunning run kept under two minutes (sent in one, failed in the next with
    ``failed_at``; docs/probes.md) is one request, listed at its first row."""
    return list({(src, seen.at): (src, seen) for src, _, seen in claim.corroboration}.values())


def _requests_said(items: Sequence[tuple[int, Corroboration]]) -> str:
    """``3 failing requests``: one source's distinct requests (as the letter lists them),
    and the rows when a request is also listed under the later minute it failed in."""
    distinct = len({seen.at for _, seen in items})
    said = f"{distinct} failing request{'' if distinct == 1 else 's'}"
    if distinct == len(items):
        return said
    again = len(items) - distinct
    return (f"{said} ({len(items)} rows: {again} also under the later minute "
            f"{'it' if again == 1 else 'they'} failed in)")  # fmt: skip


def _listed_again(items: Sequence[tuple[int, Corroboration]]) -> list[int]:
    """The minutes of one source's rows that repeat a request (its ``at``) beyond what
    an agent keeps: each request once, and (an overrunning run's) once more under the
    later minute it failed in, with ``failed_at`` and otherwise the same. A request
    listed twice without it, failing in two minutes, or with two sets of identifiers
    would count one failure as several."""
    by_request: dict[datetime, list[tuple[int, Corroboration]]] = {}
    for minute, seen in items:
        by_request.setdefault(seen.at, []).append((minute, seen))
    out = []
    for rows in by_request.values():
        late = sum(seen.failed_at is not None for _, seen in rows)
        alike = len({replace(seen, failed_at=None) for _, seen in rows}) == 1
        if len(rows) - late > 1 or late > 1 or not alike:
            out += [minute for minute, _ in rows[1:]]
    return sorted(out)


def _sent_for(seen: Corroboration, minute: int) -> bool:
    """``seen`` can be a request of ``minute``: sent in it or in the retries after it,
    or (``failed_at``, an overrunning run's) sent before it and failed in it."""
    if seen.failed_at is None:
        return 0 <= to_minute(seen.at) - minute <= _RETRY_MINUTES
    return (
        to_minute(seen.failed_at) == minute
        and to_minute(seen.at) < minute
        and seen.failed_at - seen.at <= _LONGEST_ATTEMPT
    )


def audit_checks(claim: Claim, proof: AuditProof) -> list[Check]:
    """Each carried audit entry: about this service and span, and in the stated trail."""
    out: list[Check] = []
    head = proof.head.hex()[:16]
    for entry, path in proof.entries:
        seq = entry.get("seq")
        stated = f"{entry.get('kind')} {entry.get('at')} by {entry.get('actor')}"
        lo, hi = entry.get("from"), entry.get("to")
        ours = entry.get("service") == claim.service.name and (
            isinstance(lo, str) and isinstance(hi, str)
            and to_minute_text(lo) < claim.span[1] and to_minute_text(hi) > claim.span[0]
        )  # fmt: skip
        included = entry_included(entry, path, proof.tree_size, proof.head)
        if not ours:
            why = "is not about this service and span"
        elif not included:
            why = f"not in the trail of {proof.tree_size} entries (head {head}): edited or made up"
        else:
            why = f"in the trail of {proof.tree_size} entries (head {head})"
        out.append(Check(f"audit entry #{seq}", stated, why, ours and included))
    return out


def to_minute_text(text: str) -> int:
    """An ISO instant of an audit entry as an epoch minute (-1 when it is not one)."""
    try:
        return to_minute(parse_instant(text, "audit"))
    except (InputError, ValueError, OverflowError):
        return -1


def _marks(claim: Claim, first: int, last: int) -> bytes:
    """``D`` (down, or degraded when it counts), ``?`` (no record) or ``.`` per minute of
    [first, last): rule 3 across the sources, before any window (rule 8's runs)."""
    combined = combine_sources(span_bytes(claim, first, last).values()) or bytes(last - first)
    table = bytearray(run_table(claim.contract.degraded_is_down))
    table[0] = ord("?")  # no source recorded the minute
    return combined.translate(table)


def edge_checks(claim: Claim, report: MonthReport) -> list[Check]:
    """The span must not cut a run of down minutes (the span-cut and tail-cut attacks).

    An outage that began before the month is followed back to its first minute,
    so a span that starts on a down minute must show the minute before it, not
    down; otherwise hours cut off before the span could turn an unreported
    outage into a reported one. Likewise a span ending on a down minute must show
    the minute after it, unless that outage is ongoing.

    A minute beside the edge that no source recorded ends the run as an up minute
    does, when the bundle shows it unrecorded for every source (``_absent``): the
    source carries that minute's hour, sealed, with no record there; or its chain
    shows the hour holds no block: before the span, the chain starts at its genesis or
    opens the link it starts from to a sealed hour earlier still (``chain.before``,
    which only the true hour opens); after it, the chain's next sealed hour is later
    (``chain.after``, the claimant's word until a later head is compared). Hours cut
    off whole (the span-cut and tail-cut attacks) leave none of these, and stay refused.
    """
    start, end = claim.span
    marks = _marks(claim, start - 1, end + 1)
    out: list[Check] = []
    if marks[1:2] == b"D" and marks[0:1] != b".":
        said = _absent(claim, start - 1) if marks[0:1] == b"?" else None
        out.append(
            Check(
                "span start",
                iso_z(from_minute(start)) or "",
                said or "starts inside a run of down minutes: the records before it are cut off",
                said is not None,
            )
        )
    if marks[-2:-1] == b"D" and marks[-1:] != b".":
        said = _absent(claim, end) if marks[-1:] == b"?" else None
        if any(o.ongoing and to_minute(o.end) == end for o in report.outages):
            said = "an outage still ongoing when the bundle was made"
        out.append(
            Check(
                "span end",
                iso_z(from_minute(end)) or "",
                said or "ends inside a run of down minutes: the records after it are cut off",
                said is not None,
            )
        )
    return out


def _hour_text(hour: int) -> str:
    return (iso_z(from_minute(hour * 60)) or "")[:16] + "Z"


def _absent(claim: Claim, minute: int) -> str | None:
    """Why no source has a record at ``minute`` (beside the span), each shown by the
    bundle: its hour carried with the minute empty, or no block in that hour (see
    ``edge_checks``); None when some source does not show it."""
    hour, before = minute // 60, minute < claim.span[0]
    reasons: list[str] = []
    for src in claim.sources:
        if any(h.hour == hour for h in src.hours):
            continue  # carried and sealed: the minute is empty in it
        if any(s.hour == hour for s in src.seals):
            return None  # a sealed hour without its records: the chain check names it
        if before:
            if src.prev == chain.genesis(claim.service.name, src.name):
                reasons.append(f"{src.name}: the records begin here (genesis)")
                continue
            b = src.before
            if b is None or b.link() != src.prev or b.hour >= hour:
                return None
            reasons.append(
                f"{src.name}: no record in the hour before; the previous is in the hour of "
                f"{_hour_text(b.hour)} (proven by the hash chain)"
            )
        else:
            a = src.after
            if a is None or (a.hour is not None and a.hour <= hour):
                return None
            nxt = "none since"
            if a.hour is not None:
                nxt = f"the next is in the hour of {_hour_text(a.hour)}"
            reasons.append(f"{src.name}: no record in the hour after; {nxt} (the bundle's word)")
    if not reasons:
        return "no record on the minute " + ("before" if before else "after") + " it"
    if len(claim.sources) == 1:
        return reasons[0].split(": ", 1)[1]
    return "; ".join(reasons)


def neighbour_checks(claim: Claim) -> list[Check]:
    """Each chain's stated neighbours outside the carried hours: the opened link before
    them must give the link the chain starts from and be of an earlier hour (a later one
    is an hour of the span withheld), and the next sealed hour must come after them."""
    lo, hi = record_hours(claim.span)
    out: list[Check] = []
    for src in claim.sources:
        b, a = src.before, src.after
        if b is not None:
            hour = _hour_text(b.hour)
            if b.link() != src.prev:
                why = "does not open the link the chain starts from: made up"
            elif b.hour >= lo:
                why = f"is the hour {hour}, inside the span's hours: its records are withheld"
            else:
                why = f"the hour {hour}, opened: nothing was sealed after it before the span"
            out.append(Check(f"chain {src.name} before", "previous sealed hour",
                             why, why.startswith("the hour")))  # fmt: skip
        if a is not None and a.hour is not None and a.hour < hi:
            why = "inside the span's hours: its records are withheld"
            out.append(Check(f"chain {src.name} after", _hour_text(a.hour), why, False))
    return out


def later_than_generated(claim: Claim) -> list[Check]:
    """Minutes recorded, and cases opened or answered, after the bundle says it was made."""
    made = to_minute(claim.generated_at)
    out: list[Check] = []
    for src in claim.sources:
        late = [
            h.hour * 60 + i
            for h in src.hours
            if h.hour * 60 + 59 > made
            for i, code in enumerate(h.status)
            if code and h.hour * 60 + i > made
        ]
        if late:
            out.append(
                Check(
                    f"minutes {src.name} after generated_at",
                    iso_z(claim.generated_at) or "",
                    f"{len(late)} minute(s) recorded later, from {iso_z(from_minute(late[0]))}",
                    False,
                )
            )
    for c in claim.cases:
        times = [t for t in (c.opened_at, c.responded_at, c.resolved_at) if t is not None]
        if any(t > claim.generated_at for t in times):
            out.append(
                Check(
                    f"case {c.id} after generated_at",
                    iso_z(claim.generated_at) or "",
                    f"case {c.id} has a time later than the bundle itself",
                    False,
                )
            )
    return out


def _outage_line(o: Mapping[str, Any]) -> str:
    case = o.get("case_id")
    state = f"reported (case {case})" if o.get("reported") else "unreported"
    end = o.get("end")
    until = "ongoing" if end is None else f"to {end}"  # not over when the bundle was made
    return f"{o.get('start')} {until}, {o.get('minutes')} min, {state}"


def _outage_checks(claim: Claim, report: MonthReport) -> list[Check]:
    actual = [json.loads(json.dumps(o.to_json())) for o in report.outages]
    stated = [dict(o) for o in claim.outages]
    checks = [Check("outages", str(len(stated)), str(len(actual)), len(stated) == len(actual))]
    for i in range(max(len(stated), len(actual))):
        s = stated[i] if i < len(stated) else None
        a = actual[i] if i < len(actual) else None
        name = f"outage {(a or s or {}).get('id', i + 1)}"
        stated_line = _outage_line(s) if s else "(not stated)"
        actual_line = _outage_line(a) if a else "(not found)"
        if s and a and s.get("report_by") != a.get("report_by"):  # shown only when it differs
            stated_line += f", report by {s.get('report_by')}"
            actual_line += f", report by {a.get('report_by')}"
        checks.append(
            Check(name, stated_line, actual_line, s is not None and a is not None and same(s, a))
        )
    return checks


def _chain_check(service: str, src: SourceRecords) -> Check:
    found = chain.first_break(
        service,
        src.name,
        src.prev,
        src.seals,
        ((h.hour, h.digest(service, src.name)) for h in src.hours),
    )
    stated = f"{len(src.seals)} sealed hours"
    if found is None:
        head = src.seals[-1].link.hex()[:16] if src.seals else "-"
        return Check(f"chain {src.name}", stated, f"holds (head {head})", True)
    return Check(f"chain {src.name}", stated, found.describe(), False)


# -- for people -------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    """One local day of the month, for the claim letter's strip."""

    date: str  # YYYY-MM-DD in the contract's time zone
    weekday: int
    minutes: int
    excluded: int
    downtime: int
    unknown: int


def days(claim: Claim) -> list[Day]:
    """Per local day: minutes, excluded, downtime, unknown (``core.month.month_days``,
    the detail screen's strip too)."""
    counted = month_evidence(claim).days()
    return [
        Day(d.date.isoformat(), d.date.weekday(), d.tally.minutes, d.tally.excluded,
            d.tally.downtime, d.tally.unknown)
        for d in counted
    ]  # fmt: skip
