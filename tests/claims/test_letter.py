"""The claim letter for people, rendered from a bundle file alone (``claim letter``).

Two months, each against a golden file:

- October 2026 in UTC (the ``world`` of conftest): one reported and one unreported
  outage, the parties of the config, an unsigned bundle;
- October 2026 in Europe/Paris (``paris`` below): a 100,000.00 EUR fee, a
  "100 - availability" band at 51.8192 % (the exact complement, 51.81920649 %,
  would round the amount to 51819.21; the letter's printed step is exact:
  51819.20), a case title holding a line break and a pipe, times shown with
  their offset (+02:00, then +01:00 after the 25 October change) and UTC beside,
  a bundle signed by a fixed test key.

``SLAWATCH_REGEN_GOLDEN=1`` rewrites the golden files instead of comparing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import bundle
from core.configfile import load_config
from core.timeutil import YearMonth, to_minute
from slawatch import claims, signing
from slawatch.cli import main
from slawatch.commands._support import run
from store import audit as store_audit
from store.rows import MinuteRow
from store.sqlite import SqliteStore
from tests.claims.conftest import NOW, World
from tests.conftest import write_config

HERE = Path(__file__).parent
REGEN = os.environ.get("SLAWATCH_REGEN_GOLDEN") == "1"

PARIS = """
[storage]
path = "paris.db"

[[contract]]
name = "enterprise"
timezone = "Europe/Paris"
unknown_minutes = "excluded"
bands = [
  { min_availability = 99.9, credit_percent = 0 },
  { min_availability = 0.0, credit = "100-availability" },
]

[[service]]
name = "api"
contract = "enterprise"
monthly_fee = "100000.00"
currency = "EUR"

[customer]
name = "Acme Retail SAS"
contact = "Jeanne Martin, Finance"
apply_credit = "as a credit note against the November 2026 invoice"

[provider]
name = "CloudAPI GmbH"
email = "billing@cloudapi.example"
contract_ref = "ENT-2025-0042"
"""
MONTH_START = to_minute(datetime(2026, 9, 30, 22, tzinfo=UTC))  # 1 Oct 00:00 in Paris
RECORDED = 44_360  # of the month's 44,700 minutes: the last 340 have no record (excluded)
DOWN = (to_minute(datetime(2026, 10, 10, tzinfo=UTC)), 22_987)
TITLE = "API down\n| all regions *503*"
TEST_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def golden(name: str, text: str) -> None:
    path = HERE / name
    if REGEN:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.fixture(autouse=True, scope="module")
def fixed_tzdata() -> Iterator[None]:
    """The tz database version is the machine's; the golden files name a fixed one."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(claims, "tzdata_version", lambda: "2026a")
        yield


@dataclass(frozen=True)
class Sent:
    path: Path  # the bundle file as the provider receives it
    document: dict[str, object]


def _letter(path: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["claim", "letter", str(path), "--format", fmt]) == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def paris(tmp_path_factory: pytest.TempPathFactory) -> Sent:
    root = tmp_path_factory.mktemp("paris")
    config = load_config(write_config(root, PARIS))
    rows = [
        MinuteRow(
            "api", "paris-1", m, 3 if DOWN[0] <= m < DOWN[0] + DOWN[1] else 1, 90,
            "status:503" if m == DOWN[0] else None,
        )
        for m in range(MONTH_START, MONTH_START + RECORDED)
    ]  # fmt: skip

    async def build() -> claims.Exported:
        async with await SqliteStore.open(config.storage_path) as store:
            await store.import_minutes([rows])
            await store.open_case(
                "api", "critical", TITLE, datetime(2026, 10, 10, 0, 20, tzinfo=UTC),
                ref="INC-4411",
            )  # fmt: skip
            return await claims.gather(store, config, "api", YearMonth(2026, 10), NOW)

    # The case's audit entry says who recorded it and when: pinned, so the bundle's
    # bytes (which the letter is bound to) are the same on every run.
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(store_audit, "utc_now", lambda: datetime(2026, 10, 10, 0, 21, tzinfo=UTC))
        mp.setattr(store_audit, "os_user", lambda: "jmartin")
        document = signing.sign(run(build()).document, TEST_KEY)
    path = root / "claim-api-2026-10.json"
    claims.write_atomic(path, bundle.dumps(document))
    return Sent(path, document)


