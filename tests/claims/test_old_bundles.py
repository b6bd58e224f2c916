"""Bundles from an older slawatch still verify (#15): version 2 numbered bands from 0,
and, from commit ccd57dc (6 December 2026) until version 3 (8201a19), from 1.

``claim-v2-bands-from-0.json`` was exported by slawatch as it was before bands were
numbered from 1 in report JSON (commit 15ebf4c): a config with one service
``portal`` on the default contract, two 140-minute outages on 10 and 20 October
2026 imported as source ``agent``, ``claim export --month 2026-10 --sign`` with a
fresh key (``claim-v2-agent.key.pub``). Its figures say ``band: 1`` (the second
band, 25 %) and ``claimable_band: 0``. Kept byte for byte: its signature covers them.

``claim-v2-bands-from-1.json`` was exported the same way (same config, same two
outages, a fresh key ``claim-v2-bands-from-1.key.pub``) by slawatch at 8201a19~1,
after bands were numbered from 1 but before the version was bumped: still version 2,
its figures say ``band: 2`` and ``claimable_band: 1``. Version 2 does not say which
numbering it uses; each is read as its own figures are consistent with
(``core.claim.read_bands``), and ``claim verify`` says which reading it used.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slawatch.cli import main

HERE = Path(__file__).parent
OLD = HERE / "claim-v2-bands-from-0.json"
KEY = HERE / "claim-v2-agent.key.pub"
FROM_ONE = HERE / "claim-v2-bands-from-1.json"
FROM_ONE_KEY = HERE / "claim-v2-bands-from-1.key.pub"
READ_FROM_0 = "version 2 bundle: band numbers read as counted from 0"
READ_FROM_1 = "version 2 bundle: band numbers read as counted from 1"
MONEY = (
    "credit_percent", "credit_amount", "claimable_credit_percent", "claimable_credit_amount",
)  # fmt: skip


def _lines(out: str, name: str) -> list[str]:
    return [line.split() for line in out.splitlines() if line.split()[:1] == [name]]


def test_a_version_2_bundle_verifies_with_its_bands_read_from_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = json.loads(OLD.read_bytes())
    assert document["version"] == 2
    assert (document["figures"]["band"], document["figures"]["claimable_band"]) == (1, 0)
    assert main(["claim", "verify", str(OLD), "--key", str(KEY)]) == 0
    out = capsys.readouterr().out
    assert _lines(out, "band") == [["band", "OK", "2"]]
    assert _lines(out, "claimable_band") == [["claimable_band", "OK", "1"]]
    assert "valid, by trusted key" in out and "HOLDS: all" in out
    assert f"{READ_FROM_0} (it states a band 0); shown below plus 1\n" in out
    assert main(["claim", "letter", str(OLD)]) == 0
    letter = capsys.readouterr().out
    assert "Measured band: band 2 (availability 99.3727 %" in letter


def test_the_same_figures_said_to_be_version_3_do_not_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The version says how to read the band numbers: relabelled, the old numbers are
    one band off (and the signature, over the old bytes, no longer holds)."""
    document = json.loads(OLD.read_bytes())
    document["version"] = 3
    relabelled = tmp_path / "relabelled.json"
    relabelled.write_text(json.dumps(document), encoding="utf-8")
    assert main(["claim", "verify", str(relabelled), "--key", str(KEY)]) == 1
    out = capsys.readouterr().out
    assert _lines(out, "band")[0][:2] == ["band", "DIFFERS"]
    assert "bundle states 1; recomputed 2" in out
    del document["signature"]
    document["version"] = 4
    relabelled.write_text(json.dumps(document), encoding="utf-8")
    assert main(["claim", "verify", str(relabelled)]) == 2
    assert "version 4 is not supported (this reads 2, 3)" in capsys.readouterr().err


def _verify(path: Path, capsys: pytest.CaptureFixture[str], *key: str) -> tuple[int, str]:
    code = main(["claim", "verify", str(path), *key])
    return code, capsys.readouterr().out


