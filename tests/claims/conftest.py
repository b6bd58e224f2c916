"""One month of real evidence, built once: config, database, cases, windows, a bundle.

October 2026, UTC, service ``portal`` at 1,000.00 EUR a month, source ``agent``:

- outage A: 03 Oct 14:00-18:00 (240 min, the first 10 with error ``status:503``),
  reported by case 1 opened at 15:00 (ref PRV-1);
- outage B: 12 Oct 09:00-09:45 (45 min), never reported;
- 20 Oct 10:00-10:30 down, inside the exclusion 10:00-11:00 ("upstream hosting
  failure"), so it is not downtime;
- no record at all on 25 Oct 12:00-14:30 (the agent was off): 150 unknown minutes;
- weekly maintenance sat 22:00-04:00 (4 x 360 + 120 minutes in October).

Excluded 1,620; measured 43,020; downtime 285 -> 99.3375 % -> band 2, 25 % ->
250.00 EUR; reported downtime 240 -> 99.4421 % -> 25 % -> 250.00 EUR claimable.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests import configs
from tests.conftest import run_cli, write_config

OCT = datetime(2026, 10, 1, tzinfo=UTC)
NOV = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)

CONFIG = configs.toml(
    storage="data/slawatch.db",
    contracts=[configs.contract("saas-standard", profile="saas-standard")],
    services=[
        configs.service(
            "portal",
            "saas-standard",
            currency="EUR",
            maintenance=[configs.weekly("sat", "22:00", "04:00")],
        )
    ],
    customer={
        "name": "Acme Retail SAS",
        "contact": "Jeanne Martin, Finance",
        "apply_credit": "as a credit note against the next invoice",
    },
    provider={
        "name": "PortalHost Ltd",
        "email": "billing@portalhost.example",
        "contract_ref": "MSA-2024-117",
    },
)


def _span(a: datetime, b: datetime) -> Iterator[datetime]:
    while a < b:
        yield a
        a += timedelta(minutes=1)


def month_csv() -> str:
    down = {
        *_span(datetime(2026, 10, 3, 14, tzinfo=UTC), datetime(2026, 10, 3, 18, tzinfo=UTC)),
        *_span(datetime(2026, 10, 12, 9, tzinfo=UTC), datetime(2026, 10, 12, 9, 45, tzinfo=UTC)),
        *_span(datetime(2026, 10, 20, 10, tzinfo=UTC), datetime(2026, 10, 20, 10, 30, tzinfo=UTC)),
    }
    gap = set(
        _span(datetime(2026, 10, 25, 12, tzinfo=UTC), datetime(2026, 10, 25, 14, 30, tzinfo=UTC))
    )
    lines = ["service,minute,status,latency_ms"]
    for t in _span(OCT, NOV):
        if t in gap:
            continue
        if t in down:
            lines.append(f"portal,{t:%Y-%m-%dT%H:%MZ},down,")
        else:
            lines.append(f"portal,{t:%Y-%m-%dT%H:%MZ},up,{100 + t.minute}")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class World:
    root: Path
    config: Path
    db: Path
    bundle: Path

    def document(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.bundle.read_text(encoding="utf-8"))
        return loaded

    def cli(self, *args: object) -> Any:
        return run_cli("--config", self.config, *args)


def _ok(result: Any) -> None:
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The month above, stored through the real CLI, and its exported bundle."""
    root = tmp_path_factory.mktemp("claims")
    config = write_config(root, CONFIG)
    csv = root / "minutes.csv"
    csv.write_text(month_csv(), encoding="utf-8")
    w = World(root, config, root / "data" / "slawatch.db", root / "claim.json")
    _ok(w.cli("import", "minutes", csv, "--source", "agent"))
    # The agent's errors for the first 10 minutes of outage A, written as the agent does.
    _record_errors(w.db)
    _ok(
        w.cli(
            "case",
            "open",
            "--service",
            "portal",
            "--priority",
            "high",
            "--title",
            "Portal down | 503 errors",
            "--ref",
            "PRV-1",
            "--opened-at",
            "2026-10-03T15:00:00Z",
        )
    )
    _ok(
        w.cli(
            "exclude",
            "add",
            "--service",
            "portal",
            "--from",
            "2026-10-20T10:00:00Z",
            "--to",
            "2026-10-20T11:00:00Z",
            "--reason",
            "upstream hosting failure",
        )
    )
    _ok(w.cli("claim", "export", "--service", "portal", "--month", "2026-10", "--out", w.bundle))
    return w


def _record_errors(db: Path) -> None:
    import asyncio

    from store.rows import MinuteRow
    from store.sqlite import SqliteStore

    start = int(datetime(2026, 10, 3, 14, tzinfo=UTC).timestamp()) // 60

    async def go() -> None:
        async with await SqliteStore.open(db) as store:
            rows = [
                MinuteRow("portal", "agent", start + i, 3, None, "status:503") for i in range(10)
            ]
            await store.record_minutes(rows)

    asyncio.run(go())


@pytest.fixture
def bundle_copy(world: World, tmp_path: Path) -> Path:
    """A private copy of the bundle, in a folder with no config and no database."""
    target = tmp_path / "elsewhere" / "claim.json"
    target.parent.mkdir()
    shutil.copy(world.bundle, target)
    return target
