"""Builders for core tests: contracts and services come from real config text
(tests/configs.py), parsed by the real loader."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from core.config import Config
from core.configfile import parse_config
from tests import configs

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
        terms = configs.fragment("[[contract]]", extra)
        text = configs.toml(
            contracts=[configs.contract("c", timezone=tz, basis=basis, **terms)],
            services=[
                configs.service("portal", "c", fee, **configs.fragment("[[service]]", maintenance))
            ],
        )
        return parse_config(text, tmp_path / "config.toml")

    return build