def _edited(tmp_path: Path, name: str, signed: bool = True, **figures: object) -> Path:
    document = json.loads(FROM_ONE.read_bytes())
    document["figures"].update(figures)
    if not signed:
        del document["signature"]
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_a_version_2_bundle_with_bands_from_1_verifies_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Exported between the renumbering and the bump, it failed 'band DIFFERS bundle
    states 3; recomputed 2 (bundle +1)' when every version 2 was read from 0."""
    document = json.loads(FROM_ONE.read_bytes())
    assert document["version"] == 2
    assert (document["figures"]["band"], document["figures"]["claimable_band"]) == (2, 1)
    code, out = _verify(FROM_ONE, capsys, "--key", str(FROM_ONE_KEY))
    assert code == 0, out
    reading = [line for line in out.splitlines() if line.startswith("version 2 bundle:")]
    assert reading == [
        f"{READ_FROM_1} (its stated band numbers are the recomputed ones counted from 1)"
    ]
    assert _lines(out, "band") == [["band", "OK", "2"]]
    assert _lines(out, "claimable_band") == [["claimable_band", "OK", "1"]]
    assert _lines(out, "credit_amount") == [["credit_amount", "OK", "250.00"]]
    assert "valid, by trusted key" in out and "HOLDS: all" in out
    assert main(["claim", "letter", str(FROM_ONE)]) == 0
    letter = capsys.readouterr().out
    assert "Measured band: band 2 (availability 99.3727 %" in letter


@pytest.mark.parametrize(("band", "claimable"), [(3, 1), (1, 1), (2, 2), (2, 0)])
def test_a_version_2_bundle_from_1_with_a_band_edited_by_one_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], band: int, claimable: int
) -> None:
    """One band number off by one matches neither reading: read from 0 as before, the
    difference is named (unsigned too, so it is the figures that fail, not only the
    signature over the old bytes)."""
    for signed in (True, False):
        path = _edited(tmp_path, "edited.json", signed, band=band, claimable_band=claimable)
        code, out = _verify(path, capsys, *(("--key", str(FROM_ONE_KEY)) if signed else ()))
        assert code == 1, out
        assert READ_FROM_0 in out
        differs = [n for n in ("band", "claimable_band") if _lines(out, n)[0][1] == "DIFFERS"]
        assert differs, out
        assert ("signature" in out.split("DOES NOT HOLD:")[1]) is signed


def test_the_reading_never_changes_money(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The band numbers are labels: the credit percent and money are stated and checked
    against the recomputation under either reading. The same figures with both band
    numbers counted from 0 instead verify too, with the same amounts; a changed amount
    fails under either reading."""
    _, from_one = _verify(FROM_ONE, capsys, "--key", str(FROM_ONE_KEY))
    relabelled = _edited(tmp_path, "from-0.json", False, band=1, claimable_band=0)
    code, from_zero = _verify(relabelled, capsys)
    assert code == 0, from_zero
    assert READ_FROM_0 in from_zero and READ_FROM_1 in from_one
    for key in MONEY:
        assert _lines(from_zero, key) == _lines(from_one, key)
        assert _lines(from_one, key)[0][1] == "OK"
    for band, claimable, reading in ((2, 1, READ_FROM_1), (1, 0, READ_FROM_0)):
        path = _edited(
            tmp_path, "more.json", False, band=band, claimable_band=claimable,
            credit_amount="350.00", claimable_credit_percent=25.0,
        )  # fmt: skip
        code, out = _verify(path, capsys)
        assert code == 1 and reading in out
        assert _lines(out, "credit_amount") == [
            ["credit_amount", "DIFFERS", "bundle", "states", "350.00;", "recomputed", "250.00",
             "(bundle", "+100.00)"],
        ]  # fmt: skip
        assert _lines(out, "claimable_credit_percent")[0][1] == "DIFFERS"


def test_read_bands_changes_only_the_band_numbers() -> None:
    from core import bundle

    for path in (OLD, FROM_ONE):
        stated = json.loads(path.read_bytes())["figures"]
        claim, _ = bundle.parse(path.read_bytes(), str(path))
        assert claim.band_reading is not None
        assert {k: v for k, v in claim.figures.items() if k not in ("band", "claimable_band")} == {
            k: v for k, v in stated.items() if k not in ("band", "claimable_band")
        }
        assert (claim.figures["band"], claim.figures["claimable_band"]) == (2, 1)
    current = json.loads(FROM_ONE.read_bytes())
    current["version"] = 3
    del current["signature"]
    claim, _ = bundle.parse(json.dumps(current).encode(), "v3")
    assert claim.band_reading is None  # version 3 says how it counts
