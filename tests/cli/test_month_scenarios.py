"""End-to-end month scenarios: the real ``slawatch`` in a subprocess, figures worked out by hand.

One config holds one service per scenario, so a single import and a single
``report --month 2026-10 --format json`` cover them all (each CLI call costs a
process start). October 2026 has 31 days: 44,640 minutes in UTC, 44,700 in
Europe/Paris (the clocks go back on the 25th).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests import configs
from tests.cli.common import REPORT_KEYS

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

OCT = datetime(2026, 10, 1, tzinfo=UTC)
UTC_MONTH = 44_640
PARIS_START = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)  # local midnight, CEST
PARIS_MONTH = 44_700

CONTRACTS = [
    configs.contract("std"),
    configs.contract("minutes", basis="minutes"),
    configs.contract("paris", timezone="Europe/Paris"),
    configs.contract("excl", unknown_minutes="excluded"),
    configs.contract("degdown", degraded_is_down=True),
]
SERVICES = {
    "edge-in": ("std", "1000.00"),
    "edge-out": ("std", "10.10"),
    "by-minutes": ("minutes", "1000.00"),
    "paris": ("paris", "1000.00"),
    "multi": ("std", "1000.00"),
    "gaps-avail": ("std", "1000.00"),
    "gaps-excl": ("excl", "1000.00"),
    "windows": ("std", "1000.00"),
    "unreported": ("std", "1000.00"),
    "late-case": ("std", "1000.00"),
    "linked": ("std", "1000.00"),
    "spanning": ("std", "1000.00"),
    "degraded-down": ("degdown", "1000.00"),
}


def oct_(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=UTC)


def iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def stamp(minute: int) -> str:
    return iso(datetime.fromtimestamp(minute * 60, UTC))


def minute_of(ts: datetime) -> int:
    return int(ts.timestamp()) // 60


@dataclass
class Series:
    """One service's minute statuses from one source, built span by span (epoch minutes)."""

    service: str
    marks: dict[int, str]

    @classmethod
    def up(cls, service: str, start: datetime = OCT, minutes: int = UTC_MONTH) -> Series:
        return cls(service, {}).set(start, minutes, "up")

    def set(self, start: datetime, minutes: int, status: str | None) -> Series:
        first = minute_of(start)
        if status is None:
            for m in range(first, first + minutes):
                self.marks.pop(m, None)
        else:
            self.marks.update(dict.fromkeys(range(first, first + minutes), status))
        return self

    def lines(self) -> Iterable[str]:
        for m in sorted(self.marks):
            yield f"{self.service},{stamp(m)},{self.marks[m]},42\n"


