"""config.toml parsing: the shipped example, profiles, and every kind of mistake."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from core.config import Config, Duration, parse_duration
from core.configfile import load_config, parse_config
from core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = (ROOT / "config.toml").read_text(encoding="utf-8")

MINIMAL = """
[[service]]
name = "portal"
monthly_fee = "100"
"""


def parse(text: str) -> Config:
    return parse_config(text, Path("/srv/sla/config.toml"), display="config.toml")


def error_of(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return info.value


def test_shipped_example_loads() -> None:
    cfg = load_config(ROOT / "config.toml")
    assert cfg.storage_path == ROOT / "slawatch.db"
    portal = cfg.services["portal"]
    assert portal.monthly_fee == Decimal("1000.00")
    assert portal.probe is not None and portal.probe.degraded_latency == timedelta(seconds=2)
    assert portal.maintenance[0].day == 5
    assert (portal.maintenance[0].start, portal.maintenance[0].end) == (time(22), time(4))
    saas = cfg.contract_for("portal")
    assert [b.credit_percent for b in saas.bands] == [0, 25, 50, None]
    assert saas.bands[-1].complement
    assert saas.priorities["medium"].response == Duration(business_days=1)
    cal = cfg.calendar_for(saas)
    assert cal is not None and cal.business_day == timedelta(hours=18)
    enterprise = cfg.contract_for("crm")
    assert enterprise.profile == "enterprise-unified"
    assert enterprise.timezone.key == "Europe/Paris"
    assert [b.credit_percent for b in enterprise.bands] == [0, 10, 25]
    assert enterprise.priorities["B"].clock == "business"


def test_minimal_config_gets_the_default_profile() -> None:
    cfg = parse(MINIMAL)
    contract = cfg.contract_for("portal")
    assert contract.name == contract.profile == "saas-standard"
    assert contract.basis == "percent" and contract.unknown_minutes == "available"
    assert contract.report_within == timedelta(hours=72)
    assert [b.min_availability for b in contract.bands] == [
        Decimal("99.5"),
        Decimal("95.0"),
        Decimal("50.0"),
        Decimal("0.0"),
    ]
    assert {n: r.response for n, r in contract.priorities.items()} == {
        "critical": Duration(seconds=1800),
        "high": Duration(seconds=3600),
        "medium": Duration(business_days=1),
        "low": Duration(business_days=2),
    }
    cal = cfg.calendars["saas-support"]
    assert cal.business_day == timedelta(hours=18)
    assert cal.hours[0][0].crosses_midnight
    assert 5 not in cal.hours and 6 not in cal.hours
    assert cfg.storage_path == Path("/srv/sla/slawatch.db")
    assert cfg.services["portal"].currency == "EUR"


def test_profile_override_keeps_the_rest() -> None:
    cfg = parse(
        MINIMAL.replace('"100"', '"100"\ncontract = "ent"')
        + """
[[contract]]
name = "ent"
profile = "enterprise-unified"
report_within = "24h"
"""
    )
    c = cfg.contract_for("portal")
    assert c.report_within == timedelta(hours=24)
    assert {n: (r.response.seconds, r.clock) for n, r in c.priorities.items()} == {
        "1": (3600, "24x7"),
        "A": (3600, "24x7"),
        "B": (7200, "business"),
        "C": (14400, "business"),
    }
    cal = cfg.calendar_for(c)
    assert cal is not None
    assert cal.name == "enterprise-business"
    assert cal.hours[4] == cal.hours[0] and cal.hours[0][0].start == time(9)
    assert cal.business_day == timedelta(hours=8, minutes=30)
    assert c.rule_for("b") is c.priorities["B"]
    assert c.rule_for("Z") is None


def test_file_calendar_of_a_profile_name_wins_over_the_built_in() -> None:
    cfg = parse(
        MINIMAL
        + """
