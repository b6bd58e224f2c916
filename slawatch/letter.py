"""The claim letter: a bundle told for people, in Markdown or HTML.

The letter is built once as a list of blocks (heading, paragraph, table,
numbered steps) and rendered by one of two small writers, so the Markdown and
HTML versions always say the same thing. Every number in it comes from the
bundle and the month recomputed from it (``core.claim.compute``), and it binds
itself to that bundle (``Evidence``: the file's SHA-256, each source's chain
head, the signing key) so the letter cannot be read apart from its evidence.

Its arithmetic adds up as printed: percentages are cut to four places (one
rule, ``core.percent``), the credit is worked out from the credit percentage
as printed (``core.bands``), and a money step shows the exact product before
the one rounding to the cent.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from core.bands import HUNDRED
from core.calendar import within_target
from core.claim import Claim, Day, days, failing_requests
from core.config import Band, ReportWithin
from core.corroboration import at_text
from core.durations import REPORT_WITHIN_READING
from core.money import format_money
from core.month import COVERAGE_THRESHOLD, MonthReport
from core.outages import Outage
from core.percent import availability_text, coverage_text, credit_text, share_text
from core.proof import Statement
from core.timeutil import from_minute
from slawatch.tables import visible

_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    strong: bool = False


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: tuple[int, ...] = ()


@dataclass(frozen=True)
class Steps:
    items: tuple[str, ...]


Block = Heading | Para | Table | Steps


@dataclass(frozen=True)
class Evidence:
    """The bundle file a letter is written from, as the letter names it."""

    name: str  # the bundle's file name
    sha256: str  # of the file's exact bytes
    terms_digest: str
    signature: str  # "unsigned", "valid" or "invalid"
    key_id: str | None
    statement: Statement


def pct(value: Decimal) -> str:
    """An availability, cut (never rounded up) to four places: 99.49999 reads 99.4999 %
    (``core.percent``, as every other surface prints it)."""
    return availability_text(value)


def share(value: Decimal) -> str:
    """A credit percentage as the amount is computed from it: exact, or cut past ten
    places and marked ``…`` (25 %, 0.6625 %, 51.8192537634… %): the fee times what
    the letter prints is the amount it claims, to the cent."""
    return credit_text(value)


def when(ts: datetime, tz: ZoneInfo | None = None) -> str:
    """A time in the contract's zone with its offset, UTC beside it
    (``2026-10-03 16:00 +02:00 (14:00 UTC)``); just UTC when the zone is UTC."""
    utc = ts.astimezone(UTC)
    if tz is None or tz.key == "UTC":
        return utc.strftime("%Y-%m-%d %H:%M UTC")
    local = ts.astimezone(tz)
    offset = local.strftime("%z")
    beside = utc.strftime("%H:%M" if utc.date() == local.date() else "%Y-%m-%d %H:%M")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]} ({beside} UTC)"


def minute_time(minute: int, tz: ZoneInfo | None = None) -> str:
    return when(from_minute(minute), tz)


def _num(n: int) -> str:
    return f"{n:,}"


def _band_rule(band: Band, basis: str) -> str:
    credit = "100 - availability" if band.complement else share(band.credit_percent or Decimal(0))
    if basis == "minutes":
        if band.max_downtime_minutes is None:
            return f"any downtime → credit {credit}"
        return f"downtime ≤ {_num(band.max_downtime_minutes)} min → credit {credit}"
    return f"availability ≥ {band.min_availability} % → credit {credit}"


def _why_band(claim: Claim, index: int, availability: Decimal, downtime: int) -> str:
    band = claim.contract.bands[index]
    if claim.contract.basis == "minutes":
        if band.max_downtime_minutes is None:
            test = f"downtime {_num(downtime)} min exceeds every bounded band"
        else:
            test = f"downtime {_num(downtime)} min ≤ {_num(band.max_downtime_minutes)} min"
    else:
        test = f"availability {pct(availability)} ≥ {band.min_availability} %"
    return f"band {index + 1} ({test})"


def _credit_steps(
    claim: Claim, label: str, downtime: int, availability: Decimal, band: int,
    percent: Decimal, amount: Decimal, measured: int,
) -> list[str]:  # fmt: skip
    fee, cur = format_money(claim.service.monthly_fee), claim.service.currency
    b = claim.contract.bands[band]
    if b.complement:
        credit = f"100 - {share_text(availability)} % = {share_text(percent)} %"
    else:
        credit = share(percent)
    # The exact figures, as many digits as they have (cut with "…" past ten places):
    # the step a reader follows is the one the amount was computed by (rules 6, 7).
    product = claim.service.monthly_fee * percent / HUNDRED
    money = f"{format_money(amount)} {cur}"
    if product != amount:
        money = f"{share_text(product)} {cur}, rounded half-up to the cent: {money}"
    avail = (
        f"({_num(measured)} - {_num(downtime)}) / {_num(measured)} x 100 = {pct(availability)}"
        if measured
        else "100 % (no measured minutes)"
    )
    return [
        f"{label} downtime: {_num(downtime)} min.",
        f"{label} availability = {avail}.",
        f"{label} band: {_why_band(claim, band, availability, downtime)}; credit {credit}.",
        f"{label} credit = {fee} {cur} x {share(percent)} / 100 = {money}.",
    ]


def _strip(claim: Claim, month_days: Sequence[Day]) -> Table:
    """The month as a calendar, one cell per local day."""
    rows: list[list[str]] = []
    week = [""] * 7
    for d in month_days:
        day = int(d.date[-2:])
        if d.downtime:
            cell = f"{day}: {d.downtime} min down"
        elif d.unknown == d.minutes:
            cell = f"{day}: no data"
        else:
            cell = f"{day}: ok"
        if d.excluded:
            cell += f" ({d.excluded} min excl.)"
        if d.unknown and d.unknown != d.minutes:
            cell += f" ({d.unknown} min no data)"
        week[d.weekday] = cell
        if d.weekday == 6:
            rows.append(week)
            week = [""] * 7
    if any(week):
        rows.append(week)
    return Table(_WEEKDAYS, tuple(tuple(r) for r in rows))


def _outage_rows(claim: Claim, outages: Sequence[Outage]) -> tuple[tuple[str, ...], ...]:
    refs = {c.id: c for c in claim.cases}
    tz = claim.contract.timezone
    out = []
    for i, o in enumerate(outages, 1):
        case = refs.get(o.case_id) if o.case_id is not None else None
        if case is not None:
            ref = f" (ref {case.ref})" if case.ref else ""
            reported = f"yes: case {case.id}{ref} “{case.title}”, opened {when(case.opened_at, tz)}"
        else:
            reported = "no"
        end = "ongoing" if o.ongoing else when(o.end, tz)
        out.append(
            (str(i), when(o.start, tz), end, _num(o.minutes), reported, when(o.report_by, tz))
        )
    return tuple(out)


def _vantage(claim: Claim) -> str:
    """Several sources: from independent vantage points, each minute decided by their
    majority (rule 3), the fleet's answer to 'your own network was down'."""
    names = [src.name for src in claim.sources]
    if len(names) < 2:
        return ""
    return (
        f" from {len(names)} vantage points ({', '.join(names)}), each probing on its own;"
        " a minute counts as down only when more than half of those that recorded it saw"
        " it down"
    )


