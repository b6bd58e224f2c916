"""The mutation attack: each field of a bundle edited in turn by someone who then
re-hashes every hour, re-links every chain and restates every figure (as a
customer inflating a claim, or a provider disputing one, would).

Each edit must end one of three ways, and each says which beforehand:

- ``DETECTED``: ``claim verify`` exits 1 or 2, given what a verifier holds from
  elsewhere: the terms of last month's accepted bundle (``--terms``), the agreed
  sources (``--sources``) and last month's chain head (``--prev-head``);
- a topic (``"minutes"``, ``"cases"``, ...): it holds (exit 0 with
  ``--allow-unsigned``) and verify's plain statement lists that topic under
  "Not proven": nothing in an unsigned, unanchored bundle can tell;
- ``NO_EFFECT``: it holds and every figure and outage is what it was.

The span-cut and tail-cut attacks (hours cut off before or after an outage that
crosses a month edge, the span restated) are detected with no pin at all.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from core import bundle, chain, merkle
from core.audit import canonical_json
from core.claim import compute
from core.configfile import load_config
from core.errors import InputError
from core.timeutil import YearMonth, from_minute, iso_z, to_minute
from core.windows import weekly_windows
from slawatch import claims, signing
from slawatch.cli import main
from slawatch.commands._support import run
from store.rows import MinuteRow
from store.sqlite import SqliteStore
from tests.claims.conftest import NOW, World
from tests.claims.test_claim_cli import minute, minutes_of, set_minutes
from tests.conftest import write_config

DETECTED = "detected"
NO_EFFECT = "no effect"
Doc = dict[str, Any]


# -- the attacker ------------------------------------------------------------------


def restate(doc: Doc) -> Doc:
    """Re-hash and re-link every source from its stated ``prev``, then copy the figures,
    outages and weekly windows verify recomputes."""
    claim, _ = bundle.parse(json.dumps(doc).encode(), "attack.json")
    name = claim.service.name
    sources = tuple(
        replace(
            src,
            seals=tuple(
                chain.relink(src.prev, ((h.hour, h.digest(name, src.name)) for h in src.hours))
            ),
        )
        for src in claim.sources
    )
    claim = replace(claim, sources=sources)
    report = compute(claim)
    claim = replace(
        claim,
        weekly=tuple(
            weekly_windows(claim.service.maintenance, claim.contract.timezone, *claim.span)
        ),
        figures=report.to_json(),
        outages=tuple(o.to_json() for o in report.outages),
    )
    out = json.loads(json.dumps(bundle.to_document(claim)))
    audit = out.get("audit")
    if audit is not None and audit["tree_size"] == len(audit["entries"]):
        # The whole trail is in the bundle: re-hash it into a new head and new proofs.
        entries = [{k: v for k, v in e.items() if k != "proof"} for e in audit["entries"]]
        leaves = [merkle.leaf_hash(canonical_json(e).encode("ascii")) for e in entries]
        audit["head"] = merkle.root(leaves).hex()
        for i, e in enumerate(audit["entries"]):
            e["proof"] = [p.hex() for p in merkle.inclusion_proof(i, leaves)]
    if "signature" in doc:
        out["signature"] = doc["signature"]  # kept as found: the attacker has no key
    return out  # type: ignore[no-any-return]


def drop_hours(doc: Doc, source: str, keep: Callable[[int], bool]) -> None:
    """Remove a source's minutes and seals of the hours ``keep`` refuses; the chain then
    starts at the link of the last removed seal before the first kept one."""
    src = doc["sources"][source]
    set_minutes(src, {m: c for m, c in minutes_of(src).items() if keep(m // 60)})
    seals = src["chain"]["seals"]
    kept = [s for s in seals if keep(minute(s[0]) // 60)]
    before = [s for s in seals if kept and minute(s[0]) < minute(kept[0][0])]
    if before:
        src["chain"]["prev"] = before[-1][3]
    src["chain"]["seals"] = kept


# -- the verifier ------------------------------------------------------------------


def judge(
    doc: Doc, folder: Path, capsys: pytest.CaptureFixture[str], *pins: str
) -> tuple[int, set[str], str]:
    """(exit code, the topics said not to be proven, output) of ``claim verify``."""
    path = folder / "attacked.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code = main(["claim", "verify", str(path), "--allow-unsigned", *pins])
    out = capsys.readouterr()
    lines = out.out.splitlines()
    topics: set[str] = set()
    if "Not proven:" in lines:
        for line in lines[lines.index("Not proven:") + 1 :]:
            if line.startswith("  - "):
                topics.add(line[4:].split(":", 1)[0])
    return code, topics, out.out + out.err


def pins_of(original: Path, doc: Doc) -> tuple[str, ...]:
    heads = [f"--prev-head={n}={s['chain']['prev']}" for n, s in sorted(doc["sources"].items())]
    return ("--terms", str(original), "--sources", ",".join(sorted(doc["sources"])), *heads)


# -- the edits ---------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    def edit(d: Doc) -> None:
        *parents, last = path.split(".")
        target: Any = d
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        target[int(last) if last.isdigit() else last] = value

    return edit


def _flip(first: str, count: int, code: int) -> Callable[[Doc], None]:
    def edit(d: Doc) -> None:
        src = d["sources"]["agent"]
        minutes = minutes_of(src)
        for m in range(minute(first), minute(first) + count):
            minutes[m] = code
        set_minutes(src, minutes)

    return edit


def _delete_minute(d: Doc) -> None:
    src = d["sources"]["agent"]
    minutes = minutes_of(src)
    del minutes[minute("2026-10-05T08:17:00Z")]
    set_minutes(src, minutes)


def _rename_source(d: Doc) -> None:
    d["sources"]["agent-2"] = d["sources"].pop("agent")


def _add_source(d: Doc) -> None:
    d["sources"]["agent-b"] = copy.deepcopy(d["sources"]["agent"])


def _invent_case(d: Doc) -> None:
    d["cases"].append(
        dict(d["cases"][0], id=2, ref="PRV-2", title="slow", opened_at="2026-10-12T09:30:00Z")
    )


def _error_class(d: Doc) -> None:
    d["sources"]["agent"]["raw"][0][2] = "timeout"


def _cut_first_hours(d: Doc) -> None:
    first = minute(d["span"]["from"]) // 60
    drop_hours(d, "agent", lambda h: h >= first + 3)


def _other_prev(d: Doc) -> None:
    d["sources"]["agent"]["chain"]["prev"] = chain.link(b"\0" * 32, 0, b"\0" * 32).hex()


def _cut_last_day(d: Doc) -> None:
    drop_hours(d, "agent", lambda h: h < minute("2026-10-31T00:00:00Z") // 60)


def _bogus_signature(d: Doc) -> None:
    d["signature"] = {"algorithm": "ed25519", "canonical": "rfc8785", "key_id": "x",
                      "public_key": "AAAA", "value": "AAAA"}  # fmt: skip


def _weekly_dropped(d: Doc) -> None:
    del d["weekly_maintenance_windows"][0]


B_START = "2026-10-12T09:00:00Z"
AUDIT_REASON = "audit.entries.0.after.reason"
EXCLUSION_OVER_A = {
    "kind": "exclusion", "from": "2026-10-03T14:00:00Z", "to": "2026-10-03T18:00:00Z",
    "reason": "hosting failure",
}  # fmt: skip

# (name, edit, expected outcome); the name starts with the member it edits.
EDITS: list[tuple[str, Callable[[Doc], None], str]] = [
    ("terms.contract", _set("terms.contract", "premium"), DETECTED),
    ("terms.timezone", _set("terms.timezone", "Europe/Paris"), DETECTED),
    ("terms.basis", _set("terms.basis", "minutes"), DETECTED),
    ("terms.unknown_minutes", _set("terms.unknown_minutes", "excluded"), DETECTED),
    ("terms.degraded_is_down", _set("terms.degraded_is_down", True), DETECTED),
    ("terms.report_within_seconds", _set("terms.report_within_seconds", 30 * 86400), DETECTED),
    ("terms.report_within", _set("terms.report_within", "7d (report_within)"), DETECTED),
    ("terms.report_channels", _set("terms.report_channels", ["email", "phone"]), DETECTED),
    ("terms.bands.credit", _set("terms.bands.1.credit_percent", "30"), DETECTED),
    ("terms.bands.min", _set("terms.bands.1.min_availability", "99.3"), DETECTED),
    ("terms.monthly_fee", _set("terms.monthly_fee", "2000.00"), DETECTED),
    ("terms.currency", _set("terms.currency", "USD"), DETECTED),
    ("terms.weekly_maintenance", _set("terms.weekly_maintenance", []), DETECTED),
    ("terms.weekly_maintenance.to", _set("terms.weekly_maintenance.0.to", "06:00"), DETECTED),
    ("service", _set("service", "portal2"), DETECTED),
    ("month", _set("month", "2026-09"), DETECTED),
    ("format", _set("format", "slawatch-bundle"), DETECTED),
    ("version", _set("version", 1), DETECTED),
    ("span.from later", _set("span.from", "2026-10-02T00:00:00Z"), DETECTED),
    ("span.to later", _set("span.to", "2026-11-01T01:00:00Z"), NO_EFFECT),
    ("generated_at earlier", _set("generated_at", "2026-11-01T00:05:00Z"), "generated_at"),
    ("generated_at in the month", _set("generated_at", "2026-10-20T00:00:00Z"), DETECTED),
    ("windows: exclusion added", lambda d: d["windows"].append(EXCLUSION_OVER_A), "windows"),
    ("windows: exclusion removed", _set("windows", []), "windows"),
    ("windows: exclusion moved", _set("windows.0.to", "2026-10-21T11:00:00Z"), "windows"),
    ("windows: reason", _set("windows.0.reason", "provider's own fault"), "windows"),
    ("weekly_maintenance_windows: one dropped", _weekly_dropped, DETECTED),
    ("figures: credit_amount", _set("figures.credit_amount", "350.00"), DETECTED),
    ("outages: reported", _set("outages.1.reported", True), DETECTED),
    ("cases: opened_at moved", _set("cases.0.opened_at", "2026-10-12T10:00:00Z"), "cases"),
    ("cases: invented", _invent_case, "cases"),
    ("cases: deleted", _set("cases", []), "cases"),
    ("cases: linked", _set("cases.0.links", [[B_START, "2026-10-12T10:00:00Z"]]), "cases"),
    ("cases: ref", _set("cases.0.ref", "PRV-9"), "cases"),
    ("cases: title", _set("cases.0.title", "everything down"), "cases"),
    ("cases: priority", _set("cases.0.priority", "critical"), "cases"),
    ("cases: responded_at", _set("cases.0.responded_at", "2026-10-03T15:10:00Z"), "cases"),
    ("cases: channel", _set("cases.0.channel", "phone"), "cases"),
    ("cases: id twice", lambda d: d["cases"].append(dict(d["cases"][0])), DETECTED),
    ("cases: after generated_at", _set("cases.0.resolved_at", "2099-01-01T00:00:00Z"), DETECTED),
    ("minutes: up flipped down", _flip("2026-10-07T10:00:00Z", 60, 3), "minutes"),
    ("minutes: outage B flipped up", _flip("2026-10-12T09:00:00Z", 45, 1), "minutes"),
    ("minutes: degraded", _flip("2026-10-08T10:00:00Z", 30, 2), "minutes"),
    ("minutes: one deleted", _delete_minute, "minutes"),
    ("minutes: gap filled down", _flip("2026-10-25T12:00:00Z", 150, 3), "minutes"),
    ("minutes: error class", _error_class, "minutes"),
    ("minutes: last day cut", _cut_last_day, "minutes"),
    ("sources: renamed", _rename_source, DETECTED),
    ("sources: added", _add_source, DETECTED),
    ("sources: removed", _set("sources", {}), DETECTED),
    ("chain: first hours cut", _cut_first_hours, DETECTED),
    ("chain: started from another link", _other_prev, DETECTED),
    ("parties: customer", _set("parties.customer.name", "Someone Else SA"), "parties"),
    ("parties: contract_ref", _set("parties.provider.contract_ref", "MSA-0"), "parties"),
    ("tzdata", _set("tzdata", "2019c"), "tzdata"),
    ("audit: removed", lambda d: d.pop("audit"), "corrections"),
    # The trail holds the minute writes too, which the bundle does not carry: an
    # attacker holding only the bundle cannot re-hash its head any more.
    ("audit: entry edited, head re-hashed", _set(AUDIT_REASON, "x"), DETECTED),
    ("audit: entry edited, head kept", _set("audit.entries.0.after.minutes", 600), DETECTED),
    ("signature: bogus", _bogus_signature, DETECTED),
]
# Edits of what verify recomputes, kept as edited (restating them would undo them).
NOT_RESTATED = {
    "weekly_maintenance_windows: one dropped", "figures: credit_amount", "outages: reported",
    "audit: entry edited, head kept",
}  # fmt: skip


@pytest.fixture(scope="module")
def original(world: World, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Doc]:
    folder = tmp_path_factory.mktemp("accepted")
    path = folder / "accepted.json"
    path.write_bytes(world.bundle.read_bytes())
    return path, world.document()


def test_the_attackers_restatement_alone_changes_nothing(
    original: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, doc = original
    again = restate(copy.deepcopy(doc))
    assert again == doc  # the attacker's tooling is faithful: any difference is the edit's
    code, topics, out = judge(again, tmp_path, capsys, *pins_of(path, doc))
    assert code == 0, out
    assert "terms" not in topics and "sources" not in topics and "chain start" not in topics


@pytest.mark.parametrize(("name", "edit", "expected"), EDITS, ids=[e[0] for e in EDITS])
def test_each_edit_is_detected_or_said_unproven(
    original: tuple[Path, Doc],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    edit: Callable[[Doc], None],
    expected: str,
) -> None:
    path, doc = original
    attacked = copy.deepcopy(doc)
    edit(attacked)
    assert attacked != doc
    if name not in NOT_RESTATED:
        with contextlib.suppress(InputError, ValueError):  # not a bundle any more: exit 2
            attacked = restate(attacked)
    code, topics, out = judge(attacked, tmp_path, capsys, *pins_of(path, doc))
    if expected == DETECTED:
        assert code in (1, 2), out
        return
    assert code == 0, out
    if expected == NO_EFFECT:
        assert (attacked["figures"], attacked["outages"]) == (doc["figures"], doc["outages"])
    else:
        assert expected in topics, out


def test_every_field_of_the_bundle_is_attacked(original: tuple[Path, Doc]) -> None:
    _, doc = original
    members = {name.split(":")[0].split(".")[0].split(" ")[0] for name, _, _ in EDITS}
    members = {"sources" if m in ("minutes", "chain") else m for m in members}
    assert set(doc) <= members, set(doc) - members
    assert len(EDITS) >= 55


def test_a_signed_bundle_edited_by_anyone_without_the_key_fails(
    original: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The provider checks the customer's bundle with the customer's public key: every
    edit, restated or not, breaks the signature."""
    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    pub = tmp_path / "customer.pub"
    pub.write_bytes(key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    signed = signing.sign(original[1], key)
    code, topics, out = judge(signed, tmp_path, capsys, "--key", str(pub))
    assert code == 0 and "signer" not in topics, out
    held = []
    for name, edit, _ in EDITS:
        attacked = copy.deepcopy(signed)
        edit(attacked)
        if name not in NOT_RESTATED:
            with contextlib.suppress(InputError, ValueError):
                attacked = restate(attacked)
        if judge(attacked, tmp_path, capsys, "--key", str(pub))[0] not in (1, 2):
            held.append(name)
    assert held == []


def test_unpinned_the_same_edits_are_said_unproven(
    original: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without pins, a restated terms edit holds, and verify says the terms are unproven."""
    _, doc = original
    attacked = copy.deepcopy(doc)
    attacked["terms"]["monthly_fee"] = "2000.00"
    attacked = restate(attacked)
    code, topics, out = judge(attacked, tmp_path, capsys)
    assert code == 0 and attacked["figures"]["credit_amount"] != doc["figures"]["credit_amount"]
    assert {"terms", "sources", "chain start", "signer"} <= topics, out


# -- the span-cut and tail-cut attacks ---------------------------------------------

EDGE = """
[storage]
path = "edge.db"

[[contract]]
name = "std"

[[service]]
name = "shop"
contract = "std"
monthly_fee = "1000.00"
"""
BEFORE = (datetime(2026, 9, 30, 23, tzinfo=UTC), datetime(2026, 10, 1, 2, tzinfo=UTC))
AFTER = (datetime(2026, 10, 31, 23, tzinfo=UTC), datetime(2026, 11, 1, 1, tzinfo=UTC))


@pytest.fixture(scope="module")
def edges(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Doc]:
    """An outage from 30 Sep 23:00 to 1 Oct 02:00, its case opened 72 h 30 min after its
    true start (too late), and one from 31 Oct 23:00 to 1 Nov 01:00."""
    root = tmp_path_factory.mktemp("edges")
    config = load_config(write_config(root, EDGE))
    down = {m for a, b in (BEFORE, AFTER) for m in range(to_minute(a), to_minute(b))}
    spans = [
        (datetime(2026, 9, 30, 12, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)),
        (datetime(2026, 10, 31, 12, tzinfo=UTC), datetime(2026, 11, 1, 12, tzinfo=UTC)),
    ]
    rows = [
        MinuteRow("shop", "agent", m, 3 if m in down else 1, 50, None)
        for a, b in spans
        for m in range(to_minute(a), to_minute(b))
    ]

    async def build() -> claims.Exported:
        async with await SqliteStore.open(config.storage_path) as store:
            await store.import_minutes([rows])
            await store.open_case(
                "shop", "high", "shop down", datetime(2026, 10, 3, 23, 30, tzinfo=UTC)
            )
            return await claims.gather(store, config, "shop", YearMonth(2026, 10), NOW)

    doc = run(build()).document
    path = root / "edges.json"
    path.write_text(bundle.dumps(doc), encoding="utf-8")
    return path, json.loads(path.read_text())


def test_the_honest_edge_bundle_holds(
    edges: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, doc = edges
    assert doc["span"] == {"from": "2026-09-30T23:00:00Z", "to": "2026-11-01T01:00:00Z"}
    assert [o["reported"] for o in doc["outages"]] == [False, False]  # the case came too late
    code, _, out = judge(doc, tmp_path, capsys, *pins_of(path, doc))
    assert code == 0, out


MONTH_START = minute("2026-10-01T00:00:00Z")
MONTH_END = minute("2026-11-01T00:00:00Z")


def cut_hours(doc: Doc, *, before: bool) -> Doc:
    """A copy of ``doc`` with the hours beyond the month's edge (October 2026) removed
    and the span restated to the edge, not yet re-hashed: the chain starts from the
    true link of the last removed hour."""
    attacked = copy.deepcopy(doc)
    if before:
        drop_hours(attacked, "agent", lambda h: h >= MONTH_START // 60)
        attacked["span"]["from"] = iso_z(from_minute(MONTH_START))
    else:
        drop_hours(attacked, "agent", lambda h: h < MONTH_END // 60)
        attacked["span"]["to"] = iso_z(from_minute(MONTH_END))
    return attacked


def cut(doc: Doc, *, before: bool, genesis: bool = False) -> Doc:
    """The span-cut (``before``) or tail-cut attack: the hours beyond the month's edge
    removed, the span restated to the edge, everything re-hashed and restated."""
    attacked = cut_hours(doc, before=before)
    if genesis:
        attacked["sources"]["agent"]["chain"]["prev"] = chain.genesis("shop", "agent").hex()
    return restate(attacked)


def test_span_cut_is_detected_with_no_pin(
    edges: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, doc = edges
    attacked = cut(doc, before=True)
    # What the attack would win: the outage now "starts" on 1 Oct, and the case opened
    # 72 h 30 min after its true start reports it.
    assert attacked["outages"][0]["reported"] is True
    assert attacked["figures"]["reported_downtime_minutes"] == 120
    assert doc["figures"]["reported_downtime_minutes"] == 0
    code, _, out = judge(attacked, tmp_path, capsys)
    assert code == 1, out
    assert "span start" in out and "starts inside a run of down minutes" in out


def test_span_cut_restarted_at_genesis_is_caught_by_the_prev_head(
    edges: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, doc = edges
    attacked = cut(doc, before=True, genesis=True)
    code, topics, out = judge(attacked, tmp_path, capsys)
    assert code == 0 and "chain start" in topics, out  # unpinned: said, not hidden
    code, _, out = judge(attacked, tmp_path, capsys, *pins_of(path, doc))
    assert code == 1 and "prev head agent" in out, out


def test_tail_cut_is_detected_with_no_pin(
    edges: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, doc = edges
    code, _, out = judge(cut(doc, before=False), tmp_path, capsys)
    assert code == 1, out
    assert "span end" in out and "ends inside a run of down minutes" in out
