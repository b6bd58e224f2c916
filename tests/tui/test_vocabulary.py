"""One vocabulary on every surface: portal's October 2026 is band 2 (25 %) in report
JSON and CSV, in the claim letter and on the dashboard, and every availability there
is cut by ``core.percent`` (99.10394... reads 99.1039 % on the dashboard and the report):
one figure is one string on every surface."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from core.config import Config
from tests.tui.conftest import NOW
from tests.tui.test_actions import app_for, loaded, row_text, until
from tui import fmt
from tui.components.credits_panel import CreditsPanel
from tui.components.fact_line import FactLine
from tui.components.service_screen import ServiceScreen
from tui.components.status_table import StatusTable

ROOT = Path(__file__).resolve().parents[2]


# The real CLI in its own process, its clock pinned at the dashboard's NOW.
AT_NOW = (
    "import sys, datetime; from slawatch.cli import main; sys.exit(main(sys.argv[1:], "
    f"clock=lambda: datetime.datetime.fromisoformat('{NOW.isoformat()}')))"
)


def cli(config: Config, *args: str, pinned: bool = False) -> str:
    run = ["-c", AT_NOW] if pinned else ["-m", "slawatch"]
    done = subprocess.run(
        [sys.executable, *run, "--config", str(config.path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_band_numbers_from_1_in_json_csv_and_the_letter(
    dash_config: Config, tmp_path: Path
) -> None:
    month = ("--month", "2026-10", "--service", "portal")
    report = json.loads(cli(dash_config, "report", *month, "--format", "json"))
    assert (report["band"], report["claimable_band"], report["credit_percent"]) == (2, 2, 25.0)
    (row,) = csv.DictReader(io.StringIO(cli(dash_config, "report", *month, "--format", "csv")))
    assert (row["band"], row["claimable_band"]) == ("2", "2")
    letter = tmp_path / "letter.md"
    cli(dash_config, "claim", "export", *month, "--format", "md", "--out", str(letter))
    assert "band: band 2 (" in letter.read_text()


async def test_the_dashboard_says_the_band_not_its_credit(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, app)
        status = app.screen.query_one(StatusTable)
        assert "1 (0 %)" in row_text(status, "portal")  # November so far: the top band
        credits = app.screen.query_one(CreditsPanel)
        credits.focus()
        assert credits.selected_credit is not None and credits.selected_credit.month == "2026-10"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ServiceScreen))
        screen = app.screen
        assert isinstance(screen, ServiceScreen)
        await until(pilot, lambda: screen.detail is not None)
        facts = screen.query_one("#detail-title", FactLine).plain
        assert "band 2 (25 %)" in facts and "availability 99.1039 %" in facts


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.lstrip("| ").startswith(start))


async def test_one_figure_is_one_string_on_every_surface(
    dash_config: Config, tmp_path: Path
) -> None:
    """portal's November so far, printed by report (text, md, csv), status, claim export's
    line, the claim letter and the dashboard: the same digits, the same string. October's
    credit percentage likewise (report, status's pending credits, the letter)."""
    month = ("--month", "2026-11", "--service", "portal")
    text = cli(dash_config, "report", *month, pinned=True)
    found = re.search(r"(\d+\.\d+ %) \((\d+\.\d %) measured\)", _line(text, "portal"))
    assert found is not None, text
    figure = found.group(1)
    assert re.fullmatch(r"\d+\.\d{4} %", figure)
    assert f"{figure} ({found.group(2)} measured)" in _line(
        cli(dash_config, "report", *month, "--format", "md", pinned=True), "portal"
    )
    (row,) = csv.DictReader(
        io.StringIO(cli(dash_config, "report", *month, "--format", "csv", pinned=True))
    )
    assert row["availability"] == figure
    assert figure in _line(cli(dash_config, "status", pinned=True), "portal")
    letter = tmp_path / "letter.md"
    said = cli(dash_config, "claim", "export", *month, "--provisional", "--format", "md",
               "--out", str(letter), pinned=True)  # fmt: skip
    assert f"availability {figure}," in said
    assert f"= {figure}." in letter.read_text()  # the letter's availability step
    app = app_for(dash_config)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, app)
        assert figure in row_text(app.screen.query_one(StatusTable), "portal")

    # October: band 2, 25 % of the fee, written the same way by all three.
    october = ("--month", "2026-10", "--service", "portal")
    assert " 25 % " in _line(cli(dash_config, "report", *october, pinned=True), "portal")
    pending = cli(dash_config, "status", pinned=True).partition("Pending credits")[2]
    assert " 25 % " in _line(pending, "portal")
    cli(dash_config, "claim", "export", *october, "--format", "md", "--out", str(letter),
        pinned=True)  # fmt: skip
    assert "credit 25 %." in letter.read_text()