def _parties(claim: Claim) -> list[Block]:
    """Who claims from whom, under which contract (``[customer]``, ``[provider]``)."""
    rows: list[tuple[str, ...]] = []
    for label, p in (("From (customer)", claim.customer), ("To (provider)", claim.provider)):
        if p is None:
            rows.append((label, "not configured ([customer] / [provider] in the config)"))
            continue
        who = ", ".join(x for x in (p.name, p.contact, p.email and f"<{p.email}>") if x)
        rows.append((label, who))
    ref = claim.provider.contract_ref if claim.provider else None
    rows.append(("Contract", claim.contract.name + (f", provider reference {ref}" if ref else "")))
    return [Table(("", ""), tuple(rows))]


def _claimed(r: MonthReport, month: str, cur: str, applied: str) -> str:
    """The letter's request: the credit, or why there is none to ask for."""
    if r.claimable_credit_amount > 0:
        return (
            f"We claim a service credit of {format_money(r.claimable_credit_amount)} {cur} "
            f"({share(r.claimable_credit_percent)} of the monthly fee) for the reported "
            f"outages, to be applied {applied}."
        )
    if r.credit_amount > 0:
        return "We claim no service credit: no outage that would earn one was reported."
    return (
        f"No service credit is due for {month}{' so far' if r.provisional else ''}: "
        "availability was "
        f"{availability_text(r.availability_percent)}, in band {r.band + 1}, which earns none."
    )


