"""Bundles at the edges: a half-hour time zone, an outage crossing the month start, two sources."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from core import bundle
from core.claim import verify
from core.configfile import load_config
from core.timeutil import YearMonth, to_minute
from slawatch import claims
from slawatch.commands._support import run
from store.rows import MinuteRow
from store.sqlite import SqliteStore
from tests import configs
from tests.conftest import write_config

CONFIG = configs.toml(
    storage="edge.db",
    contracts=[configs.contract("india", timezone="Asia/Kolkata")],
    services=[configs.service("api", "india", "500.00")],
)
START = to_minute(datetime(2026, 9, 30, 12, tzinfo=UTC))
OUTAGE = (
    to_minute(datetime(2026, 9, 30, 18, tzinfo=UTC)),
    to_minute(datetime(2026, 9, 30, 19, tzinfo=UTC)),
)
DEGRADED_ONE = to_minute(datetime(2026, 10, 1, 3, 7, tzinfo=UTC))


def _rows(source: str) -> list[MinuteRow]:
    out = []
    for m in range(START, START + 36 * 60):
        status = 3 if OUTAGE[0] <= m < OUTAGE[1] else 1
        if source == "probe-2" and m == DEGRADED_ONE:
            status = 2
        out.append(MinuteRow("api", source, m, status, 80, "timeout" if status == 3 else None))
    return out


def test_half_hour_zone_and_an_outage_from_the_previous_month(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, CONFIG))

    async def build() -> claims.Exported:
        async with await SqliteStore.open(config.storage_path) as store:
            await store.import_minutes([_rows("agent"), _rows("probe-2")])
            await store.open_case(
                service="api", priority="critical", title="API down", ref=None,
                opened_at=datetime(2026, 9, 30, 20, tzinfo=UTC),
            )  # fmt: skip
            return await claims.gather(
                store, config, "api", YearMonth(2026, 10), datetime(2026, 11, 2, tzinfo=UTC)
            )

    exported = run(build())
    doc = exported.document
    # The month starts at 18:30 UTC; the outage keeps its true start half an hour before.
    assert doc["span"]["from"] == "2026-09-30T18:00:00Z"
    assert doc["outages"][0]["start"] == "2026-09-30T18:00:00Z"
    assert doc["outages"][0]["minutes"] == 30 and doc["outages"][0]["reported"] is True
    assert doc["figures"]["downtime_minutes"] == 30 and doc["figures"]["degraded_minutes"] == 0
    assert sorted(doc["sources"]) == ["agent", "probe-2"]
    # Seals are of whole UTC hours, from the hour of the minute before the span (so a
    # reader sees that the span does not start inside a run of down minutes).
    assert doc["sources"]["agent"]["chain"]["seals"][0][0] == "2026-09-30T17:00:00Z"
    path = tmp_path / "api.json"
    claims.write_atomic(path, bundle.dumps(doc))
    claim, _ = claims.read_bundle(path)
    assert all(c.ok for c in verify(claim)), [c for c in verify(claim) if not c.ok]

    # One source's degraded minute moved by a minute: only that source's chain breaks.
    raw = doc["sources"]["probe-2"]["raw"]
    runs = doc["sources"]["probe-2"]["runs"]
    assert ["2026-10-01T03:07:00Z", "degraded", None] in raw
    i = next(i for i, r in enumerate(runs) if r[2] == "degraded")
    runs[i - 1][1] += 1
    runs[i][0] = "2026-10-01T03:08:00Z"
    runs[i + 1][0], runs[i + 1][1] = "2026-10-01T03:09:00Z", runs[i + 1][1] - 1
    raw[raw.index(["2026-10-01T03:07:00Z", "degraded", None])][0] = "2026-10-01T03:08:00Z"
    path.write_text(json.dumps(doc), encoding="utf-8")
    claim, _ = claims.read_bundle(path)
    failed = {c.name for c in verify(claim) if not c.ok}
    assert failed == {"chain probe-2"}


MAINTENANCE_CONFIG = configs.toml(
    storage="maint.db",
    contracts=[configs.contract()],
    services=[configs.service(maintenance=[configs.weekly("sat", "22:00", "04:00")])],
)


def test_a_failure_that_began_in_maintenance_verifies(tmp_path: Path) -> None:
    """Rule 8 through a bundle: down from Saturday 10 Oct 23:00 (inside the 22:00-04:00
    maintenance) to 05:30, reported by a case opened at 23:10, during the maintenance."""
    config = load_config(write_config(tmp_path, MAINTENANCE_CONFIG))
    began = to_minute(datetime(2026, 10, 10, 23, tzinfo=UTC))
    back = to_minute(datetime(2026, 10, 11, 5, 30, tzinfo=UTC))
    rows = [
        MinuteRow("portal", "agent", m, 3 if began <= m < back else 1, 90, None)
        for m in range(began - 120, back + 60)
    ]

    async def build() -> claims.Exported:
        async with await SqliteStore.open(config.storage_path) as store:
            await store.import_minutes([rows])
            await store.open_case(
                service="portal", priority="critical", title="down in maintenance", ref=None,
                opened_at=datetime(2026, 10, 10, 23, 10, tzinfo=UTC),
            )  # fmt: skip
            return await claims.gather(
                store, config, "portal", YearMonth(2026, 10), datetime(2026, 11, 2, tzinfo=UTC)
            )

    doc = run(build()).document
    (outage,) = doc["outages"]
    assert (outage["start"], outage["end"]) == ("2026-10-10T23:00:00Z", "2026-10-11T05:30:00Z")
    assert (outage["minutes"], outage["reported"], outage["case_id"]) == (90, True, 1)
    assert [c["id"] for c in doc["cases"]] == [1]
    assert doc["figures"]["downtime_minutes"] == 90
    assert doc["figures"]["reported_downtime_minutes"] == 90
    path = tmp_path / "portal.json"
    claims.write_atomic(path, bundle.dumps(doc))
    claim, _ = claims.read_bundle(path)
    assert all(c.ok for c in verify(claim)), [c for c in verify(claim) if not c.ok]


def test_a_case_by_the_wrong_channel_is_in_the_bundle_and_verifies(tmp_path: Path) -> None:
    """The channel rule travels in the bundle: the terms' report_channels and each case's
    channel, so verify recomputes the same unreported outage and the same reason."""
    config = load_config(write_config(tmp_path, MAINTENANCE_CONFIG))
    began = to_minute(datetime(2026, 10, 14, 9, tzinfo=UTC))
    rows = [
        MinuteRow("portal", "agent", m, 3 if began <= m < began + 30 else 1, 90, None)
        for m in range(began - 60, began + 90)
    ]

    async def build() -> claims.Exported:
        async with await SqliteStore.open(config.storage_path) as store:
            await store.import_minutes([rows])
            await store.open_case(
                service="portal", priority="high", title="called them", ref=None,
                opened_at=datetime(2026, 10, 14, 9, 5, tzinfo=UTC), channel="phone",
            )  # fmt: skip
            return await claims.gather(
                store, config, "portal", YearMonth(2026, 10), datetime(2026, 11, 2, tzinfo=UTC)
            )

    doc = run(build()).document
    assert doc["terms"]["report_channels"] == ["email"]
    assert doc["terms"]["report_within"].startswith("72h (report_within, the configured")
    assert [c["channel"] for c in doc["cases"]] == ["phone"]
    (outage,) = doc["outages"]
    assert outage["reported"] is False
    assert outage["unreported_reason"] == (
        "case 1 was opened by phone; the contract takes reports by email only"
    )
    path = tmp_path / "phone.json"
    claims.write_atomic(path, bundle.dumps(doc))
    claim, _ = claims.read_bundle(path)
    assert all(c.ok for c in verify(claim)), [c for c in verify(claim) if not c.ok]
    # Told the phone call counted, verify disagrees on the outage.
    doc["cases"][0]["channel"] = "email"
    path.write_text(json.dumps(doc), encoding="utf-8")
    claim, _ = claims.read_bundle(path)
    assert {c.name for c in verify(claim) if not c.ok} >= {"outage portal-20261014T0900Z"}
