"""The contract's performance report (``report --quarter`` / ``--month``) on a seeded quarter.

Q3 2026 of one service on the default saas-standard terms (support Mon-Fri
08:00-02:00 UTC; critical 30m, high 1h, medium 1bd = 18h, low 2bd = 36h, all on
the business clock), every minute recorded, fee 1000.00 EUR. The golden files
(tests/cli/golden/) were checked by hand against this worked list:

Outages: Wed 12 Aug 10:00-15:00 (300 min, reported by case 3, opened 10:20);
Tue 1 Sep 03:00-03:40 (40 min, never reported: no case
within 72 h); Wed 30 Sep 22:00-22:30 (30 min,
reported by case 7 on 1 Oct 08:00: after the quarter's end, so unreported as of
it). July 100 %; August (44,640 - 300) / 44,640 = 99.327 % -> 25 %, 250.00 EUR;
September (43,200 - 70) / 43,200 = 99.837 %.

Cases (as of 1 Oct 00:00Z, the quarter's end):
1. low, opened 29 Jun 10:00, resolved 1 Jul 12:00: resolved in Q3 in 3000 min.
2. critical, opened Thu 2 Jul 09:00, due 09:30, answered 09:20 (on time);
   level 2 at 10:00, 3 at 11:00; RCA asked 12:00, resolved 14:10 (310 min),
   RCA delivered 10 Jul.
3. high, opened Wed 12 Aug 10:20, due 11:20, answered 11:45: 25 min late;
   level 2 at 12:00; resolved 16:20 (360 min).
4. medium, opened Fri 21 Aug 20:00 (due Mon 24 Aug 20:00), raised to high Sat
   22 Aug 10:00 before any answer: 1 business hour from then = Mon 09:00;
   answered 09:30: 30 min late; resolved Tue 25 Aug 10:00 (5160 min).
5. low, opened Mon 7 Sep 09:00 (due Wed 9 Sep 09:00), resolved 15:00 with no
   response recorded: the resolution answers, on time; 360 min.
6. critical, opened Wed 30 Sep 21:00, due 21:30, not answered by the end: 150
   min late; open at the end (answered, escalated, resolved on 1 Oct).
7. medium, opened 1 Oct 08:00: not in Q3.

Per priority: critical 2 opened, 1 on time, 1 late (max 150), 1 open at end,
1 resolved (310/310), 2 escalations, RCA 1/1; high 2 opened, 2 late (max 30,
total 55), 2 resolved (median 360 = lower of 360 and 5160, max 5160), 1
escalation; medium nothing; low 1 opened on time, 2 resolved (360, 3000 ->
median 360, max 3000). Outages 3, 2 unreported at the end (70 min). Deviations
in time order: August below the top band, case 3, case 4, case 6.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.status import DOWN, UP
from core.timeutil import to_minute
from slawatch.cli import main
from store import MinuteRow
from store.sqlite import SqliteStore
from tests.cli.common import PORTAL, assert_user_error, ok_json, storage

if TYPE_CHECKING:
    from tests.conftest import RunCli

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("SLAWATCH_UPDATE_GOLDEN") == "1"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


DOWN_SPANS = (
    ("2026-08-12T10:00", 300),
    ("2026-09-01T03:00", 40),
    ("2026-09-30T22:00", 30),
)


async def _seed(path: Path) -> None:
    start, end = to_minute(t("2026-06-25T00:00")), to_minute(t("2026-10-05T00:00"))
    down = {to_minute(t(at)) + i for at, minutes in DOWN_SPANS for i in range(minutes)}
    async with await SqliteStore.open(path) as s:
        await s.record_minutes(
            [MinuteRow("portal", "agent", m, DOWN if m in down else UP) for m in range(start, end)]
        )

        async def case(priority: str, opened: str, ref: str | None = None) -> int:
            return (
                await s.open_case("portal", priority, f"{priority} case", t(opened), ref=ref)
            ).id

        c1 = await case("low", "2026-06-29T10:00")
        await s.respond_case(c1, t("2026-06-30T09:00"))
        await s.resolve_case(c1, t("2026-07-01T12:00"))
        c2 = await case("critical", "2026-07-02T09:00", "PRV-2")
        await s.respond_case(c2, t("2026-07-02T09:20"))
        await s.escalate_case(c2, 2, t("2026-07-02T10:00"))
        await s.escalate_case(c2, 3, t("2026-07-02T11:00"))
        await s.request_rca(c2, t("2026-07-02T12:00"))
        await s.resolve_case(c2, t("2026-07-02T14:10"))
        await s.deliver_rca(c2, t("2026-07-10T09:00"))
        c3 = await case("high", "2026-08-12T10:20", "PRV-3")
        await s.respond_case(c3, t("2026-08-12T11:45"))
        await s.escalate_case(c3, 2, t("2026-08-12T12:00"))
        await s.resolve_case(c3, t("2026-08-12T16:20"))
        c4 = await case("medium", "2026-08-21T20:00")
        await s.change_priority(c4, "high", t("2026-08-22T10:00"), "whole team blocked")
        await s.respond_case(c4, t("2026-08-24T09:30"))
        await s.resolve_case(c4, t("2026-08-25T10:00"))
        c5 = await case("low", "2026-09-07T09:00")
        await s.resolve_case(c5, t("2026-09-07T15:00"))
        c6 = await case("critical", "2026-09-30T21:00", "PRV-6")
        await s.respond_case(c6, t("2026-10-01T08:00"))
        await s.escalate_case(c6, 2, t("2026-10-01T09:00"))
        await s.resolve_case(c6, t("2026-10-01T10:00"))
        await case("medium", "2026-10-01T08:00")  # reports the 30 Sep outage, after the end
        await s.checkpoint()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("quarter")
    config = folder / "config.toml"
    config.write_text(storage("slawatch.db") + PORTAL, encoding="utf-8")
    asyncio.run(_seed(folder / "slawatch.db"))
    return config


FORMATS = (
    ("text", (), "txt"),
    ("md", (), "md"),
    ("json", (), "json"),
    ("csv", (), "csv"),
    ("csv", ("--table", "performance"), "performance.csv"),
    ("csv", ("--table", "deviations"), "deviations.csv"),
)


@pytest.mark.parametrize(("fmt", "extra", "suffix"), FORMATS)
def test_quarter_report_matches_the_hand_checked_golden_file(
    seeded: Path, run_cli: RunCli, fmt: str, extra: tuple[str, ...], suffix: str
) -> None:
    args = ("--config", seeded, "report", "--quarter", "2026Q3", "--service", "portal",
            "--format", fmt, *extra)  # fmt: skip
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    golden = GOLDEN / f"quarter_2026Q3.{suffix}"
    if UPDATE:
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")
    # A month later (and a year later), the same quarter reads the same.
    for later in (timedelta(days=31), timedelta(days=365)):
        assert _in_process(args, datetime.now(tz=UTC) + later) == result.stdout


def _in_process(args: tuple[object, ...], now: datetime) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main([str(a) for a in args], clock=lambda: now) == 0
    return out.getvalue().replace("\r\n", "\n")  # as the subprocess's text mode reads it


def test_the_figures_the_golden_json_holds(seeded: Path) -> None:
    report = json.loads((GOLDEN / "quarter_2026Q3.json").read_text(encoding="utf-8"))
    perf = report["performance"]
    assert perf["as_of"] == "2026-10-01T00:00:00Z"
    rows = {p["priority"]: p for p in perf["priorities"]}
    assert rows["critical"] | {} == rows["critical"] | {
        "cases_opened": 2, "responses_on_time": 1, "responses_late": 1,
        "late_max_minutes": 150, "open_at_end": 1, "resolved": 1,
        "resolution_median_minutes": 310, "resolution_max_minutes": 310,
        "escalations": 2, "rca_requested": 1, "rca_delivered": 1,
    }  # fmt: skip
    assert rows["high"] | {} == rows["high"] | {
        "cases_opened": 2, "responses_on_time": 0, "responses_late": 2,
        "late_max_minutes": 30, "late_total_minutes": 55, "open_at_end": 0, "resolved": 2,
        "resolution_median_minutes": 360, "resolution_max_minutes": 5160, "escalations": 1,
    }  # fmt: skip
    assert rows["medium"]["cases_opened"] == 0 and rows["medium"]["resolved"] == 0
    assert rows["low"] | {} == rows["low"] | {
        "cases_opened": 1, "responses_on_time": 1, "resolved": 2,
        "resolution_median_minutes": 360, "resolution_max_minutes": 3000,
    }  # fmt: skip
    assert (perf["outages"], perf["unreported_outages"]) == (3, 2)
    assert perf["unreported_downtime_minutes"] == 70
    assert [(d["kind"], d.get("case_id"), d.get("late_minutes")) for d in perf["deviations"]] == [
        ("below_top_band", None, None),
        ("response_late", 3, 25),
        ("response_late", 4, 30),
        ("response_late", 6, 150),
    ]
    assert all(d["action_plan"] == "awaiting" for d in perf["deviations"])
    assert (report["responses_due"], report["responses_on_time"]) == (5, 2)
    assert [m["credit_amount"] for m in report["months"]] == ["0.00", "250.00", "0.00"]


def test_month_report_carries_the_month_performance(seeded: Path, run_cli: RunCli) -> None:
    (month,) = ok_json(run_cli, "--config", seeded, "report", "--month", "2026-08", "--format",
                       "json")  # fmt: skip
    perf = month["performance"]
    assert (perf["period"], perf["as_of"]) == ("2026-08", "2026-09-01T00:00:00Z")
    assert [d.get("case_id") for d in perf["deviations"]] == [None, 3, 4]
    text = run_cli("--config", seeded, "report", "--month", "2026-09").stdout
    assert "case 6 (PRV-6, critical) first response BREACHED by 2h30m: due 2026-09-30" in text
    rows = run_cli("--config", seeded, "report", "--month", "2026-09", "--format", "csv",
                   "--table", "deviations").stdout.splitlines()  # fmt: skip
    assert len(rows) == 2 and rows[1].startswith("2026-09,response_late,portal,6,PRV-6,")
    assert_user_error(
        run_cli("--config", seeded, "report", "--month", "2026-09", "--table", "deviations"),
        "--table",
    )