def blocks(claim: Claim, report: MonthReport, evidence: Evidence) -> list[Block]:
    """The letter's content."""
    c, s, r = claim.contract, claim.service, report
    tz = c.timezone
    cur = s.currency
    month = f"{_MONTHS[claim.month.month - 1]} {claim.month.year}"
    unreported = [o for o in r.outages if not o.reported]
    title = f"Service credit claim: {s.name}, {month}"
    if r.provisional:
        title = f"PROVISIONAL (the month is not over, figures may change): {title}"
    applied = (claim.customer.apply_credit if claim.customer else None) or (
        "as a deduction from the next invoice"
    )
    out: list[Block] = [
        Heading(title, 1),
        *_parties(claim),
        Para(
            f"Period: {month}, measured in {tz.key} from {minute_time(r.start_minute, tz)} "
            f"to {minute_time(r.end_minute, tz)}; monthly fee "
            f"{format_money(s.monthly_fee)} {cur}. Availability was recorded minute by minute "
            f"by slawatch{_vantage(claim)}; the evidence bundle was generated on "
            f"{when(claim.generated_at, tz)}."
        ),
        Para(_claimed(r, month, cur, applied), strong=True),
    ]
    if r.coverage_low:
        out.append(
            Para(
                f"Only {coverage_text(r.coverage_percent)} of the month's minutes"
                + (" so far" if r.provisional else "")
                + " were recorded "
                f"(below {COVERAGE_THRESHOLD} %): the minutes with no record count as "
                + ("excluded." if c.unknown_minutes == "excluded" else "available."),
                strong=True,
            )
        )
    if unreported:
        out.append(
            Para(
                f"The measured credit, counting every outage, is {format_money(r.credit_amount)} "
                f"{cur}; {_count(len(unreported), 'outage')} "
                f"({_num(sum(o.minutes for o in unreported))} min) "
                f"{'was' if len(unreported) == 1 else 'were'} not reported through the support "
                "channel, and earns no credit."
            )
        )
    out += [
        Heading("Summary"),
        Table(
            ("", "measured", "claimable (reported outages)"),
            (
                (
                    "downtime",
                    f"{_num(r.downtime_minutes)} min",
                    f"{_num(r.reported_downtime_minutes)} min",
                ),
                (
                    "availability",
                    pct(r.availability_percent),
                    pct(r.claimable_availability_percent),
                ),
                (
                    "recorded",
                    f"{coverage_text(r.coverage_percent)} of the month"
                    + (" so far" if r.provisional else ""),
                    "",
                ),
                ("credit", share(r.credit_percent), share(r.claimable_credit_percent)),
                (
                    "amount",
                    f"{format_money(r.credit_amount)} {cur}",
                    f"{format_money(r.claimable_credit_amount)} {cur}",
                ),
            ),
            right=(1, 2),
        ),
        Heading("The month, day by day"),
        _strip(claim, days(claim)),
        Heading("Outages"),
    ]
    if r.outages:
        out.append(
            Table(
                ("#", "start", "end", "minutes this month", "reported", "report by"),
                _outage_rows(claim, r.outages),
                right=(3,),
            )
        )
    else:
        out.append(Para("No outage this month."))
    windows = sorted([*claim.windows, *claim.weekly])
    out.append(Heading("Maintenance and exclusions"))
    if windows:
        m0, m1 = r.start_minute, r.end_minute
        rows = tuple(
            (w.kind, minute_time(w.start, tz), minute_time(w.end, tz),
             _num(max(0, min(w.end, m1) - max(w.start, m0))), w.reason or "-")
            for w in windows
        )  # fmt: skip
        out.append(Table(("kind", "from", "to", "minutes this month", "reason"), rows, (3,)))
    else:
        out.append(Para("None."))
    excluded_unknown = c.unknown_minutes == "excluded"
    steps = [
        f"Minutes in {month} ({tz.key}): {_num(r.minutes_in_month)}.",
        f"Excluded minutes (maintenance and exclusions): {_num(r.excluded_minutes)}.",
        f"Minutes with no record: {_num(r.unknown_minutes)}, counted as "
        + ("excluded." if excluded_unknown else "available."),
        f"Measured minutes = {_num(r.minutes_in_month)} - {_num(r.excluded_minutes)}"
        + (f" - {_num(r.unknown_minutes)}" if excluded_unknown else "")
        + f" = {_num(r.measured_minutes)}.",
        f"Degraded minutes: {_num(r.degraded_minutes)}, counted as "
        + ("down." if c.degraded_is_down else "available."),
        *_credit_steps(
            claim, "Measured", r.downtime_minutes, r.availability_percent, r.band,
            r.credit_percent, r.credit_amount, r.measured_minutes,
        ),
        "Only outages reported through the support channel earn a credit: a case linked to "
        f"the outage, or opened within {_within_words(c.report_within)} of its "
        f"start (report_within, {REPORT_WITHIN_READING})"
        + ("" if c.report_channels is None else f", by {' or '.join(c.report_channels)}")
        + ".",
        *_credit_steps(
            claim, "Claimable", r.reported_downtime_minutes, r.claimable_availability_percent,
            r.claimable_band, r.claimable_credit_percent, r.claimable_credit_amount,
            r.measured_minutes,
        ),
    ]  # fmt: skip
    out += [
        Heading("How the credit is computed"),
        Steps(tuple(steps)),
        Para(
            "Availability is shown cut (never rounded up) to four places and compared with "
            "the bands unrounded; a credit percentage is exact (past ten places it is cut "
            "and marked …), and the credit is the fee times it, rounded half-up to the cent "
            "once. Bands of the contract, from the top: "
            + "; ".join(_band_rule(b, c.basis) for b in c.bands)
            + "."
        ),
        *_corroboration(claim),
        *_evidence(claim, evidence),
    ]
    return out