[[calendar]]
name = "saas-support"
timezone = "Europe/Paris"
hours = { sat = "10:00-12:00", sun = ["10:00-11:00", "14:00-15:00"] }
"""
    )
    cal = cfg.calendars["saas-support"]
    assert cal.timezone.key == "Europe/Paris"
    assert cal.business_day == timedelta(hours=2)  # the longest day's hours
    assert len(cal.hours[6]) == 2


def test_agent_and_probe_extras() -> None:
    cfg = parse(
        """
[agent]
name = "probe-eu"
canary = "tcp://1.1.1.1:53"
[[agent.notifier]]
webhook = "https://hooks.example.com/x"
[[agent.notifier]]
command = ["notify-send", "slawatch"]
timeout = "3s"
[[agent.notifier]]
command = "page --team 'on call'"

[[service]]
name = "api"
monthly_fee = 10
[service.probe]
url = "https://api.example.com/"
expect_status = ["200", 204]
headers = { Accept = "application/json" }
header_env = { Authorization = "API_TOKEN" }
verify_tls = false
contains = "ok"
"""
    )
    agent = cfg.agent
    assert agent.name == "probe-eu" and agent.canary == "tcp://1.1.1.1:53"
    assert agent.notifiers[0].webhook == "https://hooks.example.com/x"
    assert agent.notifiers[1].command == ("notify-send", "slawatch")
    assert agent.notifiers[1].timeout == timedelta(seconds=3)
    assert agent.notifiers[2].command == ("page", "--team", "on call")
    probe = cfg.services["api"].probe
    assert probe is not None
    assert probe.expect_status == ((200, 200), (204, 204))
    assert dict(probe.headers) == {"Accept": "application/json"}
    assert dict(probe.header_env) == {"Authorization": "API_TOKEN"}
    assert probe.verify_tls is False and probe.contains == "ok" and probe.kind == "http"


@pytest.mark.parametrize(
    ("text", "seconds", "bdays"),
    [
        ("90s", 90, 0),
        ("30m", 1800, 0),
        ("8h30m", 30600, 0),
        ("2d", 172800, 0),
        ("1bd", 0, 1),
        ("1bd4h", 14400, 1),
        (" 1H ", 3600, 0),
        ("0s", 0, 0),
    ],
)
def test_durations(text: str, seconds: int, bdays: int) -> None:
    assert parse_duration(text, "x") == Duration(seconds, bdays)


@pytest.mark.parametrize("text", ["", "90", "h", "1.5h", "30m8h", "1h1h", "-1h", "1w", "1 h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(text, "config.toml: contract[0].report_within")
    assert info.value.where == "config.toml: contract[0].report_within"


CONTRACT = """
[[contract]]
name = "c"
calendar = "cal"
bands = [
  { min_availability = 99.5, max_downtime_minutes = 216, credit_percent = 0 },
  { min_availability = 95.0, max_downtime_minutes = 2160, credit_percent = 25 },
  { min_availability = 0.0, credit = "100-availability" },
]
[contract.priorities]
high = { response = "1h", clock = "business" }

[[calendar]]
name = "cal"
[calendar.hours]
mon = "08:00-02:00"

