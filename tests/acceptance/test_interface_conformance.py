"""interfaces.md as an outside acceptance check reads it: the real CLI in a subprocess,
a config written from scratch after the document, figures worked out by hand.

Each test is a mismatch an independent audit found (the command did not do what
interfaces.md says); tests/cli/test_conformance.py holds the rest of the line-by-line
reading.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

# The document's own bands (contracts.md section 1) on a UTC contract, one service.
DOC_BANDS = """\
bands = [
  { min_availability = 99.5, max_downtime_minutes = 216,   credit_percent = 0 },
  { min_availability = 95.0, max_downtime_minutes = 2160,  credit_percent = 25 },
  { min_availability = 50.0, max_downtime_minutes = 21600, credit_percent = 50 },
  { min_availability = 0.0,  credit = "100-availability" },
]
"""


def _config(bands: str = DOC_BANDS, contract: str = "", storage: str = "") -> str:
    return f"""\
[storage]
path = "data/sw.db"
{storage}
[[contract]]
name = "std"
{contract}{bands}
[[service]]
name = "portal"
contract = "std"
monthly_fee = "1000.00"
"""


def _rows(start: str, count: int, status: str) -> str:
    first = datetime.fromisoformat(start).astimezone(UTC)
    return "".join(
        f"portal,{first + timedelta(minutes=i):%Y-%m-%dT%H:%M:%SZ},{status}\n" for i in range(count)
    )


def _json(run_cli: RunCli, *args: object, cwd: Path | None = None) -> Any:
    result = run_cli(*args, cwd=cwd)
    assert result.returncode == 0, (args, result.stderr)
    return json.loads(result.stdout)


def test_maintenance_add_takes_no_reason_even_over_recorded_downtime(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """``maintenance add --service S --from TIME --to TIME [--reason R]``: the reason is
    optional, so rule 8's own example works in the order a script writes it: the
    minutes recorded first, the maintenance window added after them (exit 0, a
    warning on stderr), a case opened during the excluded part."""
    cfg = ("--config", write_config(tmp_path, _config()))
    csv = tmp_path / "m.csv"
    # Down 10:30-11:20; maintenance [10:00, 11:00) covers its first 30 minutes.
    csv.write_text("service,minute,status\n" + _rows("2026-10-05T10:30:00+00:00", 50, "down"))
    assert run_cli(*cfg, "import", "minutes", csv).returncode == 0
    added = run_cli(*cfg, "maintenance", "add", "--service", "portal",
                    "--from", "2026-10-05T10:00:00Z", "--to", "2026-10-05T11:00:00Z")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stderr.count("\n") == 1 and "warning:" in added.stderr, added.stderr
    assert "30 minutes already recorded down" in added.stderr
    assert "--reason" in added.stderr  # it asks for one, and still records the window
    [entry] = _json(run_cli, *cfg, "audit", "--json")
    assert entry["kind"] == "maintenance.add" and entry["after"]["down_minutes"] == 30

    opened = ("--priority", "high", "--title", "down", "--opened-at", "2026-10-05T10:45:00Z")
    case = _json(run_cli, *cfg, "case", "open", "--service", "portal", *opened, "--json")
    # Rule 8: one outage from its first down minute (excluded) to 11:20, 20 minutes
    # of downtime (11:00-11:19), reported by the case opened at 10:45.
    month = ("--month", "2026-10", "--service", "portal")
    assert _json(run_cli, *cfg, "outages", *month, "--json") == [
        {
            "id": "portal-20261005T1030Z",
            "service": "portal",
            "start": "2026-10-05T10:30:00Z",
            "end": "2026-10-05T11:20:00Z",
            "ongoing": False,
            "minutes": 20,
            "reported": True,
            "case_id": case["id"],
            "report_by": "2026-10-08T10:30:00Z",
        }
    ]
    report = _json(run_cli, *cfg, "report", *month, "--format", "json")
    assert (report["excluded_minutes"], report["downtime_minutes"]) == (60, 20)
    assert report["reported_downtime_minutes"] == 20
    assert report["measured_minutes"] == 44640 - 60

    # exclude add keeps --reason required, as the document writes it.
    refused = run_cli(*cfg, "exclude", "add", "--service", "portal",
                      "--from", "2026-10-05T11:00:00Z", "--to", "2026-10-05T11:10:00Z")  # fmt: skip
    assert refused.returncode == 2 and "--reason" in refused.stderr


def test_one_config_mistake_is_one_line_on_stderr(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """Exit 2 "with a one-line message on stderr naming the file, the key": a bad key
    in ``[storage]`` (read for both the database and the spool) was reported twice."""
    write_config(tmp_path, _config(storage="colour = 1\n"))
    for command in (("config", "check"), ("report", "--month", "2026-10"), ("status",)):
        result = run_cli(*command, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stdout)
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            "slawatch: config.toml: storage.colour: unknown key (expected one of: path, url, spool)"
        ], (command, result.stderr)


def test_percent_bands_may_leave_out_max_downtime_minutes(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """``max_downtime_minutes`` is required on every band but the last *when basis =
    "minutes"*: on the percent basis a band may leave it out (here the top one) and
    the month is still banded by percent."""
    top_without = DOC_BANDS.replace("max_downtime_minutes = 216,   ", "")
    write_config(tmp_path, _config(top_without))
    checked = run_cli("config", "check", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    csv = tmp_path / "m.csv"
    # October 2026 (UTC, 44,640 minutes), 300 minutes down: 99.3279... % -> 25 %.
    csv.write_text("service,minute,status\n" + _rows("2026-10-10T00:00:00+00:00", 300, "down"))
    assert run_cli("import", "minutes", csv, cwd=tmp_path).returncode == 0
    report = _json(run_cli, "report", "--month", "2026-10", "--service", "portal",
                   "--format", "json", cwd=tmp_path)  # fmt: skip
    assert (report["credit_percent"], report["credit_amount"]) == (25, "250.00")

    # On the minutes basis the same bands are refused, naming the band and the key.
    write_config(tmp_path, _config(top_without, contract='basis = "minutes"\n'))
    refused = run_cli("config", "check", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        'slawatch: config.toml: contract "std".bands #1.max_downtime_minutes: is required on'
        ' every band but the last when basis = "minutes"'
    ]
    # Where given, the minute column must still go up (percent basis too).
    write_config(tmp_path, _config(top_without.replace("21600", "2000")))
    refused = run_cli("config", "check", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.splitlines() == [
        'slawatch: config.toml: contract "std".bands #3.max_downtime_minutes: must be more'
        " than the band above's (2160)"
    ]


def test_a_row_given_twice_in_one_file_changes_nothing_and_a_contradiction_is_refused(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """ "Importing the same row twice changes nothing", inside one file too (the minute
    written twice, with or without its offset spelt out, is one record: 1 new, 1
    unchanged); two rows of one minute that disagree are refused as a re-import that
    disagrees is (exit 2, one line, nothing of the file stored) unless --replace."""
    write_config(tmp_path, _config())
    twice = tmp_path / "twice.csv"
    twice.write_text(
        "service,minute,status\n"
        "portal,2026-10-05T10:00:00Z,down\n"
        "portal,2026-10-05T10:02:00Z,down\n"
        "portal,2026-10-05T12:00:00+02:00,down\n"  # 10:00Z again: the same row
    )
    result = run_cli("import", "minutes", twice, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "2 new, 1 unchanged, 0 replaced" in result.stdout
    month = ("report", "--month", "2026-10", "--service", "portal", "--format", "json")
    assert _json(run_cli, *month, cwd=tmp_path)["downtime_minutes"] == 2

    torn = tmp_path / "torn.csv"
    torn.write_text(
        "service,minute,status\n"
        "portal,2026-10-06T10:00:00Z,down\n"
        "portal,2026-10-06T10:02:00Z,up\n"
        "portal,2026-10-06T10:00:00Z,up\n"  # the same minute, another status
    )
    refused = run_cli("import", "minutes", torn, cwd=tmp_path)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1, refused.stderr
    assert "1 of 3 records conflict" in refused.stderr
    assert "portal 2026-10-06T10:00:00Z source 'import': recorded down, here up" in refused.stderr
    report = _json(run_cli, *month, cwd=tmp_path)
    assert (report["downtime_minutes"], report["up_minutes"]) == (2, 0)  # nothing of it kept

    replaced = run_cli("import", "minutes", torn, "--replace", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    report = _json(run_cli, *month, cwd=tmp_path)
    assert (report["downtime_minutes"], report["up_minutes"]) == (2, 2)  # the last row won


def test_a_claim_for_a_month_an_outage_runs_out_of_holds(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """``claim verify``: "exit 0 if it holds". An outage that spans two months, its
    records stopping where it ends (the minute after it has no record, in an hour the
    bundle carries): the honest export of either month holds. It was refused as a
    tail cut ("ends inside a run of down minutes"), exit 1; the cut at the hour edge
    is still refused (tests/claims/test_mutation_attack.py)."""
    write_config(tmp_path, _config())
    csv = tmp_path / "m.csv"
    # Down 31 Oct 23:30Z to 1 Nov 00:30Z (UTC contract: 30 minutes in each month);
    # the 1 Oct outage starts mid-hour with nothing recorded before it.
    csv.write_text(
        "service,minute,status\n"
        + _rows("2026-10-01T00:10:00+00:00", 20, "down")
        + _rows("2026-10-31T23:30:00+00:00", 60, "down")
    )
    assert run_cli("import", "minutes", csv, cwd=tmp_path).returncode == 0
    spans = {
        "2026-10": {"from": "2026-10-01T00:00:00Z", "to": "2026-11-01T00:30:00Z"},
        "2026-11": {"from": "2026-10-31T23:30:00Z", "to": "2026-12-01T00:00:00Z"},
    }
    for month, outages in (("2026-10", 2), ("2026-11", 1)):
        out = tmp_path / f"claim-{month}.json"
        exported = run_cli("claim", "export", "--service", "portal", "--month", month,
                           "--out", out, cwd=tmp_path)  # fmt: skip
        assert exported.returncode == 0, exported.stderr
        bundle = json.loads(out.read_text())
        assert bundle["span"] == spans[month]
        assert len(bundle["outages"]) == outages
        assert bundle["figures"]["downtime_minutes"] == (50 if month == "2026-10" else 30)
        verified = run_cli("claim", "verify", out, cwd=tmp_path)
        assert verified.returncode == 0, verified.stdout[-600:]
        assert "DOES NOT HOLD" not in verified.stdout


def test_months_worked_by_hand_at_the_edges_of_rules_1_2_and_7(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """Found conforming; kept so it stays so. Figures from the rules, not from slawatch."""
    write_config(
        tmp_path,
        _config(
            "bands = [ { min_availability = 50.0, credit_percent = 0 },"
            ' { min_availability = 0.0, credit = "100-availability" } ]\n',
            contract='timezone = "Europe/Paris"\n',
        )
        + '[[service.maintenance]]\nday = "sat"\nfrom = "22:00"\nto = "04:00"\n'
        + '\n[[service]]\nname = "feb"\ncontract = "std"\nmonthly_fee = "1000.00"\n'
        + '\n[[service]]\nname = "howe"\ncontract = "howe"\nmonthly_fee = "1.00"\n'
        + '\n[[contract]]\nname = "howe"\ntimezone = "Australia/Lord_Howe"\n'
        + "bands = [ { min_availability = 0.0, credit_percent = 0 } ]\n",
    )

    def month(service: str, which: str) -> Any:
        return _json(run_cli, "report", "--month", which, "--service", service,
                     "--format", "json", cwd=tmp_path)  # fmt: skip

    # Rule 1: Paris loses an hour on 29 March and gains one on 25 October 2026; Lord
    # Howe moves its clocks by 30 minutes (5 April back, 4 October forward).
    # Rule 2, weekly windows in local time: March has 4 h of the 28 Feb window
    # (Sun 1 Mar 00:00-04:00), three 6 h nights and 5 h on the night the clocks go
    # forward (1620); October three 6 h nights, 7 h on 24-25 Oct, 2 h of 31 Oct (1620).
    for which, minutes in (("2026-03", 44_580), ("2026-10", 44_700)):
        report = month("portal", which)
        assert (report["minutes_in_month"], report["excluded_minutes"]) == (minutes, 1620)
    assert month("howe", "2026-04")["minutes_in_month"] == 43_200 + 30
    assert month("howe", "2026-10")["minutes_in_month"] == 44_640 - 30

    # Rule 7 in decimal: a Paris month of 40,000 measured minutes (February's 40,320
    # less a 320-minute exclusion; this service has no weekly window), 20,001 down:
    # availability 49.9975 %, credit 50.0025 % of 1000.00 = 500.025, half-up 500.03
    # (in binary floating point 500.025 is a hair less, and round() gives 500.02).
    csv = tmp_path / "feb.csv"
    csv.write_text(
        "service,minute,status\n"
        + _rows("2026-02-05T00:00:00+00:00", 20_001, "down").replace("portal,", "feb,")
    )
    assert run_cli("import", "minutes", csv, cwd=tmp_path).returncode == 0
    span = ("--from", "2026-02-25T00:00:00+01:00", "--to", "2026-02-25T05:20:00+01:00")
    added = run_cli("exclude", "add", "--service", "feb", *span, "--reason", "upstream",
                    cwd=tmp_path)  # fmt: skip
    assert added.returncode == 0, added.stderr
    report = month("feb", "2026-02")
    assert report["measured_minutes"] == 40_000 and report["downtime_minutes"] == 20_001
    assert report["availability_percent"] == 49.9975
    assert report["credit_percent"] == 50.0025
    assert report["credit_amount"] == "500.03"


def test_times_and_months_out_of_range_are_bad_input_not_a_traceback(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """ISO 8601 times and YYYY-MM months that parse but that slawatch cannot compute
    with (year 1, a window ending in year 10000, December 9999 whose end is 10000-01-01)
    and a case id past what a database row holds are exit 2 with one line naming the
    option; nothing is stored. They were tracebacks (exit 1), and ``case open
    --opened-at 0001-01-01T00:00:00Z`` stored the case before failing. ``--service ''``
    printed one service's report as if it had been asked for."""
    write_config(tmp_path, _config())
    span = ("--service", "portal", "--from")
    for args, option in (
        (("case", "open", "--service", "portal", "--priority", "high", "--title", "t",
          "--opened-at", "0001-01-01T00:00:00Z"), "--opened-at"),
        (("maintenance", "add", *span, "9999-12-31T23:00:00Z", "--to", "9999-12-31T23:59:59Z"),
         "--from"),
        (("exclude", "add", *span, "0001-01-01T00:00:00Z", "--to", "1970-01-01T01:00:00Z",
          "--reason", "r"), "--from"),
        (("report", "--month", "9999-12", "--service", "portal"), "--month"),
        (("outages", "--month", "9999-12", "--service", "portal"), "--month"),
        (("report", "--quarter", "9999Q4"), "--quarter"),
        (("case", "respond", "99999999999999999999999"), "argument ID"),  # past a bigint
        (("report", "--month", "2026-10", "--service", "", "--format", "json"), "--service"),
    ):  # fmt: skip
        result = run_cli(*args, cwd=tmp_path)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == "" and "Traceback" not in result.stderr
        assert result.stderr.startswith(f"slawatch: {option}: "), result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
    assert _json(run_cli, "case", "list", "--json", cwd=tmp_path) == []
    assert _json(run_cli, "maintenance", "list", "--json", cwd=tmp_path) == []
    # The last month and the first instant still work.
    last = _json(run_cli, "report", "--month", "9999-11", "--service", "portal",
                 "--format", "json", cwd=tmp_path)  # fmt: skip
    assert last["minutes_in_month"] == 43_200
    opened = ("--priority", "low", "--title", "t", "--opened-at", "1970-01-01T00:00:00Z")
    case = _json(run_cli, "case", "open", "--service", "portal", *opened, "--json", cwd=tmp_path)
    assert case["opened_at"] == "1970-01-01T00:00:00Z"
