"""interfaces.md read line by line against the real CLI: lookup, files, months by hand, cases.

Each test batches several subprocess calls on one config; the figures of the
hand-worked months are derived in the comments from rules 1-8, not read back
from slawatch.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from slawatch.cli import COMMAND_MODULES, main
from tests import configs
from tests.cli.common import (
    CASE_KEYS,
    PORTAL,
    REPORT_KEYS,
    assert_user_error,
    ok_json,
    storage,
)
from tests.conftest import REPO

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

OUTAGE_KEYS = {"id", "service", "start", "end", "minutes", "reported", "case_id", "report_by"}


def minute_rows(service: str, start: datetime, count: int, status: str) -> str:
    return "".join(
        f"{service},{(start + timedelta(minutes=i)):%Y-%m-%dT%H:%M:%SZ},{status}\n"
        for i in range(count)
    )


# -- config lookup -------------------------------------------------------------


def test_config_comes_from_the_option_then_the_environment_then_the_working_folder(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    write_config(sub, storage("data/sw.db") + PORTAL)
    database = str(sub / "data" / "sw.db")  # relative to the config's folder, not the cwd

    by_option = run_cli("--config", "sub/config.toml", "config", "check", cwd=tmp_path)
    by_env = run_cli("config", "check", cwd=tmp_path, env={"SLAWATCH_CONFIG": "sub/config.toml"})
    here = run_cli("config", "check", cwd=sub)
    for result in (by_option, by_env, here):
        assert result.returncode == 0, result.stderr
        assert database in result.stdout
        assert "1 service, 1 contract, 1 calendar;" in result.stdout
    # --config wins over $SLAWATCH_CONFIG; with neither, ./config.toml is looked for.
    both = run_cli(
        "--config", sub / "config.toml", "config", "check",
        cwd=tmp_path, env={"SLAWATCH_CONFIG": str(tmp_path / "missing.toml")},
    )  # fmt: skip
    assert both.returncode == 0, both.stderr
    assert_user_error(run_cli("config", "check", cwd=tmp_path), "config.toml", "no such config")
    rows = tmp_path / "m.csv"
    rows.write_text("service,minute,status\nportal,2026-10-01T00:00:00Z,down\n", encoding="utf-8")
    imported = run_cli("--config", "sub/config.toml", "import", "minutes", rows, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "imported 1 minute record from" in imported.stdout
    assert Path(database).is_file() and not (tmp_path / "data").exists()


# -- import minutes: the files users really have ---------------------------------


def test_import_rejects_odd_files_whole_and_reads_bom_and_crlf(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("sw.db") + PORTAL))
    files = {
        "empty.csv": b"",
        "header.csv": b"service,minute,state\nportal,2026-10-01T00:00:00Z,down\n",
        # line 4 is bad; lines 2-3 must not be kept
        "bad.csv": b"service,minute,status\nportal,2026-10-05T00:00:00Z,down\n"
        b"portal,2026-10-05T00:01:00Z,down\nportal,2026-10-05T00:02:00Z,off\n",
        "bom.csv": b"\xef\xbb\xbfservice,minute,status,latency_ms\r\n"
        b"portal,2026-10-02T00:00:00Z,down,\r\nportal,2026-10-02T00:01:00Z,up,35\r\n",
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    def load(name: str) -> object:
        return run_cli(*cfg, "import", "minutes", tmp_path / name, cwd=tmp_path)

    assert_user_error(load("missing.csv"), "missing.csv: no such file")
    assert_user_error(load("empty.csv"), "empty.csv: line 1: the file is empty")
    assert_user_error(load("header.csv"), "header.csv: line 1: header")
    assert_user_error(load("bad.csv"), "bad.csv: line 4: status 'off'")
    for _ in range(2):  # importing the same file twice changes nothing
        good = load("bom.csv")
        assert good.returncode == 0, good.stderr
        assert "imported 2 minute records" in good.stdout
    figures = ok_json(run_cli, *cfg, "report", "--month", "2026-10", "--service", "portal",
                      "--format", "json")  # fmt: skip
    assert (figures["downtime_minutes"], figures["unknown_minutes"]) == (1, 44_640 - 2)


# -- months worked out by hand -------------------------------------------------

MONTHS_CONFIG = configs.toml(
    contracts=[
        configs.contract("pacific", timezone="America/Los_Angeles"),
        configs.contract("by-minutes", basis="minutes"),
        configs.contract("std"),
    ],
    services=[
        configs.service("la", "pacific"),
        configs.service("feb-minutes", "by-minutes", "99.99"),
        configs.service("feb-percent", "std", "99.99"),
        configs.service("full", "std", "500.00"),
        configs.service("vote", "std", "100.00", currency="usd"),
    ],
)


@pytest.fixture(scope="module")
def months(tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli) -> Path:
    """The config of the hand-worked months, with their minutes, exclusion and case stored."""
    folder = tmp_path_factory.mktemp("months")
    config = folder / "config.toml"
    config.write_text(storage("sw.db") + MONTHS_CONFIG, encoding="utf-8")
    feb10 = datetime(2026, 2, 10, tzinfo=UTC)
    vote = datetime(2026, 2, 3, tzinfo=UTC)
    main_rows = (
        "service,minute,status\n"
        # March 2026 in Los Angeles starts 08:00Z; 30,000 minutes down from there.
        + minute_rows("la", datetime(2026, 3, 1, 8, tzinfo=UTC), 30_000, "down")
        + minute_rows("feb-minutes", feb10, 2_160, "down")
        + minute_rows("feb-percent", feb10, 2_160, "down")
        + minute_rows("full", feb10, 100, "down")
        + minute_rows("vote", vote, 15, "down")  # source "import" says down for 15 minutes
    )
    files = {
        "main.csv": (main_rows, "import"),
        "b.csv": (
            "service,minute,status\n"
            + minute_rows("vote", vote, 10, "degraded")
            + minute_rows("vote", vote + timedelta(minutes=10), 5, "down"),
            "b",
        ),
        "c.csv": ("service,minute,status\n" + minute_rows("vote", vote, 15, "up"), "c"),
    }
    for name, (text, source) in files.items():
        (folder / name).write_text(text, encoding="utf-8")
        result = run_cli("--config", config, "import", "minutes", folder / name,
                         "--source", source)  # fmt: skip
        assert result.returncode == 0, result.stderr
    for args in (
        ["exclude", "add", "--service", "full", "--from", "2026-02-01T00:00:00Z",
         "--to", "2026-03-01T00:00:00Z", "--reason", "upstream hosting"],
        # an hour after the LA outage began: inside report_within (72h), so it is claimable
        ["case", "open", "--service", "la", "--priority", "critical", "--title", "down",
         "--opened-at", "2026-03-01T09:00:00Z"],
    ):  # fmt: skip
        result = run_cli("--config", config, *args)
        assert result.returncode == 0, result.stderr
    return config


def test_a_dst_month_in_the_lowest_band(months: Path, run_cli: RunCli) -> None:
    la = ok_json(run_cli, "--config", months, "report", "--month", "2026-03", "--service", "la",
                 "--format", "json")  # fmt: skip
    assert set(la) >= REPORT_KEYS
    # 31 days less the hour lost on 8 March: 44,640 - 60 = 44,580 minutes.
    assert (la["minutes_in_month"], la["downtime_minutes"], la["measured_minutes"]) == (
        44_580, 30_000, 44_580,
    )  # fmt: skip
    # (44,580 - 30,000) / 44,580 = 32.7052...% -> credit 100 - 32.7052... = 67.2947...%
    assert la["availability_percent"] == pytest.approx(32.705248990578735)
    assert la["credit_percent"] == pytest.approx(67.29475100942127)
    assert la["credit_amount"] == "672.95"  # 672.9475... rounded half-up
    assert la["claimable_credit_amount"] == "672.95"  # the case reported the whole outage
    assert (la["timezone"], la["monthly_fee"], la["currency"]) == (
        "America/Los_Angeles", "1000.00", "EUR",
    )  # fmt: skip
    outages = ok_json(run_cli, "--config", months, "outages", "--month", "2026-03",
                      "--service", "la", "--json")  # fmt: skip
    assert [set(o) for o in outages] == [OUTAGE_KEYS | {"ongoing"}]  # ongoing: issue 14
    assert outages[0] | {"id": None} == {
        "id": None, "service": "la", "start": "2026-03-01T08:00:00Z",
        "end": "2026-03-22T04:00:00Z",  # 30,000 minutes = 20 days 20 hours later
        "minutes": 30_000, "reported": True, "case_id": 1, "report_by": "2026-03-04T08:00:00Z",
        "ongoing": False,
    }  # fmt: skip


def test_february_on_both_bases_fully_excluded_and_voted(months: Path, run_cli: RunCli) -> None:
    reports = ok_json(run_cli, "--config", months, "report", "--month", "2026-02",
                      "--format", "json")  # fmt: skip
    assert isinstance(reports, list)  # no --service: an array of every service
    by_name = {r["service"]: r for r in reports}
    assert list(by_name) == ["la", "feb-minutes", "feb-percent", "full", "vote"]
    assert all(set(r) >= REPORT_KEYS for r in reports)

    # 28 days = 40,320 minutes; 2,160 down. Minutes basis: 2,160 <= 2,160 -> 25 %;
    # percent basis: 38,160 / 40,320 = 94.64 % < 95 -> 50 %. 99.99 x 25 % = 24.9975 -> 25.00.
    minutes, percent = by_name["feb-minutes"], by_name["feb-percent"]
    assert (minutes["basis"], minutes["credit_percent"], minutes["credit_amount"]) == (
        "minutes", 25, "25.00",
    )  # fmt: skip
    assert (percent["basis"], percent["credit_percent"], percent["credit_amount"]) == (
        "percent", 50, "50.00",
    )  # fmt: skip
    assert minutes["availability_percent"] == pytest.approx(94.64285714285714)
    # No case was opened: measured credit, but nothing claimable.
    assert (minutes["reported_downtime_minutes"], minutes["claimable_credit_amount"]) == (0, "0.00")
    assert minutes["claimable_availability_percent"] == 100

    # The whole month excluded: nothing measured, availability 100, the top band, no outage.
    full = by_name["full"]
    assert (full["excluded_minutes"], full["measured_minutes"], full["downtime_minutes"]) == (
        40_320, 0, 0,
    )  # fmt: skip
    assert (full["availability_percent"], full["credit_amount"]) == (100, "0.00")

    # Three sources: down+degraded+up is degraded (2 of 3 bad, 1 of 3 down), 10 minutes;
    # down+down+up is down (2 of 3), 5 minutes. Degraded counts as available.
    vote = by_name["vote"]
    assert (vote["degraded_minutes"], vote["downtime_minutes"], vote["currency"]) == (
        10, 5, "USD",
    )  # fmt: skip
    assert vote["unknown_minutes"] == 40_320 - 15

    for fmt, first in (("csv", "service,month,timezone,basis,"), ("md", "| SERVICE | MONTH |")):
        table = run_cli("--config", months, "report", "--month", "2026-02", "--format", fmt)
        assert table.returncode == 0, table.stderr
        tabled, _, said = table.stdout.partition("\n\n")  # md: the reporting rule follows
        lines = tabled.splitlines()
        assert lines[0].startswith(first)
        assert len(lines) == 1 + 5 + (fmt == "md")  # header (+ md rule) and one row a service
        assert ("configured reading" in said) == (fmt == "md")
    text = run_cli("--config", months, "report", "--month", "2026-02", "--service", "vote")
    assert text.returncode == 0 and "99.9875 %" in text.stdout  # (40,320 - 5) / 40,320, cut


# -- cases ---------------------------------------------------------------------


def test_case_times_keep_their_order(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("sw.db") + PORTAL))
    opened = ok_json(run_cli, *cfg, "case", "open", "--service", "portal", "--priority", "high",
                     "--title", "slow", "--opened-at", "2026-10-01T10:00:00+02:00",
                     "--json")  # fmt: skip
    assert set(opened) >= CASE_KEYS and opened["status"] == "open"
    assert (opened["opened_at"], opened["response_due"]) == (
        "2026-10-01T08:00:00Z", "2026-10-01T09:00:00Z",
    )  # fmt: skip
    responded = ok_json(run_cli, *cfg, "case", "respond", "1", "--at", "2026-10-01T09:30:00Z",
                        "--json")  # fmt: skip
    assert (responded["status"], responded["response_breached"]) == ("responded", True)
    # Resolved before its first response: impossible, refused, nothing written.
    assert_user_error(
        run_cli(*cfg, "case", "resolve", "1", "--at", "2026-10-01T09:00:00Z"),
        "--at: case 1 had its first response at 2026-10-01T09:30:00Z",
    )
    assert_user_error(run_cli(*cfg, "case", "resolve", "1", "--at", "2026-10-01T12:00"),
                      "--at: '2026-10-01T12:00' has no UTC offset")  # fmt: skip
    resolved = ok_json(run_cli, *cfg, "case", "resolve", "1", "--at", "2026-10-01T12:00:00Z",
                       "--json")  # fmt: skip
    assert (resolved["status"], resolved["resolved_at"]) == ("resolved", "2026-10-01T12:00:00Z")
    assert_user_error(
        run_cli(*cfg, "case", "respond", "1", "--at", "2026-10-01T09:45:00Z"),
        "case 1: first response already recorded",
    )
    listed = ok_json(run_cli, *cfg, "case", "list", "--json")
    assert listed == [resolved]
    assert ok_json(run_cli, *cfg, "case", "list", "--open", "--json") == []


# -- the command line itself -----------------------------------------------------


def test_no_command_or_an_unknown_one_is_a_usage_error(run_cli: RunCli) -> None:
    assert_user_error(run_cli(), "COMMAND")
    assert_user_error(run_cli("frobnicate"), "invalid choice: 'frobnicate'")
    top = run_cli("--help")
    assert top.returncode == 0
    for command in ("demo", "agent", "dashboard", "status", "report", "outages", "import",
                    "case", "maintenance", "exclude", "claim", "config", "service"):  # fmt: skip
        assert f"    {command} " in top.stdout, command


HELPS = [
    ["status"], ["report"], ["outages"], ["import", "minutes"], ["case", "open"],
    ["case", "respond"], ["case", "resolve"], ["case", "link"], ["case", "list"],
    ["maintenance", "add"], ["exclude", "add"], ["claim", "export"], ["claim", "verify"],
    ["config", "check"], ["service", "install"], ["agent"], ["credit", "settle"],
    ["store", "verify"], ["key", "init"],
]  # fmt: skip


@pytest.mark.parametrize("words", HELPS, ids=" ".join)
def test_every_command_has_help(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([*words, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: slawatch {' '.join(words)}")


def test_building_the_parser_loads_no_store_or_rules() -> None:
    """Start-up cost: ``slawatch report --help`` must not import the store, asyncio or the
    month engine (each command imports those when it runs)."""
    import subprocess
    import sys

    probe = (
        "import sys; from slawatch.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('asyncio', 'aiosqlite', 'store', 'core.month', 'json') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    assert out.strip() == "[]", (out, COMMAND_MODULES)
