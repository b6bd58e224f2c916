"""The demo's config names both parties, so a letter written from a kept demo
(`slawatch demo --keep DIR`, then `claim export --format md`) says who claims from whom
instead of 'not configured'; and it passes `config check` as written."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from core.configfile import load_config
from slawatch.demo import write_config

if TYPE_CHECKING:
    from tests.conftest import RunCli


def test_the_demo_config_names_both_parties_and_checks_clean(
    tmp_path: Path, run_cli: RunCli
) -> None:
    path = write_config(tmp_path, "http://127.0.0.1:9")
    config = load_config(path)
    assert config.customer is not None and config.provider is not None
    assert (config.customer.name, config.provider.contract_ref) == (
        "Demo Customer GmbH",
        "MSA-2026-001",
    )
    checked = run_cli("--config", path, "config", "check")
    assert checked.returncode == 0, checked.stderr
    assert "not configured" not in checked.stdout + checked.stderr
