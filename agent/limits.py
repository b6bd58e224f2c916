"""The limits the agent applies to a config, beyond what the parser checks.

One function, ``check_probes``, used by ``slawatch agent`` before it starts, by
a SIGHUP reload before it swaps configs, and by ``slawatch config check``, so a
config that passes the check is one the agent runs. Light on purpose (no
httpx): ``config check`` imports it.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from datetime import timedelta

from core.config import Config
from core.errors import ConfigError

MIN_INTERVAL = timedelta(seconds=5)
MAX_INTERVAL = timedelta(hours=1)
MAX_RETRIES = 10


def canary_problem(spec: str) -> str | None:
    """Why a canary spec is malformed, or None when it is usable."""
    from urllib.parse import urlsplit

    if spec.startswith("dns:"):
        return None if spec[4:] else "dns: needs a host name, e.g. dns:example.com"
    try:
        parts = urlsplit(spec)
        port = parts.port
    except ValueError:
        port = None
        parts = None
    if parts is None or parts.scheme != "tcp" or not parts.hostname or port is None:
        return f"{spec!r} is neither tcp://host:port nor dns:hostname"
    return None


def check_probes(config: Config) -> None:
    """The limits the agent is built for: an interval of 5 s to 1 h, a timeout that
    fits inside it, at most 10 retries, a usable canary and readable ``ca_file``s.
    A ConfigError names the service's key."""
    canary = config.agent.canary
    if canary is not None and (problem := canary_problem(canary)) is not None:
        raise ConfigError(f"{config.path}: agent.canary", problem)
    for name, service in config.services.items():
        probe = service.probe
        if probe is None:
            continue
        where = f"{config.path}: service.{name}.probe"
        if not MIN_INTERVAL <= probe.interval <= MAX_INTERVAL:
            raise ConfigError(f"{where}.interval", "must be between 5s and 1h")
        if probe.timeout > probe.interval:
            raise ConfigError(f"{where}.timeout", "must not be longer than the interval")
        if not 0 <= probe.retries <= MAX_RETRIES:
            raise ConfigError(f"{where}.retries", f"must be between 0 and {MAX_RETRIES}")
        if probe.ca_file is not None:
            _check_ca_file(f"{where}.ca_file", probe.ca_file)


def missing_secrets(config: Config, env: Mapping[str, str]) -> list[str]:
    """``header_env`` variables not set in ``env`` (the agent refuses to start without
    them; ``config check`` only warns, its shell is not the service's environment)."""
    out = []
    for name, service in config.services.items():
        if service.probe is None:
            continue
        for header, var in service.probe.header_env.items():
            if var not in env:
                out.append(f"service.{name}.probe.header_env.{header}: ${var} is not set here")
    return out


def _check_ca_file(where: str, path: object) -> None:
    ctx = ssl.create_default_context()
    try:
        ctx.load_verify_locations(cafile=str(path))
    except FileNotFoundError:
        raise ConfigError(where, f"no such file: {path}") from None
    except OSError as exc:
        raise ConfigError(where, f"cannot read {path}: {exc.strerror}") from None
    except ssl.SSLError:
        raise ConfigError(where, f"{path} holds no PEM certificate") from None