def test_world_letter_in_markdown(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = load_config(world.config)

    async def gather() -> claims.Exported:
        async with await SqliteStore.open(config.storage_path, readonly=True) as store:
            return await claims.gather(store, config, "portal", YearMonth(2026, 10), NOW)

    path = tmp_path / "claim-2026-10.json"
    document = run(gather()).document
    # The world's `exclude add` ran through the CLI at the wall-clock time, as the OS
    # user: its audit entry (tests/claims/test_claim_audit.py) would change the bytes
    # the letter is bound to on every run. The letter itself does not show it.
    kinds = [e["kind"] for e in document.pop("audit")["entries"]]
    assert "exclusion.add" in kinds and set(kinds) <= {
        "exclusion.add", "case.open", "case.respond", "case.resolve", "case.link"}  # fmt: skip
    claims.write_atomic(path, bundle.dumps(document))
    golden("letter_2026-10.md", _letter(path, "md", capsys))


def test_paris_letter_in_markdown_and_html(paris: Sent, capsys: pytest.CaptureFixture[str]) -> None:
    golden("letter_paris.md", _letter(paris.path, "md", capsys))
    golden("letter_paris.html", _letter(paris.path, "html", capsys))


def test_the_arithmetic_adds_up_as_printed(paris: Sent, capsys: pytest.CaptureFixture[str]) -> None:
    text = _letter(paris.path, "md", capsys)
    figures = paris.document["figures"]
    assert isinstance(figures, dict)
    # Rules 6 and 7: 100 - availability, exact, times the fee, rounded half-up at the cent.
    assert figures["claimable_credit_amount"] == "51819.21"
    assert figures["claimable_credit_percent"] == pytest.approx(51.8192064923)
    # The letter prints the step the amount was computed by, not a rounded figure whose
    # product would be another amount (51.8192 % of 100000.00 is 51819.20).
    assert "credit 100 - 48.1807935076… % = 51.8192064923… %." in text
    assert (
        "Claimable credit = 100000.00 EUR x 51.8192064923… % / 100 = 51819.2064923354… EUR,"
        " rounded half-up to the cent: 51819.21 EUR." in text
    )
    assert "(51.8192064923… % of the monthly fee)" in text
    assert "51819.20 " not in text and "51819.20\n" not in text


def test_the_letter_names_both_parties_and_binds_itself_to_the_bundle(
    paris: Sent, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _letter(paris.path, "md", capsys)
    for said in (
        "Acme Retail SAS, Jeanne Martin, Finance",
        "CloudAPI GmbH, \\<billing@cloudapi.example>",
        "enterprise, provider reference ENT-2025-0042",
        "to be applied as a credit note against the November 2026 invoice",
        hashlib.sha256(paris.path.read_bytes()).hexdigest(),
        signing.fingerprint(TEST_KEY.public_key()),
    ):
        assert said in text, said
    seals = paris.document["sources"]["paris-1"]["chain"]["seals"]  # type: ignore[index]
    assert f"| source paris-1: chain head | {seals[-1][3]} |" in text
    # Times in the contract's zone with the offset, UTC beside; the clocks change on 25 Oct.
    assert "from 2026-10-01 00:00 +02:00 (2026-09-30 22:00 UTC)" in text
    assert "to 2026-11-01 00:00 +01:00 (2026-10-31 23:00 UTC)" in text


def test_a_line_break_in_a_case_title_stays_in_its_table_row(
    paris: Sent, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _letter(paris.path, "md", capsys)
    row = next(line for line in text.splitlines() if line.startswith("| 1 |"))
    assert "“API down \\| all regions \\*503\\*”" in row
    assert row.count(" | ") == 5  # six cells: the title's pipe and line break are escaped
    page = _letter(paris.path, "html", capsys)
    assert "API down\n| all regions *503*" in page  # HTML keeps the text as is, escaped


def test_the_letter_is_made_from_the_file_not_the_database(
    paris: Sent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    moved = tmp_path / "received.json"
    moved.write_bytes(paris.path.read_bytes())
    (paris.path.parent / "paris.db").rename(tmp_path / "gone.db")  # no database anywhere near
    try:
        text = _letter(moved, "md", capsys)
    finally:
        (tmp_path / "gone.db").rename(paris.path.parent / "paris.db")
    assert "received.json" in text
    # A changed file is another file: another digest, and the signature no longer holds.
    doc = json.loads(moved.read_text())
    doc["cases"][0]["ref"] = "INC-9999"
    moved.write_text(json.dumps(doc), encoding="utf-8")
    changed = _letter(moved, "md", capsys)
    assert hashlib.sha256(moved.read_bytes()).hexdigest() in changed
    assert "signature INVALID" in changed


def test_no_letter_from_a_bundle_that_does_not_recompute(
    paris: Sent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stated figure changed: the letter would say the evidence recomputes when it
    does not. Refused with one line and exit 1 (the answer is no), nothing written."""
    doc = json.loads(paris.path.read_text())
    doc["figures"]["credit_amount"] = "9999.00"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc), encoding="utf-8")
    out = tmp_path / "letter.md"
    capsys.readouterr()
    assert main(["claim", "letter", str(changed), "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured
    assert "does not hold (1 check(s) disagree: credit_amount)" in captured.err
    assert "claim verify" in captured.err and not out.exists()


def test_cli_letter_writes_a_file_and_refuses_a_non_bundle(
    paris: Sent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "letter.html"
    assert main(["claim", "letter", str(paris.path), "--format", "html", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["letter.html"]  # no temp file left
    capsys.readouterr()
    bad = tmp_path / "bad.json"
    bad.write_text("{}", encoding="utf-8")
    assert main(["claim", "letter", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a slawatch claim bundle" in err


def test_cli_export_still_writes_a_letter(world: World, tmp_path: Path) -> None:
    out = tmp_path / "letter.md"
    result = world.cli(
        "claim", "export", "--service", "portal", "--month", "2026-10", "--out", out,
        "--format", "md",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Service credit claim: portal, October 2026\n")
    assert "| 2 | 2026-10-12 09:00 UTC | 2026-10-12 09:45 UTC | 45 | no |" in text
    assert [p.name for p in tmp_path.iterdir()] == ["letter.md"]


def test_a_non_engineer_can_read_the_evidence_section(
    paris: Sent, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found reading a letter as a finance manager would: the minute count did not match
    the month's (the bundle carries the hour after the month too, unsaid: 43,260 minutes
    for a month of 43,200), the command to check it left out the signer's key, and 'what
    it does not prove' was led by field names (generated_at, tzdata) and spoke of an
    'audit member's tree_size'."""
    text = _letter(paris.path, "md", capsys)
    assert "from the 44,360 minutes the bundle records in the period and its terms" in text
    assert (
        "with our public key (SIGNER.pub): slawatch claim verify --key SIGNER.pub "
        "claim-api-2026-10.json" in text
    )
    not_proven = text[text.index("### What it does not prove") :]
    for jargon in ("generated_at", "tzdata", "tree_size", "audit member"):
        assert jargon not in not_proven, jargon
    assert "date of the bundle: " in not_proven and "time zone data: " in not_proven

    # A month recorded to its end and on into the next: the hour after it is carried.
    text = _letter(_up_all_month(tmp_path, down=0), "md", capsys)
    assert (
        "from the 44,700 minutes the bundle records in the period (and 60 just outside it, "
        "which show that no outage is cut at its ends) and its terms" in text
    )
    assert "slawatch claim verify claim.json" in text  # unsigned: no key to give
    # A month that owes nothing asks for nothing (it read: 'We claim a service credit of
    # 0.00 EUR (0 % of the monthly fee) ..., to be applied as a credit note against ...').
    assert "We claim" not in text and "to be applied" not in text
    assert (
        "**No service credit is due for October 2026: availability was 100.0000 %, in "
        "band 1, which earns none.**" in text
    )
    # 300 minutes down, never reported: a credit measured, none claimable.
    text = _letter(_up_all_month(tmp_path / "down", down=300), "md", capsys)
    assert "**We claim no service credit: no outage that would earn one was reported.**" in text
    # Before the month's end: none due so far (it said 'is due' of a month not over).
    mid = datetime(2026, 10, 20, tzinfo=UTC)
    text = _letter(_up_all_month(tmp_path / "mid", down=0, now=mid), "md", capsys)
    assert "**No service credit is due for October 2026 so far: availability was " in text


def _up_all_month(root: Path, down: int, now: datetime = NOW) -> Path:
    """A bundle of the Paris month recorded to its end and through the next month's first
    hour, its first ``down`` minutes down (no case); the bundle's path."""
    root.mkdir(exist_ok=True)
    config = load_config(write_config(root, PARIS))
    whole = range(MONTH_START, min(MONTH_START + 44_700 + 60, to_minute(now)))
    rows = [MinuteRow("api", "paris-1", m, 3 if m < MONTH_START + down else 1, 90, None)
            for m in whole]  # fmt: skip

    async def build() -> claims.Exported:
        async with await SqliteStore.open(config.storage_path) as store:
            await store.import_minutes([rows])
            return await claims.gather(store, config, "api", YearMonth(2026, 10), now)

    path = root / "claim.json"
    claims.write_atomic(path, bundle.dumps(run(build()).document))
    return path
