"""Issue 11 items 6 and 7 through the real CLI: the reporting channel counts, and the
enterprise business hours are the customer's local time with its public holidays.

Every deadline below is worked out by hand in the comment beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tests import configs
from tests.cli.common import assert_user_error, ok_json

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

# The SaaS contract: a credit only for an interruption reported by e-mail (the
# saas-standard profile's report_channels = ["email"]).
SAAS = configs.toml(
    storage="db/sla.db",
    contracts=[configs.contract("std", profile="saas-standard")],
    services=[configs.service("portal", "std")],
)


def _minutes(tmp_path: Path) -> Path:
    """Monday 5 Oct 2026: up 09:00-10:00, down 10:00-11:00 (60 min), up 11:00-12:00."""
    lines = ["service,minute,status"]
    for minute in range(180):
        status = "down" if 60 <= minute < 120 else "up"
        lines.append(f"portal,2026-10-05T{9 + minute // 60:02d}:{minute % 60:02d}:00Z,{status}")
    path = tmp_path / "minutes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_phone_case_does_not_report_an_outage_under_an_email_only_contract(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, SAAS))
    assert run_cli(*cfg, "import", "minutes", _minutes(tmp_path)).returncode == 0
    phone = ok_json(run_cli, *cfg, "case", "open", "--service", "portal", "--priority", "high",
                    "--title", "portal down", "--channel", "phone",
                    "--opened-at", "2026-10-05T10:30:00Z", "--json")  # fmt: skip
    assert phone["channel"] == "phone"
    # An unknown channel: one line, exit 2, nothing stored.
    fax = run_cli(*cfg, "case", "open", "--service", "portal", "--priority", "high",
                  "--title", "x", "--channel", "fax",
                  "--opened-at", "2026-10-05T10:31:00Z")  # fmt: skip
    assert_user_error(fax, "--channel", "unknown channel 'fax'", "email, phone, portal")
    assert [c["id"] for c in ok_json(run_cli, *cfg, "case", "list", "--json")] == [1]

    args = ("outages", "--month", "2026-10", "--service", "portal")
    (outage,) = ok_json(run_cli, *cfg, *args, "--json")
    assert (outage["start"], outage["minutes"]) == ("2026-10-05T10:00:00Z", 60)
    assert (outage["reported"], outage["case_id"]) == (False, None)
    why = "case 1 was opened by phone; the contract takes reports by email only"
    assert outage["unreported_reason"] == why
    text = run_cli(*cfg, *args)
    assert f"NOT REPORTED ({why})" in " ".join(text.stdout.split())  # wrapped to fit
    report = ok_json(run_cli, *cfg, "report", "--month", "2026-10", "--service", "portal",
                     "--format", "json")  # fmt: skip
    assert (report["downtime_minutes"], report["reported_downtime_minutes"]) == (60, 0)
    assert report["report_within"] == "72h" and report["report_channels"] == ["email"]
    assert report["report_within_reading"] == 'the configured reading of the contract\'s "promptly"'
    listed = run_cli(*cfg, "case", "list")
    assert "(by phone; level 1)" in listed.stdout

    # The same report by e-mail, a quarter of an hour later: the outage is reported.
    ok_json(run_cli, *cfg, "case", "open", "--service", "portal", "--priority", "high",
            "--title", "portal down (mail)", "--channel", "email",
            "--opened-at", "2026-10-05T10:45:00Z", "--json")  # fmt: skip
    (outage,) = ok_json(run_cli, *cfg, *args, "--json")
    assert (outage["reported"], outage["case_id"]) == (True, 2)
    assert "unreported_reason" not in outage
    text = run_cli(*cfg, "report", "--month", "2026-10", "--service", "portal").stdout
    assert (
        "CLAIMABLE counts outages reported within 72h (report_within, the configured reading "
        'of the contract\'s "promptly"), by email.' in " ".join(text.split())  # wrapped to fit
    )


ENTERPRISE = configs.toml(
    storage="db/sla.db",
    calendars=[
        configs.calendar(
            "paris-office", timezone="Europe/Paris", country="FR", weekdays="09:00-17:30"
        )
    ],
    contracts=[
        configs.contract(
            "ent", profile="enterprise-unified", timezone="Europe/Paris", calendar="paris-office"
        )
    ],
    services=[configs.service("erp", "ent", "2500.00")],
)


def test_enterprise_hours_are_paris_time_less_french_holidays(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, ENTERPRISE))

    def due(priority: str, opened: str) -> str:
        case = ok_json(run_cli, *cfg, "case", "open", "--service", "erp",
                       "--priority", priority, "--title", f"severity {priority}",
                       "--opened-at", opened, "--json")  # fmt: skip
        assert case["opened_at"] and case["channel"] == "email"
        response_due: str = case["response_due"]
        return response_due

    # Friday 6 Nov 2026, 17:20 in Paris (CET, UTC+1). Severity B, 2 business hours:
    # 10 minutes left on Friday (to 17:30), the weekend has no hours, the other 110
    # minutes from Monday 9 Nov 09:00 Paris: 10:50 Paris = 09:50 UTC.
    assert due("B", "2026-11-06T17:20:00+01:00") == "2026-11-09T09:50:00Z"
    # Severity 1 on the same Friday evening runs 24x7: 18:20 Paris = 17:20 UTC.
    assert due("1", "2026-11-06T17:20:00+01:00") == "2026-11-06T17:20:00Z"
    # Severity C (4 business hours) on Tuesday 10 Nov 16:00 Paris: 1h30 on Tuesday;
    # Wednesday 11 Nov is Armistice Day, a French public holiday: no hours; the other
    # 2h30 from Thursday 12 Nov 09:00 Paris: 11:30 Paris = 10:30 UTC.
    assert due("C", "2026-11-10T16:00:00+01:00") == "2026-11-12T10:30:00Z"
