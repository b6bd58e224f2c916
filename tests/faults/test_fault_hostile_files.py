"""Hostile files: the config parser, the CSV importer and ``claim verify`` fed random
bytes, deep nesting, huge numbers, NaN, odd encodings and enormous files. Every one
ends in exit 0/1 with a valid result or exit 2 with ONE line naming the file, never a
traceback, and a rejected import leaves the database exactly as it was.

Volume comes from hypothesis in-process (``parse_config`` and ``slawatch.cli.main``,
the same code the console script runs); a handful of real CLI runs close it."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inproc import call

from core.config import Config
from core.configfile import parse_config
from core.errors import SlawatchError
from core.timeutil import parse_instant
from tests.conftest import run_cli

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

VALID = """
[storage]
path = "data/slawatch.db"

[[calendar]]
name = "support"
timezone = "Europe/Paris"
business_day = "9h"
holidays = ["2026-12-25"]
[calendar.hours]
mon = "08:00-17:00"
fri = "08:00-02:00"

[[contract]]
name = "c"
timezone = "Europe/Paris"
basis = "percent"
report_within = "72h"
calendar = "support"
bands = [
  { min_availability = 99.5, max_downtime_minutes = 216, credit_percent = 0 },
  { min_availability = 0.0, credit = "100-availability" },
]
[contract.priorities]
high = { response = "1h", clock = "business" }

