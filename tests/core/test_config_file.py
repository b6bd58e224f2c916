"""config.toml parsing: the shipped example, profiles, and every kind of mistake."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from core.config import Config, Duration, parse_duration
from core.configfile import load_config, parse_config
from core.errors import ConfigError, ConfigErrors
from core.profiles import PROFILES

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
    assert portal.maintenance == ()  # the contract fixes no weekly window
    saas = cfg.contract_for("portal")
    assert [b.credit_percent for b in saas.bands] == [0, 25, 50, None]
    assert saas.bands[-1].complement
    assert saas.priorities["medium"].response == Duration(business_days=1)
    cal = cfg.calendar_for(saas)
    assert cal is not None and cal.business_day == timedelta(hours=18)
    enterprise = cfg.contract_for("crm")
    assert enterprise.profile == "enterprise-unified"
    assert enterprise.timezone.key == "Europe/Paris"
    assert [b.credit_percent for b in enterprise.bands] == [0]  # no invented bands
    assert enterprise.priorities["B"].clock == "business"
    assert cal.holidays == frozenset() and cal.country is None  # none invented for SaaS
    office = cfg.calendar_for(enterprise)
    assert office is not None and office.timezone.key == "Europe/Paris"
    assert office.country == "FR"
    assert cfg.warnings == ()


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


ON_ENT = MINIMAL.replace('"100"', '"100"\ncontract = "ent"')
ENT_CONTRACT = """
[[contract]]
name = "ent"
profile = "enterprise-unified"
report_within = "24h"
"""
ENTERPRISE = (
    ENT_CONTRACT
    + """
[[calendar]]
name = "enterprise-business"
timezone = "Europe/Paris"
country = "FR"
hours = { mon = "09:00-17:30", fri = "09:00-17:30" }
"""
)


def test_profile_override_keeps_the_rest() -> None:
    cfg = parse(ON_ENT + ENTERPRISE)
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
    assert cal.name == "enterprise-business" and cal.timezone.key == "Europe/Paris"
    assert cal.hours[4] == cal.hours[0] and cal.hours[0][0].start == time(9)
    assert cal.business_day == timedelta(hours=8, minutes=30)
    assert c.rule_for("b") is c.priorities["B"]
    assert c.rule_for("Z") is None
    assert cfg.warnings == ()


@pytest.mark.parametrize(
    ("profile", "first", "cloud_first", "a"),
    [
        ("enterprise-unified", 3600, 900, 3600),
        ("enterprise-enhanced", 1800, 900, 1800),
        ("enterprise-rapid", 900, 900, 900),
    ],
)
def test_enterprise_tiers(profile: str, first: int, cloud_first: int, a: int) -> None:
    """Section 2: the tiers change severities 1 and A (24x7); B and C stay as they are.
    A cloud platform component takes the tier's ``-cloud`` profile (none for rapid)."""
    text = ON_ENT + ENTERPRISE
    c = parse(text.replace("enterprise-unified", profile)).contract_for("portal")
    assert {n: (r.response.seconds, r.clock) for n, r in c.priorities.items()} == {
        "1": (first, "24x7"),
        "A": (a, "24x7"),
        "B": (7200, "business"),
        "C": (14400, "business"),
    }
    cloud = f"{profile}-cloud"
    if cloud in PROFILES:
        c = parse(text.replace("enterprise-unified", cloud)).contract_for("portal")
        assert c.priorities["1"].response.seconds == cloud_first
        assert c.priorities["A"].response.seconds == (900 if "enhanced" in profile else a)
        assert c.priorities["B"].response.seconds == 7200


