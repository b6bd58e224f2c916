"""What a verified claim bundle proves, and what it does not, in plain words.

A bundle that recomputes to its own figures proves only that it agrees with
itself: whoever holds the file can change a minute, a window or a case,
re-hash the chain and restate the figures. What ties it to something outside
itself is a signature by a key the reader already trusts, and pins: values the
verifier holds from elsewhere and compares (``Pins``: the agreed terms' digest,
last month's chain head, the agreed set of sources). ``statement`` says,
for ``claim verify`` and the claim letter alike, what was recomputed, who
signed, what was pinned and, topic by topic, what is not proven.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.bundle import terms_digest
from core.chain import link
from core.checkpoint import Signed
from core.claim import Check, Claim, failing_requests, span_bytes
from core.timeutil import from_minute, iso_z

SignatureState = Literal["unsigned", "valid", "invalid"]


@dataclass(frozen=True)
class Pins:
    """What the verifier already holds and the bundle must match."""

    terms_digest: str | None = None  # SHA-256 hex of the agreed service and terms (canonical)
    prev_heads: Mapping[str, str] = field(default_factory=dict)  # source ("" = each) -> head
    sources: frozenset[str] | None = None  # the agreed set of sources
    # A verified RFC 3161 token over the bundle's bytes: (its time, the authority).
    timestamp: tuple[str, str] | None = None
    # Checkpoints the verifier holds, each opened with a key it trusts (None: none given).
    checkpoints: tuple[Signed, ...] | None = None


@dataclass(frozen=True)
class Signature:
    state: SignatureState
    key_id: str | None = None
    trusted: bool = False  # checked against a public key the verifier gave
    # Intact under the key the bundle names, which is not the one the verifier gave
    # (that one's fingerprint): signed by someone else, or the wrong key was handed over.
    other_than: str | None = None


@dataclass(frozen=True)
class Statement:
    recomputed: tuple[str, ...]
    vouched: tuple[str, ...]
    not_proven: tuple[tuple[str, str], ...]  # (topic, sentence)

    @property
    def topics(self) -> frozenset[str]:
        return frozenset(t for t, _ in self.not_proven)


def pin_checks(claim: Claim, document: Mapping[str, Any], pins: Pins) -> list[Check]:
    """One check per pin given: terms, sources, the head each chain continues from."""
    out: list[Check] = []
    if pins.terms_digest is not None:
        digest = terms_digest(document)
        out.append(
            Check(
                "terms pinned",
                digest,
                f"agreed {pins.terms_digest}",
                digest == pins.terms_digest,
                against="you",
            )
        )
    names = frozenset(s.name for s in claim.sources)
    if pins.sources is not None:
        extra, missing = sorted(names - pins.sources), sorted(pins.sources - names)
        said = "; ".join(
            [*(f"not pinned: {', '.join(extra)}" for _ in [1] if extra),
             *(f"pinned, not in the bundle: {', '.join(missing)}" for _ in [1] if missing)]
        )  # fmt: skip
        pinned = ", ".join(sorted(pins.sources))
        out.append(
            Check(
                "sources pinned",
                ", ".join(sorted(names)) or "-",
                f"{pinned} ({said})" if said else "as agreed",
                not said,
                against="you pinned",
            )
        )
    for name, head in sorted(pins.prev_heads.items()):
        targets = [s for s in claim.sources if not name or s.name == name]
        if not targets:
            out.append(
                Check(f"prev head {name}", "(no such source)", head[:16], False, "you pinned")
            )
        for src in targets:
            links = {src.prev.hex(), *(s.link.hex() for s in src.seals)}
            ok = head in links
            out.append(
                Check(
                    f"prev head {src.name}",
                    f"chain from {src.prev.hex()[:16]}",
                    f"continues from {head[:16]}" if ok else f"does not pass through {head[:16]}",
                    ok,
                )
            )
    return out


@dataclass(frozen=True)
class Vouched:
    """What the held checkpoints say of one source's chain in the bundle."""

    source: str
    ok: bool
    stated: str  # the checkpoint relied on, or "-"
    said: str  # the plain-words finding


def vouching(claim: Claim, held: tuple[Signed, ...]) -> list[Vouched]:
    """Each source's chain against the checkpoints its own agent signed (the note's
    signer is the source's name): the latest one naming an hour the bundle seals vouches
    for every hour up to it; any whose link differs names a rewritten history."""
    out = []
    for src in claim.sources:
        links = {s.hour: s.link for s in src.seals}
        mine = [
            (signed, head)
            for signed in held
            for head in signed.checkpoint.heads
            if signed.signer == src.name and head.source == src.name
            and head.service == claim.service.name and head.hour in links
        ]  # fmt: skip
        if not mine:
            out.append(Vouched(src.name, False, "-", (
                "NOT VOUCHED FOR: no checkpoint signed by a key you gave names this chain at "
                "an hour the bundle seals")))  # fmt: skip
            continue
        wrong = [(s, h) for s, h in mine if links[h.hour] != h.link]
        signed, head = max(wrong or mine, key=lambda sh: sh[1].hour)
        hour = iso_z(from_minute(head.hour * 60))
        stated = f"{signed.checkpoint.origin} of {iso_z(signed.checkpoint.at)}"
        if wrong:
            said = f"REWRITTEN: its link at {hour} is not the one its agent signed"
        else:
            last = src.seals[-1].hour if src.seals else head.hour
            later = last - head.hour
            after = (
                "; the sealed hour after it is not"
                if later == 1
                else f"; the {later} sealed hours after it are not"
                if later > 1
                else ""
            )
            said = f"vouched for by its agent {signed.signer!r} up to the hour {hour}{after}"
        out.append(Vouched(src.name, not wrong, stated, said))
    return out


