"""Honest bundles whose outage begins or ends at a span edge beside an hour with no
stored record (history imported from another monitor starting with an outage, an
agent installed mid-outage, a gap in the records), and the attacks they must stay
apart from: a neighbouring hour with a block dropped, a forged predecessor.

The bundle opens the link its chain starts from (``chain.before``: the predecessor's
hour, digest and link, or the genesis) and names the next sealed hour after its last
one (``chain.after``), so ``claim verify`` can tell an hour with no block from an
hour withheld.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core import bundle, chain
from core.checkpoint import Checkpoint, Head, Signed
from core.configfile import load_config
from core.proof import next_hour_checks
from core.timeutil import YearMonth, from_minute, iso_z, to_minute
from slawatch import claims
from slawatch.cli import main
from slawatch.commands._support import run
from store.rows import MinuteRow
from store.sqlite import SqliteStore
from tests import configs
from tests.claims.test_mutation_attack import cut_hours, restate
from tests.conftest import OpenDb, run_cli, write_config

Doc = dict[str, Any]
NOW = datetime(2026, 11, 20, tzinfo=UTC)


def _m(text: str) -> int:
    return to_minute(datetime.fromisoformat(text).replace(tzinfo=UTC))


OCTOBER = YearMonth(2026, 10)


def _export(
    folder: Path,
    spans: list[tuple[str, str]],
    down: list[tuple[str, str]],
    *,
    timezone: str = "UTC",
    month: YearMonth = OCTOBER,
    case: datetime | None = None,
) -> Doc:
    """A bundle of ``month`` over records in ``spans`` (UTC, naive ISO), down in ``down``."""
    text = configs.toml(
        storage="gap.db",
        contracts=[configs.contract("std", timezone=timezone)],
        services=[configs.service("shop", "std", "1000.00")],
    )
    config = load_config(write_config(folder, text))
    bad = {m for a, b in down for m in range(_m(a), _m(b))}
    rows = [
        MinuteRow("shop", "agent", m, 3 if m in bad else 1, 50, "timeout" if m in bad else None)
        for a, b in spans
        for m in range(_m(a), _m(b))
    ]

    async def build() -> claims.Exported:
        async with await SqliteStore.open(config.storage_path) as store:
            await store.import_minutes([rows])
            if case is not None:
                await store.open_case("shop", "high", "shop down", case)
            return await claims.gather(store, config, "shop", month, NOW)

    return json.loads(bundle.dumps(run(build()).document))


def _verify(doc: Doc, folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = folder / "b.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    code = main(["claim", "verify", str(path), "--allow-unsigned"])
    out = capsys.readouterr()
    return code, out.out + out.err


# 5.4 % of October (44,640 minutes) is 2,411 minutes: 1 Oct 00:00 to 2 Oct 16:11.
OCT_DOWN = ("2026-10-01T00:00", "2026-10-02T16:11")


HONEST = {
    # history imported from another monitor, beginning with the outage
    "start of history": ([("2026-10-01T00:00", "2026-11-01T00:00")], [OCT_DOWN], "UTC"),
    "gap before": (
        [("2026-09-10T00:00", "2026-09-20T00:00"), ("2026-10-01T00:00", "2026-11-01T00:00")],
        [OCT_DOWN],
        "UTC",
    ),
    "gap after": (
        [("2026-10-01T00:00", "2026-11-01T00:00"), ("2026-11-05T00:00", "2026-11-06T00:00")],
        [("2026-10-31T22:00", "2026-11-01T00:00")],
        "UTC",
    ),
    "nothing after": (
        [("2026-10-01T00:00", "2026-11-01T00:00")],
        [("2026-10-31T22:00", "2026-11-01T00:00")],
        "UTC",
    ),
    "gaps at both month edges": (
        [
            ("2026-09-01T00:00", "2026-09-02T00:00"),
            ("2026-10-01T00:00", "2026-11-01T00:00"),
            ("2026-11-03T00:00", "2026-11-04T00:00"),
        ],
        [OCT_DOWN, ("2026-10-31T23:00", "2026-11-01T00:00")],
        "UTC",
    ),
    # October in Paris: 30 Sep 22:00 UTC to 31 Oct 23:00 UTC (clocks go back on the 25th)
    "DST month in Paris": (
        [
            ("2026-09-01T00:00", "2026-09-02T00:00"),
            ("2026-09-30T22:00", "2026-10-31T23:00"),
            ("2026-11-10T00:00", "2026-11-11T00:00"),
        ],
        [("2026-09-30T22:00", "2026-10-01T03:00"), ("2026-10-31T21:30", "2026-10-31T23:00")],
        "Europe/Paris",
    ),
}
EDGE_SAID = {
    "start of history": ["span start: the records begin here (genesis)"],
    "gap before": [
        "span start: no record in the hour before; the previous is in the hour of "
        "2026-09-19T23:00Z (proven by the hash chain)"
    ],
    "gap after": [
        "span end: no record in the hour after; the next is in the hour of 2026-11-05T00:00Z"
    ],
    "nothing after": ["span end: no record in the hour after; none since"],
    "gaps at both month edges": [
        "span start: no record in the hour before; the previous is in the hour of "
        "2026-09-01T23:00Z",
        "span end: no record in the hour after; the next is in the hour of 2026-11-03T00:00Z",
    ],
    "DST month in Paris": [
        "span start: no record in the hour before; the previous is in the hour of "
        "2026-09-01T23:00Z",
        "span end: no record in the hour after; the next is in the hour of 2026-11-10T00:00Z",
    ],
}


@pytest.mark.parametrize("case", list(HONEST))
def test_honest_outages_at_the_edge_of_the_records_hold(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spans, down, timezone = HONEST[case]
    doc = _export(tmp_path, spans, down, timezone=timezone)
    if timezone == "Europe/Paris":
        assert doc["span"] == {"from": "2026-09-30T22:00:00Z", "to": "2026-10-31T23:00:00Z"}
    code, out = _verify(doc, tmp_path, capsys)
    assert code == 0, out
    lines = [" ".join(line.split()).replace(" OK ", ": ", 1) for line in out.splitlines()]
    for said in EDGE_SAID[case]:
        assert any(line.startswith(said) for line in lines), (said, out)
    claim, _ = bundle.parse(json.dumps(doc).encode(), "b.json")
    # A chain states its neighbours only where an outage meets the edge of the records.
    opened = {e: any(getattr(s, e) is not None for s in claim.sources) for e in ("before", "after")}
    assert opened == {
        "before": any("previous" in x for x in EDGE_SAID[case]),
        "after": any("span end" in x for x in EDGE_SAID[case]),
    }


def test_a_csv_history_starting_down_exports_and_verifies(tmp_path: Path) -> None:
    """The outside acceptance check: a month's CSV whose first minutes are down, after
    an older history with a gap, imported, exported and verified by the real CLI."""
    config = write_config(
        tmp_path,
        configs.toml(
            storage="cli.db",
            contracts=[configs.contract("std")],
            services=[configs.service("shop", "std", "1000.00")],
        ),
    )
    bad = range(_m(OCT_DOWN[0]), _m(OCT_DOWN[1]))
    rows = ["service,minute,status"]
    for a, b in [
        ("2026-09-10T00:00", "2026-09-11T00:00"),
        ("2026-10-01T00:00", "2026-11-01T00:00"),
    ]:
        rows += [
            f"shop,{iso_z(from_minute(m))},{'down' if m in bad else 'up'}"
            for m in range(_m(a), _m(b))
        ]
    csv = tmp_path / "history.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert run_cli("--config", config, "import", "minutes", csv).returncode == 0
    out = tmp_path / "claim.json"
    done = run_cli("--config", config, "claim", "export", "--service", "shop", "--month",
                   "2026-10", "--out", out)  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = run_cli("claim", "verify", out, "--allow-unsigned")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5.4" in done.stdout or "94.59" in done.stdout


# -- the attacks: hours with a block dropped beside the span, neighbours forged -------

EDGE_SPANS = [("2026-09-30T12:00", "2026-11-01T12:00")]
EDGE_DOWN = [("2026-09-30T23:00", "2026-10-01T02:00"), ("2026-10-31T23:00", "2026-11-01T01:00")]
# 72 h 30 min after the first outage's true start, within 72 h of 1 Oct 00:00: too late.
LATE_CASE = datetime(2026, 10, 3, 23, 30, tzinfo=UTC)
OCT_1, NOV_1 = _m("2026-10-01T00:00"), _m("2026-11-01T00:00")


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Doc]:
    folder = tmp_path_factory.mktemp("edge-attacks")
    doc = _export(folder, EDGE_SPANS, EDGE_DOWN, case=LATE_CASE)
    path = folder / "honest.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path, doc


def _seal(doc: Doc, hour_text: str) -> list[str]:
    return next(s for s in doc["sources"]["agent"]["chain"]["seals"] if s[0] == hour_text)


def test_the_honest_edges_hold_and_the_late_case_reports_nothing(
    honest: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, doc = honest
    assert doc["span"]["from"] == "2026-09-30T23:00:00Z"
    assert "before" not in doc["sources"]["agent"]["chain"]  # the hour before has a block
    assert [o["reported"] for o in doc["outages"]] == [False, False]
    code, out = _verify(doc, tmp_path, capsys)
    assert code == 0, out


def test_span_cut_opening_its_true_link_names_the_withheld_hour(
    honest: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, doc = honest
    attacked = cut_hours(doc, before=True)
    d23 = _seal(doc, "2026-09-30T23:00:00Z")
    d22 = _seal(doc, "2026-09-30T22:00:00Z")
    attacked["sources"]["agent"]["chain"]["before"] = {
        "hour": d23[0], "digest": d23[2], "prev": d22[3],
    }  # fmt: skip
    attacked = restate(attacked)
    assert attacked["outages"][0]["reported"] is True  # what the attack would win
    code, out = _verify(attacked, tmp_path, capsys)
    assert code == 1, out
    assert "inside the span's hours: its records are withheld" in out
    assert "starts inside a run of down minutes" in out


def test_span_cut_with_a_forged_predecessor_does_not_open(
    honest: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The chain still starts from 30 Sep 23:00's true link, but the bundle says its
    previous sealed hour is 22:00 (true digest and link of 22:00's own predecessor)."""
    _, doc = honest
    attacked = cut_hours(doc, before=True)
    d22 = _seal(doc, "2026-09-30T22:00:00Z")
    attacked["sources"]["agent"]["chain"]["before"] = {
        "hour": d22[0], "digest": d22[2], "prev": doc["sources"]["agent"]["chain"]["prev"],
    }  # fmt: skip
    code, out = _verify(restate(attacked), tmp_path, capsys)
    assert code == 1, out
    assert "does not open the link the chain starts from" in out


