"""The terms pinned month after month (``--terms LAST_MONTH.json``, ``--terms-digest``)
when ``report_within`` counts business days on a calendar with a country's public
holidays: the bundle writes those holidays out over the dates its deadlines can reach,
which move with the month, yet the agreed terms do not change. A holiday added (a
deadline pushed later, a late case made to report) still differs.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.bundle import terms_digest
from slawatch.cli import main
from tests import configs
from tests.conftest import run_cli

NOW = datetime(2026, 11, 5, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _config(
    folder: Path,
    country: str | None,
    *,
    zone: str = "Europe/Paris",
    contract_zone: str = "Europe/Paris",
    hours: str = "09:00-17:30",
) -> Path:
    """A 1bd contract on a support calendar in ``zone``, with ``country``'s holidays (or
    Christmas 2026 listed)."""
    config = folder / "config.toml"
    config.write_text(
        configs.toml(
            storage="s.db",
            calendars=[
                configs.calendar(
                    "support",
                    weekdays=hours,
                    timezone=zone,
                    **({"country": country} if country else {"holidays": ["2026-12-25"]}),
                )
            ],
            contracts=[
                configs.contract(
                    "std", timezone=contract_zone, calendar="support", report_within="1bd"
                )
            ],
            services=[configs.service("shop", "std", "1000.00")],
        ),
        encoding="utf-8",
    )
    return config


def _export_month(
    config: Path, month: str, records: tuple[datetime, datetime], down: datetime
) -> dict[str, object]:
    """``records`` imported (down for an hour from ``down``), ``month`` exported the day
    after it ends and verified: the bundle, which must hold."""
    rows = ["service,minute,status"]
    t = records[0]
    while t < records[1]:
        rows.append(f"shop,{t:%Y-%m-%dT%H:%MZ},{'down' if down <= t < down + HOUR else 'up'}")
        t += timedelta(minutes=1)
    csv = config.parent / "records.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    now = records[1] + timedelta(days=1)

    def cli(*args: object) -> int:
        return main(["--config", str(config), *map(str, args)], clock=lambda: now)

    assert cli("import", "minutes", csv) == 0
    out = config.parent / "claim.json"
    assert cli("claim", "export", "--service", "shop", "--month", month, "--out", out) == 0
    code = main(["claim", "verify", str(out), "--allow-unsigned"])
    assert code == 0
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _bundles(folder: Path, country: str | None) -> dict[str, Path]:
    """September and October 2026 exported from one store (down 5 Oct 10:00-11:00 UTC)."""
    config = _config(folder, country)
    rows = ["service,minute,status"]
    t = datetime(2026, 8, 31, 20, tzinfo=UTC)
    down = (datetime(2026, 10, 5, 10, tzinfo=UTC), datetime(2026, 10, 5, 11, tzinfo=UTC))
    while t < datetime(2026, 11, 1, tzinfo=UTC):
        rows.append(f"shop,{t:%Y-%m-%dT%H:%MZ},{'down' if down[0] <= t < down[1] else 'up'}")
        t += timedelta(minutes=1)
    csv = folder / "m.csv"
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")

    def cli(*args: object) -> int:
        return main(["--config", str(config), *map(str, args)], clock=lambda: NOW)

    assert cli("import", "minutes", csv) == 0
    out = {}
    for month in ("2026-09", "2026-10"):
        out[month] = folder / f"claim-{month}.json"
        assert cli("claim", "export", "--service", "shop", "--month", month,
                   "--out", out[month]) == 0  # fmt: skip
    return out


@pytest.fixture(scope="module")
def paris(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return _bundles(tmp_path_factory.mktemp("paris"), "FR")


def test_last_months_terms_pin_this_months_with_a_country_calendar(
    paris: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    made = paris
    september, october = (json.loads(p.read_text(encoding="utf-8")) for p in made.values())
    # The holidays written out differ (October's reach a day further into 2027)...
    assert september["terms"]["calendar"]["holidays"] != october["terms"]["calendar"]["holidays"]
    # ...but the agreed terms are the same, and pin each other.
    assert terms_digest(september) == terms_digest(october)
    capsys.readouterr()
    assert main(["claim", "verify", str(made["2026-10"]), "--allow-unsigned",
                 "--terms", str(made["2026-09"])]) == 0, capsys.readouterr().out  # fmt: skip
    assert "terms pinned" in capsys.readouterr().out
    digest = terms_digest(september)
    assert main(["claim", "verify", str(made["2026-10"]), "--allow-unsigned",
                 "--terms-digest", digest]) == 0  # fmt: skip

    # A holiday added to October's calendar (a later report_by): the pin refuses it.
    forged = json.loads(json.dumps(october))
    forged["terms"]["calendar"]["holidays"] = sorted(
        [*forged["terms"]["calendar"]["holidays"], "2026-10-06"]
    )
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged), encoding="utf-8")
    capsys.readouterr()
    assert main(["claim", "verify", str(path), "--allow-unsigned",
                 "--terms", str(made["2026-09"])]) == 1  # fmt: skip
    assert "terms pinned                    DIFFERS" in capsys.readouterr().out
    # So does the country changed, or the calendar's hours.
    for key, value in (("country", "DE"), ("hours", {"mon": ["09:00-18:30"]})):
        other = json.loads(json.dumps(october))
        other["terms"]["calendar"][key] = value
        assert terms_digest(other) != digest, key


def test_a_calendar_of_listed_holidays_only_keeps_its_digest(tmp_path: Path) -> None:
    made = _bundles(tmp_path, None)
    september, october = (json.loads(p.read_text(encoding="utf-8")) for p in made.values())
    assert terms_digest(september) == terms_digest(october)


@pytest.mark.parametrize(
    "country", ["ZZ", 7, None, "fr", ""], ids=["unknown", "number", "null", "lower", "empty"]
)
def test_a_hostile_country_is_digested_as_written(
    country: object, paris: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    october = json.loads(paris["2026-10"].read_text(encoding="utf-8"))
    october["terms"]["calendar"]["country"] = country
    digest = terms_digest(october)  # no exception
    assert len(digest) == 64
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(october), encoding="utf-8")
    capsys.readouterr()
    code = main(["claim", "verify", str(path), "--allow-unsigned", "--terms", str(path)])
    assert code in (0, 2), capsys.readouterr()


def _ten_years_and_more() -> list[str]:
    first = date(2026, 10, 1).toordinal()
    return [date.fromordinal(first + i).isoformat() for i in range(3700)]


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        ({"hours": {}}, "terms.calendar.hours: a calendar needs support hours on at least one day"),
        ({"hours": {"mon": []}}, "terms.calendar.hours: a calendar needs support hours"),
        (
            {"holidays": _ten_years_and_more()},
            "terms.calendar.holidays: close support for 3700 days in a row (ten years at most)",
        ),
    ],
    ids=["no hours", "an empty day only", "ten years of holidays"],
)
def test_a_calendar_that_never_opens_is_bad_input_not_a_traceback(
    edit: dict[str, object], said: str, paris: dict[str, Path], tmp_path: Path
) -> None:
    """A deadline counted on such a calendar is never reached (it raised ValueError out
    of claim verify: a traceback)."""
    october = json.loads(paris["2026-10"].read_text(encoding="utf-8"))
    october["terms"]["calendar"].update(edit)
    path = tmp_path / "never.json"
    path.write_text(json.dumps(october), encoding="utf-8")
    for command in (["claim", "verify", path, "--allow-unsigned"], ["claim", "letter", path]):
        done = run_cli(*command)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "Traceback" not in done.stderr
        assert done.stderr.strip().splitlines() == [f"slawatch: {path}: {said}"] or (
            said in done.stderr and len(done.stderr.strip().splitlines()) == 1
        ), done.stderr


def test_a_config_calendar_closed_for_ten_years_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path, None)
    text = config.read_text(encoding="utf-8").replace(
        'holidays = ["2026-12-25"]', f"holidays = {json.dumps(_ten_years_and_more())}"
    )
    assert text != config.read_text(encoding="utf-8")
    config.write_text(text, encoding="utf-8")
    done = run_cli("--config", config, "config", "check")
    assert done.returncode == 2 and "close support for more than ten years" in done.stderr, (
        done.stderr
    )


def test_a_leap_february_ending_on_the_29th_in_the_calendars_zone_exports(tmp_path: Path) -> None:
    """February 2028 in UTC ends at 1 March 00:00 UTC, which is 29 February 19:00 in New
    York, the support calendar's zone: the holidays written out reach a year after that
    date, and 29 February 2029 does not exist (claim export raised ValueError)."""
    config = _config(
        tmp_path, "US", zone="America/New_York", contract_zone="UTC", hours="09:00-17:00"
    )
    doc = _export_month(
        config,
        "2028-02",
        (datetime(2028, 2, 1, tzinfo=UTC), datetime(2028, 3, 1, tzinfo=UTC)),
        datetime(2028, 2, 10, 15, tzinfo=UTC),
    )
    holidays = doc["terms"]["calendar"]["holidays"]  # type: ignore[index]
    assert holidays[0] == "2028-02-21" and holidays[-1] <= "2029-03-01"  # Presidents' Day


def test_a_holiday_the_day_before_the_span_counts_for_a_window_past_midnight(
    tmp_path: Path,
) -> None:
    """Manila support 08:00-02:00 on weekdays, the Philippines' holidays: Monday 31 August
    2026 (National Heroes Day) has no window, so an outage at 00:30 on 1 September (the
    month's first minutes, 16:30 UTC) starts outside support hours and its report_by is
    Tuesday 08:00 + 18 h = Wednesday 02:00 local (18:00 UTC). The bundle wrote the
    holidays out from the span's first day only, so verify counted Monday's window until
    02:00 and said 16:30 UTC: DOES NOT HOLD for an honest bundle."""
    config = _config(
        tmp_path, "PH", zone="Asia/Manila", contract_zone="Asia/Manila", hours="08:00-02:00"
    )
    doc = _export_month(
        config,
        "2026-09",
        (datetime(2026, 8, 31, 10, tzinfo=UTC), datetime(2026, 9, 30, 16, tzinfo=UTC)),
        datetime(2026, 8, 31, 16, 30, tzinfo=UTC),
    )
    assert doc["outages"][0]["report_by"] == "2026-09-01T18:00:00Z"  # type: ignore[index]
    assert "2026-08-31" in doc["terms"]["calendar"]["holidays"]  # type: ignore[index]
