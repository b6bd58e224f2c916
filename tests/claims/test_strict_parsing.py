"""Strict reading of bundles and config: exact JSON types, ASCII digits, canonical
IANA zones; hostile values end in one line and exit 2 (or a named disagreement,
exit 1), never a traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from slawatch.cli import main
from tests.claims.conftest import World
from tests.claims.test_claim_cli import differs, save, verify


def edited(path: Path, edit: Any) -> Path:
    doc = json.loads(path.read_text())
    edit(doc)
    save(path, doc)
    return path


def one_line_error(code: int, err: str, *said: str) -> None:
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for s in said:
        assert s in err, err


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("unreported_outage_count", True),
        ("credit_percent", 25),
        ("outage_count", 2.0),
        ("provisional", 0),
    ],
    ids=["true-for-one", "int-for-float", "float-for-int", "zero-for-false"],
)
def test_a_figure_of_another_json_type_does_not_hold(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str], key: str, value: Any
) -> None:
    doc = json.loads(bundle_copy.read_text())
    if key == "unreported_outage_count":
        assert doc["figures"][key] == 1  # Python's == would take true for 1
    edited(bundle_copy, lambda d: d["figures"].__setitem__(key, value))
    code, out, _ = verify(bundle_copy, capsys, "--allow-unsigned")
    assert code == 1
    assert differs(out) == {key}


@pytest.mark.parametrize(
    "fee", ["１０００.00", "١٠٠٠.00", "1000.٠٠", "1e3", " 1000.00"], ids=str.encode
)
def test_decimals_take_ascii_digits_only(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str], fee: str
) -> None:
    edited(bundle_copy, lambda d: d["terms"].__setitem__("monthly_fee", fee))
    code, _, err = verify(bundle_copy, capsys)
    one_line_error(code, err, "terms.monthly_fee", "is not a decimal number")


@pytest.mark.parametrize(
    "zone", ["localtime", "right/UTC", "posix/Europe/Paris", "Factory", "posixrules", "../UTC"]
)
def test_only_canonical_iana_zones(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str], zone: str
) -> None:
    edited(bundle_copy, lambda d: d["terms"].__setitem__("timezone", zone))
    code, _, err = verify(bundle_copy, capsys)
    one_line_error(code, err, "terms.timezone")


def test_the_bundle_records_the_tz_database_version(world: World) -> None:
    assert re.fullmatch(r"20[0-9]{2}[a-z]", world.document()["tzdata"])


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ('"outage_count": 2', '"outage_count": 1e400', "out of range"),
        ('"title": "Portal down', '"title": "\\ud800Portal down', "lone UTF-16 surrogate"),
        ('"service": "portal"', '"service": "' + "p" * 5000 + '"', "service"),
        ('"reason": "upstream', '"reason": "' + "x" * 100_000, "longer than 2000 characters"),
        ('"agent": {', '"' + "a" * 500 + '": {', "not a short name"),
    ],
    ids=["1e400", "lone-surrogate", "long-service", "long-reason", "long-source"],
)
def test_hostile_values_end_in_one_line(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, said: str
) -> None:
    text = json.dumps(json.loads(bundle_copy.read_text()), indent=1, ensure_ascii=False)
    assert old in text, old
    bundle_copy.write_text(text.replace(old, new, 1), encoding="utf-8")
    code, _, err = verify(bundle_copy, capsys)
    one_line_error(code, err, said)


def test_duplicate_case_ids_are_refused(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edited(bundle_copy, lambda d: d["cases"].append(dict(d["cases"][0], title="twin")))
    code, _, err = verify(bundle_copy, capsys)
    one_line_error(code, err, "cases[1].id", "duplicate case id 1")


def test_minutes_and_cases_after_generated_at_are_flagged(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def backdate(d: dict[str, Any]) -> None:
        d["generated_at"] = "2026-10-03T15:30:00Z"  # before most of the month was recorded
        d["cases"][0]["responded_at"] = "2026-10-04T09:00:00Z"

    edited(bundle_copy, backdate)
    code, out, _ = verify(bundle_copy, capsys, "--allow-unsigned")
    assert code == 1
    assert {"minutes agent after generated_at", "case 1 after generated_at"} <= differs(out)


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('monthly_fee = "１０００.00"', "monthly_fee"),
        ('monthly_fee = "٣٠٠"', "monthly_fee"),
        ('monthly_fee = "1e3"', "monthly_fee"),
        ('timezone = "localtime"', "timezone"),
        ('timezone = "right/Europe/Paris"', "timezone"),
        ('timezone = "posix/Europe/Paris"', "timezone"),
        ('timezone = "Factory"', "timezone"),
    ],
)
def test_config_check_is_as_strict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, said: str
) -> None:
    fee = line if line.startswith("monthly_fee") else 'monthly_fee = "10.00"'
    zone = line if line.startswith("timezone") else 'timezone = "UTC"'
    config = tmp_path / "config.toml"
    config.write_text(
        f'[[contract]]\nname = "c"\n{zone}\n\n[[service]]\nname = "s"\ncontract = "c"\n{fee}\n',
        encoding="utf-8",
    )
    code = main(["--config", str(config), "config", "check"])
    err = capsys.readouterr().err
    one_line_error(code, err, said)


def test_config_parties_are_read_and_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = '[[service]]\nname = "s"\nmonthly_fee = "10.00"\n'
    config = tmp_path / "config.toml"
    config.write_text(base + '\n[provider]\nname = "P"\nemail = "not an address"\n')
    assert main(["--config", str(config), "config", "check"]) == 2
    one_line_error(2, capsys.readouterr().err, "provider.email")
    config.write_text(base + '\n[customer]\nname = "C"\nbank = "x"\n')
    assert main(["--config", str(config), "config", "check"]) == 2
    assert "customer.bank" in capsys.readouterr().err
    config.write_text(
        base + '\n[customer]\nname = "C"\n\n[provider]\nname = "P"\ncontract_ref = "R-1"\n'
    )
    assert main(["--config", str(config), "config", "check"]) == 0


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--prev-head", "agent=xyz"], "--prev-head"),
        (["--terms-digest", "12"], "--terms-digest"),
        (["--terms", "/nonexistent/terms.json"], "cannot read"),
    ],
    ids=["prev-head", "terms-digest", "terms-file"],
)
def test_bad_pins_exit_2(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str], args: list[str], said: str
) -> None:
    code, _, err = verify(bundle_copy, capsys, *args)
    one_line_error(code, err, said)


def test_the_terms_digest_verify_prints_pins_the_terms(
    bundle_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = verify(bundle_copy, capsys, "--allow-unsigned")
    digest = next(x for x in out.splitlines() if x.startswith("terms digest: ")).split()[2]
    code, out, _ = verify(bundle_copy, capsys, "--allow-unsigned", "--terms-digest", digest)
    assert code == 0 and "terms pinned" in out and "  - terms:" not in out
    code, out, _ = verify(bundle_copy, capsys, "--allow-unsigned", "--terms-digest", "0" * 64)
    assert code == 1 and differs(out) == {"terms pinned"}
