"""An outage still to report says how long is left, in the CLI as on the dashboard
(``1d 17h left``), and its end and deadline follow its start without the year."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core.durations import span_text
from core.timeutil import utc_now
from tests.cli.common import PORTAL, storage
from tui import fmt

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig


def test_a_reportable_outage_counts_down_like_the_dashboard(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("s.db") + PORTAL))
    start = (utc_now() - timedelta(hours=3)).replace(second=0, microsecond=0)
    rows = [
        f"portal,{start + timedelta(minutes=i):%Y-%m-%dT%H:%MZ},{'down' if i < 5 else 'up'}"
        for i in range(8)
    ]
    (tmp_path / "m.csv").write_text("service,minute,status\n" + "\n".join(rows) + "\n")
    assert run_cli(*cfg, "import", "minutes", tmp_path / "m.csv").returncode == 0
    month = f"{start:%Y-%m}"
    listed = run_cli(*cfg, "outages", "--month", month, "--service", "portal").stdout
    (row,) = [line for line in listed.splitlines() if line.startswith(f"{start:%Y-%m-%d}")]
    end, by = start + timedelta(minutes=5), start + timedelta(hours=72)
    year = "" if by.year == start.year else f"{by:%Y}-"  # in full across New Year
    ends = f"{end:%m-%d %H:%M}Z" if end.year == start.year else f"{end:%Y-%m-%d %H:%M}Z"
    assert f"{start:%Y-%m-%d %H:%M}Z  {ends}" in row, row
    # 72h from a start three hours ago: 2d 21h left (2d 20h if a minute ticked over).
    left = re.search(rf"{year}{by:%m-%d %H:%M}Z \((\d+d \d\dh) left\)", row)
    assert left is not None, row
    assert left.group(1) in ("2d 21h", "2d 20h")
    status = run_cli(*cfg, "status").stdout
    assert f"{year}{by:%m-%d %H:%M}Z ({left.group(1)} left)" in status, status
    # One countdown for every surface: the dashboard's is the same function.
    for seconds in (42, 425, 11_520, 190_800):
        assert fmt.span(seconds) == span_text(seconds)