def test_enterprise_calendar_needs_its_time_zone() -> None:
    """Business hours of the enterprise profiles are local time: never UTC by default."""
    builtin = error_of(ON_ENT + ENT_CONTRACT)
    assert builtin.where == 'config.toml: contract "ent".calendar'
    assert "local time" in builtin.what and "timezone" in builtin.what
    no_zone = ENTERPRISE.replace('timezone = "Europe/Paris"\n', "")
    err = error_of(ON_ENT + no_zone)
    assert err.where == 'config.toml: calendar "enterprise-business".timezone'
    assert "is required" in err.what
    # Explicit, but no public holidays at all: valid, with a warning naming the calendar.
    no_holidays = ENTERPRISE.replace('country = "FR"\n', "")
    cfg = parse(ON_ENT + no_holidays)
    (warning,) = cfg.warnings
    assert warning.startswith('config.toml: calendar "enterprise-business": warning: ')
    assert "neither country nor holidays" in warning


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
        ('name = "c"\n', 'name = "c"\ncolour = "red"\n', 'contract "c".colour', "unknown key"),
        ("[[contract]]", "[storage]\npath = 3\n[[contract]]", "storage.path", "must be a string"),
        (
            "min_availability = 95.0",
            'min_availability = "95"',
            'contract "c".bands #2.min_availability',
            "a number",
        ),
        (
            "min_availability = 95.0",
            "min_availability = 99.6",
            'contract "c".bands #2.min_availability',
            "go down",
        ),
        (
            "max_downtime_minutes = 2160",
            "max_downtime_minutes = 100",
            'contract "c".bands #2.max_downtime_minutes',
            "more than",
        ),
        (
            "min_availability = 0.0",
            "min_availability = 10.0",
            'contract "c".bands #3.min_availability',
            "start at 0",
        ),
        (
            'credit = "100-availability"',
            'credit = "half"',
            'contract "c".bands #3.credit',
            "100-availability",
        ),
        (
            "credit_percent = 25 }",
            'credit_percent = 25, credit = "100-availability" }',
            'contract "c".bands #2',
            "either",
        ),
        (
            "credit_percent = 25 }",
            "credit_percent = 125 }",
            'contract "c".bands #2.credit_percent',
            "between 0 and 100",
        ),
        (
            'response = "1h"',
            'response = "1hour"',
            'contract "c".priorities.high.response',
            "duration",
        ),
        ('clock = "business"', 'clock = "always"', 'contract "c".priorities.high.clock', "24x7"),
        ('calendar = "cal"', 'calendar = "nope"', 'contract "c".calendar', "'nope'"),
        (
            'name = "c"\n',
            'name = "c"\ntimezone = "Mars/Olympus"\n',
            'contract "c".timezone',
            "time zone",
        ),
        (  # found by the fuzzer: a name too long for a file name was an OSError
            'name = "c"\n',
            'name = "c"\ntimezone = "' + "9" * 5000 + '"\n',
            'contract "c".timezone',
            "time zone",
        ),
        ('name = "c"\n', 'name = "c"\nbasis = "hours"\n', 'contract "c".basis', "'percent'"),
        (
            'name = "c"\n',
            'name = "c"\ndegraded_is_down = "yes"\n',
            'contract "c".degraded_is_down',
            "true or false",
        ),
        (
            'name = "c"\n',
            'name = "c"\nreport_within = "0h"\n',
            'contract "c".report_within',
            "longer than zero",
        ),
        ('name = "c"\n', 'name = "c"\nprofile = "gold"\n', 'contract "c".profile', "saas-standard"),
        ('mon = "08:00-02:00"', 'mon = "09:00"', 'calendar "cal".hours.mon', "hours like"),
        ('mon = "08:00-02:00"', 'mon = "08:00-25:00"', 'calendar "cal".hours.mon', "time of day"),
        (
            'mon = "08:00-02:00"',
            'mon = "08:00-02:00"\nmonday = "08:00-09:00"',
            'calendar "cal".hours.monday',
            "unknown key",
        ),
        (
            "[calendar.hours]",
            'country = "XX"\n[calendar.hours]',
            'calendar "cal".country',
            "holidays package",
        ),
        (
            "[calendar.hours]",
            'holidays = ["2026-13-01"]\n[calendar.hours]',
            'calendar "cal".holidays #1',
            "YYYY-MM-DD",
        ),
        (
            "[calendar.hours]",
            'business_day = "1bd"\n[calendar.hours]',
            'calendar "cal".business_day',
            "not allowed",
        ),
        ('contract = "c"', 'contract = "gold"', 'service "portal".contract', "'gold'"),
        (
            'monthly_fee = "1000.00"',
            "monthly_fee = 1000.5",
            'service "portal".monthly_fee',
            "decimal text",
        ),
        (
            'monthly_fee = "1000.00"',
            'monthly_fee = "lots"',
            'service "portal".monthly_fee',
            "decimal text",
        ),
        (
            'monthly_fee = "1000.00"',
            'monthly_fee = "1000.00"\ncurrency = "euro"',
            'service "portal".currency',
            "three-letter",
        ),
        ('name = "portal"', 'name = "my portal"', 'service "my portal".name', "letters"),
        ('from = "22:00"', 'from = "10pm"', 'service "portal".maintenance #1.from', "HH:MM"),
        ('day = "sat"', 'day = "caturday"', 'service "portal".maintenance #1.day', "weekday"),
        (
            'url = "https://portal.example.com/health"',
            'url = "ftp://x"',
            'service "portal".probe.url',
            "URL",
        ),
        (
            'url = "https://portal.example.com/health"',
            'url = "tcp://host"',
            'service "portal".probe.url',
            "tcp://host:port",
        ),
        (
            "[service.probe]",
            '[service.probe]\ninterval = "0s"',
            'service "portal".probe.interval',
            "longer than zero",
        ),
        (
            "[service.probe]",
            '[service.probe]\ninterval = "1s"',
            'service "portal".probe.interval',
            "between 5s and 1h",
        ),
        (
            "[service.probe]",
            '[service.probe]\ninterval = "2h"',
            'service "portal".probe.interval',
            "between 5s and 1h",
        ),
        (
            "[service.probe]",
            '[service.probe]\ninterval = "5s"\ntimeout = "6s"',
            'service "portal".probe.timeout',
            "longer than the interval",
        ),
        (
            "[service.probe]",
            "[service.probe]\nretries = 11",
            'service "portal".probe.retries',
            "between 0 and 10",
        ),
        ("[[contract]]", '[agent]\ncanary = "dns:"\n[[contract]]', "agent.canary", "host name"),
        (
            "[service.probe]",
            "[service.probe]\nretries = -1",
            'service "portal".probe.retries',
            "at least 0",
        ),
        (
            "[service.probe]",
            '[service.probe]\nexpect_status = "2xx"',
            'service "portal".probe.expect_status',
            "codes",
        ),
        (
            "[service.probe]",
            "[service.probe]\nheaders = { X = 1 }",
            'service "portal".probe.headers.X',
            "string",
        ),
        ("[[contract]]", '[agent]\ncanary = "http://x"\n[[contract]]', "agent.canary", "tcp://"),
        (
            "[[contract]]",
            '[[agent.notifier]]\ntimeout = "1s"\n[[contract]]',
            "agent.notifier #1",
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
    assert err.where == 'config.toml: contract "c".bands #2.max_downtime_minutes'
    assert "basis" in err.what


def test_duplicate_names() -> None:
    twice = CONTRACT + '\n[[service]]\nname = "portal"\nmonthly_fee = "1"\n'
    assert error_of(twice).where == 'config.toml: service "portal".name'
    calendars = CONTRACT + '\n[[calendar]]\nname = "cal"\nhours = { mon = "09:00-10:00" }\n'
    assert error_of(calendars).where == 'config.toml: calendar "cal".name'
    contracts = CONTRACT + '\n[[contract]]\nname = "c"\n'
    assert error_of(contracts).where == 'config.toml: contract "c".name'


def test_toml_syntax_error_names_the_line() -> None:
    err = error_of('[storage]\npath = "x.db"\n[[service]\nname = "a"\n')
    assert err.where == "config.toml: line 3"
    assert "invalid TOML" in err.what


def test_missing_required_keys() -> None:
    assert error_of('[[service]]\nname = "a"\n').where == 'config.toml: service "a".monthly_fee'
    assert error_of('[[service]]\nmonthly_fee = "1"\n').where == "config.toml: service #1.name"
    err = error_of('[[calendar]]\nname = "x"\n')
    assert err.where == 'config.toml: calendar "x".hours'


def test_load_config_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.toml")
    assert "nope.toml" in info.value.where and "no such config file" in info.value.what


def test_relative_storage_path_resolves_against_the_config_folder(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "config.toml"
    path.parent.mkdir()
    path.write_text('[storage]\npath = "data/sla.db"\n' + MINIMAL, encoding="utf-8")
    assert load_config(path).storage_path == tmp_path / "etc" / "data" / "sla.db"


def test_every_mistake_at_once_by_name() -> None:
    """One reading reports the first mistake of every table, naming tables by name; a
    table that refers to a broken one is not blamed for it."""
    text = (
        CONTRACT.replace('monthly_fee = "1000.00"', 'monthly_fee = "lots"')
        .replace('url = "https://portal.example.com/health"', 'url = "ftp://x"')
        .replace('mon = "08:00-02:00"', 'mon = "09:00"')
        + '\n[[service]]\nname = "erp"\ncontract = "c"\nmontly_fee = "10"\n'
        + '\n[[service]]\nname = "crm"\ncontract = "c"\nmonthly_fee = "-1"\n'
    )
    err = error_of(text)
    assert isinstance(err, ConfigErrors)
    lines = [str(e) for e in err.errors]
    assert lines == [
        'config.toml: calendar "cal".hours.mon: expected hours like 08:00-17:30 or 08:00-02:00, '
        "got '09:00'",
        'config.toml: service "portal".monthly_fee: must be decimal text like "1000.00", '
        "got 'lots'",
        'config.toml: service "portal".probe.url: must be a URL starting with http:// or https:// '
        "or tcp://, got 'ftp://x'",
        "config.toml: service \"erp\".montly_fee: unknown key (did you mean 'monthly_fee'?)",
        "config.toml: service \"crm\".monthly_fee: must be a positive amount, got '-1'",
    ]
    # The contract on the broken calendar is not reported a second time, nor are the
    # services on that contract; the one-line message counts the rest.
    assert str(err) == lines[0] + " (and 4 more: `slawatch config check` lists them all)"


def test_misspelt_names_suggest_the_right_one() -> None:
    err = error_of(CONTRACT.replace('contract = "c"', 'contract = "d"'))
    assert "no [[contract]] named 'd'" in err.what
    profile = error_of(ON_ENT + ENT_CONTRACT.replace("enterprise-unified", "enterprise-unifed"))
    assert "did you mean 'enterprise-unified'?" in profile.what
    root = error_of(CONTRACT.replace("[[contract]]", '[storag]\npath = "x.db"\n[[contract]]'))
    assert (root.where, root.what) == (
        "config.toml: storag",
        "unknown key (did you mean 'storage'?)",
    )


def test_a_service_left_on_the_default_contract_is_said() -> None:
    (warning,) = parse(MINIMAL).warnings
    assert warning == (
        'config.toml: service "portal".contract: warning: not given: the service falls back '
        "to the default contract 'saas-standard', the built-in profile"
    )
    assert parse(CONTRACT).warnings == ()


def test_channels_and_report_channels() -> None:
    saas = parse(MINIMAL).contract_for("portal")
    assert saas.report_channels == ("email",)  # contracts.md: reported by e-mail
    assert parse(MINIMAL).channels == ("email", "phone", "portal")
    ent = parse(ON_ENT + ENTERPRISE).contract_for("portal")
    assert ent.report_channels is None  # the enterprise description names no channel
    own = (
        '[cases]\nchannels = ["Email", "phone", "chat"]\n'
        + ON_ENT
        + ENTERPRISE.replace(
            'report_within = "24h"', 'report_within = "24h"\nreport_channels = ["chat", "email"]'
        )
    )
    cfg = parse(own)
    assert cfg.channels == ("email", "phone", "chat")
    assert cfg.contract_for("portal").report_channels == ("chat", "email")
    err = error_of(own.replace('["chat", "email"]', '["emial"]'))
    assert err.where == 'config.toml: contract "ent".report_channels #1'
    assert "unknown channel 'emial' (did you mean 'email'?)" in err.what
    err = error_of("[cases]\nchannels = []\n" + MINIMAL)
    assert err.where == "config.toml: cases.channels"
