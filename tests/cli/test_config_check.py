"""``config check`` finds what the agent would trip on, every mistake at once (issue 14,
item 8), and refuses an enterprise calendar with no time zone (issue 11, item 7)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import RunCli, WriteConfig

GOOD = """
[storage]
path = "{db}"

[[service]]
name = "erp"
contract = "saas-standard"
monthly_fee = "10"
[service.probe]
url = "https://erp.example.com/health"
header_env = {{ Authorization = "ERP_TOKEN_FOR_TEST" }}
"""


def _env_without_token() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "ERP_TOKEN_FOR_TEST"}


def test_every_error_at_once_each_on_its_line(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    text = (
        GOOD.format(db="data/sla.db")
        .replace('monthly_fee = "10"', 'montly_fee = "10"')
        .replace("header_env", 'interval = "1s"\nheader_env')
    ) + '\n[[service]]\nname = "crm"\ncontract = "enterprize"\nmonthly_fee = "x"\n'
    path = write_config(tmp_path, text)
    done = run_cli("--config", path, "config", "check", env=_env_without_token())
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 3 and all(line.startswith("slawatch: ") for line in lines), lines
    assert "service \"erp\".montly_fee: unknown key (did you mean 'monthly_fee'?)" in lines[0]
    assert "service \"crm\".contract: no [[contract]] named 'enterprize'" in lines[1]
    # A missing contract does not hide the service's other mistakes.
    assert 'service "crm".monthly_fee: must be decimal text' in lines[2]
    # Another command says the first one and how many more there are, on one line.
    other = run_cli("--config", path, "case", "list")
    assert other.returncode == 2 and other.stderr.count("\n") == 1
    assert "(and 2 more: `slawatch config check` lists them all)" in other.stderr


def test_a_broken_contract_or_calendar_is_still_named_as_defined(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """A service naming a missing contract next to a contract with a mistake: the
    message lists the broken one as defined (it is, in the file), never 'none'."""
    text = (
        '[storage]\npath = "sla.db"\n'
        '[[calendar]]\nname = "office"\ntimezone = "Mars/Base"\n'
        '[calendar.hours]\nmon = "09:00-17:00"\n'
        '[[contract]]\nname = "std"\nbasis = "perc"\n'
        '[[contract]]\nname = "ent"\ncalendar = "ofice"\n'
        '[[service]]\nname = "erp"\ncontract = "sdt"\nmonthly_fee = 12.5\n'
        '[service.probe]\nurl = "https://erp.example.com/"\nintervall = "60s"\n'
    )
    done = run_cli("--config", write_config(tmp_path, text), "config", "check")
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert all(line.startswith("slawatch: ") for line in lines), lines
    assert any(
        "contract \"ent\".calendar: no [[calendar]] named 'ofice' (defined: office)" in line
        for line in lines
    ), lines
    assert any(
        "service \"erp\".contract: no [[contract]] named 'sdt'" in line
        and "(defined: ent, std)" in line
        for line in lines
    ), lines
    assert any('service "erp".monthly_fee' in line for line in lines), lines
    assert any('service "erp".probe.intervall' in line for line in lines), lines


def test_what_the_agent_would_trip_on(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    (tmp_path / "afile").write_text("not a folder", encoding="utf-8")
    text = GOOD.format(db="afile/sla.db") + '\n[[service]]\nname = "crm"\nmonthly_fee = "1"\n'
    path = write_config(tmp_path, text)
    env_file = tmp_path / "agent.env"
    env_file.write_text("# the agent's secrets\nOTHER=1\n", encoding="utf-8")
    done = run_cli(
        "--config", path, "config", "check", "--env-file", env_file, env=_env_without_token()
    )
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("slawatch: ")]
    assert len(errors) == 2, done.stderr
    assert f"storage.path: {tmp_path / 'afile' / 'sla.db'} cannot be created" in errors[0]
    assert "afile is not a folder" in errors[0]
    assert (
        'service "erp".probe.header_env.Authorization: $ERP_TOKEN_FOR_TEST is not set'
        in (errors[1])
    )
    assert "agent.env" in errors[1]
    # The fallback to the default contract is said, as a warning.
    assert (
        'service "crm".contract: warning: not given: the service falls back to the default '
        "contract 'saas-standard', the built-in profile" in done.stderr
    )

    # Secret in the environment file, storage writable: warnings alone exit 0.
    env_file.write_text('export ERP_TOKEN_FOR_TEST="s3cret"\n', encoding="utf-8")
    path = write_config(tmp_path, text.replace("afile/", "data/"))
    done = run_cli(
        "--config", path, "config", "check", "--env-file", env_file, env=_env_without_token()
    )
    assert done.returncode == 0, done.stderr
    assert "ok (2 services" in done.stdout and "s3cret" not in done.stderr + done.stdout
    assert "warning: not given" in done.stderr


def test_a_storage_folder_no_one_can_write(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """/proc takes no files, even from root (whom os.access answers yes everywhere)."""
    text = GOOD.format(db="/proc/slawatch-check/sla.db")
    done = run_cli("--config", write_config(tmp_path, text), "config", "check",
                   env=_env_without_token() | {"ERP_TOKEN_FOR_TEST": "x"})  # fmt: skip
    assert done.returncode == 2 and done.stdout == "", done.stderr
    assert "storage.path: /proc/slawatch-check/sla.db cannot be created" in done.stderr


def test_zero_services(tmp_path: Path, run_cli: RunCli, write_config: WriteConfig) -> None:
    path = write_config(tmp_path, '[storage]\npath = "sla.db"\n')
    done = run_cli("--config", path, "config", "check")
    assert done.returncode == 2
    assert done.stderr.strip().endswith(
        "config.toml: service: no [[service]] given: the agent has nothing to probe"
    )


def test_enterprise_calendar_without_time_zone(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    text = """
[[contract]]
name = "ent"
profile = "enterprise-unified"
calendar = "office"

