"""The claim bundle file: a ``core.claim.Claim`` as JSON, written and strictly read.

A bundle (``"format": "slawatch-claim", "version": 3``) is a JSON object with:

- ``service``, ``month``, ``generated_at``;
- ``terms``: the contract terms that apply (time zone, basis, unknown and
  degraded policies, ``report_within_seconds``, bands), the monthly fee and
  currency, and the weekly maintenance as written in the contract; a
  ``report_within`` in business days (``1bd``) adds ``report_within_business_days``
  and the ``calendar`` they count on (``name``, ``timezone``,
  ``business_day_seconds``, ``hours`` per weekday, every ``holidays`` date the
  span's deadlines can reach, its ``country`` for people), left out otherwise;
- ``span``: the minutes the computation covers (the month, stretched to the
  true start and end of an outage crossing a month edge);
- ``windows``: one-off maintenance windows and exclusions with their reasons;
  ``weekly_maintenance_windows``: the weekly maintenance expanded over the span;
- ``cases``: the support cases that can report an outage of the span;
- ``sources``: per source, every recorded minute of the whole UTC hours around
  the span, as ``runs`` ([start, count, status]) of equal status, the ``raw``
  minutes ([minute, status, error class]) that are down, degraded or carry an
  error class, and the ``chain``: the link before the first hour and each
  sealed hour's [hour, latency digest, digest, link] (see ``core.chain``);
  where the span starts on a down minute with no record in the hour before,
  ``before`` opens that link (``{"hour", "digest", "prev"}``: the earlier sealed
  hour it is the link of), and where it ends on one with none in the hour after,
  ``after`` names the chain's next sealed hour (``{"hour", "digest"}``, or null:
  none); both left out otherwise, so other bundles read as before (still version 3:
  an older reader refuses only these bundles, which it could not verify anyway);
- ``outages`` and ``figures``: what slawatch computed (every key of the
  ``report`` JSON);
- ``tzdata``: the IANA tz database version the month was computed with;
- ``parties``: the ``[customer]`` and ``[provider]`` of the exporting config
  (each null when not configured), named by the claim letter;
- optionally ``audit``: the audit trail's entries touching this service and
  span (corrections: windows added or removed, replaced minutes, case edits,
  settlements), each with its RFC 9162 inclusion proof in the trail of
  ``tree_size`` entries with tree head ``head`` (``core.audit.AuditProof``);
  left out when there are none;
- optionally ``corroboration``: the failing requests of the outage minutes, one
  object each (``source``, ``minute`` it is filed under, ``at`` to the
  millisecond, ``error``, and what the provider can look up in its own logs:
  ``http_status``, ``server_ip``, ``tls_sha256``, ``date``, ``x_request_id``,
  ``traceparent``, ``cf_ray``; see ``core.corroboration``); left out when there
  are none, so bundles from before it still read and verify. A request listed
  under a later minute than the one it was sent in (a minute an overrunning run
  judged down by that request's timeout alone) also has ``failed_at``, the
  instant it failed, in that minute;
- optionally ``vouching``: signed checkpoint notes (``core.checkpoint``), each
  made by one source's own agent with its own key and carried as its text: a
  source's records are then vouched for by its agent's signature over its chain
  (``claim export --vouch NOTE``; checked by ``claim verify`` with each agent's
  public key, bound to its name);
- optionally ``signature`` (added by ``slawatch.signing``).

Version 2 signs RFC 8785 canonical JSON and carries one minute of records on
each side of the span. Version 3 (this one) numbers bands from 1 in ``figures``
(``band``, ``claimable_band``), as reports, the letter and the dashboard do.
Version 2 is still read, but its band numbers are ambiguous: bundles made before
6 December 2026 numbered them from 0, those made from then until version 3 from
1 (the renumbering came without a bump). Each is read the way its own figures are
consistent with (``core.claim.read_bands``), so both verify as they did when made
(their signatures cover the bytes as they are); the credit is recomputed either
way. Version 1 bundles are refused.

:func:`to_document` and :func:`dumps` write one; :func:`parse` rejects anything
that is not a well-formed bundle with an InputError (exit 2); a well-formed
bundle whose content disagrees with itself fails a check instead (exit 1): ``core.claim.verify``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import rfc8785

from core import chain, corroboration
from core.audit import AuditProof
from core.calendar import (
    MAX_CLOSED_DAYS,
    closed_days,
    is_holiday,
    public_holidays,
    report_within_text,
)
from core.cases import Case
from core.chain import HourRecord, SourceRecords
from core.claim import Check, Claim, read_bands, record_hours
from core.claimjson import View, decode
from core.config import (
    Band,
    Basis,
    BusinessWithin,
    Calendar,
    Contract,
    DayWindow,
    Party,
    ReportWithin,
    Service,
    UnknownPolicy,
    WeeklyMaintenance,
)
from core.corroboration import Corroboration
from core.durations import Duration, parse_span
from core.errors import ConfigError, InputError
from core.money import format_money
from core.status import CODES, DEGRADED, DOWN, NAMES, UNKNOWN
from core.timeutil import YearMonth, from_minute, iso_z, parse_instant, to_minute
from core.windows import Window
from core.zones import zone

FORMAT = "slawatch-claim"
VERSION = 3
#: Older versions still read, and what they need to read as this one.
READS = (2, 3)
_AMBIGUOUS_BANDS = 2  # the last version whose figures numbered bands from 0 or from 1
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MAX_SPAN = 500 * 1440  # a month plus the longest outage slawatch follows across its edges
_MAX_SOURCES = 127
_MAX_SHOWN = 10  # disagreeing minutes named one by one per source; the rest are counted
_NO_LATENCIES = chain.latency_digest(b"\xff" * 120)  # an hour with no latency recorded
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")  # a service name, as in the config


# -- writing --------------------------------------------------------------------


def _dec(value: Decimal) -> str:
    return format(value, "f")


def _band_json(band: Band) -> dict[str, Any]:
    out: dict[str, Any] = {
        "min_availability": _dec(band.min_availability),
        "max_downtime_minutes": band.max_downtime_minutes,
    }
    if band.complement or band.credit_percent is None:
        out["credit"] = "100-availability"
    else:
        out["credit_percent"] = _dec(band.credit_percent)
    return out


def _window_json(w: Window) -> dict[str, Any]:
    return {
        "kind": w.kind,
        "from": iso_z(from_minute(w.start)),
        "to": iso_z(from_minute(w.end)),
        "reason": w.reason,
    }


def _case_json(c: Case) -> dict[str, Any]:
    return {
        "id": c.id,
        "ref": c.ref,
        "priority": c.priority,
        "title": c.title,
        "opened_at": iso_z(c.opened_at),
        "responded_at": iso_z(c.responded_at),
        "resolved_at": iso_z(c.resolved_at),
        "links": [[iso_z(from_minute(a)), iso_z(from_minute(b))] for a, b in c.links],
        "channel": c.channel,
    }


_RUNS_RE = re.compile(rb"\x01+|\x02+|\x03+")  # runs of one known status (0: unknown)
_BAD_RE = re.compile(rb"[\x02\x03]")  # degraded or down: each minute listed in ``raw``


def _source_json(src: SourceRecords) -> dict[str, Any]:
    runs: list[list[Any]] = []
    raw: list[list[Any]] = []
    if src.hours:
        # The hours laid end to end (an hour not stored is unknown), scanned by regex:
        # a month is 40,000 minutes per source, too many for a loop per minute.
        first = src.hours[0].hour
        status = bytearray(60 * (src.hours[-1].hour + 1 - first))
        errors: dict[int, str] = {}
        for h in src.hours:
            at = (h.hour - first) * 60
            status[at : at + 60] = h.status
            errors.update((at + offset, error) for offset, error in h.errors)
        base = first * 60
        for m in _RUNS_RE.finditer(status):
            runs.append([_iso(base + m.start()), m.end() - m.start(), NAMES[status[m.start()]]])
        listed = sorted({*(m.start() for m in _BAD_RE.finditer(status)), *errors})
        raw = [[_iso(base + i), NAMES[status[i]], errors.get(i)] for i in listed]
    latency = {h.hour: h.latency_digest for h in src.hours}
    neighbours: dict[str, Any] = {}
    if src.before is not None:
        b = src.before
        neighbours["before"] = {"hour": _iso(b.hour * 60), "digest": b.digest.hex(),
                                "prev": b.prev.hex()}  # fmt: skip
    if src.after is not None:
        a = src.after
        neighbours["after"] = (
            None if a.hour is None
            else {"hour": _iso(a.hour * 60), "digest": (a.digest or bytes(32)).hex()}
        )  # fmt: skip
    return {
        "runs": runs,
        "raw": raw,
        "chain": {
            **neighbours,
            "prev": src.prev.hex(),
            "seals": [
                [
                    _iso(s.hour * 60),
                    latency.get(s.hour, _NO_LATENCIES).hex(),  # its hour deleted since
                    s.digest.hex(),
                    s.link.hex(),
                ]
                for s in src.seals
            ],
        },
    }


def _iso(minute: int) -> str:
    """``iso_z`` of an epoch minute (``2026-10-03T14:05:00Z``), its hour's text cached."""
    return f"{_hour_text(minute // 60)}{minute % 60:02d}:00Z"


