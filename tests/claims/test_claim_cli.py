"""``claim export`` / ``claim verify`` end to end: the bundle holds, and any edit is named.

The export and the moved-bundle check run the real ``slawatch`` in a
subprocess; the tampering cases call the same ``slawatch.cli.main`` in-process
(one process start each would cost most of this file's time budget).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core.status import CODES, NAMES
from core.timeutil import from_minute, iso_z, parse_instant, to_minute
from slawatch.cli import main
from tests.claims.conftest import World
from tests.conftest import run_cli


def verify(path: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    code = main(["claim", "verify", str(path), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def differs(out: str) -> set[str]:
    """The names of the checks the verify output marks DIFFERS."""
    return {line.split("  DIFFERS")[0].strip() for line in out.splitlines() if "  DIFFERS" in line}


def save(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")


def minutes_of(src: dict[str, Any]) -> dict[int, int]:
    """A source's runs expanded to {minute: status code}."""
    out: dict[int, int] = {}
    for start, count, status in src["runs"]:
        first = to_minute(parse_instant(start))
        for m in range(first, first + count):
            out[m] = CODES[status]
    return out


def set_minutes(src: dict[str, Any], minutes: dict[int, int]) -> None:
    """Rewrite runs (and the raw list, as a careful forger would) from {minute: status}."""
    runs: list[list[Any]] = []
    for m in sorted(minutes):
        if runs and runs[-1][2] == minutes[m] and runs[-1][0] + runs[-1][1] == m:
            runs[-1][1] += 1
        else:
            runs.append([m, 1, minutes[m]])
    src["runs"] = [[iso_z(from_minute(m)), n, NAMES[c]] for m, n, c in runs]
    errors = {to_minute(parse_instant(t)): e for t, _, e in src["raw"]}
    src["raw"] = [
        [iso_z(from_minute(m)), NAMES[c], errors.get(m)]
        for m, c in sorted(minutes.items())
        if c in (2, 3) or errors.get(m) is not None
    ]


def minute(text: str) -> int:
    return to_minute(parse_instant(text))


def test_bundle_verifies_alone_in_another_folder(world: World, bundle_copy: Path) -> None:
    result = run_cli("claim", "verify", bundle_copy.name, cwd=bundle_copy.parent)
    # Unsigned: it holds (exit 0, interfaces.md), and says it only agrees with itself.
    assert result.returncode == 0, result.stdout + result.stderr
    assert "HOLDS, SELF-CONSISTENT ONLY" in result.stdout
    assert "NOT SIGNED: self-consistent only" in result.stdout
    strict = run_cli(
        "claim", "verify", bundle_copy.name, "--require-signed", cwd=bundle_copy.parent
    )
    assert strict.returncode == 3, strict.stdout + strict.stderr
    assert "HOLDS, SELF-CONSISTENT ONLY" in strict.stdout
    assert not (bundle_copy.parent / "config.toml").exists()
    assert "HOLDS" in result.stdout
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:-1]}
    assert "250.00" in lines["credit_amount"] and "OK" in lines["credit_amount"]
    assert "250.00" in lines["claimable_credit_amount"]
    assert "holds" in lines["chain"]
    assert result.stdout.splitlines()[1] == (
        "claimable: outages reported within 72h (report_within, the configured reading of "
        'the contract\'s "promptly"), by email'
    )


def test_bundle_states_the_month_worked_out_by_hand(world: World) -> None:
    doc = world.document()
    f = doc["figures"]
    assert (f["excluded_minutes"], f["measured_minutes"], f["downtime_minutes"]) == (
        1620,
        43020,
        285,
    )
    assert (f["unknown_minutes"], f["reported_downtime_minutes"]) == (150, 240)
    assert (f["credit_amount"], f["claimable_credit_amount"]) == ("250.00", "250.00")
    assert [o["reported"] for o in doc["outages"]] == [True, False]
    assert doc["terms"]["monthly_fee"] == "1000.00"
    assert doc["windows"][0]["reason"] == "upstream hosting failure"
    raw = doc["sources"]["agent"]["raw"]
    assert raw[0] == ["2026-10-03T14:00:00Z", "down", "status:503"]
    assert raw[10] == ["2026-10-03T14:10:00Z", "down", None]
    # What the bundle says equals what `slawatch report` says.
    report = world.cli("report", "--month", "2026-10", "--service", "portal", "--format", "json")
    month = json.loads(report.stdout)
    assert month.pop("performance")["period"] == "2026-10"  # the report adds the contract's
    assert month == f