[[calendar]]
name = "office"
hours = { mon = "09:00-17:30" }

[[service]]
name = "erp"
contract = "ent"
monthly_fee = "10"
"""
    path = write_config(tmp_path, text)
    done = run_cli("--config", path, "config", "check")
    assert done.returncode == 2
    assert 'calendar "office".timezone: is required' in done.stderr
    path = write_config(
        tmp_path, text.replace('name = "office"\n', 'name = "office"\ntimezone = "Europe/Paris"\n')
    )
    done = run_cli("--config", path, "config", "check")
    assert done.returncode == 0, done.stderr
    assert 'calendar "office": warning: neither country nor holidays' in done.stderr


def test_an_unset_header_secret_is_a_warning_naming_service_and_variable(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """Run by hand, the shell lacks what systemd gives the agent (its EnvironmentFile), so
    no error; but the agent would refuse to start, so it is said, and at the same place."""
    path = write_config(tmp_path, GOOD.format(db="data/sla.db"))
    done = run_cli("--config", path, "config", "check", env=_env_without_token())
    assert done.returncode == 0, done.stderr
    place = 'service "erp".probe.header_env.Authorization'
    (warning,) = [line for line in done.stderr.splitlines() if "ERP_TOKEN" in line]
    assert f"{place}: warning: $ERP_TOKEN_FOR_TEST is not set in this shell" in warning
    assert "the agent refuses to start without it" in warning
    assert "--env-file /etc/slawatch/agent.env" in warning
    agent = run_cli("--config", path, "agent", "--once", env=_env_without_token())
    assert agent.returncode == 2 and agent.stderr.count("\n") == 1
    assert f"{place}: environment variable $ERP_TOKEN_FOR_TEST is not set" in agent.stderr


def test_list_items_are_numbered_from_1_as_bands_are_everywhere(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    text = """
[[calendar]]
name = "office"
hours = { mon = ["08:00-12:00", "13:00-25:00"] }

