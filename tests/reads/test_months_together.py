"""Months of many services read together (``reads.reports.months_inputs``), on SQLite
and a real PostgreSQL: the same inputs as each read alone, the same reports on both
backends, and a number of queries that does not grow with the services (issue 10).

October 2026. ``a`` (UTC, three sources) is down across the month start from three
days before it, with an hour missing for one source mid-month; ``b`` (Paris, so
other bounds) is down across its local month start, under an exclusion; ``c`` has
nothing recorded; ``d`` (one source) is down across the month end, into November.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.config import Config
from core.configfile import load_config
from core.status import DOWN, UP
from core.timeutil import YearMonth, from_minute, to_minute
from reads.reports import MonthInputs, month_inputs, month_reports, months_inputs, overview
from store import MinuteRow, Store
from store.postgres import PostgresStore
from store.sqlite import SqliteStore
from tests import configs
from tests.conftest import write_config
from tui.months import MonthPass

SEP, OCT = YearMonth(2026, 9), YearMonth(2026, 10)
START = to_minute(datetime(2026, 10, 1, tzinfo=UTC))
END = to_minute(datetime(2026, 11, 1, tzinfo=UTC))
PARIS = START - 120  # 1 October 00:00 in Paris (summer time, UTC+2)
DAY = 1440

CONFIG = configs.toml(
    contracts=[configs.contract("utc"), configs.contract("paris", timezone="Europe/Paris")],
    services=[
        configs.service("a", "utc"),
        configs.service("b", "paris"),
        configs.service("c", "utc"),
        configs.service("d", "utc"),
    ],
)
WANTED = [("a", OCT), ("b", OCT), ("c", OCT), ("d", OCT), ("a", SEP), ("b", SEP)]


def _rows(service: str, source: str, lo: int, hi: int, status: int) -> list[MinuteRow]:
    return [MinuteRow(service, source, m, status, 100 + m % 7, None) for m in range(lo, hi)]


def _data() -> list[MinuteRow]:
    began = START - 3 * DAY - 17
    rows = []
    for source in ("x", "y", "z"):
        rows += _rows("a", source, began - 5 * DAY, began, UP)
        down = source != "z"  # two of three: down
        rows += _rows("a", source, began, START + 90, DOWN if down else UP)
        after = _rows("a", source, START + 90, START + 4 * DAY, UP)
        if source == "z":  # an hour with no block of z's, mid-span
            after = [r for r in after if not START + 600 <= r.minute < START + 660]
        rows += after
    rows += _rows("b", "x", PARIS - DAY, PARIS - 30, UP)
    rows += _rows("b", "x", PARIS - 30, PARIS + 45, DOWN)
    rows += _rows("b", "x", PARIS + 45, PARIS + DAY, UP)
    rows += _rows("d", "x", END - 2 * DAY, END - 50, UP)
    rows += _rows("d", "x", END - 50, END + 2 * DAY + 7, DOWN)
    rows += _rows("d", "x", END + 2 * DAY + 7, END + 3 * DAY, UP)
    return rows


async def _fill(store: Store) -> None:
    await store.import_minutes([_data()])
    await store.add_exclusion("b", PARIS - 60, PARIS + 20, "upstream")
    await store.add_maintenance("d", END - 10, END + 10, "move")
    await store.open_case("a", "high", "down", from_minute(START - 3 * DAY))


def _config(tmp_path: Path) -> Config:
    return load_config(write_config(tmp_path, CONFIG))


async def _read(store: Store, config: Config) -> tuple[list[MonthInputs], list[MonthInputs]]:
    together = await months_inputs(store, config, WANTED)
    alone = [await month_inputs(store, config, name, month) for name, month in WANTED]
    return together, alone


def _reports(inputs: list[MonthInputs]) -> str:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return json.dumps([i.compute(now).to_json() for i in inputs], sort_keys=True)


async def test_read_together_as_alone_and_as_stored(tmp_path: Path, pg_url: str) -> None:
    config = _config(tmp_path)
    found: dict[str, Any] = {}
    for name, opened in (
        ("sqlite", SqliteStore.open(tmp_path / "s.db")),
        ("postgresql", PostgresStore.open(pg_url, init=True)),
    ):
        async with await opened as store:
            await _fill(store)
            together, alone = await _read(store, config)
            assert together == alone
            for (service, _), inputs in zip(WANTED, together, strict=True):
                # What the span holds, read the plain way: every source's minutes, every window.
                assert inputs.sources == await store.minutes(service, *inputs.span)
                assert list(inputs.windows) == await store.windows(service, *inputs.span)
            found[name] = together
    a, b, c, d, a_sep, b_sep = found["sqlite"]
    assert a.span == (START - 7 * DAY, END)  # followed back a day, two, then four
    assert b.span[0] <= PARIS - 60 and b.span[1] == END - 60  # Paris' month, its own bounds
    assert [(w.start, w.end) for w in b.windows] == [(PARIS - 60, PARIS + 20)]
    assert (c.span, c.sources) == ((START, END), {})
    assert d.span == (START, END + 3 * DAY)  # a day, then two more
    assert (a_sep.span, b_sep.span[1]) == ((START - 30 * DAY, START + DAY), PARIS + DAY)
    assert a.sources["z"][START + 600 - a.span[0] : START + 660 - a.span[0]] == bytes(60)
    report = a.compute()
    (first, *_) = report.outages
    assert first.start == from_minute(START - 3 * DAY - 17) and first.reported
    assert found["sqlite"] == found["postgresql"]
    assert _reports(found["sqlite"]) == _reports(found["postgresql"])


async def test_queries_do_not_grow_with_the_services(tmp_path: Path, pg_url: str) -> None:
    """Six services or sixty: the same handful of queries for one month (PostgreSQL:
    each is a trip to the server and back); so for ``status`` and the dashboard."""
    probe = configs.probe("http://127.0.0.1:9/")
    services = [configs.service(f"s{i}", "utc", probe=probe) for i in range(60)]
    quiet = [configs.service(f"q{i}", "utc", probe=probe) for i in range(10)]  # none recorded
    contracts = [configs.contract("utc")]
    config = load_config(
        write_config(tmp_path, configs.toml(contracts=contracts, services=services))
    )
    everyone = configs.toml(contracts=contracts, services=services + quiet)
    few = configs.toml(contracts=contracts, services=services[:6] + quiet[:1])
    overviews = [
        load_config(write_config(tmp_path, text, f"{name}.toml"))
        for name, text in (("few", few), ("all", everyone))
    ]
    rows = [
        MinuteRow(f"s{i}", src, m, DOWN if m < START + 5 else UP, 90, None)
        for i in range(60)
        for src in ("x", "y")
        for m in range(START - 300, START + 120)  # September's credit: over 216 down
    ]
    async with await PostgresStore.open(pg_url, init=True) as store:
        await store.import_minutes([rows])
        await store.settle_credit("s1", SEP, datetime(2026, 10, 1, 12, tzinfo=UTC))
        counted: list[str] = []
        fetchall = store._db.fetchall

        async def counting(sql: str, params: Any = (), *, binary: bool = False) -> Any:
            counted.append(sql)
            return await fetchall(sql, params, binary=binary)

        store._db.fetchall = counting  # type: ignore[method-assign]
        await month_reports(store, config, ["s0"], OCT)  # the names of the sources, once
        queries = []
        for n in (6, 60):
            counted.clear()
            reports = await month_reports(store, config, [f"s{i}" for i in range(n)], OCT)
            assert all(r.outages[0].start == from_minute(START - 300) for r in reports)
            queries.append(len(counted))
        # status and the dashboard: the same for 7 services as for 70, whether or not
        # anything was recorded for them
        now = datetime(2026, 10, 2, tzinfo=UTC)
        for conf in overviews:
            counted.clear()
            seen = await overview(store, conf, now)
            assert [s.name for s in seen.services] == list(conf.services)
            pending = {(p.service, str(p.month)) for p in seen.pending_credits}
            owed = {n for n in conf.services if n.startswith("s") and n != "s1"}
            assert pending == {(n, "2026-09") for n in owed}
            until = {s.name: s.recorded_until for s in seen.services}
            assert until == {
                n: from_minute(START + 120) if n.startswith("s") else None for n in conf.services
            }
            queries.append(len(counted))
        for conf in overviews:  # the dashboard's month pass: sparklines, then overview
            counted.clear()
            await MonthPass(conf).run(store, now, full=True)
            queries.append(len(counted))
    # windows, minutes, one step back (minutes, windows), the span's windows, cases
    assert queries[:2] == [6, 6]
    assert queries[2] == queries[3]
    assert queries[4] == queries[5]


async def test_overview_the_same_on_both_backends(tmp_path: Path, pg_url: str) -> None:
    """``status`` and the dashboard (``overview``) read their months the same way: the
    current month of every service together, then each past month with downtime; the
    settled months and the newest recorded minutes of all services."""
    probe = configs.probe("http://127.0.0.1:9/")
    probed = configs.toml(
        contracts=[configs.contract("utc"), configs.contract("paris", timezone="Europe/Paris")],
        services=[
            configs.service("a", "utc", probe=probe),
            configs.service("b", "paris"),
            configs.service("c", "utc", probe=probe),
            configs.service("d", "utc", probe=probe),
        ],
    )
    config = load_config(write_config(tmp_path, probed))
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    shown = []
    for opened in (SqliteStore.open(tmp_path / "s.db"), PostgresStore.open(pg_url, init=True)):
        async with await opened as store:
            await _fill(store)
            seen = await overview(store, config, now, days=True)
            owed = {(p.service, str(p.month)) for p in seen.pending_credits}
            await store.settle_credit("a", SEP, now)
            seen = await overview(store, config, now, days=True)
            assert ("a", "2026-09") in owed
            assert {(p.service, str(p.month)) for p in seen.pending_credits} == owed - {
                ("a", "2026-09")
            }
            until = {s.name: s.recorded_until for s in seen.services}
            assert until == {"a": from_minute(START + 4 * DAY), "b": None, "c": None,
                             "d": from_minute(END + 3 * DAY)}  # fmt: skip
            current = await months_inputs(store, config, [(n, YearMonth(2026, 11)) for n in "abcd"])
            assert [seen.month_reports[n] for n in "abcd"] == [i.compute(now) for i in current]
            assert seen.month_days["d"] == current[3].days(until=to_minute(now))
            shown.append((json.dumps(seen.to_json(), sort_keys=True), seen.month_days))
    assert shown[0] == shown[1]