def test_changing_one_minutes_status_is_named(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(bundle_copy.read_text())
    src = doc["sources"]["agent"]
    minutes = minutes_of(src)
    minutes[minute("2026-10-12T09:10:00Z")] = CODES["up"]  # one down minute of outage B
    set_minutes(src, minutes)
    save(bundle_copy, doc)
    code, out, _ = verify(bundle_copy, capsys)
    assert code == 1
    assert {"downtime_minutes", "availability_percent", "chain agent"} <= differs(out)
    assert "records do not match the hour's seal" in out
    assert "2026-10-12T09:00:00Z" in out  # the hour that changed
    assert "DOES NOT HOLD" in out


def test_raw_list_left_behind_is_named(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(bundle_copy.read_text())
    runs = doc["sources"]["agent"]["runs"]
    runs[3][2] = "up"  # outage B's run says up, its raw minutes still say down
    save(bundle_copy, doc)
    code, out, _ = verify(bundle_copy, capsys)
    assert code == 1
    assert "minutes agent 2026-10-12T09:00:00Z" in differs(out)


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (
            lambda d: d["terms"].__setitem__("monthly_fee", "2000.00"),
            {"monthly_fee", "credit_amount"},
        ),
        (
            lambda d: d["terms"]["bands"][1].__setitem__("credit_percent", "30"),
            {"credit_percent", "credit_amount", "claimable_credit_amount"},
        ),
        (
            lambda d: d["windows"][0].__setitem__("to", "2026-10-20T12:00:00Z"),
            {"excluded_minutes", "measured_minutes", "availability_percent"},
        ),
        (lambda d: d["figures"].__setitem__("credit_amount", "350.00"), {"credit_amount"}),
        (
            lambda d: d["figures"].__setitem__("claimable_credit_amount", "500.00"),
            {"claimable_credit_amount"},
        ),
    ],
    ids=["fee", "band", "exclusion-time", "stated-amount", "stated-claimable"],
)
def test_edited_terms_or_figures_are_named(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str], edit: Any, named: set[str]
) -> None:
    doc = json.loads(bundle_copy.read_text())
    edit(doc)
    save(bundle_copy, doc)
    code, out, err = verify(bundle_copy, capsys)
    assert code == 1, out + err
    assert named <= differs(out)
    assert "chain agent" not in differs(out)  # the minutes themselves are intact


def test_deleting_a_minute_breaks_the_chain(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(bundle_copy.read_text())
    src = doc["sources"]["agent"]
    minutes = minutes_of(src)
    del minutes[minute("2026-10-05T08:17:00Z")]
    set_minutes(src, minutes)
    save(bundle_copy, doc)
    code, out, _ = verify(bundle_copy, capsys)
    assert code == 1
    assert "chain agent" in differs(out)
    assert "hour 2026-10-05T08:00:00Z: records do not match the hour's seal" in out


@pytest.mark.parametrize(
    ("inserted", "reason"),
    [
        ("2026-10-25T14:10:00Z", "hour 2026-10-25T14:00:00Z: records do not match the hour's seal"),
        (
            "2026-10-25T12:30:00Z",
            "hour 2026-10-25T12:00:00Z: records in an hour that was never sealed",
        ),
    ],
    ids=["into-a-sealed-hour", "into-an-unsealed-hour"],
)
def test_inserting_a_minute_breaks_the_chain(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str], inserted: str, reason: str
) -> None:
    doc = json.loads(bundle_copy.read_text())
    src = doc["sources"]["agent"]
    minutes = minutes_of(src)
    assert minute(inserted) not in minutes  # the agent was off then
    minutes[minute(inserted)] = CODES["down"]
    set_minutes(src, minutes)
    save(bundle_copy, doc)
    code, out, _ = verify(bundle_copy, capsys)
    assert code == 1
    assert "chain agent" in differs(out)
    assert reason in out