def checkpoint_checks(claim: Claim, pins: Pins) -> list[Check]:
    if pins.checkpoints is None:
        return []
    return [
        *(Check(f"checkpoint {v.source}", v.stated, v.said, v.ok)
          for v in vouching(claim, pins.checkpoints)),
        *next_hour_checks(claim, pins.checkpoints),
    ]  # fmt: skip


def next_hour_checks(claim: Claim, held: tuple[Signed, ...]) -> list[Check]:
    """A source's stated next sealed hour after the span (``chain.after``, the
    claimant's word of the time the bundle was made) against its agent's checkpoints
    signed by then: one naming a sealed hour between the bundle's last and the stated
    next (or any later one, when none is stated) shows an hour withheld; one naming the
    stated next hour must hold its link. A checkpoint signed later says nothing of that
    time: the agent may have recorded again since, and records imported into a gap
    since seal an hour in between and re-link the ones after it."""
    out = []
    for src in claim.sources:
        a = src.after
        if a is None:
            continue
        last = src.seals[-1] if src.seals else None
        after_link = (
            None if a.hour is None or a.digest is None
            else link(last.link if last else src.prev, a.hour, a.digest)
        )  # fmt: skip
        for signed in held:
            for head in signed.checkpoint.heads:
                if (signed.signer, head.source, head.service) != (
                    src.name,
                    src.name,
                    claim.service.name,
                ) or (last is not None and head.hour <= last.hour):
                    continue
                hour = iso_z(from_minute(head.hour * 60))
                if signed.checkpoint.at > claim.generated_at:
                    continue  # sealed or re-linked, perhaps, after the bundle was made
                if a.hour is None or head.hour < a.hour:
                    said = f"its agent signed a sealed hour {hour} the bundle says is not there"
                elif head.hour == a.hour and head.link != after_link:
                    said = f"its agent signed another hour {hour} than the bundle states"
                else:
                    continue
                out.append(Check(f"checkpoint {src.name} after", "next sealed hour", said, False))
    return out


