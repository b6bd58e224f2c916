"""``outages`` without ``--service`` covers every service (issue 14 item 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from tests import configs
from tests.cli.common import PORTAL, ok_json, storage

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

SECOND = configs.toml(services=[configs.service("erp", monthly_fee="500.00")])
CONFIG = storage("sw.db") + PORTAL + SECOND


def _import(run_cli: RunCli, cfg: tuple[str, Path], folder: Path) -> None:
    """portal down 10:00-10:20 on the 3rd; erp down 08:00-08:05 and 22:00-22:30 on the 12th."""
    lines = ["service,minute,status"]
    for service, start, count in (
        ("portal", datetime(2026, 10, 3, 10, tzinfo=UTC), 20),
        ("erp", datetime(2026, 10, 12, 8, tzinfo=UTC), 5),
        ("erp", datetime(2026, 10, 12, 22, tzinfo=UTC), 30),
    ):
        for m in range(-5, count + 5):
            at = start + timedelta(minutes=m)
            lines.append(f"{service},{at:%Y-%m-%dT%H:%MZ},{'down' if 0 <= m < count else 'up'}")
    (folder / "m.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run_cli(*cfg, "import", "minutes", folder / "m.csv")
    assert done.returncode == 0, done.stderr


def test_outages_of_every_service_without_service(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, CONFIG))
    _import(run_cli, cfg, tmp_path)

    every = ok_json(run_cli, *cfg, "outages", "--month", "2026-10", "--json")
    assert [(o["service"], o["start"], o["minutes"]) for o in every] == [
        ("portal", "2026-10-03T10:00:00Z", 20),
        ("erp", "2026-10-12T08:00:00Z", 5),
        ("erp", "2026-10-12T22:00:00Z", 30),
    ]  # config order, then start
    for service in ("portal", "erp"):
        one = ok_json(
            run_cli, *cfg, "outages", "--month", "2026-10", "--service", service, "--json"
        )
        assert one == [o for o in every if o["service"] == service]

    text = run_cli(*cfg, "outages", "--month", "2026-10").stdout.splitlines()
    assert text[0].split()[:3] == ["SERVICE", "START", "END"]
    assert [line.split()[0] for line in text[1:]] == ["portal", "erp", "erp"]
    single = run_cli(*cfg, "outages", "--month", "2026-10", "--service", "erp").stdout
    assert single.splitlines()[0].split()[0] == "START"

    quiet = run_cli(*cfg, "outages", "--month", "2026-09")
    assert (quiet.returncode, quiet.stdout) == (0, "No outages for any service in 2026-09.\n")