def test_truncated_bundle_exits_2_with_one_line(world: World, bundle_copy: Path) -> None:
    data = bundle_copy.read_bytes()
    bundle_copy.write_bytes(data[: len(data) // 2])
    result = run_cli("claim", "verify", bundle_copy, cwd=bundle_copy.parent)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert str(bundle_copy) in lines[0] and "not valid JSON" in lines[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe not text", "not UTF-8"),
        (b"[1, 2, 3]", "expected a JSON object"),
        (b'{"format": "something-else"}', "not a slawatch claim bundle"),
        (b'{"format": "slawatch-claim", "version": 1}', "version 1 is not supported"),
        (b'{"format": "slawatch-claim", "version": 1, "a": NaN}', "not valid JSON"),
        (b"[" * 100_000, "nested too deeply"),
    ],
    ids=["binary", "array", "other-format", "version", "nan", "deep"],
)
def test_not_a_bundle_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(content)
    code, _out, err = verify(path, capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1


def test_wrongly_typed_member_exits_2(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(bundle_copy.read_text())
    doc["terms"]["monthly_fee"] = 1000.0  # money must be text
    save(bundle_copy, doc)
    code, _, err = verify(bundle_copy, capsys)
    assert code == 2
    assert "terms.monthly_fee: must be a string" in err


def test_a_wrong_amount_is_shown_with_its_difference(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(bundle_copy.read_text())
    doc["figures"]["credit_amount"] = "350.00"
    save(bundle_copy, doc)
    code, out, _ = verify(bundle_copy, capsys)
    assert code == 1
    line = next(x for x in out.splitlines() if x.startswith("credit_amount "))
    assert line.split(None, 1)[1] == (
        "DIFFERS   bundle states 350.00; recomputed 250.00 (bundle +100.00)"
    )
    assert out.splitlines()[-1] == "DOES NOT HOLD: 1 check(s) disagree: credit_amount"


@pytest.mark.parametrize("sources", ["", " , "])
def test_sources_that_name_no_source_exit_2(bundle_copy: Path, sources: str) -> None:
    """``--sources ''`` is a mistake in the command (exit 2), not a bundle that fails (1)."""
    result = run_cli("claim", "verify", bundle_copy, "--sources", sources, "--allow-unsigned")
    assert (result.returncode, result.stdout) == (2, ""), result.stdout
    assert result.stderr == "slawatch: --sources: names no source; give the agreed ones: NAME,...\n"


def test_sources_pinned_that_differ_say_what_was_pinned(bundle_copy: Path) -> None:
    """Found verifying a fleet's claim: 'bundle states agent; recomputed added agent;
    missing a, b' (nothing was recomputed: the names are the verifier's own pins)."""
    stated = ", ".join(sorted(json.loads(bundle_copy.read_text())["sources"]))
    done = run_cli("claim", "verify", bundle_copy, "--sources", "a,b", "--allow-unsigned")
    assert done.returncode == 1, done.stderr
    line = next(x for x in done.stdout.splitlines() if x.startswith("sources pinned "))
    assert " ".join(line.split()[2:]) == (
        f"DIFFERS bundle states {stated}; you pinned a, b (not pinned: {stated};"
        " pinned, not in the bundle: a, b)"
    ), line


def test_exporting_a_month_barely_recorded_says_so(world: World, tmp_path: Path) -> None:
    """Found as an operator: exporting a month with no minute recorded said 'availability
    100.0000 %, credit 0.00 EUR' and nothing else (the letter says it; the command did not)."""
    out = tmp_path / "september.json"
    done = world.cli("claim", "export", "--service", "portal", "--month", "2026-09",
                     "--out", out)  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    assert "availability 100.0000 %" in said
    assert "(LOW COVERAGE: only 0.0 % of the month's minutes recorded, the rest counted as" in said
    october = world.cli("claim", "export", "--service", "portal", "--month", "2026-10",
                        "--out", tmp_path / "october.json")  # fmt: skip
    assert "LOW COVERAGE" not in october.stdout