[[calendar]]
name = "spare"
hours = { mon = "08:00-17:00" }
holidays = ["2026-12-25", "xmas"]

[[contract]]
name = "c"
calendar = "office"
bands = [
  { min_availability = 99.5, credit_percent = 0 },
  { min_availability = 95.0, credit_percent = 25, bogus = 1 },
  { min_availability = 0.0, credit = "100-availability", credit_percnt = 1 },
]

[[service]]
name = "erp"
contract = "c"
monthly_fee = "10"
[[service.maintenance]]
day = "sat"
from = "22:00"
to = "23:00"
[[service.maintenance]]
day = "caturday"
from = "22:00"
to = "23:00"
"""
    path = write_config(tmp_path, text)
    done = run_cli("--config", path, "config", "check")
    assert done.returncode == 2
    said = done.stderr
    assert 'contract "c".bands #2.bogus: unknown key' in said  # band 2, the second
    assert (
        "contract \"c\".bands #3.credit_percnt: unknown key (did you mean 'credit_percent'?)"
        in said
    )
    assert 'calendar "office".hours.mon #2: expected a time of day' in said
    assert "calendar \"spare\".holidays #2: expected a date YYYY-MM-DD, got 'xmas'" in said
    assert 'service "erp".maintenance #2.day' in said
    assert "[0]" not in said and "[1]" not in said


# Mistakes inside one [[calendar]] and inside one [[contract]] are all reported, not
# only the first: a missing ``hours`` does not hide a bad holiday, a bad ``basis`` does
# not hide a missing calendar.
INSIDE = """
[storage]
path = "sla.db"

[[calendar]]
name = "office"
timezone = "Mars/Base"
holidays = ["2026-12-25", "xmas", 2026]

[[calendar]]
name = "plant"
timezone = "Europe/Paris"
hours = { mon = "08:00-25:00", tue = "nine to five", wed = "09:00-17:00", sunday = "x" }

[[contract]]
name = "c"
basis = "perc"
calendar = "nowhere"
report_within = "soon"
bands = [
  { min_availability = 99.5, credit_percent = 0 },
  { min_availability = 95.0, credit_percent = 25, bogus = 1 },
  { min_availability = 0.0, credit = "100-availability" },
]
priorities = { high = { response = "1h", clock = "weekly" }, low = { response = "0h" } }

[[contract]]
name = "d"
profile = "saas-standrd"
unknown_minutes = "guess"
degraded_is_down = "no"