[[service]]
name = "portal"
contract = "c"
monthly_fee = "1000.00"
[service.probe]
url = "https://portal.example.com/health"
[[service.maintenance]]
day = "sat"
from = "22:00"
to = "04:00"
"""


@pytest.mark.parametrize(
    ("old", "new", "where", "what"),
    [
        ('name = "c"\n', 'name = "c"\ncolour = "red"\n', "contract[0].colour", "unknown key"),
        ("[[contract]]", "[storage]\npath = 3\n[[contract]]", "storage.path", "must be a string"),
        (
            "min_availability = 95.0",
            'min_availability = "95"',
            "contract[0].bands[1].min_availability",
            "a number",
        ),
        (
            "min_availability = 95.0",
            "min_availability = 99.6",
            "contract[0].bands[1].min_availability",
            "go down",
        ),
        (
            "max_downtime_minutes = 2160",
            "max_downtime_minutes = 100",
            "contract[0].bands[1].max_downtime_minutes",
            "more than",
        ),
        (
            "min_availability = 0.0",
            "min_availability = 10.0",
            "contract[0].bands[2].min_availability",
            "start at 0",
        ),
        (
            'credit = "100-availability"',
            'credit = "half"',
            "contract[0].bands[2].credit",
            "100-availability",
        ),
        (
            "credit_percent = 25 }",
            'credit_percent = 25, credit = "100-availability" }',
            "contract[0].bands[1]",
            "either",
        ),
        (
            "credit_percent = 25 }",
            "credit_percent = 125 }",
            "contract[0].bands[1].credit_percent",
            "between 0 and 100",
        ),
        (
            'response = "1h"',
            'response = "1hour"',
            "contract[0].priorities.high.response",
            "duration",
        ),
        ('clock = "business"', 'clock = "always"', "contract[0].priorities.high.clock", "24x7"),
        ('calendar = "cal"', 'calendar = "nope"', "contract[0].calendar", "'nope'"),
        (
            'name = "c"\n',
            'name = "c"\ntimezone = "Mars/Olympus"\n',
            "contract[0].timezone",
            "time zone",
        ),
        (  # found by the fuzzer: a name too long for a file name was an OSError
            'name = "c"\n',
            'name = "c"\ntimezone = "' + "9" * 5000 + '"\n',
            "contract[0].timezone",
            "time zone",
        ),
        ('name = "c"\n', 'name = "c"\nbasis = "hours"\n', "contract[0].basis", "'percent'"),
        (
            'name = "c"\n',
            'name = "c"\ndegraded_is_down = "yes"\n',
            "contract[0].degraded_is_down",
            "true or false",
        ),
        (
            'name = "c"\n',
            'name = "c"\nreport_within = "1bd"\n',
            "contract[0].report_within",
            "not allowed",
        ),
        ('name = "c"\n', 'name = "c"\nprofile = "gold"\n', "contract[0].profile", "saas-standard"),
        ('mon = "08:00-02:00"', 'mon = "09:00"', "calendar[0].hours.mon", "hours like"),
        ('mon = "08:00-02:00"', 'mon = "08:00-25:00"', "calendar[0].hours.mon", "time of day"),
        (
            'mon = "08:00-02:00"',
            'mon = "08:00-02:00"\nmonday = "08:00-09:00"',
            "calendar[0].hours.monday",
            "unknown key",
        ),
        (
            "[calendar.hours]",
            'country = "XX"\n[calendar.hours]',
            "calendar[0].country",
            "holidays package",
        ),
        (
            "[calendar.hours]",
            'holidays = ["2026-13-01"]\n[calendar.hours]',
            "calendar[0].holidays[0]",
            "YYYY-MM-DD",
        ),
        (
            "[calendar.hours]",
            'business_day = "1bd"\n[calendar.hours]',
            "calendar[0].business_day",
            "not allowed",
        ),
        ('contract = "c"', 'contract = "gold"', "service[0].contract", "'gold'"),
        (
            'monthly_fee = "1000.00"',
            "monthly_fee = 1000.5",
            "service[0].monthly_fee",
            "decimal text",
        ),
        (
            'monthly_fee = "1000.00"',
            'monthly_fee = "lots"',
            "service[0].monthly_fee",
            "decimal text",
        ),
        (
            'monthly_fee = "1000.00"',
            'monthly_fee = "1000.00"\ncurrency = "euro"',
            "service[0].currency",
            "three-letter",
        ),
        ('name = "portal"', 'name = "my portal"', "service[0].name", "letters"),
        ('from = "22:00"', 'from = "10pm"', "service[0].maintenance[0].from", "HH:MM"),
        ('day = "sat"', 'day = "caturday"', "service[0].maintenance[0].day", "weekday"),
        (
            'url = "https://portal.example.com/health"',
            'url = "ftp://x"',
            "service[0].probe.url",
            "URL",
        ),
        (
            'url = "https://portal.example.com/health"',
            'url = "tcp://host"',
            "service[0].probe.url",
            "tcp://host:port",
        ),
        (
            "[service.probe]",
            '[service.probe]\ninterval = "0s"',
            "service[0].probe.interval",
            "longer than zero",
        ),
        (
            "[service.probe]",
            '[service.probe]\ninterval = "1s"',
            "service[0].probe.interval",
            "between 5s and 1h",
        ),
        (
            "[service.probe]",
            '[service.probe]\ninterval = "2h"',
            "service[0].probe.interval",
            "between 5s and 1h",
        ),
        (
            "[service.probe]",
            '[service.probe]\ninterval = "5s"\ntimeout = "6s"',
            "service[0].probe.timeout",
            "longer than the interval",
        ),
        (
            "[service.probe]",
            "[service.probe]\nretries = 11",
            "service[0].probe.retries",
            "between 0 and 10",
        ),
        ("[[contract]]", '[agent]\ncanary = "dns:"\n[[contract]]', "agent.canary", "host name"),
        (
            "[service.probe]",
            "[service.probe]\nretries = -1",
            "service[0].probe.retries",
            "at least 0",
        ),
        (
            "[service.probe]",
            '[service.probe]\nexpect_status = "2xx"',
            "service[0].probe.expect_status",
            "codes",
        ),
        (
            "[service.probe]",
            "[service.probe]\nheaders = { X = 1 }",
            "service[0].probe.headers.X",
            "string",
        ),
        ("[[contract]]", '[agent]\ncanary = "http://x"\n[[contract]]', "agent.canary", "tcp://"),
        (
            "[[contract]]",
            '[[agent.notifier]]\ntimeout = "1s"\n[[contract]]',
            "agent.notifier[0]",
            "either",
        ),
        ("[[contract]]", "surprise = 1\n[[contract]]", "surprise", "unknown key"),
    ],
)
def test_config_mistakes_name_the_key(old: str, new: str, where: str, what: str) -> None:
    assert old in CONTRACT
    err = error_of(CONTRACT.replace(old, new, 1))
    assert err.where == f"config.toml: {where}"
    assert what in err.what
    assert str(err).startswith(f"config.toml: {where}: ")


def test_reference_config_is_valid() -> None:
    parse(CONTRACT)


def test_minutes_basis_needs_max_downtime_on_every_band_but_the_last() -> None:
    text = CONTRACT.replace('name = "c"\n', 'name = "c"\nbasis = "minutes"\n', 1)
    parse(text)
    err = error_of(text.replace("max_downtime_minutes = 2160, ", ""))
    assert err.where == "config.toml: contract[0].bands[1].max_downtime_minutes"
    assert "basis" in err.what


def test_duplicate_names() -> None:
    twice = CONTRACT + '\n[[service]]\nname = "portal"\nmonthly_fee = "1"\n'
    assert error_of(twice).where == "config.toml: service[1].name"
    calendars = CONTRACT + '\n[[calendar]]\nname = "cal"\nhours = { mon = "09:00-10:00" }\n'
    assert error_of(calendars).where == "config.toml: calendar[1].name"
    contracts = CONTRACT + '\n[[contract]]\nname = "c"\n'
    assert error_of(contracts).where == "config.toml: contract[1].name"


def test_toml_syntax_error_names_the_line() -> None:
    err = error_of('[storage]\npath = "x.db"\n[[service]\nname = "a"\n')
    assert err.where == "config.toml: line 3"
    assert "invalid TOML" in err.what


def test_missing_required_keys() -> None:
    assert error_of('[[service]]\nname = "a"\n').where == "config.toml: service[0].monthly_fee"
    assert error_of('[[service]]\nmonthly_fee = "1"\n').where == "config.toml: service[0].name"
    err = error_of('[[calendar]]\nname = "x"\n')
    assert err.where == "config.toml: calendar[0].hours"


def test_load_config_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml" in info.value.where and "no such config file" in info.value.what


def test_relative_storage_path_resolves_against_the_config_folder(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "config.toml"
    path.parent.mkdir()
    path.write_text('[storage]\npath = "data/sla.db"\n' + MINIMAL, encoding="utf-8")
    assert load_config(path).storage_path == tmp_path / "etc" / "data" / "sla.db"
