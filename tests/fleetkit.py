"""Helpers for the fleet agent's tests: a fleet config, an agent's PostgreSQL role,
and the spool and PostgreSQL compared minute by minute."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from core.config import Config
from core.configfile import load_config
from store.postgres import PostgresStore
from store.sqlite import SqliteStore
from tests import configs
from tests.pg import Cluster


def write_fleet_config(
    folder: Path,
    url: str,
    target: str,
    *,
    name: str = "paris-1",
    services: int = 2,
    agent: str = "",
    spool: str = "spool.db",
) -> Path:
    """A fleet agent's config: PostgreSQL at ``url``, services ``svc0``... probing
    ``target/0``... every 30 s; ``agent`` is more TOML for its ``[agent]`` table."""
    text = configs.toml(
        url=url,
        spool=spool,
        agent=configs.agent(name, agent),
        contracts=[configs.contract("c", bands=configs.TWO_BANDS)],
        services=configs.numbered(services, f"{target}/{{i}}", **PROBE),
    )
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


PROBE = {"interval": "30s", "timeout": "10s", "retries": 0}


def quick(config: Config) -> Config:
    """Probes without retries or delays (the in-process tests turn the clock by hand)."""
    return configs.with_probes(
        config, timeout=timedelta(seconds=5), retries=0, retry_delay=timedelta(0)
    )


def load_quick(path: Path) -> Config:
    return quick(load_config(path))


async def init_fleet(url: str) -> None:
    """``store init`` as the database's owner: schema, group roles, row-level security."""
    async with await PostgresStore.open(url, init=True) as owner:
        assert await owner.apply_roles() == []


def agent_role(cluster: Cluster, url: str, name: str) -> str:
    """Let agent ``name`` log in (a role of that name in slawatch_agent); its URL."""
    cluster.psql(
        f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}')"
        f' THEN CREATE ROLE "{name}" LOGIN IN ROLE slawatch_agent; END IF; END $$'
    )
    return cluster.url(url.rsplit("/", 1)[1], name)


Minutes = dict[tuple[str, str, int], int]  # (service, source, minute) -> status


async def _every_minute(store: SqliteStore | PostgresStore, services: list[str]) -> Minutes:
    out: Minutes = {}
    for service in services:
        bounds = await store.data_bounds(service)
        if bounds is None:
            continue
        for source, data in (await store.minutes(service, *bounds)).items():
            for i, status in enumerate(data):
                if status:
                    out[(service, source, bounds[0] + i)] = status
    return out


async def spool_and_postgres(spool: Path, url: str, services: list[str]) -> tuple[Minutes, Minutes]:
    """Every recorded minute in the spool file and in the PostgreSQL database."""
    async with await SqliteStore.open(spool, readonly=True) as s:
        local = await _every_minute(s, services)
    async with await PostgresStore.open(url, readonly=True) as pg:
        shared = await _every_minute(pg, services)
    return local, shared
