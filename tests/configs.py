"""The one config builder for the tests: a config.toml described as Python data.

Every test area builds its config here instead of keeping a TOML template of
its own (issue 13). Each part is a plain dict, so a test states only what it
cares about and the builder writes valid TOML for the rest (strings quoted and
escaped, lists of tables inline, sub-tables under their own header)::

    text = toml(
        storage="data/slawatch.db",
        agent={"name": "probe-1"},
        contracts=[contract("c", bands=TWO_BANDS)],
        services=[service("portal", "c", "100.00", probe=probe("http://127.0.0.1:9/"))],
    )
    path = write_config(tmp_path, text)  # tests.conftest

``toml`` returns text, so pieces concatenate: ``toml(storage="x.db") + PORTAL``;
each ``[[contract]]`` and ``[[service]]`` ends with its own keys, so text
appended after a ``service`` without sub-tables still belongs to it.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from core.config import Config

Table = dict[str, Any]


def band(min_availability: float, credit_percent: float | None = None, **keys: Any) -> Table:
    """One credit band: ``band(99.5, 0)``; ``credit="100-availability"`` etc. as keys."""
    out: Table = {"min_availability": min_availability}
    if credit_percent is not None:
        out["credit_percent"] = credit_percent
    return out | keys


# No credit down to 99.5 %, then 25 %: the two-band contract most tests use.
TWO_BANDS = (band(99.5, 0), band(0.0, 25))


def contract(name: str = "std", **keys: Any) -> Table:
    """A ``[[contract]]``: the default profile's terms unless ``keys`` say otherwise."""
    return {"name": name} | keys


def probe(url: str, **keys: Any) -> Table:
    """A ``[service.probe]`` table (durations as text: ``interval="30s"``)."""
    return {"url": url} | keys


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def calendar(name: str, *, weekdays: str | None = None, **keys: Any) -> Table:
    """A ``[[calendar]]``; ``weekdays="09:00-17:30"`` gives those hours Monday to Friday
    (as ``[calendar.hours]``)."""
    out: Table = {"name": name} | keys
    if weekdays is not None:
        out["hours"] = dict.fromkeys(WEEKDAYS, weekdays)
    return out


def weekly(day: str, start: str, end: str, reason: str | None = None) -> Table:
    """A ``[[service.maintenance]]`` window: ``weekly("sat", "22:00", "04:00")``."""
    out: Table = {"day": day, "from": start, "to": end}
    return out if reason is None else out | {"reason": reason}


def service(
    name: str = "portal",
    contract: str | None = "std",
    monthly_fee: str = "1000.00",
    *,
    probe: Mapping[str, Any] | str | None = None,
    maintenance: Iterable[Table] = (),
    **keys: Any,
) -> Table:
    """A ``[[service]]``; ``contract=None`` leaves it to the default profile; ``probe`` is
    a URL or a ``probe(...)`` table."""
    out: Table = {"name": name}
    if contract is not None:
        out["contract"] = contract
    out["monthly_fee"] = monthly_fee
    out |= keys
    if probe is not None:
        out["probe"] = {"url": probe} if isinstance(probe, str) else dict(probe)
    if maintenance:
        out["maintenance"] = list(maintenance)
    return out


def numbered(
    count: int, url: str, *, name: str = "svc{i}", monthly_fee: str = "100.00", **probe_keys: Any
) -> list[Table]:
    """``count`` services of contract ``c``, the i-th named ``name.format(i=i)`` and
    probing ``url.format(i=i)``: the agent tests' many identical services."""
    return [
        service(name.format(i=i), "c", monthly_fee, probe=probe(url.format(i=i), **probe_keys))
        for i in range(count)
    ]