def write_csv(path: Path, series: Iterable[Series]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        f.write("service,minute,status,latency_ms\n")
        for s in series:
            f.writelines(s.lines())
    return path


def availability(measured: int, down: int) -> float:
    return float(Decimal(measured - down) * 100 / Decimal(measured))


def ok(run_cli: RunCli, *args: object) -> str:
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    return result.stdout


@dataclass
class World:
    config: Path
    main_csv: Path
    report: dict[str, dict[str, Any]]
    outages: dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, run_cli: RunCli, write_config: WriteConfig
) -> World:
    tmp = tmp_path_factory.mktemp("scenarios")

    def cli_ok(*args: object) -> str:
        return ok(run_cli, *args)

    text = configs.toml(
        storage="data/slawatch.db",
        contracts=CONTRACTS,
        services=[configs.service(n, c, fee) for n, (c, fee) in SERVICES.items()],
    )
    config = write_config(tmp, text)

    main = [
        Series.up("edge-in").set(oct_(2, 10), 223, "down"),
        Series.up("edge-out").set(oct_(2, 10), 224, "down"),
        Series.up("by-minutes").set(oct_(2, 10), 217, "down"),
        # The local month, plus a down minute on each side of it that must not count.
        Series.up("paris", PARIS_START, PARIS_MONTH)
        .set(oct_(10, 12), 447, "down")
        .set(PARIS_START - timedelta(minutes=1), 1, "down")
        .set(PARIS_START + timedelta(minutes=PARIS_MONTH), 1, "down"),
        # Source "a" of three (b and c are imported from their own files below).
        Series.up("multi")
        .set(oct_(3, 10), 10, "down")
        .set(oct_(4, 10), 20, "down")
        .set(oct_(5, 10), 30, "down")
        .set(oct_(6, 10), 5, "down"),
        Series.up("gaps-avail", OCT, 14_400).set(oct_(2), 100, "down"),
        Series.up("gaps-excl", OCT, 14_400).set(oct_(2), 100, "down"),
        Series.up("windows").set(oct_(12, 8), 600, "down"),
        Series.up("unreported").set(oct_(14), 300, "down"),
        Series.up("late-case").set(oct_(5, 10), 2000, "down").set(oct_(20, 10), 200, "down"),
        Series.up("linked").set(oct_(10), 500, "down"),
        # September 30 18:00 to November 1 03:00, down across both month edges.
        Series.up("spanning", oct_(1) - timedelta(hours=6), UTC_MONTH + 6 * 60 + 3 * 60)
        .set(oct_(1) - timedelta(hours=4), 360, "down")
        .set(oct_(31, 23), 120, "down"),
        Series.up("degraded-down").set(oct_(7, 10), 100, "degraded"),
    ]
    main_csv = write_csv(tmp / "main.csv", main)
    b = (
        Series.up("multi")
        .set(oct_(3, 10), 10, "down")
        .set(oct_(4, 10), 20, "degraded")
        .set(oct_(6, 10), 5, None)
    )
    c = Series("multi", {}).set(oct_(3, 10), 10, "up").set(oct_(4, 10), 20, "up")
    cfg = ("--config", config)
    cli_ok(*cfg, "import", "minutes", main_csv, "--source", "a")
    cli_ok(*cfg, "import", "minutes", write_csv(tmp / "b.csv", [b]), "--source", "b")
    cli_ok(*cfg, "import", "minutes", write_csv(tmp / "c.csv", [c]), "--source", "c")

    cli_ok(*cfg, "maintenance", "add", "--service", "windows", "--from", "2026-10-12T06:00:00Z",
           "--to", "2026-10-12T10:00:00Z", "--reason", "upgrade")  # fmt: skip
    cli_ok(*cfg, "exclude", "add", "--service", "windows", "--from", "2026-10-12T17:00:00+00:00",
           "--to", "2026-10-12T21:00:00+02:00", "--reason", "upstream DNS")  # fmt: skip

    def open_case(service: str, opened: str) -> int:
        out = cli_ok(*cfg, "case", "open", "--service", service, "--priority", "critical",
                     "--title", f"{service} is down", "--opened-at", opened, "--json")  # fmt: skip
        return int(json.loads(out)["id"])

    open_case("late-case", "2026-10-08T10:01:00Z")  # 72 h + 1 min after outage A began
    open_case("late-case", "2026-10-23T10:00:00Z")  # exactly 72 h after outage B began
    linked = open_case("linked", "2026-10-20T09:00:00Z")  # ten days late, but linked
    cli_ok(*cfg, "case", "link", linked, "--from", "2026-10-10T00:00:00Z",
           "--to", "2026-10-10T08:20:00Z")  # fmt: skip
    open_case("spanning", "2026-09-30T21:00:00Z")  # an hour into an outage begun in September

    report = json.loads(cli_ok(*cfg, "report", "--month", "2026-10", "--format", "json"))
    # One listing of every service's outages (tests/cli/test_outages_all.py: the same
    # records as --service gives for each), rather than a CLI run per service.
    every = json.loads(cli_ok(*cfg, "outages", "--month", "2026-10", "--json"))
    outages = {
        name: [o for o in every if o["service"] == name]
        for name in ("windows", "spanning", "late-case")
    }
    return World(config, main_csv, {r["service"]: r for r in report}, outages)


