"""``slawatch import minutes`` of a gzip-compressed CSV (``minutes.csv.gz``), as exports
of a year of minutes usually come: read as the plain file is; one cut short is one
line naming where, exit 2, and nothing of it is kept."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests import configs
from tests.cli.common import assert_user_error, ok_json

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

CONFIG = configs.toml(
    storage="slawatch.db", contracts=[configs.contract()], services=[configs.service()]
)
START = datetime(2026, 3, 1, tzinfo=UTC)
MINUTES = 31 * 1440


def month_csv() -> bytes:
    """March 2026 of 'portal', every minute, down 10 March 12:00-12:45 UTC."""
    lines = ["service,minute,status,latency_ms"]
    for i in range(MINUTES):
        at = START + timedelta(minutes=i)
        down = at.day == 10 and at.hour == 12 and at.minute < 45
        status = "down," if down else "up,80"
        lines.append(f"portal,{at:%Y-%m-%dT%H:%M}Z,{status}")
    return ("\n".join(lines) + "\n").encode()


def report(run_cli: RunCli, config: Path) -> dict[str, Any]:
    out: dict[str, Any] = ok_json(
        run_cli, "--config", config, "report", "--month", "2026-03", "--service", "portal",
        "--format", "json",
    )  # fmt: skip
    return out


def test_a_gzip_csv_imports_as_the_plain_one(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    config = write_config(tmp_path, CONFIG)
    packed = gzip.compress(month_csv())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    result = run_cli("--config", config, "import", "minutes", cut)
    assert_user_error(result, f"{cut}: line ", "compressed file is cut short or damaged")
    assert report(run_cli, config)["unknown_minutes"] == MINUTES  # nothing kept

    whole = tmp_path / "minutes.csv.gz"
    whole.write_bytes(packed)
    result = run_cli("--config", config, "import", "minutes", whole)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"imported {MINUTES} minute records")
    figures = report(run_cli, config)
    assert (figures["downtime_minutes"], figures["unknown_minutes"]) == (45, 0)
    plain = tmp_path / "minutes.csv"
    plain.write_bytes(month_csv())
    again = run_cli("--config", config, "import", "minutes", plain)
    assert again.returncode == 0, again.stderr
    assert f"0 new, {MINUTES} unchanged" in again.stdout
