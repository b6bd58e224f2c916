"""Corrections with an audit trail, through the real CLI: imports that would rewrite
recorded minutes, ``slawatch audit``, and ``store verify`` over the trail."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from tests.cli.common import PORTAL, assert_user_error, ok_json, storage

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

HEADER = "service,minute,status,latency_ms\n"


def _csv(path: Path, *rows: str) -> Path:
    path.write_text(HEADER + "".join(f"{r}\n" for r in rows), encoding="utf-8")
    return path


def test_a_conflicting_reimport_is_refused_then_replaced_and_audited(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("sw.db") + PORTAL))
    first = _csv(
        tmp_path / "first.csv",
        "portal,2026-10-05T10:00:00Z,up,40",
        "portal,2026-10-05T10:01:00Z,up,41",
        "portal,2026-10-05T10:02:00Z,up,42",
    )
    done = run_cli(*cfg, "import", "minutes", first)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith(": 3 new, 0 unchanged, 0 replaced\n"), done.stdout
    again = run_cli(*cfg, "import", "minutes", first)
    assert again.stdout.endswith(": 0 new, 3 unchanged, 0 replaced\n"), again.stdout

    # The provider's export says the outage never happened: refused, nothing stored.
    second = _csv(
        tmp_path / "second.csv",
        "portal,2026-10-05T10:01:00Z,down,",
        "portal,2026-10-05T10:02:00Z,up,42",
        "portal,2026-10-05T10:03:00Z,up,43",
    )
    refused = run_cli(*cfg, "import", "minutes", second)
    assert_user_error(
        refused,
        f"{second}: 1 of 3 records conflict with minutes already recorded (1 new, 1 unchanged;",
        "portal 2026-10-05T10:01:00Z source 'import': recorded up, here down",
        "Give --replace",
    )
    report = ("report", "--month", "2026-10", "--service", "portal", "--format", "json")
    assert ok_json(run_cli, *cfg, *report)["downtime_minutes"] == 0
    assert ok_json(run_cli, *cfg, "audit", "--json") == []
    assert run_cli(*cfg, "audit").stdout == "No audit entries.\n"

    replaced = run_cli(*cfg, "import", "minutes", second, "--replace")
    assert replaced.returncode == 0, replaced.stderr
    assert "1 new, 1 unchanged, 1 replaced (see slawatch audit)" in replaced.stdout
    assert ok_json(run_cli, *cfg, *report)["downtime_minutes"] == 1
    [entry] = ok_json(run_cli, *cfg, "audit", "--service", "portal", "--json")
    assert entry["seq"] == 2 and entry["kind"] == "minutes.replace"  # 1: the first import
    writes = ok_json(run_cli, *cfg, "audit", "--minutes", "--json")
    assert [e["kind"] for e in writes] == ["minutes.seal", "minutes.replace", "minutes.seal"]
    assert writes[2]["after"]["by"] == f"an import of {second}"
    listed = " ".join(run_cli(*cfg, "audit", "--minutes").stdout.split())  # the words, unwrapped
    assert "1 hour(s) of portal/import logged by an import of" in listed
    assert entry["service"] == "portal" and entry["actor"]
    assert (entry["from"], entry["to"]) == ("2026-10-05T10:01:00Z", "2026-10-05T10:02:00Z")
    assert entry["before"] == {
        "source": "import",
        "minutes": 1,
        "runs": [["2026-10-05T10:01:00Z", "2026-10-05T10:02:00Z", "up", [41]]],
    }
    assert entry["after"]["runs"] == [
        ["2026-10-05T10:01:00Z", "2026-10-05T10:02:00Z", "down", None]
    ]
    assert entry["after"]["from_file"] == str(second)
    shown = run_cli(*cfg, "audit")
    lines = shown.stdout.splitlines()
    assert lines[0].split() == ["SEQ", "AT", "ACTOR", "KIND", "SERVICE", "CHANGE"]
    assert "minutes.replace" in lines[1]
    assert "runs: [10-05T10:01..10:02 up] -> [10-05T10:01..10:02 down]" in " ".join(
        shown.stdout.split()
    )
    # 100 columns, but a path is never cut in two (tables.wrap): a line may run over
    # only by the imported file's own (long, temporary) path that ends it.
    assert all(len(line) <= 100 or line.endswith(str(second)) for line in lines)
    assert max(len(line.removesuffix(str(second))) for line in lines) <= 100
    verified = run_cli(*cfg, "store", "verify")
    assert verified.returncode == 0, verified.stdout
    assert "sealed hours: OK; 3 audit entries (head " in verified.stdout  # 2 minute writes


def test_store_verify_names_an_edited_hour_a_later_import_re_sealed(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("sw.db") + PORTAL))
    rows = [f"portal,2026-10-05T10:{m:02d}:00Z,down,{100 + m}" for m in range(30)]
    assert run_cli(*cfg, "import", "minutes", _csv(tmp_path / "all.csv", *rows)).returncode == 0
    with sqlite3.connect(tmp_path / "sw.db") as db:  # the outage erased behind slawatch's back
        db.execute("UPDATE minute_blocks SET status = ?", (bytes([1] * 30 + [0] * 30),))
    broken = run_cli(*cfg, "store", "verify")
    assert broken.returncode == 1 and "hour 2026-10-05T10:00:00Z" in broken.stdout
    # The launderer re-imports one row as the database now holds it: the seal is
    # rewritten over the edited hour, and verify must still say so.
    laundry = _csv(tmp_path / "one.csv", "portal,2026-10-05T10:00:00Z,up,100")
    assert run_cli(*cfg, "import", "minutes", laundry).returncode == 0
    after = run_cli(*cfg, "store", "verify")
    assert after.returncode == 1, after.stdout
    assert (
        "BROKEN audit entry #2: portal/import hour 2026-10-05T10:00:00Z was edited outside"
        f" slawatch (found when an import of {laundry} re-sealed it)"
    ) in after.stdout
    [entry] = json.loads(run_cli(*cfg, "audit", "--json").stdout)
    assert entry["kind"] == "store.tamper" and entry["before"]["sealed"]


def test_audit_rejects_an_unknown_service(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("sw.db") + PORTAL))
    assert_user_error(run_cli(*cfg, "audit", "--service", "nope"), "nope")


def test_store_verify_names_an_audit_entry_edited_behind_slawatchs_back(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("sw.db") + PORTAL))
    for reason in ("CR-1", "CR-2", "CR-3"):
        added = run_cli(*cfg, "maintenance", "add", "--service", "portal", "--from",
                        "2026-10-05T10:00:00Z", "--to", "2026-10-05T11:00:00Z",
                        "--reason", reason)  # fmt: skip
        assert added.returncode == 0, added.stderr
    assert run_cli(*cfg, "store", "verify").returncode == 0
    with sqlite3.connect(tmp_path / "sw.db") as db:  # a window's reason rewritten afterwards
        db.execute(
            "UPDATE audit_log SET after_json = replace(after_json, 'CR-2', 'CR-9') WHERE seq = 2"
        )
    edited = run_cli(*cfg, "store", "verify")
    assert edited.returncode == 1
    assert "BROKEN audit entry #2: its content does not match its hash (edited)" in edited.stdout
    with sqlite3.connect(tmp_path / "sw.db") as db:  # ... then the entry taken out instead
        db.execute("DELETE FROM audit_log WHERE seq = 2")
    removed = run_cli(*cfg, "store", "verify")
    assert removed.returncode == 1
    assert "BROKEN audit entry #3: follows #1: entries missing or inserted" in removed.stdout


def test_import_prometheus_shares_the_refusal_and_the_trail(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("sw.db") + PORTAL))
    base = 1_791_194_400  # 2026-10-05T10:00:00Z

    def answer(*values: str) -> Path:
        series = {"metric": {"instance": "portal"},
                  "values": [[base + 60 * i, v] for i, v in enumerate(values)]}  # fmt: skip
        data = {"status": "success", "data": {"resultType": "matrix", "result": [series]}}
        path = tmp_path / f"answer-{''.join(values)}.json"
        path.write_text(json.dumps(data), encoding="utf-8")
        return path

    load = ("import", "prometheus", "--service-label", "instance", "--file")
    first = run_cli(*cfg, *load, answer("1", "1", "1"))
    assert first.stdout.endswith(": 3 new, 0 unchanged, 0 replaced\n"), first.stderr
    again = run_cli(*cfg, *load, answer("1", "1", "1"))
    assert again.stdout.endswith(": 0 new, 3 unchanged, 0 replaced\n"), again.stderr
    changed = answer("1", "0", "1", "1")
    assert_user_error(run_cli(*cfg, *load, changed), f"{changed}: 1 of 4 records conflict",
                      "source 'prometheus': recorded up, here down")  # fmt: skip
    replaced = run_cli(*cfg, *load, changed, "--replace")
    assert replaced.stdout.endswith(": 1 new, 2 unchanged, 1 replaced (see slawatch audit)\n")
    [entry] = json.loads(run_cli(*cfg, "audit", "--json").stdout)
    assert entry["after"]["from_file"] == str(changed)
    # A sample is the probe at the end of its minute: the second one judges 10:00.
    assert entry["after"]["runs"] == [["2026-10-05T10:00:00Z", "2026-10-05T10:01:00Z", "down",
                                       None]]  # fmt: skip