def check(
    r: dict[str, Any],
    *,
    minutes: int = UTC_MONTH,
    down: int,
    excluded: int = 0,
    unknown: int = 0,
    degraded: int = 0,
    measured: int | None = None,
    credit: float,
    amount: str,
    reported: int = 0,
    claimable_credit: float | None = None,
    claimable_amount: str | None = None,
) -> None:
    """Compare one report object with hand-worked figures (claimable defaults: all
    downtime reported -> same as measured; otherwise no claimable credit)."""
    measured = minutes - excluded if measured is None else measured
    if claimable_credit is None:
        claimable_credit = credit if reported == down else 0.0
    if claimable_amount is None:
        claimable_amount = amount if reported == down else "0.00"
    assert r["minutes_in_month"] == minutes
    assert r["excluded_minutes"] == excluded
    assert r["unknown_minutes"] == unknown
    assert r["downtime_minutes"] == down
    assert r["degraded_minutes"] == degraded
    assert r["measured_minutes"] == measured
    assert r["availability_percent"] == pytest.approx(availability(measured, down), abs=1e-9)
    assert r["credit_percent"] == pytest.approx(credit, abs=1e-9)
    assert r["credit_amount"] == amount
    assert r["reported_downtime_minutes"] == reported
    assert r["claimable_availability_percent"] == pytest.approx(
        availability(measured, reported), abs=1e-9
    )
    assert r["claimable_credit_percent"] == pytest.approx(claimable_credit, abs=1e-9)
    assert r["claimable_credit_amount"] == claimable_amount


def test_report_lists_every_service_with_the_interface_keys(world: World) -> None:
    assert set(world.report) == set(SERVICES)
    for r in world.report.values():
        assert set(r) >= REPORT_KEYS
        assert r["month"] == "2026-10"
        assert isinstance(r["availability_percent"], float | int)
        assert isinstance(r["credit_amount"], str)


def test_band_edge_at_99_5_percent_stays_in_the_top_band(world: World) -> None:
    # 44,417 / 44,640 = 99.50045 % >= 99.5: no credit.
    check(world.report["edge-in"], down=223, credit=0, amount="0.00")


def test_one_more_minute_crosses_the_edge_and_rounds_half_up(world: World) -> None:
    # 44,416 / 44,640 = 99.49821 % < 99.5: 25 % of 10.10 = 2.525 -> 2.53 (half-up).
    r = world.report["edge-out"]
    check(r, down=224, credit=25, amount="2.53")
    assert r["monthly_fee"] == "10.10"


def test_minutes_basis_uses_the_downtime_column(world: World) -> None:
    # 217 minutes is 99.51 % (top band by percent) but more than 216 minutes.
    r = world.report["by-minutes"]
    assert r["basis"] == "minutes"
    check(r, down=217, credit=25, amount="250.00")


def test_dst_month_has_an_extra_hour_and_local_bounds(world: World) -> None:
    # 44,700 minutes; 447 down = exactly 1 %: 99.0 % -> 25 %. The down minutes just
    # outside local midnight on each side do not count.
    r = world.report["paris"]
    assert r["timezone"] == "Europe/Paris"
    check(r, minutes=PARIS_MONTH, down=447, credit=25, amount="250.00")


def test_several_sources_vote_per_minute(world: World) -> None:
    # 10 min: a, b down, c up -> down. 20 min: a down, b degraded, c up -> degraded.
    # 30 min: a down, b up -> up (1 of 2 is not more than half). 5 min: only a, down -> down.
    check(world.report["multi"], down=15, degraded=20, credit=0, amount="0.00")


def test_unknown_minutes_count_as_available_by_default(world: World) -> None:
    check(world.report["gaps-avail"], down=100, unknown=30_240, credit=0, amount="0.00")


