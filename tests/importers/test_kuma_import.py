"""``slawatch import kuma``: a real Kuma 1.x/2.x database in, the month's figures out.

The fixture month is March 2026 in Europe/Paris, a DST month: it runs from
2026-02-28T23:00Z to 2026-03-31T22:00Z, 31 x 1440 - 60 = 44,580 real minutes
(the clocks jump from 02:00 to 03:00 on the 29th).

Monitor ``web`` (id 1): a heartbeat every 60 s at second :05, maxretries 2.
- 2026-03-10 12:00Z: the check fails; two retries are pending (12:00, 12:01:
  degraded), then down from 12:02 to 12:29 (28 minutes); up again at 12:30.
- 2026-03-15 01:00-03:00Z: Kuma's maintenance mode, 120 heartbeats: 120
  minutes recorded unknown.
- 2026-03-20 10:00-16:00Z: Kuma itself was stopped: no heartbeat, 360 minutes
  unknown.
=> downtime 28, degraded 2, unknown 480; availability (44,580 - 28) / 44,580
   = 99.93719 %: the top band, no credit.

Monitor ``api`` (id 2): a heartbeat every 20 s (:00, :20, :40, times with
milliseconds), maxretries 1; pings 100/120/140 ms (median 120).
- 2026-03-05 08:00Z: down, up, up -> up (1 of 3 failed is not more than half);
  08:01: pending, pending, up -> degraded; 08:02: down, pending, up ->
  degraded (2 of 3 failed or pending).
- 2026-03-15 01:00-01:10Z maintenance (30 heartbeats: 10 minutes unknown);
  01:10:00 maintenance too, but 01:10:20 and :40 are up: that minute is up.
- 2026-03-20 10:00-16:00Z: the same gap, 360 minutes unknown.
- 2026-03-29 00:00-04:00Z, across the DST jump: the first failing heartbeat is
  pending, every later one down: 240 minutes down (00:00 has pending, down,
  down: 2 of 3 failed).
=> downtime 240, degraded 2, unknown 370; availability (44,580 - 240) /
   44,580 = 99.46164 % < 99.5: the 25 % band, 250.00 EUR of 1000.00.

Maintenance heartbeats: 120 + 31 = 151; minutes recorded unknown: 120 + 10 = 130.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from core.configfile import load_config
from slawatch.importers.progress import Progress
from store import open_store
from tests import configs
from tests.cli.common import assert_user_error, ok_json
from tests.importers.kumadb import DOWN, MAINTENANCE, PENDING, UP, Beat, build

if TYPE_CHECKING:
    from tests.conftest import RunCli, WriteConfig

START = datetime(2026, 2, 28, 23, 0, tzinfo=UTC).timestamp()  # Paris midnight, 1 March
END = datetime(2026, 3, 31, 22, 0, tzinfo=UTC).timestamp()
MONTH_MINUTES = 44_580

CONFIG = configs.toml(
    storage="slawatch.db",
    contracts=[configs.contract("paris", timezone="Europe/Paris")],
    services=[configs.service("web", "paris"), configs.service("api", "paris")],
)


def t(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def span(start: str, end: str) -> range:
    return range(int(t(start)), int(t(end)))


GAP = span("2026-03-20T10:00", "2026-03-20T16:00")  # Kuma was stopped


def web_beats() -> Iterator[Beat]:
    pending, down = (
        span("2026-03-10T12:00", "2026-03-10T12:02"),
        span("2026-03-10T12:02", "2026-03-10T12:30"),
    )
    maintenance = span("2026-03-15T01:00", "2026-03-15T03:00")
    # An hour either side of the month, which the month's figures must not see.
    for at in range(int(START) - 3600 + 5, int(END) + 3600, 60):
        if at in GAP:
            continue
        if at in pending:
            yield Beat(1, at, PENDING, None, "connect ECONNREFUSED")
        elif at in down:
            yield Beat(1, at, DOWN, None, "connect ECONNREFUSED")
        elif at in maintenance:
            yield Beat(1, at, MAINTENANCE, None, "Maintenance")
        else:
            yield Beat(1, at, UP, 80)


FLAPS = {
    "2026-03-05T08:00": (DOWN, UP, UP),
    "2026-03-05T08:01": (PENDING, PENDING, UP),
    "2026-03-05T08:02": (DOWN, PENDING, UP),
    "2026-03-15T01:10": (MAINTENANCE, UP, UP),
}


def api_beats() -> Iterator[Beat]:
    flaps = {int(t(k)): v for k, v in FLAPS.items()}
    maintenance = span("2026-03-15T01:00", "2026-03-15T01:10")
    outage = span("2026-03-29T00:00", "2026-03-29T04:00")
    for at in range(int(START) - 3600, int(END) + 3600, 20):
        second = at % 60
        if at - second in flaps:
            status = flaps[at - second][second // 20]
        elif at in GAP:
            continue
        elif at in maintenance:
            status = MAINTENANCE
        elif at == outage.start:
            status = PENDING
        elif at in outage:
            status = DOWN
        else:
            status = UP
        yield Beat(2, at + 0.123, status, (100, 120, 140)[second // 20] if status == UP else None)


MONITORS = [(1, "web", 60, 2), (2, "api", 20, 1), (3, "status page", 300, 0)]


def all_beats() -> list[Beat]:
    return [*web_beats(), *api_beats(), Beat(3, START + 7, UP, 5)]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def kuma_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kuma") / "kuma.db"
    build(path, MONITORS, all_beats(), millis=frozenset({2}))
    return path


@pytest.fixture
def config(tmp_path: Path, write_config: WriteConfig) -> Path:
    return write_config(tmp_path, CONFIG)


def report(run_cli: RunCli, config: Path, service: str) -> dict[str, Any]:
    out: dict[str, Any] = ok_json(
        run_cli, "--config", config, "report", "--month", "2026-03", "--service", service,
        "--format", "json",
    )  # fmt: skip
    return out


def test_month_figures_from_a_kuma_1x_database(
    kuma_db: Path, config: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    before, folder = digest(kuma_db), sorted(os.listdir(kuma_db.parent))
    beats = all_beats()
    result = run_cli("--config", config, "import", "kuma", kuma_db)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no progress meter when stderr is no terminal
    mapped = sum(1 for b in beats if b.monitor_id in (1, 2))
    assert result.stdout.startswith("imported ")
    assert "(Uptime Kuma 1.x, 2 monitors, " in result.stdout
    assert f"{mapped} heartbeats" in result.stdout
    assert "151 maintenance heartbeats, 130 minutes recorded as unknown" in result.stdout

    # The database is untouched, and nothing was created beside it.
    assert digest(kuma_db) == before
    assert sorted(os.listdir(kuma_db.parent)) == folder

    web = report(run_cli, config, "web")
    assert web["minutes_in_month"] == MONTH_MINUTES
    assert (web["downtime_minutes"], web["degraded_minutes"], web["unknown_minutes"]) == (
        28,
        2,
        480,
    )
    assert web["availability_percent"] == pytest.approx(99.93719, abs=1e-5)
    assert (web["credit_percent"], web["credit_amount"]) == (0, "0.00")

    api = report(run_cli, config, "api")
    assert api["minutes_in_month"] == MONTH_MINUTES
    assert (api["downtime_minutes"], api["degraded_minutes"], api["unknown_minutes"]) == (
        240,
        2,
        370,
    )
    assert api["availability_percent"] == pytest.approx(99.46164, abs=1e-5)
    assert (api["credit_percent"], api["credit_amount"]) == (25, "250.00")

    outages = ok_json(
        run_cli, "--config", config, "outages", "--month", "2026-03", "--service", "api", "--json"
    )
    assert [(o["start"], o["end"], o["minutes"]) for o in outages] == [
        ("2026-03-29T00:00:00Z", "2026-03-29T04:00:00Z", 240)
    ]

    # Idempotent: the same import again changes no figure.
    again = run_cli("--config", config, "import", "kuma", kuma_db)
    assert again.returncode == 0, again.stderr
    assert again.stdout.rsplit(";", 1)[0] == result.stdout.rsplit(";", 1)[0]
    assert again.stdout.endswith(" 0 new, 88680 unchanged, 0 replaced\n"), again.stdout
    assert report(run_cli, config, "api") == api
    assert digest(kuma_db) == before


def test_minute_records_hold_the_rule_latency_and_error(kuma_db: Path, config: Path) -> None:
    """The records themselves: the fold of each flapping minute, the median ping, and
    the maintenance minutes as unknown with their error class."""
    from slawatch.cli import main

    assert main(["--config", str(config), "import", "kuma", str(kuma_db), "--source", "k"]) == 0

    async def read() -> tuple[dict[str, bytes], list[tuple[int, int | None]], list[Any]]:
        start, end = int(t("2026-03-05T08:00")) // 60, int(t("2026-03-05T08:04")) // 60
        async with await open_store(load_config(config), readonly=True) as store:
            statuses = await store.minutes("api", start, end)
            latencies = await store.latencies("api", start, end)
            m0, m1 = int(t("2026-03-15T01:08")) // 60, int(t("2026-03-15T01:12")) // 60
            maint = [await store.minutes("api", m0, m1), await store.minute_errors("api", m0, m1)]
        return statuses, latencies, maint

    statuses, latencies, (maint, errors) = asyncio.run(read())
    assert statuses == {"k": bytes([1, 2, 2, 1])}  # up, degraded, degraded, up
    assert [lat for _, lat in latencies] == [130, 140, 140, 120]
    assert maint == {"k": bytes([0, 0, 1, 1])}  # 01:08, 01:09 unknown; 01:10 up
    assert [e[2] for e in errors] == ["maintenance", "maintenance"]


def test_kuma_2x_database_and_a_running_kuma(tmp_path: Path, config: Path, run_cli: RunCli) -> None:
    """2.x adds columns and the stat tables; a Kuma that is running keeps recent
    heartbeats in its write-ahead log, which must be read too, without writing."""
    path = tmp_path / "kuma2.db"
    beats = [Beat(1, START + 60 * i + 3, DOWN if 10 <= i < 15 else UP, 50) for i in range(60)]
    build(path, [(1, "web", 60, 0)], beats, version="2.x", millis=frozenset({1}))
    live = sqlite3.connect(path)
    try:
        live.execute("PRAGMA journal_mode = WAL")
        live.execute("PRAGMA wal_autocheckpoint = 0")  # Kuma has not checkpointed yet
        live.executemany(
            "INSERT INTO heartbeat (important, monitor_id, status, msg, time, ping, duration)"
            " VALUES (0, 1, ?, '', ?, NULL, 0)",
            [(DOWN, f"2026-03-01 00:{m:02d}:03.000") for m in (0, 1, 2)],  # 23:00Z = 00:00 Paris
        )
        live.commit()
        before = digest(path)
        result = run_cli("--config", config, "import", "kuma", path)
        assert result.returncode == 0, result.stderr
        assert "(Uptime Kuma 2.x, 1 monitor, 63 heartbeats," in result.stdout
        assert digest(path) == before
    finally:
        live.close()
    web = report(run_cli, config, "web")
    # Minutes 10-14 down; 00:00-00:02 UTC (in the log) down; 23:00-23:59Z recorded.
    assert web["downtime_minutes"] == 8
    assert web["unknown_minutes"] == MONTH_MINUTES - 60 - 3


def test_monitor_mapping(kuma_db: Path, config: Path, run_cli: RunCli) -> None:
    # The Kuma monitor "status page" feeds "web" here, by name and by id.
    result = run_cli(
        "--config", config, "import", "kuma", kuma_db, "--monitor", "status page=web",
        "--monitor", "2=api",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "2 monitors, " in result.stdout
    web = report(run_cli, config, "web")
    assert web["unknown_minutes"] == MONTH_MINUTES - 1  # one heartbeat only


def test_bad_heartbeat_late_in_the_file_keeps_nothing(
    tmp_path: Path, config: Path, run_cli: RunCli
) -> None:
    path = tmp_path / "kuma.db"
    beats = [Beat(1, START + 60 * i, UP, 10) for i in range(200_000 // 60)]
    build(path, [(1, "web", 60, 0), (2, "api", 60, 0)], [*beats, Beat(2, START, 7, None)])
    result = run_cli("--config", config, "import", "kuma", path)
    assert_user_error(result, f"{path}: heartbeat {len(beats) + 1}", "status 7")
    assert report(run_cli, config, "web")["unknown_minutes"] == MONTH_MINUTES

    db = sqlite3.connect(path)
    db.execute("UPDATE heartbeat SET status = 1, time = 'yesterday' WHERE status = 7")
    db.commit()
    db.close()
    result = run_cli("--config", config, "import", "kuma", path)
    assert_user_error(result, f"{path}: heartbeat {len(beats) + 1}", "'yesterday' is not a time")


def test_files_that_are_no_kuma_database(tmp_path: Path, config: Path, run_cli: RunCli) -> None:
    good = tmp_path / "good.db"
    build(good, [(1, "web", 60, 0)], [Beat(1, START + 60 * i, UP, 10) for i in range(3000)])
    data = good.read_bytes()
    cases: list[tuple[str, bytes | None, str]] = [
        ("random.db", os.urandom(8192), "not an SQLite database"),
        ("export.csv", b"service,minute,status\nweb,2026-03-01T00:00Z,up\n", "not an SQLite"),
        ("empty.db", b"", "not an SQLite database"),
        ("torn.db", data[: len(data) // 3], ""),  # a copy cut short
        ("scrambled.db", data[:100] + os.urandom(len(data) - 100), ""),
        ("missing.db", None, "no such file"),
    ]
    other = tmp_path / "other.db"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE heartbeat (id INTEGER, beat TEXT)")
    db.close()
    for name, content, fragment in cases:
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        result = run_cli("--config", config, "import", "kuma", path)
        assert_user_error(result, str(path), fragment)
    assert_user_error(
        run_cli("--config", config, "import", "kuma", other),
        f"{other}: not an Uptime Kuma database",
    )
    assert_user_error(
        run_cli("--config", config, "import", "kuma", good, "--monitor", "nope=web"),
        "--monitor", "has no monitor 'nope'",
    )  # fmt: skip
    assert_user_error(
        run_cli("--config", config, "import", "kuma", good, "--monitor", "web=portal"),
        "--monitor", "no service 'portal'",
    )  # fmt: skip
    assert report(run_cli, config, "web")["unknown_minutes"] == MONTH_MINUTES


def test_progress_meter_only_on_a_terminal() -> None:

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        meter = Progress("kuma.db: heartbeats", 200, stream=stream, every=0)
        meter.update(50)
        meter.update(200)
        meter.close()
    assert "50 / 200 (25%)" in tty.getvalue() and "200 / 200 (100%)" in tty.getvalue()
    assert tty.getvalue().endswith("\r")
    assert pipe.getvalue() == ""


def test_kuma_2x_thinned_history_is_refused_not_read_as_unknown(
    tmp_path: Path, config: Path, run_cli: RunCli
) -> None:
    """Kuma 2.x deletes, once a day, every heartbeat older than 24 hours that is not a
    change of status, and keeps the day's counts in stat_daily. March's outage of
    ``web`` (2 pending, 28 down) then has 2 heartbeats left (12:02 down, 12:30 up):
    read minute by minute it was 1 minute down and 29 unknown, counted available, and
    the import said nothing. It is refused, naming the monitor and the thinned days;
    --since imports the days kept whole."""
    path = tmp_path / "kuma2.db"
    build(
        path, [(1, "web", 60, 2)], web_beats(), version="2.x",
        thin_before=t("2026-03-30T00:00"),
    )  # fmt: skip
    db = sqlite3.connect(path)
    left = db.execute(
        "SELECT time, status FROM heartbeat WHERE time LIKE '2026-03-10 12:%' ORDER BY time"
    ).fetchall()
    db.close()
    assert left == [("2026-03-10 12:02:05", DOWN), ("2026-03-10 12:30:05", UP)]
    before = digest(path)

    result = run_cli("--config", config, "import", "kuma", path)
    assert_user_error(
        result,
        f"{path}: monitor 'web' (id 1)",
        "only its changes of status on 30 days from 2026-02-28 to 2026-03-29",
        "--status-changes",
        "stat_daily counts 120 checks on 2026-02-28, 1 heartbeat left",
        "--since 2026-03-30T00:00Z",
    )
    assert report(run_cli, config, "web")["unknown_minutes"] == MONTH_MINUTES  # nothing kept
    assert digest(path) == before

    result = run_cli("--config", config, "import", "kuma", path, "--since", "2026-03-29T12:00Z")
    assert_user_error(result, "monitor 'web' (id 1)", "on 1 day from 2026-03-29 to 2026-03-29")

    result = run_cli("--config", config, "import", "kuma", path, "--since", "2026-03-30T00:00Z")
    assert result.returncode == 0, result.stderr
    web = report(run_cli, config, "web")
    assert web["downtime_minutes"] == 0
    # 30 March 00:00Z to 31 March 22:00Z (Paris midnight) recorded, the rest unknown.
    assert web["unknown_minutes"] == MONTH_MINUTES - 46 * 60


def test_kuma_2x_thinned_days_rebuilt_from_changes_of_status(
    tmp_path: Path, config: Path, run_cli: RunCli
) -> None:
    """--status-changes rebuilds the thinned days: down from the heartbeat saying down
    to the one saying up (the 28 minutes of 10 March; the two pending minutes before
    are not kept by Kuma and read up), maintenance unknown. Only days stat_daily shows
    checked whole: on 20 March Kuma was stopped six hours, and carrying a status over
    a stop is a guess, so that day is left unknown, as is 28 February (the first day,
    checked from 22:00 only); the summary says so."""
    path = tmp_path / "kuma2.db"
    build(
        path, [(1, "web", 60, 2)], web_beats(), version="2.x",
        thin_before=t("2026-03-30T00:00"),
    )  # fmt: skip
    result = run_cli("--config", config, "import", "kuma", path, "--status-changes")
    assert result.returncode == 0, result.stderr
    assert "rebuilt from changes of status, 2 thinned days not checked whole left unknown" in (
        result.stdout
    )
    web = report(run_cli, config, "web")
    assert web["downtime_minutes"] == 28
    assert web["unknown_minutes"] == 60 + 1440 + 120  # 28 Feb 23:xx, 20 March, maintenance
    outages = ok_json(
        run_cli, "--config", config, "outages", "--month", "2026-03", "--service", "web",
        "--json",
    )  # fmt: skip
    assert [(o["start"], o["minutes"]) for o in outages] == [("2026-03-10T12:02:00Z", 28)]
    # Again: nothing changes.
    again = run_cli("--config", config, "import", "kuma", path, "--status-changes")
    assert again.returncode == 0, again.stderr
    assert " 0 new, " in again.stdout
