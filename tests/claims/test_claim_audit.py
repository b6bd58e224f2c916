"""Claim bundles carry the audit entries of their month, each with an RFC 9162
inclusion proof that ``claim verify`` checks; a month nobody corrected is unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.cli.common import PORTAL, storage

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig


def _export(run_cli: RunCli, cfg: tuple[str, Path], month: str, out: Path) -> dict[str, Any]:
    done = run_cli(*cfg, "claim", "export", "--service", "portal", "--month", month, "--out", out)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(out.read_text(encoding="utf-8")))


def test_a_corrected_month_carries_its_entries_and_verify_checks_them(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("sw.db") + PORTAL))
    rows = [f"portal,2026-10-05T10:{m:02d}:00Z,{'down' if m < 10 else 'up'}" for m in range(30)]
    rows += [f"portal,2026-09-05T10:{m:02d}:00Z,up" for m in range(30)]
    csv = tmp_path / "m.csv"
    csv.write_text("service,minute,status\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert run_cli(*cfg, "import", "minutes", csv).returncode == 0
    september = _export(run_cli, cfg, "2026-09", tmp_path / "sep-before.json")
    assert "audit" not in september

    assert run_cli(*cfg, "maintenance", "add", "--service", "portal", "--from",
                   "2026-10-05T10:00:00Z", "--to", "2026-10-05T10:05:00Z",
                   "--reason", "CR-9").returncode == 0  # fmt: skip
    assert run_cli(*cfg, "credit", "settle", "--service", "portal",
                   "--month", "2026-10").returncode == 0  # fmt: skip
    # September was not touched: its bundle is what it was, byte for byte but the time.
    again = _export(run_cli, cfg, "2026-09", tmp_path / "sep-after.json")
    assert {**again, "generated_at": None} == {**september, "generated_at": None}

    out = tmp_path / "oct.json"
    october = _export(run_cli, cfg, "2026-10", out)
    audit = october["audit"]
    assert audit["tree_size"] == 3 and len(audit["head"]) == 64  # and the import's minutes
    assert [e["kind"] for e in audit["entries"]] == ["maintenance.add", "credit.settle"]
    assert audit["entries"][0]["after"]["down_minutes"] == 5
    verified = run_cli("claim", "verify", out, "--allow-unsigned")
    assert verified.returncode == 0, verified.stdout
    lines = {line.split()[0] + " " + line.split()[2]: line for line in verified.stdout.splitlines()
             if line.startswith("audit entry")}  # fmt: skip
    assert set(lines) == {"audit #2", "audit #3"}, verified.stdout  # 1: the import's minutes
    assert all(" OK " in line for line in lines.values()), verified.stdout
    assert "the 2 correction(s) of this span" in verified.stdout
    assert "corrections: that no correction of this span was left out" in verified.stdout
    plain = run_cli("claim", "verify", tmp_path / "sep-after.json", "--allow-unsigned")
    assert "corrections: that nothing in this span was corrected" in plain.stdout

    # Edited in the bundle (who did it, what it was): named, exit 1.
    for path, value in ((("actor",), "nobody"), (("after", "reason"), "force majeure")):
        forged = json.loads(out.read_text(encoding="utf-8"))
        target = forged["audit"]["entries"][0]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        bad = tmp_path / "forged.json"
        bad.write_text(json.dumps(forged), encoding="utf-8")
        result = run_cli("claim", "verify", bad, "--allow-unsigned")
        assert result.returncode == 1, result.stdout
        [line] = [x for x in result.stdout.splitlines() if x.startswith("audit entry #2 ")]
        assert "DIFFERS" in line, result.stdout
        assert "edited or made up" in result.stdout
    # An entry of another service carried along: not about this claim.
    forged = json.loads(out.read_text(encoding="utf-8"))
    forged["audit"]["entries"][1]["service"] = "other"
    bad.write_text(json.dumps(forged), encoding="utf-8")
    result = run_cli("claim", "verify", bad, "--allow-unsigned")
    assert result.returncode == 1 and "is not about this service and span" in result.stdout
    # A malformed audit member is one line, exit 2.
    forged = json.loads(out.read_text(encoding="utf-8"))
    forged["audit"]["entries"][0]["proof"] = ["xyz"]
    bad.write_text(json.dumps(forged), encoding="utf-8")
    result = run_cli("claim", "verify", bad, "--allow-unsigned")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert "audit.entries[0].proof[0]: must be a SHA-256 digest" in result.stderr