_MAX_REQUESTS = 50  # failing requests listed one by one; the bundle holds them all


def _corroboration(claim: Claim) -> list[Block]:
    """The failing requests of the outages, for the provider to find in its own logs."""
    if not claim.corroboration:
        return []
    # One row per request: one that failed in the minute after it was sent is listed
    # under both minutes in the bundle (docs/probes.md), once here.
    requests = failing_requests(claim)
    shown = requests[:_MAX_REQUESTS]
    rows = tuple(
        (at_text(seen.at), src, seen.error or "-",
         "-" if seen.http_status is None else str(seen.http_status), seen.lookup())
        for src, seen in shown
    )  # fmt: skip
    more = len(requests) - len(shown)
    return [
        Heading("Requests you can look up in your own logs"),
        Para(
            "Each failing request of the outages above, as our probes sent it (UTC, to the "
            "millisecond), with what your servers, load balancers or CDN answered: your logs "
            "hold these requests under the identifiers shown"
            + (
                f"; the first {len(shown)} of {len(requests)}, every one is in the bundle."
                if more
                else "."
            )
        ),
        Table(("sent (UTC)", "source", "error", "status", "identifiers"), rows),
    ]


def _evidence(claim: Claim, e: Evidence) -> list[Block]:
    """The bundle this letter is bound to, and what it proves."""
    if e.signature == "valid":
        signed = f"signed, key {e.key_id}"
    elif e.signature == "invalid":
        signed = "signature INVALID (changed after signing)"
    else:
        signed = "not signed"
    rows: list[tuple[str, ...]] = [
        ("bundle", e.name),
        ("SHA-256 of the bundle file", e.sha256),
        ("terms digest (service and terms; SHA-256, RFC 8785)", e.terms_digest),
        ("generated", when(claim.generated_at, claim.contract.timezone)),
        ("time zone data", f"{claim.contract.timezone.key}, tzdata {claim.tzdata or 'not stated'}"),
    ]
    for src in claim.sources:
        head = (src.seals[-1].link if src.seals else src.prev).hex()
        rows.append((f"source {src.name}: chain head", head))
        rows.append((f"source {src.name}: signing key", signed))
    st = e.statement
    # A signed bundle proves who made it only against the signer's public key.
    key = "--key SIGNER.pub " if e.signature != "unsigned" else ""
    return [
        Heading("The evidence"),
        Para(
            "This letter is bound to the evidence bundle below: any other file, or this one "
            "changed, has another SHA-256. Anyone can recompute every figure of this letter "
            "from the bundle alone, with no access to our systems"
            + (", and check its signature with our public key (SIGNER.pub): " if key else ": ")
            + f"slawatch claim verify {key}{e.name}"
        ),
        Table(("", ""), tuple(rows)),
        Heading("What the evidence proves", 3),
        Steps(tuple(f"Recomputed: {t}." for t in st.recomputed) + st.vouched),
        Heading("What it does not prove", 3),
        Steps(tuple(f"{TOPICS.get(topic, topic)}: {t}." for topic, t in st.not_proven)),
    ]


