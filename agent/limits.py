"""What the agent checks in a config beyond the config loader: files it will read.

The probe limits (interval 5 s to 1 h, a timeout inside it, at most 10 retries)
and the canary's form are the loader's (``core.configfile``), so every command
refuses such a config alike. What is left here reads the disk (a ``ca_file``
must hold a certificate), which the loader does not: ``check_probes`` is used
by ``slawatch agent`` before it starts, by a SIGHUP reload before it swaps
configs, and by ``slawatch config check``. Light on purpose (no httpx).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

from core.config import Config
from core.configfile import MAX_INTERVAL, MAX_RETRIES, MIN_INTERVAL
from core.errors import ConfigError
from core.tomlview import named

__all__ = [
    "MAX_INTERVAL",
    "MAX_RETRIES",
    "MIN_INTERVAL",
    "check_probes",
    "missing_secrets",
    "probe_errors",
]


def check_probes(config: Config) -> None:
    """Each probe's ``ca_file`` is readable and holds a PEM certificate (the loader
    checked the rest). A ConfigError names the service's key (the first found)."""
    errors = probe_errors(config)
    if errors:
        raise errors[0]


def probe_errors(config: Config) -> list[ConfigError]:
    """Every ``check_probes`` error, in service order (``config check`` shows all)."""
    errors = []
    for name, service in config.services.items():
        probe = service.probe
        if probe is None or probe.ca_file is None:
            continue
        try:
            _check_ca_file(f"{config.path}: {named('service', name)}.probe.ca_file", probe.ca_file)
        except ConfigError as exc:
            errors.append(exc)
    return errors


def missing_secrets(config: Config, env: Mapping[str, str]) -> list[str]:
    """``header_env`` variables not set in ``env`` (the agent refuses to start without
    them), as ``key: what`` lines."""
    out = []
    for name, service in config.services.items():
        if service.probe is None:
            continue
        for header, var in service.probe.header_env.items():
            if var not in env:
                key = f"{named('service', name)}.probe.header_env.{header}"
                out.append(f"{key}: ${var} is not set")
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
