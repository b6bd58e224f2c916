"""Bundles from an older slawatch still verify (#15): version 2 numbered bands from 0.

``claim-v2-bands-from-0.json`` was exported by slawatch as it was before bands were
numbered from 1 in report JSON (commit 15ebf4c): a config with one service
``portal`` on the default contract, two 140-minute outages on 10 and 20 October
2026 imported as source ``agent``, ``claim export --month 2026-10 --sign`` with a
fresh key (``claim-v2-agent.key.pub``). Its figures say ``band: 1`` (the second
band, 25 %) and ``claimable_band: 0``. Kept byte for byte: its signature covers them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slawatch.cli import main

HERE = Path(__file__).parent
OLD = HERE / "claim-v2-bands-from-0.json"
KEY = HERE / "claim-v2-agent.key.pub"


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
