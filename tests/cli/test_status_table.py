"""``slawatch status`` for services never probed, with every note a month can carry
(NOT RECORDING, LOW COVERAGE, PROVISIONAL): one readable table at 100 columns, and at
80 blocks that each hold several columns, never a lone MONTH."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from core.timeutil import utc_now
from tests import configs
from tests.cli.common import PORTAL, storage
from tests.cli.test_tables import _on_a_terminal, _plain_env

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

SERVICES = ["customer-portal-eu", "billing-api", "search"]


def _config(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig, *, stopped: bool = True
) -> Path:
    services = [configs.service(name, probe=f"http://127.0.0.1:9/{name}") for name in SERVICES]
    config = write_config(
        tmp_path,
        storage("s.db") + configs.toml(contracts=[configs.contract("std")], services=services),
    )
    if not stopped:
        return config
    # Minutes imported two hours ago and none since: that service is NOT RECORDING.
    start = (utc_now() - timedelta(hours=2)).replace(second=0, microsecond=0)
    rows = [f"search,{start + timedelta(minutes=i):%Y-%m-%dT%H:%MZ},up" for i in range(3)]
    (tmp_path / "m.csv").write_text("service,minute,status\n" + "\n".join(rows) + "\n")
    done = run_cli("--config", config, "import", "minutes", tmp_path / "m.csv")
    assert done.returncode == 0, done.stderr
    return config


def _piped_status(run_cli: RunCli, config: Path) -> str:
    """``status`` piped: exit 0, every line within 100 columns."""
    done = run_cli("--config", config, "status")
    assert done.returncode == 0, done.stderr
    assert max(map(len, done.stdout.splitlines())) <= 100, done.stdout
    return done.stdout


def _blocks(text: str) -> list[list[str]]:
    """The services table's blocks (up to the first line that is not a table's)."""
    part = text.replace("\r\n", "\n").split("\nNo open cases")[0]
    part = part.split("\nsearch: nothing recorded")[0]
    return [b.splitlines() for b in part.strip("\n").split("\n\n")]


def _columns(header: str) -> list[str]:
    return re.split(r"\s{2,}", header.strip())


def test_never_probed_services_read_as_one_table_at_100_columns(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    shown = _piped_status(run_cli, _config(tmp_path, run_cli, write_config, stopped=False))
    (table,) = _blocks(shown)  # not folded
    header = _columns(table[0])
    month = f"{utc_now():%Y-%m}"
    assert header == ["SERVICE", "STATE", f"AVAILABILITY {month}", "NOTE", "LAST PROBE",
                      "LATENCY"]  # fmt: skip
    for name in SERVICES:
        assert any(line.startswith(name) for line in table), table


def test_a_service_not_recording_wraps_its_note_whole_and_folds_no_lone_column(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    shown = _piped_status(run_cli, _config(tmp_path, run_cli, write_config))
    words = " ".join(shown.split())
    assert "NOT RECORDING, LOW COVERAGE, PROVISIONAL" in words
    assert "search: nothing recorded" in words
    # The figure up to when its minutes stopped, without nested brackets.
    assert re.search(r"\? 100\.0000 % to (\d\d-\d\d )?\d\d:\d\dZ \(0\.0 % measured\)", words), words
    for block in _blocks(shown):
        # A note is wrapped whole: never "NOT" on one line and "RECORDING" on the next.
        assert not [line for line in block if line.rstrip().endswith((" NOT", " LOW"))], block
        columns = _columns(block[0])
        assert columns[0] == "SERVICE" and len(columns) >= 3, block
        for name in SERVICES:
            assert any(line.startswith(name) for line in block), block


def test_an_80_column_terminal_folds_into_blocks_of_several_columns(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    config = _config(tmp_path, run_cli, write_config)
    env = {**_plain_env(), "TERM": "xterm-256color", "NO_COLOR": "1"}
    shown = _on_a_terminal(config, "status", env=env, columns=80)
    lines = shown.replace("\r\n", "\n").splitlines()
    assert max(map(len, lines)) <= 80, lines
    blocks = _blocks(shown)
    assert len(blocks) >= 2, blocks
    for block in blocks:
        columns = _columns(block[0])
        assert columns[0] == "SERVICE" and len(columns) >= 3, block  # never a lone column
    assert "MONTH" not in shown  # said once, in the AVAILABILITY header


def test_a_table_never_folds_a_lone_column_when_the_block_before_can_spare_one() -> None:
    from slawatch.tables import table

    headers = ["SERVICE", "A", "B", "C", "MONTH"]
    rows = [["portal", "a" * 30, "b" * 30, "c" * 14, "2026-12"]]
    blocks = table(headers, rows, width=90).split("\n\n")
    assert [_columns(b.splitlines()[0]) for b in blocks] == [
        ["SERVICE", "A", "B"],
        ["SERVICE", "C", "MONTH"],
    ]


def test_a_credit_column_means_one_thing_in_every_table(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """CREDIT is a percentage, AMOUNT and CLAIMABLE AMOUNT money, in status, credit list
    and report alike (status's CLAIMABLE was money where report's is a percentage)."""
    config = write_config(tmp_path, storage("s.db") + PORTAL)
    first = utc_now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = (first - timedelta(days=1)).replace(day=2)  # the 2nd of last month
    rows = [f"portal,{last + timedelta(minutes=i):%Y-%m-%dT%H:%MZ},down" for i in range(300)]
    (tmp_path / "m.csv").write_text("service,minute,status\n" + "\n".join(rows) + "\n")
    assert run_cli("--config", config, "import", "minutes", tmp_path / "m.csv").returncode == 0
    month = f"{last:%Y-%m}"
    for args in (("status",), ("credit", "list"), ("report", "--month", month)):
        out = run_cli("--config", config, *args).stdout
        headers = [_columns(line) for line in out.splitlines() if line.startswith("SERVICE")]
        named = {name for header in headers for name in header}
        assert {"CREDIT", "AMOUNT", "CLAIMABLE AMOUNT"} <= named, (args, headers)
        for header in headers:  # CLAIMABLE alone: a percentage, beside CREDIT's
            assert "CLAIMABLE" not in header or "CREDIT" in header, (args, header)
        assert "25 %" in out, (args, out)


def test_a_months_report_and_a_quarters_put_their_shared_columns_in_one_order(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    config = write_config(tmp_path, storage("s.db") + PORTAL)
    month = _columns(
        run_cli("--config", config, "report", "--month", "2026-07").stdout.split("\n")[0]
    )
    quarter = _columns(
        run_cli("--config", config, "report", "--quarter", "2026Q3").stdout.split("\n")[0]
    )
    shared = [name for name in month if name in quarter]
    assert shared == [name for name in quarter if name in month]
    assert shared[:4] == ["SERVICE", "MONTH", "AVAILABILITY", "NOTE"]  # NOTE by its figure
