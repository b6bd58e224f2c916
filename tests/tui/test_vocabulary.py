"""One vocabulary on every surface: portal's October 2026 is band 2 (25 %) in report
JSON and CSV, in the claim letter and on the dashboard, and every availability there
is cut by ``core.percent`` (99.10394... reads 99.103 on the dashboard and the report)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from core.config import Config
from tests.tui.test_actions import app_for, loaded, row_text, until
from tui.components.credits_panel import CreditsPanel
from tui.components.fact_line import FactLine
from tui.components.service_screen import ServiceScreen
from tui.components.status_table import StatusTable

ROOT = Path(__file__).resolve().parents[2]


def cli(config: Config, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "slawatch", "--config", str(config.path), *args],
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
        assert "band 2 (25 %)" in facts and "availability 99.103 %" in facts