[[service]]
name = "erp"
contract = "c"
monthly_fee = "10"
"""


def test_every_mistake_inside_one_calendar_and_one_contract(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    path = write_config(tmp_path, INSIDE)
    done = run_cli("--config", path, "config", "check")
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert all(line.startswith(f"slawatch: {path}: ") for line in lines), lines
    expected = [
        # one calendar: a missing hours, a bad time zone, two bad holidays
        "calendar \"office\".timezone: unknown time zone 'Mars/Base'",
        'calendar "office".hours: is required (a table like mon = "08:00-17:30")',
        "calendar \"office\".holidays #2: expected a date YYYY-MM-DD, got 'xmas'",
        'calendar "office".holidays #3: expected a date YYYY-MM-DD, got 2026',
        # another: an unknown day and two bad days, each said
        'calendar "plant".hours.sunday: unknown key',
        'calendar "plant".hours.mon',
        'calendar "plant".hours.tue',
        # one contract: basis, calendar, report_within, a band, two priorities
        "contract \"c\".basis: must be one of 'percent', 'minutes', got 'perc'",
        "contract \"c\".calendar: no [[calendar]] named 'nowhere' (defined: office, plant)",
        'contract "c".report_within',
        'contract "c".bands #2.bogus: unknown key',
        'contract "c".priorities.high.clock: must be "24x7" or "business", got \'weekly\'',
        'contract "c".priorities.low.response: must be longer than zero',
        # another: an unknown profile does not hide the contract's own mistakes
        "contract \"d\".profile: unknown profile 'saas-standrd' (did you mean 'saas-standard'?)",
        "contract \"d\".unknown_minutes: must be one of 'available', 'excluded', got 'guess'",
        'contract "d".degraded_is_down: must be true or false',
    ]
    for text in expected:
        assert sum(text in line for line in lines) == 1, (text, lines)
    # Nothing more (a broken calendar is not blamed again on the contract naming it).
    assert len(lines) == len(expected), lines


def test_the_agent_refuses_such_a_config_on_one_line(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    path = write_config(tmp_path, INSIDE)
    done = run_cli("--config", path, "agent", "--once")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert 'calendar "office".hours: is required' in done.stderr
    assert "(and 15 more: `slawatch config check` lists them all)" in done.stderr
    assert not (tmp_path / "sla.db").exists()


def test_ok_names_the_postgresql_database_and_the_spool_in_fleet_mode(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """With ``[storage] url`` the commands use PostgreSQL: the ok line names it (its
    password masked) and the agent's spool, never the unused default SQLite file."""
    text = GOOD.replace('path = "{db}"', 'url = "postgresql://ops:s3cret@db.internal/sla"')
    text = text.replace('header_env = {{ Authorization = "ERP_TOKEN_FOR_TEST" }}\n', "")
    path = write_config(tmp_path, text)
    env = {k: v for k, v in os.environ.items() if k != "SLAWATCH_DATABASE_URL"}
    done = run_cli("--config", path, "config", "check", env=env)
    assert done.returncode == 0, done.stderr
    assert "database postgresql://ops:***@db.internal/sla" in done.stdout, done.stdout
    assert f"agent spool {tmp_path / 'spool.db'}" in done.stdout
    assert "slawatch.db" not in done.stdout and "s3cret" not in done.stdout