def agent_toml(
    services: Iterable[Table],
    *,
    storage: str | Path = "data/slawatch.db",
    name: str = "probe-1",
    agent_lines: str = "",
    **contract_keys: Any,
) -> str:
    """One agent (``name``) probing ``services`` under contract ``c``, whose bands are
    ``TWO_BANDS`` unless ``contract_keys`` say otherwise."""
    terms = {"bands": TWO_BANDS} | contract_keys
    return toml(
        storage=storage,
        agent=agent(name, agent_lines),
        contracts=[contract("c", **terms)],
        services=services,
    )


def toml(
    *,
    storage: str | Path | None = None,
    url: str | None = None,
    spool: str | Path | None = None,
    agent: Mapping[str, Any] | None = None,
    calendars: Iterable[Table] = (),
    contracts: Iterable[Table] = (),
    services: Iterable[Table] = (),
    **tables: Mapping[str, Any],
) -> str:
    """config.toml text holding the given sections, in the loader's order.

    ``storage`` is ``[storage] path``, ``url`` and ``spool`` its fleet-mode keys
    (a ``Path`` is written with forward slashes); any other keyword is a table of
    its own name (``customer={...}`` is ``[customer]``).
    """
    lines: list[str] = []
    place = {"path": storage, "url": url, "spool": spool}
    if any(v is not None for v in place.values()):
        _table("[storage]", "storage", {k: v for k, v in place.items() if v is not None}, lines)
    if agent is not None:
        _table("[agent]", "agent", agent, lines)
    for key, table in tables.items():
        _table(f"[{key}]", key, table, lines)
    for key, items in (("calendar", calendars), ("contract", contracts), ("service", services)):
        for item in items:
            _table(f"[[{key}]]", key, item, lines)
    return "".join(f"{line}\n" for line in lines)


def _table(header: str, name: str, table: Mapping[str, Any], lines: list[str]) -> None:
    """``header``, the table's own keys, then each sub-table under ``[name.key]``."""
    subs = {k: v for k, v in table.items() if isinstance(v, Mapping)}
    own = [f"{_key(k)} = {_value(v)}" for k, v in table.items() if k not in subs]
    if own or not subs or header.startswith("[["):  # [a.b] alone would say nothing
        lines += ["", header, *own] if lines else [header, *own]
    for key, sub in subs.items():
        _table(f"[{name}.{_key(key)}]", f"{name}.{_key(key)}", sub, lines)


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _value(key)


def _value(value: Any) -> str:
    """One TOML value, inline (lists and tables too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return ("-inf" if value < 0 else "inf") if math.isinf(value) else repr(value)
    if isinstance(value, Path):
        value = value.as_posix()
    if isinstance(value, str):  # a JSON string is a TOML basic string, but for DEL
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def fragment(header: str, lines: str) -> Table:
    """The keys of TOML ``lines`` as written under ``header`` (``[agent]``,
    ``[[contract]]``, ``[[service]]``), sub-tables such as ``[[service.maintenance]]``
    included: for the tests that state a part of a table as text."""
    if not lines.strip():
        return {}
    name = header.strip("[]")
    found = tomllib.loads(f"{header}\n{lines}")[name]
    return dict(found[0] if isinstance(found, list) else found)


def agent(name: str = "probe-1", lines: str = "", **keys: Any) -> Table:
    """An ``[agent]`` table; ``lines`` is TOML as written inside ``[agent]`` (keys, and
    ``[[agent.notifier]]`` tables), for the tests that state it that way."""
    return {"name": name} | keys | fragment("[agent]", lines)


# Probe timings for in-process agents on a hand-turned clock: no retries, no delays.
QUICK = {
    "interval": timedelta(seconds=5),
    "timeout": timedelta(seconds=1),
    "retries": 0,
    "retry_delay": timedelta(0),
}


def with_probes(config: Config, **timings: Any) -> Config:
    """``config`` with every service's probe given ``timings`` (the dataclass, not the
    parser, so below the loader's lower limits)."""
    return replace(
        config,
        services={
            n: replace(s, probe=replace(s.probe, **timings)) if s.probe else s
            for n, s in config.services.items()
        },
    )