def test_money_reads_as_the_cli_and_the_letter_write_it() -> None:
    """The dashboard's amounts are the CLI's and the letter's: no thousands separator,
    two decimals rounded half-up at the cent (``1234.565`` -> ``1234.57 EUR``)."""
    from decimal import Decimal

    from core.money import format_money
    from tui import fmt

    for amount in (Decimal("1234.565"), Decimal("51819.2"), Decimal("0"), Decimal("300")):
        assert fmt.money(amount, "EUR") == f"{format_money(amount)} EUR"
    assert fmt.money(Decimal("1234.565"), "EUR") == "1234.57 EUR"


async def test_status_lists_open_cases_in_the_dashboards_order(dash_config: Config) -> None:
    """Breached first, then by due time (``core.cases.urgency``): the order an operator
    reads on the dashboard is the order ``status`` prints (it printed them as opened)."""
    from tui.components.cases_panel import CasesPanel

    app = app_for(dash_config)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, app)
        shown = app.screen.query_one(CasesPanel).keys
    text = cli(dash_config, "status", pinned=True)
    block = text.split("Open cases")[1].split("\n\n")[0]
    printed = [line.split()[0] for line in block.splitlines()[2:] if line[:3].strip().isdigit()]
    assert len(shown) == 3 and printed == shown, (printed, shown)


async def test_a_missed_response_deadline_reads_breached_on_every_surface(
    dash_config: Config,
) -> None:
    """One word for it, as the JSON's ``response_breached`` says: ``BREACHED`` in
    ``case list``, ``case show``, ``status`` and the dashboard, with how far past the
    deadline the answer came; never "late"."""
    from tests.tui.test_cases_screen import history
    from tui.components.case_screen import CaseScreen
    from tui.components.cases_panel import CasesPanel

    opened = (NOW - timedelta(hours=3)).isoformat()
    answered = (NOW - timedelta(hours=1)).isoformat()
    made = json.loads(
        cli(dash_config, "case", "open", "--service", "mail", "--priority", "critical",
            "--title", "Mail delayed", "--opened-at", opened, "--json", pinned=True)
    )  # fmt: skip
    case_id = str(made["id"])
    cli(dash_config, "case", "respond", case_id, "--at", answered, pinned=True)
    shown = json.loads(cli(dash_config, "case", "show", case_id, "--json", pinned=True))
    assert shown["response_breached"] is True
    due = datetime.fromisoformat(shown["response_due"].replace("Z", "+00:00"))
    over = fmt.span((NOW - timedelta(hours=1) - due).total_seconds())

    listed = cli(dash_config, "case", "list", "--open", pinned=True)
    row = next(line for line in listed.splitlines() if line.split()[:1] == [case_id])
    assert "BREACHED" in row, row
    detail = cli(dash_config, "case", "show", case_id, pinned=True)
    assert "BREACHED (priority critical" in _line(detail, "response due")
    status = cli(dash_config, "status", pinned=True).split("Open cases")[1]
    assert "BREACHED" in next(line for line in status.splitlines() if line.split()[:1] == [case_id])
    app = app_for(dash_config)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, app)
        cases = app.screen.query_one(CasesPanel)
        await until(pilot, lambda: case_id in cases.keys)
        assert "⚠ BREACHED, answered" in row_text(cases, case_id)  # how late: the history
        dashboard = " ".join(row_text(cases, key) for key in cases.keys)
        cases.focus()
        cases.cursor = cases.keys.index(case_id)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, CaseScreen))
        screen = app.screen
        assert isinstance(screen, CaseScreen)
        await until(pilot, lambda: screen.detail is not None)
        lines = history(screen)
        assert f"first response, ⚠ BREACHED by {over}" in " ".join(lines)
        dashboard += " ".join(lines)
    for surface in (listed, detail, status, dashboard):
        assert not re.search(r"\blate\b", surface, re.IGNORECASE), surface
