"""``config check`` applies every limit the agent applies (issue 16, item 10)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests import configs
from tests.conftest import RunCli, WriteConfig


def config_text(probe: str) -> str:
    """The one service ``api``; ``probe`` is TOML as written in its ``[service.probe]``."""
    health = configs.probe("https://api.example.com/health", **tomllib.loads(probe))
    return configs.toml(services=[configs.service("api", "saas-standard", "10", probe=health)])


@pytest.mark.parametrize(
    ("probe", "key"),
    [
        # the limits are the config loader's: named like its other keys
        ('interval = "2s"\ntimeout = "1s"', 'service "api".probe.interval'),
        ('interval = "30s"\ntimeout = "40s"', 'service "api".probe.timeout'),
        ("retries = 11", 'service "api".probe.retries'),
        ('ca_file = "missing.pem"', 'service "api".probe.ca_file'),
        ('ca_file = "config.toml"', 'service "api".probe.ca_file'),  # not a certificate
    ],
)
def test_config_check_refuses_what_the_agent_refuses(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig, probe: str, key: str
) -> None:
    path = write_config(tmp_path, config_text(probe))
    done = run_cli("--config", path, "config", "check")
    assert done.returncode == 2, done.stdout
    assert key in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_config_check_warns_about_a_missing_secret_but_passes(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    path = write_config(tmp_path, config_text('header_env = { Authorization = "API_T" }'))
    done = run_cli("--config", path, "config", "check", env={"API_T": ""})
    assert done.returncode == 0 and "warning" not in done.stderr
    import os

    env = {k: v for k, v in os.environ.items() if k != "API_T"}
    done = run_cli("--config", path, "config", "check", env=env)
    assert done.returncode == 0 and "$API_T is not set" in done.stderr