# ``claim verify`` names what is not proven by the bundle's own words; a letter is for
# people, so those that are field names read as plain words.
TOPICS = {
    "generated_at": "date of the bundle",
    "tzdata": "time zone data",
    "chain end": "end of the record",
    "chain start": "start of the record",
}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _within_words(within: ReportWithin) -> str:
    """``72 hours``; ``1 business day (18 hours of the support hours of calendar
    "saas-support", which count only while support is open)``."""
    if isinstance(within, timedelta):
        return _duration(within.total_seconds())
    n, rest = within.duration.business_days, within.duration.timedelta
    days = f"{n} business day{'' if n == 1 else 's'}" + (
        f" and {_duration(rest.total_seconds())}" if rest else ""
    )
    hours, minutes = divmod(int(within_target(within).total_seconds()) // 60, 60)
    span = f"{hours} hours" + (f" {minutes} minutes" if minutes else "")
    return (
        f"{days} ({span} of support time on calendar {within.calendar.name!r}, counted only "
        "while support is open)"
    )


def _duration(seconds: float) -> str:
    total = int(seconds)
    if total and total % 3600 == 0:
        return f"{total // 3600} hours"
    return f"{total // 60} minutes"


def to_markdown(items: Sequence[Block]) -> str:
    lines: list[str] = []
    for b in items:
        if isinstance(b, Heading):
            lines += ["#" * b.level + " " + _md(b.text), ""]
        elif isinstance(b, Para):
            lines += [f"**{_md(b.text)}**" if b.strong else _md(b.text), ""]
        elif isinstance(b, Steps):
            lines += [f"{i}. {_md(t)}" for i, t in enumerate(b.items, 1)] + [""]
        else:
            lines.append("| " + " | ".join(_md(h) for h in b.headers) + " |")
            rule = ("---:" if i in b.right else "---" for i in range(len(b.headers)))
            lines.append("|" + "|".join(rule) + "|")
            lines += ["| " + " | ".join(_md(c) for c in row) + " |" for row in b.rows]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


_BREAKS = {ord(c): " " for c in "\n\r\t\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def _md(text: str) -> str:
    """Escape what Markdown would read as markup inside our plain text; a line break
    (a case title may hold one) becomes a space, so it never ends a table row. ``&``
    too: Markdown reads ``&#x202e;`` as the character, which ``render`` escapes."""
    out = text.translate(_BREAKS).replace("\\", "\\\\")
    for ch in "|*_`<[]&":
        out = out.replace(ch, "\\" + ch)
    return out


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#1d1d1f;line-height:1.45}table{border-collapse:collapse;margin:0.5rem 0 1rem}"
    "th,td{border:1px solid #ccc;padding:0.25rem 0.6rem;vertical-align:top}"
    "td.n{text-align:right}th{background:#f3f3f3}"
)


def to_html(items: Sequence[Block]) -> str:
    title = next((b.text for b in items if isinstance(b, Heading)), "Claim")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
    ]
    for b in items:
        if isinstance(b, Heading):
            parts.append(f"<h{b.level}>{html.escape(b.text)}</h{b.level}>")
        elif isinstance(b, Para):
            text = html.escape(b.text)
            parts.append(f"<p><strong>{text}</strong></p>" if b.strong else f"<p>{text}</p>")
        elif isinstance(b, Steps):
            parts.append("<ol>" + "".join(f"<li>{html.escape(t)}</li>" for t in b.items) + "</ol>")
        else:
            head = "".join(f"<th>{html.escape(h)}</th>" for h in b.headers)
            rows = "".join(
                "<tr>"
                + "".join(
                    f'<td class="n">{html.escape(c)}</td>'
                    if i in b.right
                    else f"<td>{html.escape(c)}</td>"
                    for i, c in enumerate(row)
                )
                + "</tr>"
                for row in b.rows
            )
            thead = f"<thead><tr>{head}</tr></thead>" if any(b.headers) else ""
            parts.append(f"<table>{thead}<tbody>{rows}</tbody></table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(claim: Claim, report: MonthReport, fmt: str, evidence: Evidence) -> str:
    """The letter, Markdown or HTML, as printed and as written to a file alike: the
    bundle's text (names, reasons, case titles) with each control character and
    bidirectional mark written as its escape (``visible``: ``\u202e``, ``\x1b``), so a
    provider reading the file sees it rather than text it reorders or hides."""
    items = blocks(claim, report, evidence)
    return visible(to_html(items) if fmt == "html" else to_markdown(items), keep="\n\t")
