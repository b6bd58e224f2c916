"""Issue 14 items 1 and 4 through the real CLI: how much of a month was measured, what is
still running and what is provisional, said on every surface.

Rule 4 still counts a minute with no record as available; these tests show that no
surface lets "no data" pass for "available".
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.timeutil import YearMonth, utc_now
from tests import configs
from tests.cli.common import PORTAL, REPORT_KEYS, assert_user_error, ok_json, storage

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

OUTAGE_KEYS = {"id", "service", "start", "end", "minutes", "reported", "case_id", "report_by"}
OCT = datetime(2026, 10, 1, tzinfo=UTC)
OCT_MINUTES = 44_640

SECOND = configs.toml(services=[configs.service("erp", monthly_fee="500.00")])


def _csv(path: Path, rows: list[tuple[str, datetime, str]]) -> Path:
    lines = ["service,minute,status", *(f"{s},{t:%Y-%m-%dT%H:%MZ},{v}" for s, t, v in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _minutes(
    service: str, start: datetime, count: int, status: str
) -> list[tuple[str, datetime, str]]:
    return [(service, start + timedelta(minutes=i), status) for i in range(count)]


def test_a_month_with_no_data_says_it_was_not_measured(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("data/s.db") + PORTAL))
    report = ok_json(run_cli, *cfg, "report", "--month", "1999-01", "--service", "portal",
                     "--format", "json")  # fmt: skip
    assert set(report) >= REPORT_KEYS
    # Rule 4 unchanged: nothing recorded still reads 100 % available ...
    assert report["availability_percent"] == 100.0
    # ... but the report says none of it was measured, and flags it.
    assert report["coverage_percent"] == 0.0
    assert report["recorded_minutes"] == 0
    assert report["coverage_low"] is True
    assert report["provisional"] is False

    text = run_cli(*cfg, "report", "--month", "1999-01")
    assert text.returncode == 0, text.stderr
    assert "100.0000 % (0.0 % measured)" in text.stdout
    assert "LOW COVERAGE" in text.stdout
    assert "PROVISIONAL" not in text.stdout
    md = run_cli(*cfg, "report", "--month", "1999-01", "--format", "md")
    assert "100.0000 % (0.0 % measured)" in md.stdout and "LOW COVERAGE" in md.stdout
    rows = list(csv.DictReader(io.StringIO(run_cli(*cfg, "report", "--month", "1999-01",
                                                   "--format", "csv").stdout)))  # fmt: skip
    # Spelt as the JSON spells it: true/false, a list as its items joined with commas.
    assert [(r["coverage_percent"], r["coverage_low"], r["provisional"]) for r in rows] == [
        ("0.0", "true", "false")
    ]
    assert [r["report_channels"] for r in rows] == [",".join(report["report_channels"])]

    quarter = ok_json(run_cli, *cfg, "report", "--quarter", "1999Q1", "--service", "portal",
                      "--format", "json")  # fmt: skip
    assert [(m["coverage_percent"], m["coverage_low"]) for m in quarter["months"]] == [
        (0.0, True)
    ] * 3
    q_text = run_cli(*cfg, "report", "--quarter", "1999Q1")
    assert q_text.stdout.count("(0.0 % measured)") == 3 and "LOW COVERAGE" in q_text.stdout

    # Never probed: status says the running month is unmeasured and provisional.
    (service,) = ok_json(run_cli, *cfg, "status", "--json")["services"]
    assert service["month_availability_percent"] == 100.0
    assert (service["coverage_percent"], service["coverage_low"]) == (0.0, True)
    assert service["provisional"] is True
    status = run_cli(*cfg, "status")
    assert "(0.0 % measured)" in status.stdout and "LOW COVERAGE, PROVISIONAL" in status.stdout


def test_a_partly_measured_month_shows_how_much(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("data/s.db") + PORTAL + SECOND))
    # portal: the whole of October recorded (60 minutes down); erp: its first ten days only.
    rows = _minutes("portal", OCT, OCT_MINUTES - 60, "up")
    rows += _minutes("portal", OCT + timedelta(minutes=OCT_MINUTES - 60), 60, "down")
    rows += _minutes("erp", OCT, 10 * 1440, "up")
    imported = run_cli(*cfg, "import", "minutes", _csv(tmp_path / "oct.csv", rows))
    assert imported.returncode == 0, imported.stderr

    portal, erp = ok_json(run_cli, *cfg, "report", "--month", "2026-10", "--format", "json")
    assert (portal["service"], erp["service"]) == ("portal", "erp")
    assert (portal["coverage_percent"], portal["coverage_low"]) == (100.0, False)
    assert erp["recorded_minutes"] == 14_400
    assert erp["coverage_percent"] == pytest.approx(14_400 * 100 / OCT_MINUTES)  # 32.258...
    assert erp["coverage_low"] is True
    assert erp["availability_percent"] == 100.0  # rule 4: the rest counts as available
    text = run_cli(*cfg, "report", "--month", "2026-10").stdout
    # The month table's rows come first (the performance tables follow).
    portal_line = next(line for line in text.splitlines() if line.startswith("portal"))
    erp_line = next(line for line in text.splitlines() if line.startswith("erp"))
    assert "99.8655 % (100.0 % measured)" in portal_line and "LOW COVERAGE" not in portal_line
    assert "100.0000 % (32.2 % measured)" in erp_line and "LOW COVERAGE" in erp_line


def test_an_ongoing_outage_has_no_end_and_a_running_month_is_provisional(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("data/s.db") + PORTAL))
    now = utc_now().replace(second=0, microsecond=0)
    # Down 10 minutes, up 30, then down from 20 minutes ago to the last whole minute.
    rows = _minutes("portal", now - timedelta(minutes=60), 10, "down")
    rows += _minutes("portal", now - timedelta(minutes=50), 30, "up")
    rows += _minutes("portal", now - timedelta(minutes=20), 20, "down")
    imported = run_cli(*cfg, "import", "minutes", _csv(tmp_path / "now.csv", rows))
    assert imported.returncode == 0, imported.stderr
    month = str(YearMonth.of(now - timedelta(minutes=1), UTC))  # the last down minute's month

    outages = ok_json(run_cli, *cfg, "outages", "--month", month, "--service", "portal", "--json")
    last = outages[-1]
    assert set(last) >= OUTAGE_KEYS  # interfaces.md's keys all stay; "end" is null
    assert (last["ongoing"], last["end"]) == (True, None)
    assert last["start"] == f"{now - timedelta(minutes=20):%Y-%m-%dT%H:%M:%SZ}"
    if len(outages) == 2:  # both in this month (not so in a month's first hour)
        assert outages[0]["ongoing"] is False
        assert outages[0]["end"] == f"{now - timedelta(minutes=50):%Y-%m-%dT%H:%M:%SZ}"
    table = run_cli(*cfg, "outages", "--month", month, "--service", "portal").stdout
    assert table.splitlines()[-1].split()[2] == "ongoing", table

    report = ok_json(run_cli, *cfg, "report", "--month", month, "--service", "portal",
                     "--format", "json")  # fmt: skip
    assert report["provisional"] is (month == str(YearMonth.of(utc_now(), UTC)))
    current = str(YearMonth.of(utc_now(), UTC))
    now_report = run_cli(*cfg, "report", "--month", current).stdout
    assert "PROVISIONAL" in now_report
    assert "ongoing" in run_cli(*cfg, "status").stdout  # its reportable outages table


def test_claim_export_of_a_running_month_refuses_unless_provisional(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("data/s.db") + PORTAL))
    now = utc_now().replace(second=0, microsecond=0)
    imported = run_cli(*cfg, "import", "minutes",
                       _csv(tmp_path / "now.csv", _minutes("portal", now - timedelta(minutes=5),
                                                           5, "down")))  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    current = str(YearMonth.of(now, UTC))
    bundle, letter = tmp_path / "claim.json", tmp_path / "claim.md"
    base = ("claim", "export", "--service", "portal", "--month", current)

    refused = run_cli(*cfg, *base, "--out", bundle)
    assert_user_error(refused, "--month", "not over", "--provisional")
    assert not bundle.exists()
    refused_letter = run_cli(*cfg, *base, "--out", letter, "--format", "md")
    assert_user_error(refused_letter, "--provisional")
    assert not letter.exists()

    done = run_cli(*cfg, *base, "--out", letter, "--format", "md", "--provisional")
    assert done.returncode == 0, done.stderr
    assert "PROVISIONAL" in done.stdout
    first = letter.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# PROVISIONAL (the month is not over"), first
    exported = run_cli(*cfg, *base, "--out", bundle, "--provisional")
    assert exported.returncode == 0, exported.stderr
    document = json.loads(bundle.read_text(encoding="utf-8"))
    assert document["figures"]["provisional"] is True
    assert document["outages"][-1]["ongoing"] is True
    # The bundle recomputes to the same provisional figures and ongoing outage.
    verified = run_cli("claim", "verify", bundle, "--allow-unsigned")
    assert verified.returncode == 0, verified.stdout

    # A month that is over exports without the flag and says nothing provisional.
    past = run_cli(*cfg, "claim", "export", "--service", "portal", "--month", "1999-01",
                   "--out", tmp_path / "old.md", "--format", "md")  # fmt: skip
    assert past.returncode == 0, past.stderr
    assert "PROVISIONAL" not in (tmp_path / "old.md").read_text(encoding="utf-8")
