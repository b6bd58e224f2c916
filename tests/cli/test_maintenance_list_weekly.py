"""``maintenance list`` shows the weekly windows the config gives under the one-off
ones: an operator asking "which maintenance does this month exclude" sees both."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tests import configs
from tests.cli.common import storage

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig


def test_maintenance_list_shows_the_weekly_windows_of_the_config(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    services = [
        configs.service("portal"),
        configs.service(
            "mail", maintenance=[configs.weekly("sun", "02:00", "03:00", "relay patching")]
        ),
    ]
    text = storage("s.db") + configs.toml(
        contracts=[configs.contract("std", timezone="Europe/Paris")], services=services
    )
    cfg = ("--config", write_config(tmp_path, text))
    listed = run_cli(*cfg, "maintenance", "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0] == "No one-off maintenance windows."
    assert lines[2] == "Weekly windows (config file)"
    assert lines[3].split() == ["SERVICE", "DAY", "HOURS", "TIME", "ZONE", "REASON"]
    assert lines[4].split() == ["mail", "sun", "02:00-03:00", "Europe/Paris", "relay", "patching"]
    # Only that service's, and none for a service without any.
    mail = run_cli(*cfg, "maintenance", "list", "--service", "mail").stdout
    assert "relay patching" in mail
    portal = run_cli(*cfg, "maintenance", "list", "--service", "portal").stdout
    assert portal == "No one-off maintenance windows for portal.\n"
    # JSON stays the stored one-off windows (a script's list of ids to remove).
    assert json.loads(run_cli(*cfg, "maintenance", "list", "--json").stdout) == []
    assert run_cli(*cfg, "exclude", "list").stdout == "No exclusions.\n"
