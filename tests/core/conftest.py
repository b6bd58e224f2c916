"""Builders for core tests: contracts and services come from real config text."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.config import Config
from core.configfile import parse_config

BASE = """
[[contract]]
name = "c"
timezone = "{tz}"
basis = "{basis}"
{extra}

[[service]]
name = "portal"
contract = "c"
monthly_fee = "{fee}"
{maintenance}
"""


ConfigFactory = Callable[..., Config]


@pytest.fixture
def make_config(tmp_path: Path) -> ConfigFactory:
    """A config with one service ``portal`` on a saas-standard contract ``c``."""

    def build(
        *,
        tz: str = "UTC",
        basis: str = "percent",
        fee: str = "1000.00",
        extra: str = "",
        maintenance: str = "",
    ) -> Config:
        text = BASE.format(tz=tz, basis=basis, fee=fee, extra=extra, maintenance=maintenance)
        return parse_config(text, tmp_path / "config.toml")

    return build
