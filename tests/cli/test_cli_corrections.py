"""List, correct, remove, with an audit trail: windows and credits through the real CLI."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests.cli.common import PORTAL, assert_user_error, ok_json, storage

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

REPORT = ("report", "--month", "2026-10", "--service", "portal", "--format", "json")


def _setup(tmp_path: Path, run_cli: RunCli, write_config: WriteConfig) -> tuple[str, Path]:
    config = write_config(tmp_path, storage("sw.db") + PORTAL)
    rows = [f"portal,2026-10-05T10:{m:02d}:00Z,{'down' if m < 10 else 'up'}" for m in range(30)]
    csv = tmp_path / "m.csv"
    csv.write_text("service,minute,status\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert run_cli("--config", config, "import", "minutes", csv).returncode == 0
    return "--config", config


def test_a_window_over_recorded_downtime_needs_a_reason_warns_and_is_audited(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = _setup(tmp_path, run_cli, write_config)
    span = ("--service", "portal", "--from", "2026-10-05T09:30:00Z", "--to", "2026-10-05T11:00:00Z")
    assert_user_error(
        run_cli(*cfg, "maintenance", "add", *span),
        "--reason: this maintenance window covers 10 minutes already recorded down"
        " (from 2026-10-05 10:00Z); say why with --reason",
    )
    assert ok_json(run_cli, *cfg, "maintenance", "list", "--json") == []
    assert ok_json(run_cli, *cfg, "audit", "--json") == []

    added = run_cli(*cfg, "maintenance", "add", *span, "--reason", "CR-1234")
    assert added.returncode == 0, added.stderr
    assert added.stderr == (
        "slawatch: warning: this maintenance window covers 10 minutes already recorded down"
        " (2026-10-05 10:00Z to 2026-10-05 10:10Z); kept in the audit trail (slawatch audit)\n"
    )
    assert ok_json(run_cli, *cfg, *REPORT)["downtime_minutes"] == 0
    [window] = ok_json(run_cli, *cfg, "maintenance", "list", "--service", "portal", "--json")
    assert window == {
        "id": 1, "service": "portal", "kind": "maintenance", "from": "2026-10-05T09:30:00Z",
        "to": "2026-10-05T11:00:00Z", "minutes": 90, "reason": "CR-1234",
    }  # fmt: skip
    [entry] = ok_json(run_cli, *cfg, "audit", "--json")
    assert entry["kind"] == "maintenance.add" and entry["before"] is None
    assert entry["after"] == {**window, "down_minutes": 10}
    assert (entry["from"], entry["to"]) == ("2026-10-05T09:30:00Z", "2026-10-05T11:00:00Z")

    # Over clean minutes: no reason needed, no warning; an exclusion over downtime warns too.
    clean = run_cli(*cfg, "maintenance", "add", "--service", "portal",
                    "--from", "2026-10-06T00:00:00Z", "--to", "2026-10-06T01:00:00Z")  # fmt: skip
    assert clean.returncode == 0 and clean.stderr == "", clean.stderr
    excluded = run_cli(*cfg, "exclude", "add", "--service", "portal", "--from",
                       "2026-10-05T10:05:00Z", "--to", "2026-10-05T10:07:00Z",
                       "--reason", "upstream DNS")  # fmt: skip
    assert "warning: this exclusion covers 2 minutes already recorded down" in excluded.stderr
    listed = run_cli(*cfg, "maintenance", "list")
    assert listed.stdout.splitlines()[0].split() == ["ID", "SERVICE", "FROM", "TO", "MINUTES",
                                                     "REASON"]  # fmt: skip
    assert len(listed.stdout.splitlines()) == 3

    removed = run_cli(*cfg, "maintenance", "remove", "1")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == (
        "maintenance window 1 removed from portal: 2026-10-05 09:30Z to 2026-10-05 11:00Z"
        " (CR-1234); kept in the audit trail\n"
    )
    assert ok_json(run_cli, *cfg, *REPORT)["downtime_minutes"] == 8  # the exclusion stays
    assert [w["id"] for w in ok_json(run_cli, *cfg, "maintenance", "list", "--json")] == [2]
    [gone] = ok_json(run_cli, *cfg, "exclude", "list", "--json")
    assert gone["id"] == 3 and gone["reason"] == "upstream DNS"
    entries = ok_json(run_cli, *cfg, "audit", "--service", "portal", "--json")
    assert [e["kind"] for e in entries] == [
        "maintenance.add", "maintenance.add", "exclusion.add", "maintenance.remove"
    ]  # fmt: skip
    assert entries[-1]["before"] == window and entries[-1]["after"] is None

    # Bad input: one line, exit 2, nothing changed.
    before = ok_json(run_cli, *cfg, "audit", "--json")
    assert_user_error(run_cli(*cfg, "maintenance", "remove", "1"),
                      "maintenance 1: no maintenance window with this id")  # fmt: skip
    assert_user_error(run_cli(*cfg, "exclude", "remove", "2"),
                      "exclusion 2: no exclusion with this id")  # fmt: skip
    assert_user_error(run_cli(*cfg, "maintenance", "remove", "abc"),
                      "ID must be a positive whole number, not 'abc'")  # fmt: skip
    assert_user_error(run_cli(*cfg, "maintenance", "list", "--service", "nope"), "nope")
    assert ok_json(run_cli, *cfg, "audit", "--json") == before
    assert [w["id"] for w in ok_json(run_cli, *cfg, "maintenance", "list", "--json")] == [2]
    verified = run_cli(*cfg, "store", "verify")
    assert verified.returncode == 0, verified.stdout
    assert "4 audit entries" in verified.stdout, verified.stdout


def test_credits_settle_list_unsettle_each_audited(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = _setup(tmp_path, run_cli, write_config)
    month = ("--service", "portal", "--month", "2026-09")
    settled = run_cli(*cfg, "credit", "settle", *month)
    assert settled.stdout == "portal 2026-09: credit marked settled\n", settled.stderr
    again = run_cli(*cfg, "credit", "settle", *month)
    assert again.stdout == "portal 2026-09: credit marked settled (already was)\n"
    listed = ok_json(run_cli, *cfg, "credit", "list", "--json")
    [september] = [c for c in listed if c["month"] == "2026-09"]
    assert september["state"] == "settled" and september["settled_at"].endswith("Z")
    assert (september["credit_amount"], september["currency"]) == ("0.00", "EUR")
    table = run_cli(*cfg, "credit", "list").stdout.splitlines()
    assert table[0].split()[:3] == ["SERVICE", "MONTH", "STATE"]
    assert any("2026-09" in line and "settled" in line for line in table)

    undone = run_cli(*cfg, "credit", "unsettle", *month)
    assert undone.returncode == 0, undone.stderr
    assert undone.stdout.startswith("portal 2026-09: credit no longer settled (it was marked")
    assert [c for c in ok_json(run_cli, *cfg, "credit", "list", "--json")
            if c["state"] == "settled"] == []  # fmt: skip
    entries = ok_json(run_cli, *cfg, "audit", "--json")
    assert [e["kind"] for e in entries] == ["credit.settle", "credit.unsettle"]
    assert entries[1]["before"] == entries[0]["after"] and entries[1]["after"] is None
    assert (entries[1]["from"], entries[1]["to"]) == ("2026-09-01T00:00:00Z",
                                                      "2026-10-01T00:00:00Z")  # fmt: skip

    assert_user_error(run_cli(*cfg, "credit", "unsettle", *month),
                      "portal 2026-09: this credit is not marked settled")  # fmt: skip
    assert_user_error(run_cli(*cfg, "credit", "unsettle", "--service", "portal",
                              "--month", "2026-13"), "--month")  # fmt: skip
    assert_user_error(run_cli(*cfg, "credit", "unsettle", "--service", "nope",
                              "--month", "2026-09"), "nope")  # fmt: skip
    assert len(ok_json(run_cli, *cfg, "audit", "--json")) == 2
