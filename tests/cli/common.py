"""What the command-line tests share: the one-service config and checks on the real CLI's output."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

from tests import configs

if TYPE_CHECKING:
    from tests.conftest import RunCli

# One service on the default saas-standard terms (support Mon-Fri 08:00-02:00 UTC;
# critical 30m, high 1h, medium 1bd = 18 h, all on the business clock).
# It ends inside the portal's [[service]] table: a test may add keys or a
# [service.probe] to it by appending text.
PORTAL = configs.toml(contracts=[configs.contract("std")], services=[configs.service("portal")])

# The keys interfaces.md promises in ``report --format json`` and ``case ... --json``.
REPORT_KEYS = {
    "service", "month", "timezone", "basis", "minutes_in_month", "excluded_minutes",
    "unknown_minutes", "downtime_minutes", "degraded_minutes", "measured_minutes",
    "availability_percent", "credit_percent", "credit_amount", "reported_downtime_minutes",
    "claimable_availability_percent", "claimable_credit_percent", "claimable_credit_amount",
    "monthly_fee", "currency",
}  # fmt: skip
CASE_KEYS = {
    "id", "ref", "service", "priority", "title", "opened_at", "response_due", "responded_at",
    "resolved_at", "response_breached", "status",
}  # fmt: skip


def storage(path: str) -> str:
    return configs.toml(storage=path)


def ok_json(run_cli: RunCli, *args: object) -> Any:
    """Run the CLI, insist on exit 0, and decode what it printed."""
    result = run_cli(*args)
    assert result.returncode == 0, (args, result.stderr)
    return json.loads(result.stdout)


def assert_user_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Exit 2, nothing on stdout, one ``slawatch: ...`` line on stderr holding ``fragments``."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("slawatch: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)
