"""Fixtures for the agent's tests: loopback targets (plain and TLS) and configs."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
import trustme
from agentkit import ConfigFactory, Target, config_text

from core.config import Config, Probe
from core.configfile import load_config


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    t = await Target().start()
    yield t
    await t.close()


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def tls_target(ca: trustme.CA) -> AsyncIterator[Target]:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    t = await Target().start(tls=ctx)
    yield t
    await t.close()


@pytest.fixture
def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts the test CA (and nothing else)."""
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture
def make_config(tmp_path: Path) -> ConfigFactory:
    """A real config file parsed by core, with the probes then swapped for test ones."""

    def build(probes: dict[str, Probe], agent: str = "") -> Config:
        path = tmp_path / "config.toml"
        path.write_text(config_text(probes, agent))
        config = load_config(path)
        return replace(
            config,
            services={n: replace(s, probe=probes[n]) for n, s in config.services.items()},
        )

    return build