def statement(claim: Claim, signature: Signature, pins: Pins, carried_notes: int = 0) -> Statement:
    """What the bundle proves once every check holds, in plain words (``carried_notes``:
    the agents' signed checkpoints the bundle carries, unchecked without their keys)."""
    minutes = sum(60 - h.status.count(0) for s in claim.sources for h in s.hours)
    inside = sum(len(b) - b.count(0) for b in span_bytes(claim).values())
    sources = len(claim.sources)
    added = (
        f" (its {sources} sources' added up; each minute is what more than half of the"
        " sources that recorded it saw: down, else degraded, else up)"
        if sources > 1
        else ""
    )
    around = (
        f" (and {minutes - inside:,} just outside it, which show that no outage is cut at its ends)"
        if minutes > inside
        else ""
    )
    seals = sum(len(s.seals) for s in claim.sources)
    recomputed: tuple[str, ...] = (
        f"every figure and outage, from the {inside:,} minutes the bundle records in the "
        f"period{added}{around} and its terms, by slawatch's rules",
        f"the hash chain of each source ({seals:,} sealed hours), re-hashed hour by hour",
        "the weekly maintenance windows, expanded from the terms",
        "the span's edges: no run of down minutes is cut off at either end"
        + (
            " (where the records resume after a gap, the hash chain shows that no hour "
            "before them was left out)"
            if any(s.before is not None for s in claim.sources)
            else ""
        ),
    )
    if claim.audit is not None:
        recomputed += (
            f"the {len(claim.audit.entries)} correction(s) of this span (windows, cases, "
            "replaced minutes, settlements), each re-hashed and found by its RFC 9162 "
            f"inclusion proof in the audit trail of {claim.audit.tree_size} entries "
            f"(head {claim.audit.head.hex()})",
        )
    names = ", ".join(s.name for s in claim.sources) or "none"
    if signature.state == "unsigned":
        signed = (
            "NOT SIGNED: self-consistent only. Whoever holds this file can change any "
            "minute, window or case, re-hash the chain and restate the figures."
        )
    elif signature.other_than is not None:
        signed = (
            f"SIGNED BY ANOTHER KEY: the bundle is unchanged since key {signature.key_id} "
            f"signed it, but that is not the key you gave ({signature.other_than}): it was "
            "made by someone else, or the key you hold is not the signer's (ask the sender "
            "for the signer's public key and compare its fingerprint)."
        )
    elif signature.state == "invalid":
        signed = "SIGNATURE INVALID: the bundle was changed after it was signed."
    elif signature.trusted:
        signed = (
            f"Signed by key {signature.key_id}, the key you gave: every source ({names}) is "
            "as that key's holder exported it."
        )
    else:
        signed = (
            f"Signed by key {signature.key_id}, named by the bundle itself: unchanged since "
            "it was signed, but anyone can sign; pass --key with the signer's public key to "
            "know who did."
        )
    vouched = [signed]
    if pins.checkpoints is None:
        vouched.append("Checkpoints: no chain head was held outside the claimant's control.")
    else:
        vouched += [f"Source {v.source}: {v.said}." for v in vouching(claim, pins.checkpoints)]
    if signature.state == "valid" and pins.checkpoints is None:
        one = len(claim.sources) == 1
        own = (
            f"the bundle carries {carried_notes} note(s) signed by the agents themselves,"
            " not checked here: claim verify --key with each agent's public key checks them."
            if carried_notes
            else "it carries no signature of its own agent."
            if one
            else "no source carries a signature of its own agent."
        )
        vouched.append(
            f"Source{'' if one else 's'} {names}: covered by the bundle's one signature; {own}"
        )
    for src in claim.sources:
        head = src.seals[-1].link.hex() if src.seals else src.prev.hex()
        vouched.append(f"Source {src.name}: chain head {head}.")
    if pins.timestamp is not None:
        vouched.append(
            f"Timestamped: this bundle existed, byte for byte, no later than "
            f"{pins.timestamp[0]} (RFC 3161 token by {pins.timestamp[1]}, checked against "
            "the authority's CA you gave)."
        )
    if claim.corroboration:
        vouched.append(
            f"Corroboration: {len(failing_requests(claim)):,} failing requests of the outage "
            "minutes, each with what the provider can look up in its own logs (the time sent, "
            "status, server IP, certificate SHA-256, Date, X-Request-Id, traceparent, CF-Ray); "
            "the agents' records, "
            + (
                "covered by the signature, not by the hash chain."
                if signature.state == "valid"
                else "covered by no signature (the bundle is not signed), nor by the hash chain."
                if signature.state == "unsigned"
                else "not covered by the hash chain, and the signature does not hold."
            )
        )
    not_proven: list[tuple[str, str]] = [
        (
            "minutes",
            "that the recorded minutes are what happened: they are the claimant's own "
            "measurements, sealed by its own chain",
        ),
        (
            "windows",
            "that the maintenance windows and exclusions are all the agreed ones: the "
            "claimant states them",
        ),
        (
            "cases",
            "that the cases were opened, answered and linked when stated: the times are "
            "the claimant's records, not the provider's ticket system",
        ),
        (
            "chain end",
            "that no hours were cut after the last sealed hour: no later head is held outside "
            "the claimant's control"
            + (
                "; that no record follows the span in the hour after it is the claimant's "
                "word until compared with its agents' own checkpoints"
                if any(s.after is not None for s in claim.sources)
                else ""
            ),
        ),
        (
            (
                "generated_at",
                "when the bundle was made: the time it states is the claimant's word, not a "
                "timestamp",
            )
            if pins.timestamp is None
            else (
                "generated_at",
                "that the bundle was made at the time it states: the timestamp shows only "
                "that it "
                f"existed by {pins.timestamp[0]}",
            )
        ),
        (
            "corrections",
            "that no correction of this span was left out: the audit trail's head is the "
            "claimant's own (compare the trail's size and head in the bundle with ones you hold)"
            if claim.audit is not None
            else "that nothing in this span was corrected after it was recorded: the bundle "
            "carries no audit entries, and an audit member taken out is not detected",
        ),
        (
            "parties",
            "who the parties are: the customer, the provider and the contract reference "
            "are named by the claimant",
        ),
        (
            "tzdata",
            f"which time zone database the claimant used: it states "
            f"{claim.tzdata or 'none'}; this recomputation used the local one",
        ),
    ]
    if pins.terms_digest is None:
        not_proven.append(
            (
                "terms",
                "that the service and terms are the contract's (pin them: --terms FILE or "
                "--terms-digest)",
            )
        )
    if pins.sources is None:
        not_proven.append(
            ("sources", "that no source was left out or added (pin them: --sources NAME,...)")
        )
    if not pins.prev_heads:
        not_proven.append(
            (
                "chain start",
                "that no hours were cut before the first sealed hour (pin it: --prev-head "
                "with last month's head)",
            )
        )
    if not (signature.state == "valid" and signature.trusted):
        not_proven.append(("signer", "who made this bundle (no signature by a key you trust)"))
    return Statement(recomputed, tuple(vouched), tuple(not_proven))


def lines(s: Statement) -> list[str]:
    """The statement as plain text lines (verify's output)."""
    out = ["Recomputed from the bundle alone:"]
    out += [f"  - {t}" for t in s.recomputed]
    out.append("Vouched for:")
    out += [f"  - {t}" for t in s.vouched]
    out.append("Not proven:")
    out += [f"  - {topic}: {t}" for topic, t in s.not_proven]
    return out