@lru_cache(maxsize=4096)
def _hour_text(hour: int) -> str:
    return (iso_z(from_minute(hour * 60)) or "")[:14]  # "2026-10-03T14:"


_PARTY_KEYS = ("name", "email", "contact", "contract_ref", "apply_credit")


def _party_json(p: Party | None) -> dict[str, Any] | None:
    return None if p is None else {k: getattr(p, k) for k in _PARTY_KEYS}


def _weekly_json(m: WeeklyMaintenance) -> dict[str, Any]:
    return {
        "day": DAY_NAMES[m.day],
        "from": m.start.strftime("%H:%M"),
        "to": m.end.strftime("%H:%M"),
        "reason": m.reason,
    }


def to_document(claim: Claim) -> dict[str, Any]:
    """The bundle as a JSON-ready object (without a signature)."""
    c, s = claim.contract, claim.service
    return {
        "format": FORMAT,
        "version": VERSION,
        "service": s.name,
        "month": str(claim.month),
        "generated_at": iso_z(claim.generated_at),
        "terms": {
            "contract": c.name,
            "timezone": c.timezone.key,
            "basis": c.basis,
            "unknown_minutes": c.unknown_minutes,
            "degraded_is_down": c.degraded_is_down,
            **_within_json(c.report_within, claim.span),
            **({} if c.report_channels is None else {"report_channels": list(c.report_channels)}),
            "bands": [_band_json(b) for b in c.bands],
            "monthly_fee": format_money(s.monthly_fee),
            "currency": s.currency,
            "weekly_maintenance": [_weekly_json(m) for m in s.maintenance],
        },
        "span": {"from": _iso(claim.span[0]), "to": _iso(claim.span[1])},
        "windows": [_window_json(w) for w in claim.windows],
        "weekly_maintenance_windows": [_window_json(w) for w in claim.weekly],
        "cases": [_case_json(x) for x in claim.cases],
        "sources": {src.name: _source_json(src) for src in claim.sources},
        "outages": [dict(o) for o in claim.outages],
        "figures": dict(claim.figures),
        "tzdata": claim.tzdata,
        "parties": {
            "customer": _party_json(claim.customer),
            "provider": _party_json(claim.provider),
        },
        # Only when the trail holds corrections of this span: other bundles are unchanged.
        **({} if claim.audit is None else {"audit": claim.audit.to_json()}),
        **(
            {}
            if not claim.corroboration
            else {
                "corroboration": [
                    {"source": src, "minute": _iso(minute), **seen.to_json()}
                    for src, minute, seen in claim.corroboration
                ]
            }
        ),
    }


