"""Cases, the quarterly report, ``status`` and ``credit settle`` through the real CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from core.status import DOWN, UP
from core.timeutil import YearMonth, utc_now
from store import ProbeState
from store.sqlite import SqliteStore
from tests.cli.common import CASE_KEYS, PORTAL, ok_json, storage

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

# saas-standard support hours: Mon-Fri 08:00-02:00 UTC (a window belongs to the day it
# starts on), critical 30m, high 1h, medium 1bd = 18 h, all on the business clock.
CONFIG = (
    storage("db/slawatch.db")
    + PORTAL
    + """[service.probe]
url = "http://127.0.0.1:9/health"
interval = "60s"
"""
)


def test_case_lifecycle_deadlines_and_quarter(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, CONFIG))
    # Friday 01:50: ten minutes left of Thursday's window, the rest from Friday 08:00.
    critical = ok_json(run_cli, *cfg, "case", "open", "--service", "portal", "--priority",
                       "critical", "--title", "portal down", "--ref", "PRV-1",
                       "--opened-at", "2026-10-02T01:50:00Z", "--json")  # fmt: skip
    assert set(critical) >= CASE_KEYS
    assert critical["id"] == 1 and critical["ref"] == "PRV-1"
    assert critical["opened_at"] == "2026-10-02T01:50:00Z"
    assert critical["response_due"] == "2026-10-02T08:20:00Z"
    assert (critical["status"], critical["response_breached"]) == ("open", True)

    responded = ok_json(run_cli, *cfg, "case", "respond", "1", "--at", "2026-10-02T08:25:00Z",
                        "--json")  # fmt: skip
    assert responded["responded_at"] == "2026-10-02T08:25:00Z"
    assert (responded["status"], responded["response_breached"]) == ("responded", True)
    resolved = ok_json(run_cli, *cfg, "case", "resolve", "1", "--at", "2026-10-02T12:00:00+02:00",
                       "--json")  # fmt: skip
    assert (resolved["status"], resolved["resolved_at"]) == ("resolved", "2026-10-02T10:00:00Z")

    # Saturday: no support hours until Monday 08:00, so a 1 h target is due at 09:00.
    high = ok_json(run_cli, *cfg, "case", "open", "--service", "portal", "--priority", "high",
                   "--title", "slow", "--opened-at", "2026-10-03T10:00:00Z", "--json")  # fmt: skip
    assert high["response_due"] == "2026-10-05T09:00:00Z"
    ok_json(run_cli, *cfg, "case", "respond", "2", "--at", "2026-10-05T08:30:00Z", "--json")
    # Wednesday 20:00: 6 h left of Wednesday's window, then 12 h from Thursday 08:00.
    medium = ok_json(run_cli, *cfg, "case", "open", "--service", "portal", "--priority", "Medium",
                     "--title", "export fails", "--opened-at", "2026-10-07T20:00:00Z",
                     "--json")  # fmt: skip
    assert medium["priority"] == "medium"
    assert medium["response_due"] == "2026-10-08T20:00:00Z"

    everything = ok_json(run_cli, *cfg, "case", "list", "--json")
    assert [c["id"] for c in everything] == [1, 2, 3]
    assert [c["response_breached"] for c in everything] == [True, False, True]
    still_open = ok_json(run_cli, *cfg, "case", "list", "--open", "--json")
    assert [(c["id"], c["status"]) for c in still_open] == [(2, "responded"), (3, "open")]

    text = run_cli(*cfg, "case", "list").stdout.splitlines()
    assert text[0].split()[:4] == ["ID", "SERVICE", "PRIORITY", "STATUS"]
    rows = [line for line in text[1:] if line.split()[0].isdigit()]  # a title goes below
    assert len(rows) == 3 and len({line.index("portal") for line in rows}) == 1  # aligned

    quarter = ok_json(run_cli, *cfg, "report", "--quarter", "2026Q4", "--service", "portal",
                      "--format", "json")  # fmt: skip
    assert [m["month"] for m in quarter["months"]] == ["2026-10", "2026-11", "2026-12"]
    assert quarter["cases_by_priority"] == {"critical": 1, "high": 1, "medium": 1, "low": 0}
    # All three responses are due by now; only the high one came in time.
    assert (quarter["responses_due"], quarter["responses_on_time"]) == (3, 1)
    assert quarter["responses_on_time_percent"] == pytest.approx(100 / 3)


def test_status_shows_state_cases_and_pending_credits_until_settled(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    config = write_config(tmp_path, CONFIG)
    cfg = ("--config", config)
    now = utc_now()
    current = YearMonth.of(now, ZoneInfo("UTC"))
    previous = current.prev()
    start = datetime(previous.year, previous.month, 10, tzinfo=UTC)
    lines = ["service,minute,status"]
    for i in range(300):  # 300 minutes down: 25 % of 1000.00 whatever the month's length
        lines.append(f"portal,{(start + timedelta(minutes=i)):%Y-%m-%dT%H:%MZ},down")
    (tmp_path / "prev.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    imported = run_cli(*cfg, "import", "minutes", tmp_path / "prev.csv")
    assert imported.returncode == 0, imported.stderr

    async def probe() -> None:
        async with await SqliteStore.open(tmp_path / "db" / "slawatch.db") as store:
            await store.record_probe(ProbeState("portal", "agent", now - timedelta(seconds=90),
                                                DOWN, None, "timeout"))  # fmt: skip
            await store.record_probe(ProbeState("portal", "agent", now - timedelta(seconds=30),
                                                UP, 120, None))  # fmt: skip

    asyncio.run(probe())
    case = ok_json(run_cli, *cfg, "case", "open", "--service", "portal", "--priority", "low",
                   "--title", "question", "--json")  # fmt: skip

    status = ok_json(run_cli, *cfg, "status", "--json")
    assert set(status) >= {"services", "open_cases", "pending_credits"}
    (service,) = status["services"]
    assert service["name"] == "portal"
    assert (service["state"], service["latency_ms"]) == ("up", 120)
    assert service["last_probe_at"] == (now - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert service["month_availability_percent"] == 100.0
    assert [c["id"] for c in status["open_cases"]] == [case["id"]]
    (pending,) = status["pending_credits"]
    assert pending == pending | {
        "service": "portal",
        "month": str(previous),
        "credit_percent": 25.0,
        "credit_amount": "250.00",
        "claimable_credit_amount": "0.00",
    }

    settled = run_cli(*cfg, "credit", "settle", "--service", "portal", "--month", str(previous))
    assert settled.returncode == 0, settled.stderr
    assert settled.stdout == (  # what was settled, said
        f"portal {previous}: claimable credit 0.00 EUR (measured 250.00 EUR) marked settled;"
        " nothing is claimable (no outage was reported)\n"
    )
    assert ok_json(run_cli, *cfg, "status", "--json")["pending_credits"] == []
    text = run_cli(*cfg, "status").stdout
    assert "portal" in text and "UP" in text and "No pending credits." in text


def test_an_empty_list_says_so_in_one_sentence_on_every_list(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """Every list with nothing to show says so the same way ``status`` does ("No open
    cases."), naming the filters it was given."""
    cfg = ("--config", write_config(tmp_path, CONFIG))
    empty = {
        ("case", "list"): "No cases.",
        ("case", "list", "--open"): "No open cases.",
        ("case", "list", "--status", "responded", "--service", "portal"): (
            "No responded cases for portal."
        ),
        ("credit", "list"): "No credits pending or settled.",
        ("maintenance", "list"): "No one-off maintenance windows.",
        ("exclude", "list", "--service", "portal"): "No exclusions for portal.",
        ("audit",): "No audit entries.",
        ("outages", "--month", "2026-09"): "No outages for any service in 2026-09.",
        ("outages", "--month", "2026-09", "--service", "portal"): (
            "No outages for portal in 2026-09."
        ),
    }
    for args, said in empty.items():
        done = run_cli(*cfg, *args)
        assert (done.returncode, done.stdout, done.stderr) == (0, said + "\n", ""), args
        assert json.loads(run_cli(*cfg, *args, "--json").stdout) == [], args  # stays a list
    status = run_cli(*cfg, "status").stdout.splitlines()
    assert "No open cases." in status and "No pending credits." in status
