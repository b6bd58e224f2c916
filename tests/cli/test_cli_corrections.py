"""List, correct, remove, with an audit trail: windows and credits through the real CLI."""

from __future__ import annotations

import re
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


def test_a_window_over_recorded_downtime_warns_and_is_audited(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    # (Without --reason it is added too, asking for one: tests/acceptance.)
    cfg = _setup(tmp_path, run_cli, write_config)
    span = ("--service", "portal", "--from", "2026-10-05T09:30:00Z", "--to", "2026-10-05T11:00:00Z")
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
    assert "5 audit entries" in verified.stdout, verified.stdout  # and the import's minutes


def test_credits_settle_list_unsettle_each_audited(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = _setup(tmp_path, run_cli, write_config)
    month = ("--service", "portal", "--month", "2026-09")
    settled = run_cli(*cfg, "credit", "settle", *month)
    assert settled.stdout == (
        "portal 2026-09: claimable credit 0.00 EUR (measured 0.00 EUR) marked settled;"
        " this month owes no credit\n"
    ), settled.stderr
    again = run_cli(*cfg, "credit", "settle", *month)
    assert again.stdout.startswith("portal 2026-09: claimable credit 0.00 EUR")
    assert "marked settled (already was)" in again.stdout
    listed = ok_json(run_cli, *cfg, "credit", "list", "--json")
    [september] = [c for c in listed if c["month"] == "2026-09"]
    assert september["state"] == "settled" and september["settled_at"].endswith("Z")
    assert (september["credit_amount"], september["currency"]) == ("0.00", "EUR")
    table = run_cli(*cfg, "credit", "list").stdout.splitlines()
    # Named as status and report name them (CREDIT a percentage, AMOUNT money), the
    # settling time as every table writes a time.
    assert re.split(r"\s{2,}", table[0]) == ["SERVICE", "MONTH", "STATE", "CREDIT", "AMOUNT",
                                             "CLAIMABLE AMOUNT", "SETTLED AT"]  # fmt: skip
    (row,) = [line for line in table if "2026-09" in line]
    at = september["settled_at"]
    assert row.split()[2:] == ["settled", "0", "%", "0.00", "EUR", "0.00", "EUR",
                               at[:10], at[11:16] + "Z"]  # fmt: skip

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


def test_case_edit_reopen_and_show_keep_every_correction(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = _setup(tmp_path, run_cli, write_config)
    ok_json(run_cli, *cfg, "case", "open", "--service", "portal", "--priority", "high",
            "--title", "portal down", "--opened-at", "2026-10-05T12:00:00Z", "--json")  # fmt: skip
    # Opened two hours too late on paper: as recorded it reports nothing (report_within 72h
    # counts from the outage's start, the case opened after it is fine; a typo in the title
    # and the provider's ref come in later).
    edited = ok_json(run_cli, *cfg, "case", "edit", "1", "--opened-at", "2026-10-05T10:02:00Z",
                     "--ref", "PRV-77", "--title", "portal down (HTTP 503)", "--json")  # fmt: skip
    assert (edited["opened_at"], edited["ref"]) == ("2026-10-05T10:02:00Z", "PRV-77")
    assert edited["title"] == "portal down (HTTP 503)"
    ok_json(run_cli, *cfg, "case", "resolve", "1", "--at", "2026-10-05T13:00:00Z", "--json")
    reopened = ok_json(run_cli, *cfg, "case", "reopen", "1", "--json")
    assert (reopened["status"], reopened["resolved_at"]) == ("open", None)

    trail = ok_json(run_cli, *cfg, "audit", "--json")
    # The case's own recording is in the trail too (store verify replays it).
    assert [e["kind"] for e in trail] == ["case.open", "case.edit", "case.resolve", "case.reopen"]
    assert trail[0]["after"]["opened_at"] == "2026-10-05T12:00:00Z"
    entries = [e for e in trail if e["kind"] in ("case.edit", "case.reopen")]
    assert entries[0]["before"] == {
        "case": 1, "opened_at": "2026-10-05T12:00:00Z", "ref": None, "title": "portal down"
    }  # fmt: skip
    assert entries[0]["after"] == {
        "case": 1, "opened_at": "2026-10-05T10:02:00Z", "ref": "PRV-77",
        "title": "portal down (HTTP 503)",
    }  # fmt: skip
    assert (entries[0]["from"], entries[0]["to"]) == ("2026-10-05T10:02:00Z",
                                                      "2026-10-05T12:01:00Z")  # fmt: skip
    assert entries[1]["before"] == {"case": 1, "resolved_at": "2026-10-05T13:00:00Z"}
    shown = ok_json(run_cli, *cfg, "case", "show", "1", "--json")
    assert [c["seq"] for c in shown["corrections"]] == [3, 5]  # 1: the import's minutes
    text = run_cli(*cfg, "case", "show", "1").stdout
    assert "  corrections      2\n" in text
    assert "case.reopen  case=1 resolved_at: 2026-10-05T13:00:00Z -> -" in text

    # An edit to what the case already holds is no change and no entry.
    ok_json(run_cli, *cfg, "case", "edit", "1", "--ref", "PRV-77", "--json")
    assert len(ok_json(run_cli, *cfg, "audit", "--json")) == 4
    # Bad input: one line, exit 2, nothing changed.
    assert_user_error(run_cli(*cfg, "case", "edit", "9", "--title", "x"), "no case with id 9")
    assert_user_error(run_cli(*cfg, "case", "reopen", "1"), "case 1: is not resolved")
    assert_user_error(run_cli(*cfg, "case", "edit", "1"), "nothing to change")
    assert_user_error(run_cli(*cfg, "case", "edit", "1", "--opened-at", "2026-10-05T10:00"),
                      "--opened-at")  # fmt: skip
    ok_json(run_cli, *cfg, "case", "respond", "1", "--at", "2026-10-05T11:00:00Z", "--json")
    assert_user_error(
        run_cli(*cfg, "case", "edit", "1", "--opened-at", "2026-10-05T11:30:00Z"),
        "--opened-at: case 1: the first response (2026-10-05T11:00:00Z) cannot come before",
    )
    assert_user_error(run_cli(*cfg, "case", "edit", "1", "--title", " "), "--title")
    assert_user_error(run_cli(*cfg, "case", "show", "7"), "no case with id 7")
    assert len(ok_json(run_cli, *cfg, "audit", "--json")) == 5  # + case.respond
    assert ok_json(run_cli, *cfg, "case", "show", "1", "--json")["opened_at"] == (
        "2026-10-05T10:02:00Z"
    )
    assert run_cli(*cfg, "store", "verify").returncode == 0


def test_store_verify_names_windows_and_cases_changed_behind_its_back(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """A deleted exclusion, a backdated case, an invented link or case: each named, exit 1."""
    import sqlite3

    cfg = _setup(tmp_path, run_cli, write_config)
    span = ("--service", "portal", "--from", "2026-10-06T10:00:00Z", "--to", "2026-10-06T11:00:00Z")
    assert run_cli(*cfg, "exclude", "add", *span, "--reason", "upstream DNS").returncode == 0
    when = ("--opened-at", "2026-10-05T12:00:00Z")
    opened = ok_json(run_cli, *cfg, "case", "open", "--service", "portal", "--priority", "high",
                     "--title", "down", *when, "--json")  # fmt: skip
    assert run_cli(*cfg, "case", "link", str(opened["id"]), "--from", "2026-10-05T10:00:00Z",
                   "--to", "2026-10-05T10:30:00Z").returncode == 0  # fmt: skip
    assert run_cli(*cfg, "store", "verify").returncode == 0

    db = tmp_path / "sw.db"
    for sql, named in [
        ("DELETE FROM windows", "exclusion #1 of portal (2026-10-06T10:00:00Z to"
                                " 2026-10-06T11:00:00Z) is gone: deleted outside slawatch"),
        ("UPDATE cases SET opened_at = opened_at - 7200",
         "case #1 of portal was edited outside slawatch (opened_at '2026-10-05T12:00:00Z' in"
         " the trail, '2026-10-05T10:00:00Z' in the table)"),
        ("INSERT INTO case_links VALUES (1, 29329200, 29329260)",
         "case #1 of portal: link 2025-10-06T12:00:00Z to 2025-10-06T13:00:00Z added outside"),
        ("INSERT INTO cases (service_id, priority, title, opened_at) VALUES (1, 'high', 'x',"
         " 1759658400)", "case #2 of portal (opened 2025-10-05T10:00:00Z) is in no audit entry"),
    ]:  # fmt: skip
        copy = tmp_path / "tampered.db"
        copy.write_bytes(db.read_bytes())
        with sqlite3.connect(copy) as conn:
            conn.execute(sql)
        config = write_config(tmp_path, storage("tampered.db") + PORTAL, name="tampered.toml")
        result = run_cli("--config", config, "store", "verify")
        assert result.returncode == 1, (sql, result.stdout, result.stderr)
        assert named in result.stdout, (sql, result.stdout)


def test_store_verify_replays_case_events(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """A priority change, escalation, RCA request or customer wait added, removed or
    changed behind slawatch's back: each named, exit 1."""
    import sqlite3

    cfg = _setup(tmp_path, run_cli, write_config)
    at = ("--opened-at", "2026-10-05T10:00:00Z")
    opened = ok_json(run_cli, *cfg, "case", "open", "--service", "portal", "--priority", "high",
                     "--title", "down", *at, "--json")  # fmt: skip
    cid = str(opened["id"])
    for args in [
        ("priority", cid, "low", "--at", "2026-10-05T10:10:00Z"),
        ("escalate", cid, "2", "--at", "2026-10-05T10:20:00Z"),
        ("rca", cid, "--at", "2026-10-05T10:25:00Z"),
        ("wait", cid, "--from", "2026-10-05T10:30:00Z", "--reason", "logs asked for"),
        ("wait", cid, "--from", "2026-10-05T10:30:00Z", "--to", "2026-10-05T11:00:00Z",
         "--reason", "logs sent"),
    ]:  # fmt: skip
        result = run_cli(*cfg, "case", *args)
        assert result.returncode == 0, (args, result.stderr)
    kinds = [e["kind"] for e in ok_json(run_cli, *cfg, "audit", "--json")]
    for kind in ("case.priority", "case.escalate", "case.rca", "case.wait"):
        assert kind in kinds
    verified = run_cli(*cfg, "store", "verify")
    assert verified.returncode == 0, verified.stdout

    db = tmp_path / "sw.db"
    for n, (sql, named) in enumerate([
        ("DELETE FROM case_events WHERE kind = 'priority'",
         "case #1 of portal: its priority change at 2026-10-05T10:10:00Z is gone: deleted"),
        ("UPDATE cases SET priority = 'high'",
         "case #1 of portal was edited outside slawatch (priority 'low' in the trail, 'high'"),
        ("UPDATE case_events SET event_at = event_at + 3600 WHERE kind = 'escalation'",
         "its escalation at 2026-10-05T10:20:00Z was edited outside slawatch (at"
         " '2026-10-05T10:20:00Z' in the trail, '2026-10-05T11:20:00Z' in the table)"),
        ("UPDATE cases SET escalation_level = 1",
         "(escalation_level 2 in the trail, 1 in the table)"),
        ("UPDATE case_events SET until_at = until_at + 86400 WHERE kind = 'wait'",
         "its wait on the customer at 2026-10-05T10:30:00Z was edited outside slawatch (until"
         " '2026-10-05T11:00:00Z' in the trail, '2026-10-06T11:00:00Z' in the table)"),
        ("DELETE FROM case_events WHERE kind = 'wait'",
         "its wait on the customer at 2026-10-05T10:30:00Z is gone: deleted outside slawatch"),
        ("INSERT INTO case_events (case_id, kind, event_at, value, previous) VALUES"
         " (1, 'escalation', 1759662000, '3', '2')",
         "case #1: escalation at 2025-10-05T11:00:00Z (event #5) is in no audit entry"),
    ]):  # fmt: skip
        copy = tmp_path / f"tampered-{n}.db"  # each its own file (no WAL left over)
        copy.write_bytes(db.read_bytes())
        with sqlite3.connect(copy) as conn:
            conn.execute(sql)
        config = write_config(tmp_path, storage(copy.name) + PORTAL, name="tampered.toml")
        result = run_cli("--config", config, "store", "verify")
        assert result.returncode == 1, (sql, result.stdout, result.stderr)
        assert named in result.stdout, (sql, result.stdout)