def _within_json(within: ReportWithin, span: tuple[int, int]) -> dict[str, Any]:
    """``report_within`` in the terms: its seconds and words; in business days (``1bd``)
    also how many and the whole calendar they count on, so verify recomputes each
    outage's report_by from the bundle alone (``calendar``, with its country's public
    holidays written out as dates over the years the span's deadlines can reach)."""
    if isinstance(within, timedelta):
        return {
            "report_within_seconds": int(within.total_seconds()),
            "report_within": report_within_text(within),
        }
    cal = within.calendar
    # From the day before the span's: its window past midnight counts on the first day.
    first = from_minute(span[0]).astimezone(cal.timezone).date() - timedelta(days=1)
    last = from_minute(span[1]).astimezone(cal.timezone).date()
    year = min(9999, last.year + 1 + within.duration.business_days // 200)
    try:
        last = last.replace(year=year)
    except ValueError:  # 29 February, in a year without one
        last = date(year, 3, 1)
    days = set(cal.holidays)
    if cal.country is not None:
        day = first
        while day <= last:
            if is_holiday(cal, day):
                days.add(day)
            day += timedelta(days=1)
    return {
        "report_within_seconds": int(within.duration.timedelta.total_seconds()),
        "report_within_business_days": within.duration.business_days,
        "report_within": report_within_text(within),
        "calendar": {
            "name": cal.name,
            "timezone": cal.timezone.key,
            "business_day_seconds": int(cal.business_day.total_seconds()),
            "hours": {
                DAY_NAMES[day]: [f"{w.start:%H:%M}-{w.end:%H:%M}" for w in windows]
                for day, windows in sorted(cal.hours.items())
                if windows
            },
            "holidays": sorted(d.isoformat() for d in days),
            "country": cal.country,
        },
    }


def dumps(document: Mapping[str, Any]) -> str:
    """The bundle file's text: indented for people, one run, minute or seal per line."""
    return _encode(document, 0) + "\n"


def _flat(value: Any) -> bool:
    if isinstance(value, dict):
        return all(not isinstance(v, (dict, list)) for v in value.values())
    if isinstance(value, list):
        return all(not isinstance(v, (dict, list)) for v in value)
    return True


# One encoder for every flat value (``json.dumps`` with these options builds a new one
# per call, and a month's bundle has a line per run, minute and seal).
_FLAT = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def _encode(value: Any, depth: int) -> str:
    if _flat(value) or not value:
        return _FLAT(value)
    pad, inner = " " * depth, " " * (depth + 1)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {_encode(v, depth + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    rows = [inner + _encode(v, depth + 1) for v in value]
    return "[\n" + ",\n".join(rows) + "\n" + pad + "]"


def canonical(value: Any) -> bytes:
    """RFC 8785 (JSON Canonicalization Scheme) bytes of a JSON value: the same bytes
    for the same JSON whatever the key order or spacing; ValueError for what JCS
    cannot represent (an integer beyond 2**53, a float that is not finite)."""
    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"cannot be canonicalised: {exc}") from None


def signed_bytes(document: Mapping[str, Any]) -> bytes:
    """What a signature covers: the whole bundle with its ``signature`` member minus
    the signature value itself, so the algorithm and key id are signed too."""
    body = {k: v for k, v in document.items() if k != "signature"}
    sig = document.get("signature")
    if isinstance(sig, Mapping):
        body["signature"] = {k: v for k, v in sig.items() if k != "value"}
    return canonical(body)


def terms_digest(document: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of the service and its terms (``{"service": ...,
    "terms": {...}}``): what two parties agree on once and pin month after month."""
    import hashlib

    pinned = {"service": document["service"], "terms": _agreed_terms(document["terms"])}
    return hashlib.sha256(canonical(pinned)).hexdigest()


_MAX_HOLIDAY_YEARS = 50  # years a calendar's written-out holidays span (real: 2 or 3)


def _agreed_terms(terms: Any) -> Any:
    """The terms as agreed once: a calendar with a ``country`` writes its public holidays
    out over the dates the span's deadlines can reach, which move with the month, so
    the digest keeps of them only the dates that are not that country's public holidays
    (the contract's own, or added). Leaving one of the country's out only brings a
    deadline earlier (a case late sooner), never a credit up. Anything else, and a
    country or list the ``holidays`` package cannot read, is digested as written."""
    cal = terms.get("calendar") if isinstance(terms, dict) else None
    if not isinstance(cal, dict) or not isinstance(cal.get("country"), str):
        return terms
    listed = cal.get("holidays")
    if not isinstance(listed, list) or not all(isinstance(d, str) and len(d) == 10 for d in listed):
        return terms
    try:
        days = [date.fromisoformat(d) for d in listed]
    except ValueError:
        return terms
    years = frozenset(d.year for d in days)
    public = public_holidays(cal["country"], years) if len(years) <= _MAX_HOLIDAY_YEARS else None
    if public is None:
        return terms
    own = sorted({d.isoformat() for d in days if d not in public})
    return {**terms, "calendar": {**cal, "holidays": own}}


# -- reading --------------------------------------------------------------------


def parse(data: bytes, where: str) -> tuple[Claim, dict[str, Any]]:
    """A claim from a bundle file's bytes; InputError for anything not a v1 bundle.

    Every member is checked as it is read; values that pass the checks but
    still cannot exist (a month past year 9999, a time that overflows) are
    caught here too, so a hostile file never gets further than one line.
    """
    try:
        return _parse(data, where)
    except (ValueError, OverflowError) as exc:
        raise InputError(where, f"not a well-formed claim bundle ({exc})") from None


def _parse(data: bytes, where: str) -> tuple[Claim, dict[str, Any]]:
    document = decode(data, where)
    root = View.root(document, where)
    if root.data.get("format") != FORMAT:
        raise root.error("format", f"not a slawatch claim bundle (expected {FORMAT!r})")
    version = root.raw("version")
    if version not in READS or isinstance(version, bool) or not isinstance(version, int):
        readable = ", ".join(map(str, READS))
        raise root.error("version", f"version {version!r} is not supported (this reads {readable})")
    root.only(
        "format", "version", "service", "month", "generated_at", "terms", "span", "windows",
        "weekly_maintenance_windows", "cases", "sources", "outages", "figures", "signature",
        "tzdata", "parties", "audit", "corroboration", "vouching",
    )  # fmt: skip
    if "vouching" in root.data:
        notes = root.raw("vouching")
        if not isinstance(notes, list) or len(notes) > _MAX_VOUCHING:
            raise root.error("vouching", f"must be a list of at most {_MAX_VOUCHING} notes")
        for i, note in enumerate(notes):
            if not isinstance(note, str) or not 0 < len(note) <= _MAX_NOTE:
                raise root.error(f"vouching[{i}]", "must be a signed checkpoint note (text)")
    name = root.text("service")
    if not _NAME_RE.match(name):
        raise root.error("service", f"{name[:40]!r} is not a service name")
    month = YearMonth.parse(root.text("month"), root.where("month"))
    generated_at = _instant(root, "generated_at")
    service, contract = _terms(root.obj("terms"), name)
    span = _span(root.obj("span"), month, contract.timezone)
    windows = tuple(_window(w) for w in root.objects("windows"))
    weekly = tuple(_window(w) for w in root.objects("weekly_maintenance_windows"))
    cases = tuple(_case(c, name) for c in root.objects("cases"))
    seen: set[int] = set()
    for i, c in enumerate(cases):
        if c.id in seen:
            raise root.error(f"cases[{i}].id", f"duplicate case id {c.id}")
        seen.add(c.id)
    hours = record_hours(span)
    sources: list[SourceRecords] = []
    problems: list[Check] = []
    members = list(root.obj("sources").members())
    if len(members) > _MAX_SOURCES:
        raise root.error("sources", f"more than {_MAX_SOURCES} sources")
    for src_name, view in members:
        if not (0 < len(src_name) <= 100 and src_name.isprintable()):
            raise root.error("sources", f"source name {src_name[:40]!r} is not a short name")
        records, issues = _source(view, src_name, hours)
        sources.append(records)
        problems += issues
    outages = tuple(o.data for o in root.objects("outages"))
    figures = root.obj("figures").data
    if "signature" in root.data:
        root.obj("signature")
    tzdata = root.opt_text("tzdata") if "tzdata" in root.data else None
    parties = root.obj("parties") if "parties" in root.data else None
    if parties is not None:
        parties.only("customer", "provider")
    audit = _audit(root.obj("audit")) if "audit" in root.data else None
    corroboration = tuple(
        _corroboration(c, {s.name for s in sources})
        for c in root.objects("corroboration", limit=_MAX_CORROBORATION)
    ) if "corroboration" in root.data else ()  # fmt: skip
    claim = Claim(
        service=service,
        contract=contract,
        month=month,
        span=span,
        windows=windows,
        cases=cases,
        sources=tuple(sources),
        figures=figures,
        outages=outages,
        generated_at=generated_at,
        weekly=weekly,
        problems=tuple(problems),
        customer=_party(parties, "customer"),
        provider=_party(parties, "provider"),
        tzdata=tzdata,
        audit=audit,
        corroboration=corroboration,
    )
    if version <= _AMBIGUOUS_BANDS:
        claim = read_bands(claim)
    return claim, document


_MAX_VOUCHING = 1_000  # signed checkpoint notes carried, each by its source's agent
_MAX_NOTE = 1_000_000  # characters of one note (a line per chain of its agent)

_AUDIT_KEYS = ("seq", "at", "actor", "kind", "service", "from", "to", "before", "after")
_MAX_AUDIT = 100_000  # entries of one span; a real one holds a handful


def _audit(a: View) -> AuditProof:
    """The ``audit`` member: entries of the trail with their inclusion proofs."""
    a.only("tree_size", "head", "entries")
    size = a.integer("tree_size", minimum=1)
    head = a.digest("head")
    entries: list[tuple[dict[str, Any], tuple[bytes, ...]]] = []
    for e in a.objects("entries", limit=_MAX_AUDIT):
        e.only(*_AUDIT_KEYS, "proof")
        seq = e.integer("seq", minimum=1)
        if seq > size:
            raise e.error("seq", f"{seq} is past the trail's tree_size {size}")
        for key in _AUDIT_KEYS:
            e.raw(key)  # every member is there (null where it says nothing)
        _instant(e, "at")
        e.text("actor")
        e.text("kind")
        e.opt_text("service")
        for key in ("from", "to"):
            if e.opt_text(key) is not None:
                _instant(e, key)
        proof = e.array("proof")
        if len(proof) > 64:
            raise e.error("proof", "longer than any tree's audit path")
        path = []
        for i, step in enumerate(proof):
            if not (isinstance(step, str) and re.fullmatch(r"[0-9a-f]{64}", step)):
                raise e.error(f"proof[{i}]", "must be a SHA-256 digest in lowercase hex")
            path.append(bytes.fromhex(step))
        entries.append(({k: e.data[k] for k in _AUDIT_KEYS}, tuple(path)))
    return AuditProof(size, head, tuple(entries))


_MAX_CORROBORATION = 1_000_000  # failing requests of one span (a month, every 10 s, 3 sources)
_AT_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z\Z")


def _corroboration(c: View, sources: set[str]) -> tuple[str, int, Corroboration]:
    """One failing request of the ``corroboration`` member."""
    c.only("source", "minute", *corroboration.KEYS)
    source = c.text("source")
    if source not in sources:
        raise c.error("source", f"{source[:40]!r} is not one of the bundle's sources")
    minute = _minute(c.raw("minute"), c.where("minute"))
    at = c.text("at")
    if not _AT_RE.match(at):
        raise c.error("at", f"{at[:40]!r} is not a UTC instant like 2026-10-03T14:05:03.125Z")
    texts = {k: c.opt_text(k) for k in ("error", *(k for k, _ in corroboration.HEADERS))}
    for key, value in texts.items():
        if value is not None and value != corroboration.clean(value):
            raise c.error(key, "must be printable ASCII of at most "
                          f"{corroboration.MAX_VALUE} characters")  # fmt: skip
    status = c.opt_integer("http_status", minimum=100)
    if status is not None and status > 999:
        raise c.error("http_status", "must be an HTTP status code (100-999)")
    ip = c.opt_text("server_ip")
    if ip is not None and not corroboration.is_ip(ip):
        raise c.error("server_ip", f"{ip[:45]!r} is not an IP address")
    cert = c.opt_text("tls_sha256")
    if cert is not None and not corroboration.is_fingerprint(cert):
        raise c.error("tls_sha256", "must be 64 lower-case hex digits (a SHA-256)")
    failed = c.opt_text("failed_at")
    if failed is not None and not _AT_RE.match(failed):
        raise c.error("failed_at", f"{failed[:40]!r} is not a UTC instant like "
                      "2026-10-03T14:05:03.125Z")  # fmt: skip
    seen = Corroboration(
        parse_instant(at, c.where("at")), texts["error"], status, ip, cert,
        texts["date"], texts["x_request_id"], texts["traceparent"], texts["cf_ray"],
        None if failed is None else parse_instant(failed, c.where("failed_at")),
    )  # fmt: skip
    return source, minute, seen


def _party(parties: View | None, key: str) -> Party | None:
    if parties is None or parties.data.get(key) is None:
        return None
    p = parties.obj(key)
    p.only(*_PARTY_KEYS)
    return Party(p.text("name"), *(p.opt_text(k) for k in _PARTY_KEYS[1:]))


def _instant(v: View, key: str) -> datetime:
    return parse_instant(v.text(key), v.where(key))


def _minute(text: Any, where: str) -> int:
    if not isinstance(text, str):
        raise InputError(where, "must be a time like 2026-10-03T14:05:00Z")
    ts = parse_instant(text, where)
    if ts.second or ts.microsecond:
        raise InputError(where, f"{text!r} is not on a whole minute")
    return to_minute(ts)


def _zone(v: View, key: str) -> ZoneInfo:
    try:
        return zone(v.text(key))
    except ValueError as exc:
        raise v.error(key, str(exc)) from None


def _terms(t: View, service: str) -> tuple[Service, Contract]:
    t.only(
        "contract", "timezone", "basis", "unknown_minutes", "degraded_is_down",
        "report_within_seconds", "report_within", "report_channels", "bands", "monthly_fee",
        "currency", "weekly_maintenance", "report_within_business_days", "calendar",
    )  # fmt: skip
    basis: Basis = t.text("basis")  # type: ignore[assignment]  # checked next
    if basis not in ("percent", "minutes"):
        raise t.error("basis", f"must be 'percent' or 'minutes', got {basis!r}")
    unknown: UnknownPolicy = t.text("unknown_minutes")  # type: ignore[assignment]  # checked next
    if unknown not in ("available", "excluded"):
        raise t.error("unknown_minutes", f"must be 'available' or 'excluded', got {unknown!r}")
    seconds = t.integer("report_within_seconds")
    if seconds > 10 * 366 * 86400:
        raise t.error("report_within_seconds", "longer than ten years")
    within: ReportWithin = timedelta(seconds=seconds)
    bdays = t.opt_integer("report_within_business_days")
    if bdays:
        if bdays > 3660:
            raise t.error("report_within_business_days", "longer than ten years")
        within = BusinessWithin(Duration(seconds, bdays), _calendar(t.obj("calendar")))
    elif "calendar" in t.data:
        raise t.error("calendar", "only with report_within_business_days")
    # The words are for people; they must say what the seconds say (nothing in a
    # bundle is left unchecked: a reader trusts the words).
    said = t.opt_text("report_within")
    if said is not None and said != report_within_text(within):
        raise t.error(
            "report_within",
            f"says {said!r}, not what report_within_seconds ({seconds}) says"
            + (f" with {bdays} business days" if bdays else ""),
        )
    bands = tuple(_band(b) for b in t.objects("bands", limit=100))
    if not bands:
        raise t.error("bands", "a contract needs at least one band")
    contract = Contract(
        name=t.text("contract"),
        timezone=_zone(t, "timezone"),
        basis=basis,
        unknown_minutes=unknown,
        degraded_is_down=t.flag("degraded_is_down"),
        report_within=within,
        calendar=None if isinstance(within, timedelta) else within.calendar.name,
        bands=bands,
        priorities={},
        report_channels=_report_channels(t),
    )
    svc = Service(
        name=service,
        contract=contract.name,
        monthly_fee=t.decimal("monthly_fee"),
        currency=t.text("currency"),
        maintenance=tuple(_weekly(m) for m in t.objects("weekly_maintenance", limit=100)),
    )
    return svc, contract


def _calendar(c: View) -> Calendar:
    """The ``calendar`` of business-day terms: every support window and holiday."""
    c.only("name", "timezone", "business_day_seconds", "hours", "holidays", "country")
    business_day = c.integer("business_day_seconds", minimum=60)
    if business_day > 86400:
        raise c.error("business_day_seconds", "longer than a day")
    hours: dict[int, tuple[DayWindow, ...]] = {}
    h = c.obj("hours")
    for day in h.data:
        if day not in DAY_NAMES:
            raise h.error(day, f"must be one of {', '.join(DAY_NAMES)}")
        items = h.array(day)
        if len(items) > 48 or not all(isinstance(w, str) for w in items):
            raise h.error(day, "must be a list of hours like 08:00-02:00")
        try:
            hours[DAY_NAMES.index(day)] = tuple(
                DayWindow(*parse_span(w, h.where(day))) for w in items
            )
        except ConfigError as exc:
            raise h.error(day, exc.what) from None
    holidays = c.array("holidays")
    if len(holidays) > 100_000 or not all(isinstance(d, str) for d in holidays):
        raise c.error("holidays", "must be a list of ISO dates")
    try:
        days = frozenset(date.fromisoformat(d) for d in holidays if len(d) == 10)
    except ValueError:
        days = frozenset()
    if len(days) != len(set(holidays)):
        raise c.error("holidays", "must be a list of ISO dates like 2026-12-25")
    c.opt_text("country")  # said for people; its holidays are the dates listed
    closed = closed_days(hours, days)
    if closed < 0:
        raise c.error("hours", "a calendar needs support hours on at least one day")
    if closed > MAX_CLOSED_DAYS:
        raise c.error("holidays", f"close support for {closed} days in a row (ten years at most)")
    return Calendar(
        name=c.text("name"),
        timezone=_zone(c, "timezone"),
        hours=hours,
        business_day=timedelta(seconds=business_day),
        holidays=days,
    )


def _report_channels(t: View) -> tuple[str, ...] | None:
    """``report_channels`` of the terms (absent: any channel, as before it existed)."""
    if t.data.get("report_channels") is None:
        return None
    items = t.array("report_channels")
    if not items or not all(isinstance(i, str) and i for i in items) or len(items) > 100:
        raise t.error("report_channels", "must be an array of channel names")
    return tuple(items)


def _band(b: View) -> Band:
    b.only("min_availability", "max_downtime_minutes", "credit_percent", "credit")
    minimum = b.decimal("min_availability")
    max_down = b.opt_integer("max_downtime_minutes")
    if "credit" in b.data:
        if b.text("credit") != "100-availability" or "credit_percent" in b.data:
            raise b.error("credit", "must be '100-availability' (or give credit_percent instead)")
        return Band(minimum, max_down, None, complement=True)
    return Band(minimum, max_down, b.decimal("credit_percent"))


def _clock(v: View, key: str) -> time:
    text = v.text(key)
    try:
        value = time.fromisoformat(text)
    except ValueError:
        raise v.error(key, f"{text!r} is not a time of day like 22:00") from None
    if len(text) != 5:
        raise v.error(key, f"{text!r} is not a time of day like 22:00")
    return value


def _weekly(m: View) -> WeeklyMaintenance:
    m.only("day", "from", "to", "reason")
    day = m.text("day")
    if day not in DAY_NAMES:
        raise m.error("day", f"must be one of {', '.join(DAY_NAMES)}")
    return WeeklyMaintenance(
        DAY_NAMES.index(day), _clock(m, "from"), _clock(m, "to"), m.text("reason")
    )


def _span(s: View, month: YearMonth, tz: ZoneInfo) -> tuple[int, int]:
    s.only("from", "to")
    start = _minute(s.raw("from"), s.where("from"))
    end = _minute(s.raw("to"), s.where("to"))
    m_start, m_end = month.bounds(tz)
    if not start <= m_start < m_end <= end or end - start > _MAX_SPAN:
        raise s.error(None, "must cover the month (and at most 500 days)")
    return start, end


def _window(w: View) -> Window:
    w.only("kind", "from", "to", "reason")
    kind = w.text("kind")
    if kind not in ("maintenance", "exclusion"):
        raise w.error("kind", "must be 'maintenance' or 'exclusion'")
    start = _minute(w.raw("from"), w.where("from"))
    end = _minute(w.raw("to"), w.where("to"))
    if end <= start:
        raise w.error("to", "must be after 'from'")
    return Window(
        start, end, "maintenance" if kind == "maintenance" else "exclusion", w.text("reason")
    )


def _case(c: View, service: str) -> Case:
    c.only(
        "id", "ref", "priority", "title", "opened_at", "responded_at", "resolved_at", "links",
        "channel",
    )  # fmt: skip
    links = []
    for i, item in enumerate(c.array("links")):
        where = c.where("links") + f"[{i}]"
        if not isinstance(item, list) or len(item) != 2:
            raise InputError(where, "must be [from, to]")
        a, b = _minute(item[0], where), _minute(item[1], where)
        if b <= a:
            raise InputError(where, "must end after it starts")
        links.append((a, b))
    opt = {
        k: parse_instant(c.text(k), c.where(k)) if c.data.get(k) is not None else None
        for k in ("responded_at", "resolved_at")
    }
    return Case(
        id=c.integer("id"),
        service=service,
        priority=c.text("priority"),
        title=c.text("title"),
        opened_at=_instant(c, "opened_at"),
        ref=c.opt_text("ref"),
        responded_at=opt["responded_at"],
        resolved_at=opt["resolved_at"],
        links=tuple(links),
        channel=c.opt_text("channel") or "email",
    )


def _source(v: View, name: str, hours: tuple[int, int]) -> tuple[SourceRecords, list[Check]]:
    """A source's records, rebuilt hour by hour from its runs and raw minutes."""
    v.only("runs", "raw", "chain")
    lo, hi = hours[0] * 60, hours[1] * 60
    status = bytearray(hi - lo)
    at = lo
    for i, run in enumerate(v.array("runs")):
        where = v.where("runs") + f"[{i}]"
        if not isinstance(run, list) or len(run) != 3:
            raise InputError(where, "must be [first minute, count, status]")
        start = _minute(run[0], where)
        count, code = run[1], CODES.get(run[2]) if isinstance(run[2], str) else None
        if type(count) is not int or count < 1 or code is None or code == UNKNOWN:
            raise InputError(where, "count must be a positive integer and status up/degraded/down")
        if start < at or start + count > hi:
            raise InputError(where, "runs must ascend without overlap, inside the span's hours")
        status[start - lo : start - lo + count] = bytes((code,)) * count
        at = start + count
    errors: dict[int, list[tuple[int, str]]] = {}
    problems: list[Check] = []
    listed: set[int] = set()
    last = lo - 1
    for i, item in enumerate(v.array("raw")):
        where = v.where("raw") + f"[{i}]"
        if not isinstance(item, list) or len(item) != 3:
            raise InputError(where, "must be [minute, status, error class or null]")
        minute = _minute(item[0], where)
        said, error = item[1], item[2]
        if not lo <= minute < hi or minute <= last:
            raise InputError(where, "raw minutes must ascend, inside the span's hours")
        if (
            not isinstance(said, str)
            or said not in CODES
            or not (error is None or isinstance(error, str))
        ):
            raise InputError(where, "status must be up/degraded/down/unknown, error text or null")
        last = minute
        listed.add(minute)
        if error is not None:
            errors.setdefault(minute // 60, []).append((minute % 60, error))
        actual = NAMES[status[minute - lo]]
        if actual != said:
            problems.append(
                Check(f"minutes {name} {_iso(minute)}", f"raw: {said}", f"runs: {actual}", False)
            )
    for offset in _bad_offsets(status):
        if lo + offset not in listed:
            minute = lo + offset
            actual = NAMES[status[offset]]
            problems.append(
                Check(f"minutes {name} {_iso(minute)}", "raw: not listed", f"runs: {actual}", False)
            )
    c = v.obj("chain")
    c.only("prev", "seals", "before", "after")
    seals, latency = _seals(c, hours)
    before = _before(c.obj("before")) if "before" in c.data else None
    after = _after(c) if "after" in c.data else None
    recorded = {
        hours[0] + i
        for i in range(hours[1] - hours[0])
        if status[i * 60 : i * 60 + 60].strip(b"\0")
    }
    present = recorded | set(errors) | set(latency)
    records = tuple(
        HourRecord(
            h,
            bytes(status[(h - hours[0]) * 60 : (h - hours[0] + 1) * 60]),
            tuple(errors.get(h, ())),
            latency.get(h, _NO_LATENCIES),
        )
        for h in sorted(present)
    )
    if len(problems) > _MAX_SHOWN:
        more = len(problems) - _MAX_SHOWN
        problems = [
            *problems[:_MAX_SHOWN],
            Check(f"minutes {name}", "raw list", f"{more} more minutes disagree", False),
        ]
    return SourceRecords(name, records, c.digest("prev"), seals, before, after), problems


def _hour_of(v: View, key: str) -> int:
    minute = _minute(v.raw(key), v.where(key))
    if minute % 60:
        raise v.error(key, "must be a whole UTC hour")
    return minute // 60


def _before(b: View) -> chain.Opening:
    """``chain.before``: the sealed hour whose link the chain starts from, opened."""
    b.only("hour", "digest", "prev")
    return chain.Opening(_hour_of(b, "hour"), b.digest("digest"), b.digest("prev"))


def _after(c: View) -> chain.Next:
    """``chain.after``: the next sealed hour after the carried ones (null: none)."""
    if c.data["after"] is None:
        return chain.Next(None)
    a = c.obj("after")
    a.only("hour", "digest")
    return chain.Next(_hour_of(a, "hour"), a.digest("digest"))


def _bad_offsets(status: bytearray) -> list[int]:
    out = []
    for code in (DEGRADED, DOWN):
        i = status.find(code)
        while i != -1:
            out.append(i)
            i = status.find(code, i + 1)
    return sorted(out)


def _seals(c: View, hours: tuple[int, int]) -> tuple[tuple[chain.Seal, ...], dict[int, bytes]]:
    seals: list[chain.Seal] = []
    latency: dict[int, bytes] = {}
    last = hours[0] - 1
    for i, item in enumerate(c.array("seals")):
        where = c.where("seals") + f"[{i}]"
        if not isinstance(item, list) or len(item) != 4:
            raise InputError(where, "must be [hour, latency digest, digest, link]")
        minute = _minute(item[0], where)
        hour = minute // 60
        if minute % 60 or not hours[0] <= hour < hours[1] or hour <= last:
            raise InputError(where, "seal hours must be whole hours, ascending, inside the span")
        digests = []
        for value in item[1:]:
            if not isinstance(value, str) or len(value) != 64:
                raise InputError(where, "digests must be 64 hex digits")
            try:
                digests.append(bytes.fromhex(value))
            except ValueError:
                raise InputError(where, "digests must be 64 hex digits") from None
        last = hour
        latency[hour] = digests[0]
        seals.append(chain.Seal(hour, digests[1], digests[2]))
    return tuple(seals), latency