def test_span_cut_restarted_from_an_earlier_link_is_caught_by_the_prev_head(
    honest: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A chain rewrite: started from 30 Sep 22:00's true link, opened truly, 23:00
    dropped, the rest re-linked. Unpinned it holds and says the chain start is not
    proven; last month's head (a link the true chain passes through) refuses it."""
    _, doc = honest
    attacked = cut_hours(doc, before=True)
    d22 = _seal(doc, "2026-09-30T22:00:00Z")
    chain_ = attacked["sources"]["agent"]["chain"]
    chain_["prev"] = d22[3]
    first = doc["sources"]["agent"]["chain"]["prev"]
    chain_["before"] = {"hour": d22[0], "digest": d22[2], "prev": first}
    attacked = restate(attacked)
    code, out = _verify(attacked, tmp_path, capsys)
    assert code == 0 and "chain start: that no hours were cut" in out, out
    head = doc["sources"]["agent"]["chain"]["seals"][-1][3]  # September's bundle passes it
    rewritten = tmp_path / "rewritten.json"
    rewritten.write_text(json.dumps(attacked), encoding="utf-8")
    pin = f"--prev-head=agent={head}"
    code = main(["claim", "verify", str(rewritten), "--allow-unsigned", pin])
    out = capsys.readouterr().out
    assert code == 1 and "does not pass through" in out, out


def test_a_forged_genesis_is_what_it_was_before(
    honest: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, doc = honest
    attacked = cut_hours(doc, before=True)
    attacked["sources"]["agent"]["chain"]["prev"] = chain.genesis("shop", "agent").hex()
    attacked = restate(attacked)
    code, out = _verify(attacked, tmp_path, capsys)
    assert code == 0 and "chain start: that no hours were cut" in out, out
    pinned = tmp_path / "genesis.json"
    pinned.write_text(json.dumps(attacked), encoding="utf-8")
    prev = doc["sources"]["agent"]["chain"]["prev"]
    code = main(["claim", "verify", str(pinned), "--allow-unsigned", f"--prev-head=agent={prev}"])
    assert code == 1, capsys.readouterr().out


def test_tail_cut_naming_its_true_next_hour_is_detected(
    honest: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, doc = honest
    attacked = cut_hours(doc, before=False)
    n0 = _seal(doc, "2026-11-01T00:00:00Z")
    attacked["sources"]["agent"]["chain"]["after"] = {"hour": n0[0], "digest": n0[2]}
    code, out = _verify(restate(attacked), tmp_path, capsys)
    assert code == 1, out
    assert "chain agent after" in out and "its records are withheld" in out
    # Without any neighbour stated, as before: cut off.
    code, out = _verify(restate(cut_hours(doc, before=False)), tmp_path, capsys)
    assert code == 1 and "ends inside a run of down minutes" in out, out


def test_tail_cut_with_a_made_up_next_hour_is_said_unproven_and_caught_by_a_checkpoint(
    honest: tuple[Path, Doc], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What follows the last sealed hour is bound by nothing in the bundle: a next hour
    made up ("none") holds unpinned, said under "chain end", and it can only end an
    outage earlier (never more credit); the agent's own checkpoint of a later hour
    refuses it."""
    _, doc = honest
    attacked = cut_hours(doc, before=False)
    attacked["sources"]["agent"]["chain"]["after"] = None
    attacked = restate(attacked)
    code, out = _verify(attacked, tmp_path, capsys)
    assert code == 0 and "chain end: that no hours were cut" in out, out
    for key in ("credit_amount", "claimable_credit_amount", "downtime_minutes"):
        assert attacked["figures"][key] == doc["figures"][key]
    claim, _ = bundle.parse(json.dumps(attacked).encode(), "attacked.json")
    n0 = _seal(doc, "2026-11-01T00:00:00Z")
    head = Head("shop", "agent", NOV_1 // 60, bytes.fromhex(n0[3]))
    held = Signed(Checkpoint("agent", 1, bytes(32), NOW, (head,)), "agent")
    (found,) = next_hour_checks(claim, (held,))
    assert not found.ok and "2026-11-01T00:00:00Z the bundle says is not there" in found.recomputed
    # The honest bundle has no such hour to contradict.
    honest_claim, _ = bundle.parse(json.dumps(doc).encode(), "honest.json")
    assert next_hour_checks(honest_claim, (held,)) == []


async def test_the_neighbours_are_read_alike_on_sqlite_and_postgresql(open_db: OpenDb) -> None:
    """The store opens the link before a gap and names the next sealed hour after one."""
    spans = [
        ("2026-09-01T00:00", "2026-09-01T03:00"),
        ("2026-10-01T00:00", "2026-10-01T02:00"),
        ("2026-10-03T05:00", "2026-10-03T06:00"),
    ]
    rows = [
        MinuteRow("shop", "agent", m, 1, 50, None) for a, b in spans for m in range(_m(a), _m(b))
    ]
    lo, hi = _m("2026-09-30T23:00") // 60, _m("2026-10-01T03:00") // 60
    later = _m("2026-10-03T05:00") // 60
    store = await open_db()
    try:
        await store.import_minutes([rows])
        (src,) = await store.evidence("shop", lo, hi)
        (next_hour,) = await store.evidence("shop", later, later + 1)
    finally:
        await store.close()
    assert [h.hour for h in src.hours] == [lo + 1, lo + 2]
    assert src.before is not None and src.before.hour == _m("2026-09-01T02:00") // 60
    assert src.before.link() == src.prev
    assert src.after == chain.Next(later, next_hour.seals[0].digest)
