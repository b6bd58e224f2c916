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
from core.configfile import MAX_INTERVAL, MAX_RETRIES, MIN_INTERVAL, header_value_problem
from core.errors import ConfigError
from core.tomlview import named

__all__ = [
    "MAX_INTERVAL",
    "MAX_RETRIES",
    "MIN_INTERVAL",
    "check_probes",
    "missing_secrets",
    "probe_errors",
    "secret_problem",
]


def check_probes(config: Config) -> None:
    """Each probe's ``ca_file`` is readable and holds a PEM certificate (the loader
    checked the rest). A ConfigError names the service's key (the first found)."""
    errors = probe_errors(config)
    if errors:
        raise errors[0]


def probe_errors(config: Config) -> list[ConfigError]:
    """Every ``check_probes`` error, in service order (``config check`` shows all).
    Each distinct file is read once: 10,000 services sharing one ``ca_file`` must not
    read it 10,000 times before the agent starts."""
    errors = []
    problems: dict[str, str | None] = {}  # file -> what is wrong with it, None when fine
    for name, service in config.services.items():
        probe = service.probe
        if probe is None or probe.ca_file is None:
            continue
        path = str(probe.ca_file)
        if path not in problems:
            problems[path] = _ca_file_problem(path)
        problem = problems[path]
        if problem is not None:
            where = f"{config.path}: {named('service', name)}.probe.ca_file"
            errors.append(ConfigError(where, problem))
    return errors


def missing_secrets(config: Config, env: Mapping[str, str]) -> list[str]:
    """``header_env`` variables not set in ``env``, or holding what no header can
    carry (the agent refuses to start with either), as ``key: what`` lines."""
    out = []
    for name, service in config.services.items():
        if service.probe is None:
            continue
        for header, var in service.probe.header_env.items():
            problem = secret_problem(env, var)
            if problem is not None:
                key = f"{named('service', name)}.probe.header_env.{header}"
                out.append(f"{key}: {problem.removeprefix('environment variable ')}")
    return out


def secret_problem(env: Mapping[str, str], var: str) -> str | None:
    """Why ``$var`` in ``env`` cannot be a ``header_env`` value, or None; never says
    the value. The blanks and line breaks around it are not part of it (the agent
    drops them)."""
    value = env.get(var)
    if value is None:
        return f"environment variable ${var} is not set"
    problem = header_value_problem(value.strip(" \t\r\n"))
    return None if problem is None else f"environment variable ${var} {problem}"


def _ca_file_problem(path: str) -> str | None:
    """Why ``path`` cannot serve as a ``ca_file``, or None. A bare client context: the
    system store is not needed (nor loaded) to read one file."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_verify_locations(cafile=path)
    except FileNotFoundError:
        return f"no such file: {path}"
    except ssl.SSLError:  # before OSError: it is one
        return f"{path} holds no PEM certificate"
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror}"
    return None
