"""``report_within = "1bd"``: an outage's report_by is its start plus one business day
of working time on the contract's calendar (rule 9's arithmetic: its hours, windows
past midnight, holidays), everywhere report_by is used: outages --json, the rule-8
reported check (report, claimable credit), and claim bundles, which carry the
calendar so that claim verify recomputes it from the bundle alone.

The expected times are worked by hand in each test's comment.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.calendar import report_by
from core.configfile import load_config
from tests import configs
from tests.conftest import run_cli, write_config

# Paris support: Monday to Friday 09:00-17:30 local (8 h 30 min, the business day),
# France's public holidays: Easter Monday 2026 is 6 April.
PARIS = configs.toml(
    storage="bd.db",
    calendars=[
        configs.calendar(
            "paris-support", weekdays="09:00-17:30", timezone="Europe/Paris", country="FR"
        ),
    ],
    contracts=[
        configs.contract(
            "paris", timezone="Europe/Paris", calendar="paris-support", report_within="1bd"
        )
    ],
    services=[configs.service("shop", "paris", "1000.00")],
)
# The reference calendar: Monday to Friday 08:00-02:00 UTC (past midnight), 18 h a day.
SAAS = configs.toml(
    storage="bd.db",
    calendars=[
        configs.calendar(
            "saas", weekdays="08:00-02:00", business_day="18h", holidays=["2026-10-05"]
        ),
    ],
    contracts=[configs.contract("std", calendar="saas", report_within="1bd")],
    services=[configs.service("shop", "std", "1000.00")],
)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("config", "start", "expected"),
    [
        # Friday 3 April 2026, 19:00 in Paris (17:00 UTC, summer time): support closed
        # at 17:30; Saturday, Sunday and Easter Monday have no hours; the business day
        # runs Tuesday 09:00-17:30 local: 7 April 17:30 CEST = 15:30 UTC.
        (PARIS, "2026-04-03T17:00", "2026-04-07T15:30"),
        # Friday 15:00 in Paris (13:00 UTC): 2 h 30 min that day, 6 h on Tuesday from
        # 09:00: Tuesday 15:00 CEST = 13:00 UTC.
        (PARIS, "2026-04-03T13:00", "2026-04-07T13:00"),
        # Friday 23 October 2026, 19:00 UTC (21:00 CEST): closed; the clocks go back on
        # Sunday the 25th; Monday 26th 09:00-17:30 CET = 08:00-16:30 UTC.
        (PARIS, "2026-10-23T19:00", "2026-10-26T16:30"),
        # Friday 2 October 2026, 22:00 UTC: Friday's window runs to 02:00 Saturday (4 h
        # of working time); Monday the 5th is a holiday; Tuesday 08:00 + 14 h = 22:00.
        (SAAS, "2026-10-02T22:00", "2026-10-06T22:00"),
        # Saturday 3 October 01:00 UTC is inside Friday's window past midnight: 1 h
        # that night, then 17 h from Tuesday 08:00: Wednesday 01:00 UTC.
        (SAAS, "2026-10-03T01:00", "2026-10-07T01:00"),
        # Friday 30 October 22:00 UTC: 4 h to 02:00 Saturday, then Monday 2 November
        # 08:00 + 14 h: 22:00 UTC, in the next month.
        (SAAS, "2026-10-30T22:00", "2026-11-02T22:00"),
    ],
    ids=[
        "paris-friday-evening",
        "paris-friday-afternoon",
        "paris-dst",
        "saas-friday-night",
        "saas-past-midnight",
        "saas-next-month",
    ],
)
def test_report_by_is_one_business_day_of_working_time(
    tmp_path: Path, config: str, start: str, expected: str
) -> None:
    cfg = load_config(write_config(tmp_path, config))
    within = cfg.contract_for("shop").report_within
    assert report_by(within, _utc(start)) == _utc(expected)


def _setup(tmp_path: Path, config: str, down: tuple[str, str], opened: str) -> Path:
    """A config, a day of minutes down in [down) (UTC), a case opened at ``opened``."""
    path = write_config(tmp_path, config)
    a, b = _utc(down[0]), _utc(down[1])
    day = a.replace(hour=0, minute=0)
    rows = ["service,minute,status"]
    for i in range(3 * 1440):
        m = datetime.fromtimestamp(day.timestamp() + 60 * i, UTC)
        rows.append(f"shop,{m:%Y-%m-%dT%H:%M}:00Z,{'down' if a <= m < b else 'up'}")
    csv = tmp_path / "m.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert run_cli("--config", path, "import", "minutes", csv).returncode == 0
    done = run_cli("--config", path, "case", "open", "--service", "shop", "--priority",
                   "high", "--title", "shop down", "--opened-at", opened)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return path


@pytest.mark.parametrize(
    ("opened", "reported"),
    [("2026-04-07T15:30:00Z", True), ("2026-04-07T15:31:00Z", False)],
    ids=["at-the-deadline", "a-minute-late"],
)
def test_outages_report_and_claim_use_the_business_deadline(
    tmp_path: Path, opened: str, reported: bool
) -> None:
    # Down on Friday 3 April 2026 from 17:00 to 18:00 UTC (19:00-20:00 in Paris).
    config = _setup(tmp_path, PARIS, ("2026-04-03T17:00", "2026-04-03T18:00"), opened)
    done = run_cli("--config", config, "outages", "--month", "2026-04", "--service", "shop",
                   "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    (outage,) = json.loads(done.stdout)
    assert outage["start"] == "2026-04-03T17:00:00Z"
    assert outage["report_by"] == "2026-04-07T15:30:00Z"
    assert outage["reported"] is reported
    done = run_cli("--config", config, "report", "--month", "2026-04", "--service", "shop",
                   "--format", "json")  # fmt: skip
    report = json.loads(done.stdout)
    assert report["downtime_minutes"] == 60
    assert report["reported_downtime_minutes"] == (60 if reported else 0)
    assert report["report_within"] == "1bd"

    # The bundle carries the calendar (France's holidays written out): verify recomputes
    # the same deadline from it alone, and a holiday taken out is a difference.
    out = tmp_path / "claim.json"
    done = run_cli("--config", config, "claim", "export", "--service", "shop", "--month",
                   "2026-04", "--out", out)  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    terms = doc["terms"]
    assert terms["report_within_business_days"] == 1 and terms["report_within_seconds"] == 0
    assert terms["calendar"]["hours"]["fri"] == ["09:00-17:30"]
    assert "2026-04-06" in terms["calendar"]["holidays"]
    assert doc["outages"][0]["report_by"] == "2026-04-07T15:30:00Z"
    done = run_cli("claim", "verify", out, "--allow-unsigned")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1bd of calendar 'paris-support'" in done.stdout

    terms["calendar"]["holidays"].remove("2026-04-06")
    out.write_text(json.dumps(doc), encoding="utf-8")
    done = run_cli("claim", "verify", out, "--allow-unsigned")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2026-04-06T15:30:00Z" in done.stdout  # the deadline recomputed without it

    # A calendar that is not one: one line naming the place, exit 2.
    for key, value in [("hours", {"fri": ["09:00"]}), ("holidays", ["6 April"])]:
        bad = json.loads(json.dumps(doc))
        bad["terms"]["calendar"][key] = value
        out.write_text(json.dumps(bad), encoding="utf-8")
        done = run_cli("claim", "verify", out, "--allow-unsigned")
        assert done.returncode == 2 and f"terms.calendar.{key}" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1


def test_report_within_in_business_days_is_refused_where_it_cannot_count(
    tmp_path: Path,
) -> None:
    for text, said in [("1bd", None), ("1bd4h", None), ("0bd", "longer than zero")]:
        config = write_config(tmp_path, PARIS.replace('report_within = "1bd"',
                                                      f'report_within = "{text}"'))  # fmt: skip
        done = run_cli("--config", config, "config", "check")
        if said is None:
            assert done.returncode == 0, done.stderr
        else:
            assert done.returncode == 2 and "report_within" in done.stderr, done.stderr
            assert said in done.stderr