def test_a_header_secret_no_request_can_carry_is_an_error_with_env_file(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """The agent refuses such a secret (every probe would fail as ``http``), so config
    check says so, at the same place, without the value."""
    path = write_config(tmp_path, GOOD.format(db="data/sla.db"))
    env_file = tmp_path / "agent.env"
    env_file.write_text("ERP_TOKEN_FOR_TEST=Bearer abc\x1bdef\n", encoding="utf-8")
    env = _env_without_token()
    done = run_cli("--config", path, "config", "check", "--env-file", env_file, env=env)
    assert done.returncode == 2
    place = 'service "erp".probe.header_env.Authorization'
    assert f"{place}: $ERP_TOKEN_FOR_TEST holds a control character" in done.stderr, done.stderr
    assert "abc" not in done.stderr
    agent = run_cli(
        "--config", path, "agent", "--once", env={**env, "ERP_TOKEN_FOR_TEST": "Bearer a\rb"}
    )
    assert agent.returncode == 2 and agent.stderr.count("\n") == 1, agent.stderr
    assert f"{place}: environment variable $ERP_TOKEN_FOR_TEST holds a line break" in (agent.stderr)


def test_every_mistake_of_a_probe_and_of_the_agent_table_is_listed(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """[service.probe] and [agent] stopped at their first mistake: a bad proxy hid a bad
    tls_warn_days and spool_max_minutes, a bad follow_redirects hid a bad retries."""
    text = (
        '[agent]\nproxy = "socks5://p:1080"\ntls_warn_days = -3\nspool_max_minutes = 1\n'
        'canary = "dns:"\n'
        '[agent.checkpoint]\nwebhook = "ftp://auditor"\ninterval = "2h"\n'
        '[[service]]\nname = "erp"\ncontract = "saas-standard"\nmonthly_fee = "10"\n'
        '[service.probe]\nurl = "https://erp.example.com:99999/"\nfollow_redirects = "yes"\n'
        'ca_file = "missing-ca.pem"\ninterval = "2s"\ntimeout = "3s"\nretries = 99\n'
        'method = "FETCH"\n'
    )
    done = run_cli("--config", write_config(tmp_path, text), "config", "check")
    assert done.returncode == 2 and done.stdout == "", done.stdout
    lines = done.stderr.splitlines()
    assert all(line.startswith("slawatch: ") for line in lines), lines
    expected = [
        "agent.canary: dns: needs a host name",
        "agent.proxy: must be a URL starting with http:// or https://",
        "agent.tls_warn_days: must be at least 0, got -3",
        "agent.spool_max_minutes: must be at least 10, got 1",
        "agent.checkpoint.webhook: must be a URL starting with http:// or https://",
        "agent.checkpoint.interval: must be from 1s to 1h",
        'service "erp".probe.url: the port must be a number from 1 to 65535',
        'service "erp".probe.interval: must be between 5s and 1h',
        'service "erp".probe.retries: must be between 0 and',
        'service "erp".probe.method: must be one of',
        'service "erp".probe.follow_redirects: must be true or false',
    ]
    for fragment in expected:
        assert sum(fragment in line for line in lines) == 1, (fragment, lines)
    # A bad interval is its own mistake: the timeout is not blamed for exceeding it.
    assert not any("probe.timeout" in line for line in lines), lines
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("postgresql://ops:s3cret@db.internal:54x2/sla", "the port must be a number from 1 to"),
        ("postgresql://db.internal:0/sla", "the port must be a number from 1 to 65535, not '0'"),
        ("postgresql://db.internal/sla?sslmode=verify_full", "sslmode must be one of"),
        # It said "the port must be a number from 1 to 65535, not ':1'" of '[::1'.
        ("postgresql://ops:s3cret@[::1/sla", "the IPv6 address '[::1' has no closing ']'"),
    ],
)
def test_a_database_url_libpq_refuses_only_when_connecting_is_named_now(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig, url: str, why: str
) -> None:
    """config check said ok; the agent then waited for the database, never ready, and
    every command failed at its first query. The password is never repeated."""
    text = GOOD.replace('path = "{db}"', f'url = "{url}"')
    text = text.replace('header_env = {{ Authorization = "ERP_TOKEN_FOR_TEST" }}\n', "")
    env = {k: v for k, v in os.environ.items() if k != "SLAWATCH_DATABASE_URL"}
    done = run_cli("--config", write_config(tmp_path, text), "config", "check", env=env)
    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert done.stderr.count("\n") == 1 and "storage.url: " in done.stderr and why in done.stderr
    assert "s3cret" not in done.stderr
    fine = GOOD.replace(
        'path = "{db}"', 'url = "postgresql://h1:5432,h2:5433/sla?sslmode=verify-full"'
    ).replace('header_env = {{ Authorization = "ERP_TOKEN_FOR_TEST" }}\n', "")
    ok = run_cli("--config", write_config(tmp_path, fine), "config", "check", env=env)
    assert ok.returncode == 0, ok.stderr


def test_an_env_file_that_cannot_be_read_is_said_plainly(
    tmp_path: Path, run_cli: RunCli, write_config: WriteConfig
) -> None:
    """'cannot read X: [Errno 2] No such file or directory: X' named the file twice."""
    path = write_config(tmp_path, GOOD.format(db="sla.db"))
    missing = tmp_path / "agent.env"
    done = run_cli("--config", path, "config", "check", "--env-file", missing)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert (
        done.stderr == f"slawatch: --env-file: cannot read {missing}: No such file or directory\n"
    )
    (tmp_path / "latin.env").write_bytes(b"TOKEN=caf\xe9\n")
    bad = run_cli("--config", path, "config", "check", "--env-file", tmp_path / "latin.env")
    assert bad.returncode == 2 and "latin.env: not UTF-8 text" in bad.stderr, bad.stderr
