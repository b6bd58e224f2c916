"""``slawatch case list`` says when each case was resolved (a RESOLVED column) and still
fits 100 columns piped: OPENED in full, the times after it without its year."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from tests.cli.common import PORTAL, storage

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig


def _ok(run_cli: RunCli, *args: object) -> str:
    done = run_cli(*args)
    assert done.returncode == 0, (args, done.stderr)
    return done.stdout


def test_case_list_has_a_resolved_column_within_100_columns(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    cfg = ("--config", write_config(tmp_path, storage("s.db") + PORTAL))
    title = "Portal unreachable: HTTP 503 on every page of the customer area, all regions"

    def case(opened: str, responded: str | None, resolved: str | None) -> str:
        out = _ok(run_cli, *cfg, "case", "open", "--service", "portal", "--priority",
                  "critical", "--title", title, "--ref", "SUP-4471", "--opened-at", opened,
                  "--json")  # fmt: skip
        found = re.search(r'"id": (\d+)', out)
        assert found is not None
        if responded:
            _ok(run_cli, *cfg, "case", "respond", found.group(1), "--at", responded)
        if resolved:
            _ok(run_cli, *cfg, "case", "resolve", found.group(1), "--at", resolved)
        return found.group(1)

    first = case("2025-11-06T09:26:00Z", "2025-11-06T09:48:00Z", "2025-11-07T12:22:00Z")
    late = case("2026-01-02T08:00:00Z", None, None)
    listed = _ok(run_cli, *cfg, "case", "list")
    lines = listed.splitlines()
    assert max(map(len, lines)) <= 100, lines
    header = re.split(r"\s{2,}", lines[0].strip())
    assert header == ["ID", "SERVICE", "PRIORITY", "STATUS", "OPENED", "RESPONSE DUE",
                      "RESPONDED", "RESOLVED"]  # fmt: skip
    rows = {line.split()[0]: line for line in lines[1:] if line[:3].strip().isdigit()}
    assert set(rows) == {first, late}  # one block: nothing folded
    # Resolved the next day: month-day in OPENED's year.
    assert rows[first].split()[4:] == ["2025-11-06", "09:26Z", "11-06", "09:56Z", "11-06",
                                       "09:48Z", "11-07", "12:22Z"]  # fmt: skip
    assert rows[late].split()[-3:] == ["08:30Z", "-", "-"]  # neither responded nor resolved
    # Its deadline missed: BREACHED, under the due time (the row would not fit 100 columns
    # with it beside), then the title.
    after = lines[lines.index(rows[late]) + 1 :]
    assert after[0].strip() == "BREACHED"
    assert after[0].index("BREACHED") == rows[late].index("01-02 08:30Z")
    assert after[1].startswith("    SUP-4471  Portal unreachable")
    assert " ".join(title.split()) in " ".join(listed.split())  # the title whole, below

    # A linked span below the row: its end after its start, in the same way.
    _ok(run_cli, *cfg, "case", "link", first, "--from", "2025-11-06T09:12:00Z",
        "--to", "2025-11-06T10:12:00Z")  # fmt: skip
    linked = " ".join(_ok(run_cli, *cfg, "case", "list").split())
    assert "linked 2025-11-06 09:12Z to 11-06 10:12Z" in linked, linked

    # Resolved across New Year: that time in full (the table may fold, within 100).
    case("2025-12-31T22:00:00Z", "2025-12-31T23:50:00Z", "2026-01-01T01:10:00Z")
    listed = _ok(run_cli, *cfg, "case", "list")
    assert max(map(len, listed.splitlines())) <= 100
    assert "2026-01-01 01:10Z" in listed and "12-31 23:50Z" in listed

    # status lists open cases only: no RESOLVED column there.
    status = _ok(run_cli, *cfg, "status")
    (cases_header,) = [line for line in status.splitlines() if line.startswith("ID ")]
    assert "RESOLVED" not in cases_header and "RESPONDED" in cases_header