[[service]]
name = "web"
contract = "c"
monthly_fee = "1000.00"
[service.probe]
url = "https://example.com/health"
interval = "60s"
timeout = "10s"
retries = 2
expect_status = "200-399"
[[service.maintenance]]
day = "sat"
from = "22:00"
to = "04:00"
"""

HOSTILE_SNIPPETS = [
    "nan",
    "inf",
    "-inf",
    "1e400",
    "9" * 5000,
    "-0.0",
    '"\\u0000"',
    '"\\ud800"',
    "[" * 3000,
    "{a=" * 2000,
    "[[service]]",
    "[[contract]]",
    "[storage]",
    "=",
    '"',
    "'''",
    "\n",
    "\x00",
    "\ufeff",
    "\u202e",
    "é",
    '"99999999999999999999999d"',
    '"1e999999999"',
    '"NaN"',
    '"-1"',
    "true",
    "1979-05-27T07:32:00Z",
    "[]",
    "{}",
    '"../../../etc/passwd"',
]


def check_message(exc: SlawatchError, where: str) -> None:
    text = str(exc)
    assert "\n" not in text and "Traceback" not in text
    assert text.startswith(where), text


@FUZZ
@given(raw=st.binary(max_size=3000))
def test_config_parser_random_bytes(raw: bytes) -> None:
    try:
        parse_config(raw.decode("latin-1"), Path("/etc/slawatch/config.toml"))
    except SlawatchError as exc:
        check_message(exc, "/etc/slawatch/config.toml")


@settings(FUZZ, max_examples=400)
@given(
    edits=st.lists(
        st.tuples(
            st.integers(0, len(VALID)),
            st.integers(0, 40),
            st.one_of(st.sampled_from(HOSTILE_SNIPPETS), st.text(max_size=20)),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_config_parser_hostile_edits_of_a_valid_config(edits: list[tuple[int, int, str]]) -> None:
    text = VALID
    for at, cut, snippet in edits:
        at = min(at, len(text))
        text = text[:at] + snippet + text[at + cut :]
    try:
        config = parse_config(text, Path("/etc/slawatch/config.toml"))
    except SlawatchError as exc:
        check_message(exc, "/etc/slawatch/config.toml")
        return
    assert isinstance(config, Config)
    for service in config.services.values():  # what it accepted is usable
        assert service.monthly_fee.is_finite() and service.monthly_fee >= 0


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("deep.toml", b"a = " + b"[" * 100_000 + b"]" * 100_000),
        ("random.toml", bytes(range(256)) * 64),
        ("utf16.toml", VALID.encode("utf-16")),
        ("nan.toml", VALID.replace("99.5", "nan").encode()),
    ],
    ids=["deep", "random", "utf16", "nan"],
)
def test_config_check_real_cli(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    done = run_cli("--config", path, "config", "check")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and name in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


# -- CSV import ------------------------------------------------------------------

CSV_CONFIG = """
[storage]
path = "slawatch.db"
[[contract]]
name = "c"
bands = [{ min_availability = 0.0, credit_percent = 0 }]
[[service]]
name = "web"
contract = "c"
monthly_fee = "1.00"
"""

GOOD_ROWS = "".join(
    f"web,2026-10-03T14:{m:02d}:00Z,{('up', 'down', 'degraded')[m % 3]},{m}\n" for m in range(30)
)


def db_digest(db: Path) -> str:
    if not db.exists():
        return "none"
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT * FROM minute_blocks ORDER BY 1, 2, 3").fetchall()
        rows += conn.execute("SELECT * FROM minute_errors ORDER BY 1, 2, 3").fetchall()
        rows += conn.execute("SELECT * FROM chain_seals ORDER BY 1, 2, 3").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@pytest.fixture(scope="module")
def csv_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("csv")
    config = folder / "config.toml"
    config.write_text(CSV_CONFIG)
    seed = folder / "seed.csv"
    seed.write_text("service,minute,status,latency_ms\n" + GOOD_ROWS)
    assert call("--config", str(config), "import", "minutes", str(seed))[0] == 0
    return config, folder / "slawatch.db"


def test_a_minute_outside_utc_years_is_one_line(
    csv_world: tuple[Path, Path], tmp_path: Path
) -> None:
    """Found by the fuzzer below: a time whose UTC instant falls in year 0 was a traceback."""
    config, db = csv_world
    before = db_digest(db)
    path = tmp_path / "minutes.csv"
    path.write_text("service,minute,status,latency_ms\nweb,0001-01-01T00:00:00+14:00,up,1\n")
    code, out, err = call("--config", str(config), "import", "minutes", str(path))
    assert (code, out) == (2, "")
    assert "in range in UTC" in err and "Traceback" not in err and err.count("\n") == 1, err
    assert db_digest(db) == before


LINES = st.one_of(
    st.sampled_from(
        [
            "web,2026-10-03T15:00:00Z,up,12",
            "web,2026-10-03T15:01:00Z,down,99999999999999999999999999999",
            "web,2026-10-03T15:02:00Z,up,NaN",
            "web,2026-10-03T15:03:00Z,up,-inf",
            "web,9999-12-31T23:59:00Z,up,1",
            "web,0001-01-01T00:00:00+14:00,up,1",
            "web,2026-10-03T15:04:00,up,1",
            "web,2026-10-03T15:05:30Z,up,1",
            "nosuch,2026-10-03T15:06:00Z,up,1",
            "web,2026-10-03T15:07:00Z,UP,1",
            'web,"2026-10-03T15:08:00Z",up,"1"',
            '"web\n",2026-10-03T15:09:00Z,up,1',
            "web,2026-10-03T15:10:00Z,up,1,extra",
            "web,2026-10-03T15:11:00Z",
            "",
            "\x00",
            "\ufeffweb,2026-10-03T15:12:00Z,up,1",
            "web,2026-10-03T15:13:00Z,up," + "9" * 5000,
            '"' + "x" * 1000,
        ]
    ),
    st.text(max_size=60),
)


@FUZZ
@given(
    lines=st.lists(LINES, max_size=8),
    header=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]),
)
def test_csv_import_hostile_rows(
    csv_world: tuple[Path, Path],
    tmp_path_factory: pytest.TempPathFactory,
    lines: list[str],
    header: bool,
    encoding: str,
) -> None:
    config, db = csv_world
    text = ("service,minute,status,latency_ms\n" if header else "") + "\n".join(lines) + "\n"
    path = tmp_path_factory.mktemp("in") / "minutes.csv"
    path.write_bytes(text.encode(encoding, errors="replace"))
    before = db_digest(db)
    code, out, err = call("--config", str(config), "import", "minutes", str(path))
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("slawatch: "), err
        assert db_digest(db) == before, "a rejected file left something behind"
    else:
        assert out.startswith("imported ") and err == ""


@FUZZ
@given(raw=st.binary(max_size=4000))
def test_csv_import_random_bytes(
    csv_world: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory, raw: bytes
) -> None:
    config, db = csv_world
    path = tmp_path_factory.mktemp("in") / "minutes.csv"
    path.write_bytes(raw)
    before = db_digest(db)
    code, _out, err = call("--config", str(config), "import", "minutes", str(path))
    assert code in (0, 2), (code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("slawatch: ")
        assert db_digest(db) == before


@pytest.mark.parametrize("kind", ["bad last row", "one endless line", "enormous field"])
def test_csv_import_enormous_files(tmp_path: Path, kind: str) -> None:
    (tmp_path / "config.toml").write_text(CSV_CONFIG)
    path = tmp_path / "big.csv"
    with path.open("w") as f:
        f.write("service,minute,status\n")
        if kind == "bad last row":  # 200,000 good rows (~6 MB), then one bad one
            for m in range(200_000):
                f.write(
                    f"web,2026-{1 + m // 40000:02d}-0{1 + m // 10000 % 4}T"
                    f"{m // 60 % 24:02d}:{m % 60:02d}:00Z,up\n"
                )
            f.write("web,2026-10-03T14:00:00Z,sideways\n")
        elif kind == "one endless line":
            f.write("web," + "9" * 30_000_000)
        else:
            f.write('web,2026-10-03T14:00:00Z,"' + "u" * 5_000_000 + '"\n')
    config = str(tmp_path / "config.toml")
    code, _out, err = call("--config", config, "import", "minutes", str(path))
    assert code == 2 and err.count("\n") == 1, err
    assert {"bad last row": "line 200002", "one endless line": "line 2: longer than"}.get(
        kind, "line 2"
    ) in err
    assert db_digest(tmp_path / "slawatch.db") in ("none", db_digest_empty(tmp_path))


def db_digest_empty(folder: Path) -> str:
    empty = folder / "empty.db"
    with sqlite3.connect(empty) as conn:
        for table in ("minute_blocks", "minute_errors", "chain_seals"):
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (a, b, c)")
    return db_digest(empty)


# -- claim verify ------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(csv_world: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> bytes:
    config, _db = csv_world
    out = tmp_path_factory.mktemp("claim") / "claim.json"
    code, _o, err = call(
        "--config",
        str(config),
        "claim",
        "export",
        "--service",
        "web",
        "--month",
        "2026-10",
        "--out",
        str(out),
    )
    assert code == 0, err
    assert call("claim", "verify", str(out))[0] == 0  # holds (unsigned: self-consistent only)
    assert call("claim", "verify", str(out), "--require-signed")[0] == 3
    return out.read_bytes()


def verify(raw: bytes, folder: Path) -> tuple[int, str, str]:
    path = folder / "bundle.json"
    path.write_bytes(raw)
    return call("claim", "verify", str(path), "--allow-unsigned")


def assert_verdict(code: int, out: str, err: str) -> None:
    assert code in (1, 2), (code, out, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("slawatch: "), err
    else:
        assert "DOES NOT HOLD" in out


@FUZZ
@given(
    flips=st.lists(
        st.tuples(st.integers(0, 10**9), st.binary(min_size=0, max_size=3), st.integers(0, 3)),
        min_size=1,
        max_size=3,
    )
)
def test_claim_verify_byte_mutations(
    bundle: bytes, tmp_path_factory: pytest.TempPathFactory, flips: list[tuple[int, bytes, int]]
) -> None:
    raw = bundle
    for at, insert, cut in flips:
        at %= len(raw)
        raw = raw[:at] + insert + raw[at + cut :]
    if raw == bundle:
        return
    code, out, err = verify(raw, tmp_path_factory.mktemp("v"))
    if code == 0:  # only an edit that leaves the same document (whitespace) may hold
        assert same_meaning(json.loads(raw), json.loads(bundle)), out
        return
    assert_verdict(code, out, err)


def same_meaning(a: Any, b: Any) -> bool:
    """Equal JSON, counting two spellings of one instant as equal (Python reads
    ``14:240Z`` as 14:24:00Z, and so does the verifier: the claim is unchanged)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_meaning(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_meaning(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, str) and isinstance(b, str) and a != b:
        try:
            return parse_instant(a) == parse_instant(b)
        except SlawatchError:
            return False
    return bool(a == b and type(a) is type(b))


@pytest.mark.parametrize(
    "kind", ["random", "deep", "huge number", "NaN", "utf-16", "latin-1", "enormous", "empty"]
)
def test_claim_verify_hostile_files(bundle: bytes, tmp_path: Path, kind: str) -> None:
    if kind == "enormous":  # 200 MiB, sparse: over the bundle size limit
        path = tmp_path / "bundle.json"
        with path.open("wb") as f:
            f.truncate(200 * 1024**2)
        code, out, err = call("claim", "verify", str(path))
        assert code == 2 and err.count("\n") == 1
        return
    raw = {
        "random": os.urandom(5000),
        "deep": b"[" * 200_000 + b"]" * 200_000,
        "huge number": bundle.replace(b'"month"', b'"x": ' + b"9" * 100_000 + b', "month"', 1),
        "NaN": bundle.replace(b'"month"', b'"x": NaN, "month"', 1),
        "utf-16": bundle.decode().encode("utf-16"),
        "latin-1": bundle.replace(b"web", "w\u00e9b".encode("latin-1")),
        "empty": b"",
    }[kind]
    code, out, err = verify(raw, tmp_path)
    assert_verdict(code, out, err)