def test_unknown_minutes_excluded_shrink_the_month(world: World) -> None:
    # measured = 14,400 recorded minutes; 14,300 / 14,400 = 99.31 % -> 25 %.
    check(
        world.report["gaps-excl"],
        down=100,
        unknown=30_240,
        measured=14_400,
        credit=25,
        amount="250.00",
    )


def test_maintenance_and_exclusion_leave_both_sides_of_the_ratio(world: World) -> None:
    # Down 08:00-18:00 (600). Maintenance 06:00-10:00 (240, 120 of them down); exclusion
    # 17:00-19:00 (given as 21:00+02:00; 120, 60 of them down). 420 down of 44,280 measured.
    check(world.report["windows"], down=420, excluded=360, credit=25, amount="250.00")
    (outage,) = world.outages["windows"]
    # Rule 8: the run is found on the measured status, so it starts when the failure
    # began (inside the maintenance) and ends after its last measured-down minute
    # (inside the exclusion); only its 420 non-excluded minutes count.
    assert (outage["start"], outage["end"], outage["minutes"]) == (
        "2026-10-12T08:00:00Z",
        "2026-10-12T18:00:00Z",
        420,
    )
    assert outage["reported"] is False and outage["case_id"] is None


def test_unreported_outage_earns_no_claimable_credit(world: World) -> None:
    check(
        world.report["unreported"],
        down=300,
        credit=25,
        amount="250.00",
        reported=0,
        claimable_credit=0,
        claimable_amount="0.00",
    )


def test_a_case_one_minute_late_does_not_report_its_outage(world: World) -> None:
    # Outage A 2000 min, case at start + 72h01m: unreported. Outage B 200 min, case at
    # exactly start + 72h: reported. 2,200 down -> 95.07 % (25 %); 200 claimable -> 99.55 %.
    check(
        world.report["late-case"],
        down=2200,
        credit=25,
        amount="250.00",
        reported=200,
        claimable_credit=0,
        claimable_amount="0.00",
    )
    a, b = world.outages["late-case"]
    assert (a["minutes"], a["reported"], a["report_by"]) == (2000, False, "2026-10-08T10:00:00Z")
    assert (b["minutes"], b["reported"], b["case_id"]) == (200, True, 2)


def test_a_linked_case_reports_its_outage_whenever_it_was_opened(world: World) -> None:
    check(
        world.report["linked"],
        down=500,
        credit=25,
        amount="250.00",
        reported=500,
        claimable_credit=25,
        claimable_amount="250.00",
    )


def test_outages_across_the_month_edges_keep_their_true_start_and_end(world: World) -> None:
    # Down from 09-30 20:00 to 10-01 02:00: 120 minutes in October, reported by the case
    # opened at 21:00 on the 30th (after the true start, not after the month start).
    # Down again from 10-31 23:00 to 11-01 01:00: 60 minutes in October, unreported.
    check(world.report["spanning"], down=180, credit=0, amount="0.00", reported=120)
    first, last = world.outages["spanning"]
    assert first["start"] == "2026-09-30T20:00:00Z"
    assert first["end"] == "2026-10-01T02:00:00Z"
    assert (first["minutes"], first["reported"], first["case_id"]) == (120, True, 4)
    assert first["report_by"] == "2026-10-03T20:00:00Z"
    assert (last["start"], last["end"]) == ("2026-10-31T23:00:00Z", "2026-11-01T01:00:00Z")
    assert (last["minutes"], last["reported"], last["case_id"]) == (60, False, None)


def test_degraded_counts_as_down_when_the_contract_says_so(world: World) -> None:
    check(world.report["degraded-down"], down=100, degraded=100, credit=0, amount="0.00")


def test_importing_the_same_file_again_changes_nothing(world: World, run_cli: RunCli) -> None:
    cfg = ("--config", world.config)
    ok(run_cli, *cfg, "import", "minutes", world.main_csv, "--source", "a")
    again = json.loads(ok(run_cli, *cfg, "report", "--month", "2026-10", "--format", "json"))
    assert {r["service"]: r for r in again} == world.report
