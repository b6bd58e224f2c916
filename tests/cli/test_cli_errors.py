"""User mistakes: exit 2, one line on stderr naming the place, no traceback, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests import configs
from tests.cli.common import PORTAL, assert_user_error, storage

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

CONFIG = storage("slawatch.db") + PORTAL

GOOD_ROWS = (
    "service,minute,status\n"
    "portal,2026-10-01T00:00:00Z,down\n"
    "portal,2026-10-01T00:01Z,down\n"
    "portal,2026-10-01T02:02:00+02:00,down\n"
)


@pytest.fixture
def config(tmp_path: Path, write_config: WriteConfig) -> Path:
    return write_config(tmp_path, CONFIG)


def csv_file(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


# (arguments after --config, text that must appear in the message)
MISTAKES = [
    (["case", "open", "--service", "portal", "--priority", "critical", "--title", "t",
      "--opened-at", "2026-10-03T14:05:00"], "--opened-at: '2026-10-03T14:05:00' has no UTC"),
    (["case", "open", "--service", "nope", "--priority", "critical", "--title", "t"],
     "--service: unknown service 'nope'"),
    (["case", "open", "--service", "portal", "--priority", "urgent", "--title", "t"],
     "--priority: unknown priority 'urgent'"),
    (["report", "--month", "2026-13"], "--month: '2026-13' is not a month"),
    (["report", "--quarter", "2026Q5"], "--quarter: '2026Q5' is not a quarter"),
    (["outages", "--month", "2026-10", "--service", "nope"], "--service: unknown service"),
    (["exclude", "add", "--service", "portal", "--from", "2026-10-03T15:00:00Z",
      "--to", "2026-10-03T14:00:00Z", "--reason", "backwards"], "--to: "),
    (["maintenance", "add", "--service", "portal", "--from", "2026-10-03T15:00:00Z",
      "--to", "2026-10-03T16:00"], "--to: '2026-10-03T16:00' has no UTC offset"),
    (["case", "respond", "99", "--at", "2026-10-03T15:00:00Z"], "no case with id 99"),
    (["case", "link", "1", "--from", "2026-10-03T15:00:00Z", "--to", "2026-10-03T15:00:00Z"],
     "--to: "),
    (["credit", "settle", "--service", "portal", "--month", "2026-1"], "--month: '2026-1'"),
    (["credit", "settle", "--service", "portal", "--month", "2099-01"],
     "--month: 2099-01 is not over (it ends 2099-02-01 00:00Z"),
    (["import", "minutes", "missing.csv"], "missing.csv: no such file"),
]  # fmt: skip

BAD_FILES = [
    ("status.csv", GOOD_ROWS + "portal,2026-10-01T00:03:00Z,sideways\n", "line 5: status 'side"),
    ("offset.csv", GOOD_ROWS + "portal,2026-10-01T00:03:00,up\n", "line 5: minute"),
    ("seconds.csv", "service,minute,status\nportal,2026-10-01T00:00:30Z,up\n", "line 2: minute"),
    ("service.csv", GOOD_ROWS + "billing,2026-10-01T00:03:00Z,up\n", "line 5: unknown service"),
    ("fields.csv", GOOD_ROWS + "portal,2026-10-01T00:03:00Z\n", "line 5: expected 3 fields"),
    ("latency.csv", "service,minute,status,latency_ms\nportal,2026-10-01T00:00:00Z,up,-4\n",
     "line 2: latency_ms '-4'"),
    ("header.csv", "service,time,status\nportal,2026-10-01T00:00:00Z,up\n", "line 1: header"),
]  # fmt: skip


def test_every_mistake_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, config: Path, run_cli: RunCli
) -> None:
    runs = [(args, expected) for args, expected in MISTAKES]
    for name, text, expected in BAD_FILES:
        runs.append((["import", "minutes", str(csv_file(tmp_path, name, text))], expected))
    for args, expected in runs:
        assert_user_error(run_cli("--config", config, *args, cwd=tmp_path), expected)

    # Nothing of any of that was stored: no case, no window, no minute.
    cases = run_cli("--config", config, "case", "list", "--json")
    assert json.loads(cases.stdout) == []
    report = run_cli("--config", config, "report", "--month", "2026-10", "--service", "portal",
                     "--format", "json")  # fmt: skip
    figures = json.loads(report.stdout)
    assert (figures["unknown_minutes"], figures["excluded_minutes"]) == (44_640, 0)
    credits = run_cli("--config", config, "credit", "list", "--json")
    assert json.loads(credits.stdout) == []


def test_a_good_file_after_bad_ones_imports_every_row(
    tmp_path: Path, config: Path, run_cli: RunCli
) -> None:
    good = csv_file(tmp_path, "good.csv", GOOD_ROWS)
    result = run_cli("--config", config, "import", "minutes", good, "--source", "probe-b")
    assert result.returncode == 0, result.stderr
    assert "imported 3 minute records" in result.stdout
    report = run_cli("--config", config, "report", "--month", "2026-10", "--service", "portal",
                     "--format", "json")  # fmt: skip
    figures = json.loads(report.stdout)
    # 00:00, 00:01 and 02:02+02:00 (= 00:02Z) are down; everything else is unknown.
    assert figures["downtime_minutes"] == 3
    assert figures["unknown_minutes"] == 44_640 - 3


def test_config_check(
    tmp_path: Path, config: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    ok = run_cli("--config", config, "config", "check")
    assert ok.returncode == 0, ok.stderr
    bad = write_config(tmp_path, CONFIG + 'colour = "blue"\n', name="bad.toml")
    result = run_cli("--config", bad, "config", "check")
    assert result.returncode == 2
    assert "bad.toml" in result.stderr and "colour" in result.stderr
    assert result.stderr.count("\n") == 1


def test_config_check_refuses_what_the_agent_refuses(tmp_path: Path, run_cli: RunCli) -> None:
    """A probe interval of 1s: the agent cannot run it, so ``config check`` must not say ok."""
    fast = configs.probe("http://127.0.0.1:9/", interval="1s", timeout="1s")
    text = CONFIG + configs.toml(services=[configs.service("fast", monthly_fee="1.00", probe=fast)])
    path = tmp_path / "fast.toml"
    path.write_text(text, encoding="utf-8")
    results = [
        run_cli("--config", path, "config", "check"),
        run_cli("--config", path, "agent", "--once"),
        run_cli("--config", path, "report", "--month", "2026-10"),
    ]
    for result in results:
        assert_user_error(result, "fast.toml", 'service "fast".probe.interval', "between 5s and 1h")
    assert len({r.stderr for r in results}) == 1


@pytest.mark.parametrize(
    ("args", "help_of"),
    [
        (["case", "open", "--service", "portal"], "slawatch case open"),
        (["report", "--month"], "slawatch report"),
        (["maintenance", "add", "--bogus"], "slawatch maintenance add"),
        (["frobnicate"], "slawatch"),
    ],
)
def test_a_usage_error_points_at_the_commands_own_help(
    args: list[str], help_of: str, config: Path, run_cli: RunCli
) -> None:
    assert_user_error(run_cli("--config", config, *args), f"(see '{help_of} --help')")
