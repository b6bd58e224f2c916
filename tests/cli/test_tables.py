"""CLI tables (issue 14, item 9): every one fits 100 columns, with colour on a terminal and
none when piped or under ``NO_COLOR`` (https://no-color.org).

The store is the demo's seeded history (four services, a month and a half of
minutes, cases, outages), plus what makes tables wide: a case with a long
title, an exclusion with a long reason, a re-rated case, a settled credit.
Every command runs as a real process; the terminal is a real pseudo-terminal.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.status import DOWN, UP
from core.timeutil import to_minute
from slawatch.demo import seed, write_config
from store import MinuteRow, ProbeState
from store.health import AgentHealth
from store.sqlite import SqliteStore

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
AGENTS = ("paris-eu-west-3-primary", "frankfurt-eu-central-1-b", "virginia-us-east-1-c")
SLAWATCH = [sys.executable, "-m", "slawatch"]
LONG = (
    "Checkout and invoice download fail for every customer in the EU region with HTTP 503 "
    "after the provider's maintenance; support asked for a root-cause analysis"
)

COMMANDS = [
    ("report", "--month", "2026-10"),
    ("report", "--month", "2026-11"),
    ("report", "--quarter", "2026Q4"),
    ("status",),
    ("outages", "--month", "2026-11"),
    ("outages", "--month", "2026-11", "--service", "portal"),
    ("audit",),
    ("credit", "list"),
    ("maintenance", "list"),
    ("exclude", "list"),
    ("case", "list"),
    ("case", "show", "1"),
    ("case", "show", "{long}"),
    ("fleet", "status"),
]


def _plain_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS")}


def _cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SLAWATCH, "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=_plain_env(),
    )


@pytest.fixture(scope="module")
def wide(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    folder = tmp_path_factory.mktemp("tables")
    config = write_config(folder, "http://127.0.0.1:9")

    async def build() -> None:
        async with await SqliteStore.open(folder / "slawatch.db") as store:
            await seed(store, NOW)
            # Three vantage points with long names; one sees every service down (its
            # minutes outvoted, its list long), one's clock is off: fleet status and the
            # status AGENTS column at their widest.
            end = to_minute(NOW)
            await store.record_minutes(
                [
                    MinuteRow(service, agent, m, DOWN if agent == AGENTS[2] else UP)
                    for agent in AGENTS
                    for service in ("portal", "billing", "search", "mail")
                    for m in range(end - 30, end)
                ]
            )
            for n, agent in enumerate(AGENTS):
                for service in ("portal", "billing", "search", "mail"):
                    status = DOWN if n == 2 else UP
                    await store.record_probe(
                        ProbeState(service, agent, NOW - timedelta(seconds=5), status, 40, None)
                    )
                await store.record_health(
                    AgentHealth(agent, NOW - timedelta(seconds=10 * (n + 1)), 0, 0,
                                backlog_minutes=12 * n, clock_offset_seconds=7.4 if n else 0.1,
                                version="0.4.0+local.build.20261122")
                )  # fmt: skip

    asyncio.run(build())
    opened = _cli(config, "case", "open", "--service", "billing", "--priority", "critical",
                  "--title", LONG, "--ref", "SUP-99999-EU", "--opened-at",
                  "2026-11-20T08:00:00Z", "--json")  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    case = json.loads(opened.stdout)["id"]
    for args in (
        ("case", "priority", str(case), "high", "--at", "2026-11-20T08:10:00Z",
         "--reason", "asked"),
        ("exclude", "add", "--service", "portal", "--from", "2026-11-03T10:00:00Z",
         "--to", "2026-11-03T10:30:00Z", "--reason", LONG),
        ("maintenance", "add", "--service", "search", "--from", "2026-11-04T01:00:00Z",
         "--to", "2026-11-04T02:00:00Z", "--reason", LONG),
        ("credit", "settle", "--service", "portal", "--month", "2026-10"),
    ):  # fmt: skip
        done = _cli(config, *args)
        assert done.returncode == 0, (args, done.stderr)
    return config, case


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_table_fits_100_columns_and_is_plain_when_piped(
    wide: tuple[Path, int], args: tuple[str, ...]
) -> None:
    config, case = wide
    done = _cli(config, *(a.format(long=case) for a in args))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "\x1b[" not in done.stdout  # piped: no colour
    too_wide = [line for line in done.stdout.splitlines() if len(line) > 100]
    assert not too_wide, too_wide


def test_nothing_is_lost_to_the_width(wide: tuple[Path, int]) -> None:
    """Wrapped, not cut: the long title and reason are all there, word for word."""
    config, _ = wide
    listed = _cli(config, "case", "list").stdout
    assert " ".join(LONG.split()) in " ".join(listed.split())
    assert "was critical" in listed  # the re-rating, under the row
    excluded = _cli(config, "exclude", "list").stdout
    words = " ".join(excluded.split())
    assert " ".join(LONG.split()) in words


def _on_a_terminal(
    config: Path, *args: str, env: dict[str, str], columns: int | None = None
) -> str:
    """What the CLI writes to a real pseudo-terminal (``columns`` wide, if given)."""
    master, slave = pty.openpty()
    if columns is not None:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    proc = subprocess.Popen(
        [*SLAWATCH, "--config", str(config), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal (EIO on Linux)
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(master)
        assert proc.wait(timeout=30) == 0
    return b"".join(chunks).decode()


@pytest.mark.parametrize("args", [("case", "list"), ("status",), ("report", "--month", "2026-10")])
def test_colour_on_a_terminal_none_under_no_color(
    wide: tuple[Path, int], args: tuple[str, ...]
) -> None:
    config, _ = wide
    env = {**_plain_env(), "TERM": "xterm-256color"}
    coloured = _on_a_terminal(config, *args, env=env)
    assert "\x1b[1m" in coloured  # bold headers
    plain = _on_a_terminal(config, *args, env={**env, "NO_COLOR": "1"})
    assert "\x1b[" not in plain
    # The same text, colour aside.
    stripped = coloured
    for sgr in ("\x1b[1m", "\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[0m"):
        stripped = stripped.replace(sgr, "")
    assert stripped.split() == plain.split()


@pytest.mark.parametrize(
    "args",
    [("case", "list"), ("status",), ("report", "--month", "2026-11"), ("audit",),
     ("report", "--quarter", "2026Q4"), ("exclude", "list"), ("fleet", "status")],
    ids=" ".join,
)  # fmt: skip
def test_an_80_column_terminal_gets_80_columns_piped_output_keeps_100(
    wide: tuple[Path, int], args: tuple[str, ...]
) -> None:
    """On an 80-column terminal nothing runs past the edge (where the terminal would
    cut a word in two); piped, the same command is 100 wide, whatever $COLUMNS says."""
    config, _ = wide
    env = {**_plain_env(), "TERM": "xterm-256color"}
    shown = re.sub(r"\x1b\[[0-9;]*m", "", _on_a_terminal(config, *args, env=env, columns=80))
    lines = shown.replace("\r\n", "\n").splitlines()
    assert not [line for line in lines if len(line) > 80], lines
    piped = subprocess.run(
        [*SLAWATCH, "--config", str(config), *args],
        capture_output=True, text=True, timeout=60, env={**env, "COLUMNS": "80"},
    ).stdout  # fmt: skip
    assert max(len(line) for line in piped.splitlines()) > 80
    # Narrower, nothing is lost: every word piped is on the terminal too (a folded
    # table repeats its headers and the columns naming a row).
    assert set(piped.split()) <= set(shown.split())


def test_a_state_that_needs_attention_is_coloured(wide: tuple[Path, int]) -> None:
    config, _ = wide
    env = {**_plain_env(), "TERM": "xterm-256color"}
    listed = _on_a_terminal(config, "case", "list", env=env)
    assert "\x1b[31mBREACHED" in listed  # a first response that missed its deadline: red
    # Nothing recorded since the seed's end: low coverage, provisional, in yellow.
    report = _on_a_terminal(config, "report", "--month", "2026-12", env=env)
    assert "\x1b[33mLOW COVERAGE, PROVISIONAL" in report


def test_a_time_or_a_quantity_is_never_split_across_lines() -> None:
    from slawatch.tables import wrap

    for pad in range(80, 100):
        text = "x" * pad + " due 2026-11-06 09:12Z, 25 min late, 99.5 % of 12 ms"
        lines = wrap(text, 100)
        assert all(len(line) <= 100 for line in lines)
        joined = "\n".join(lines)
        for unit in ("2026-11-06 09:12Z", "25 min", "99.5 %", "12 ms"):
            assert unit in joined, (pad, lines)
    # A quantity that ends the text or a clause: "%" is no word, so "\b" after it never
    # held there ("credit 25" on one line, "%" alone on the next).
    for pad in range(60, 80):
        for text in ("x" * pad + " credit 25 %", "x" * pad + " credit 25 %: 300 EUR"):
            assert "25 %" in "\n".join(wrap(text, 80)), (pad, text)


def test_the_fleet_is_in_the_tables_it_widens(wide: tuple[Path, int]) -> None:
    config, _ = wide
    fleet = _cli(config, "fleet", "status").stdout
    assert all(agent in fleet for agent in AGENTS), fleet
    assert "clock off by" in fleet
    status = _cli(config, "status").stdout
    assert "AGENTS" in status.splitlines()[0], status


def test_a_folded_block_repeats_what_names_a_row(wide: tuple[Path, int]) -> None:
    """At 60 columns the outages of every service fold (at 80 they fit): the block with
    REPORTED must say which outage each line is (service and start), not only the
    service."""
    config, _ = wide
    env = {**_plain_env(), "TERM": "xterm-256color", "NO_COLOR": "1"}
    shown = _on_a_terminal(config, "outages", "--month", "2026-11", env=env, columns=60)
    blocks = shown.replace("\r\n", "\n").split("\n\n")
    (reported,) = [b for b in blocks if "REPORTED" in b.splitlines()[0]]
    assert "END" not in reported.splitlines()[0], reported  # folded: a block of its own
    assert reported.splitlines()[0].split()[:2] == ["SERVICE", "START"], reported
    starts = [line.split()[1] for line in reported.splitlines()[1:] if line[:1].isalpha()]
    assert starts and all(s.startswith("2026-") for s in starts), reported


def test_claim_verify_wraps_to_an_80_column_terminal_one_statement_a_line_piped(
    wide: tuple[Path, int], tmp_path: Path
) -> None:
    """What verify says (each check, what it proves and not) fits an 80-column terminal,
    continued under its own column; piped, each statement stays on one line (grep)."""
    config, _ = wide
    bundle = tmp_path / "claim.json"
    done = _cli(config, "claim", "export", "--service", "portal", "--month", "2026-10",
                "--out", str(bundle))  # fmt: skip
    assert done.returncode == 0, done.stderr
    env = {**_plain_env(), "TERM": "xterm-256color"}
    # What export says fits the terminal too (the terminal cut it mid-word), on one
    # line piped.
    again = _on_a_terminal(config, "claim", "export", "--service", "portal", "--month",
                           "2026-10", "--out", str(bundle), env=env, columns=80)  # fmt: skip
    assert not [line for line in again.splitlines() if len(line) > 80 and " " in line], again
    assert len(done.stdout.splitlines()) == 1 and len(done.stdout) > 80
    shown = _on_a_terminal(config, "claim", "verify", str(bundle), env=env, columns=80)
    lines = shown.replace("\r\n", "\n").splitlines()
    # Only a line that is one unbreakable word (a path, a digest) may be longer.
    assert not [line for line in lines if len(line) > 80 and " " in line.strip()], lines
    piped = subprocess.run(
        [*SLAWATCH, "--config", str(config), "claim", "verify", str(bundle)],
        capture_output=True, text=True, timeout=60, env={**env, "COLUMNS": "80"},
    ).stdout  # fmt: skip
    said = next(line for line in piped.splitlines() if line.startswith("  - cases: "))
    assert len(said) > 100 and said.endswith("not the provider's ticket system")
    assert " ".join(shown.split()) == " ".join(piped.split())  # the same words


@pytest.mark.parametrize("kind", ["exclude", "maintenance"])
def test_at_80_columns_a_long_reason_goes_under_its_row_whole(
    wide: tuple[Path, int], kind: str
) -> None:
    """Too narrow for the reason beside the row, the row stays whole (one header, no
    folded second block to match up by ID) and the reason follows under it, indented,
    word for word; piped (100 columns) it is a column of its own again."""
    config, _ = wide
    env = {**_plain_env(), "TERM": "xterm-256color", "NO_COLOR": "1"}
    shown = _on_a_terminal(config, kind, "list", env=env, columns=80).replace("\r\n", "\n")
    lines = shown.split("\n\n")[0].splitlines()  # the one-off windows (not the weekly ones)
    assert lines[0].split() == ["ID", "SERVICE", "FROM", "TO", "MINUTES"]
    assert lines[1] == "    REASON"  # under the header, as the reasons are under the rows
    assert [line for line in lines if line.startswith("ID")] == [lines[0]]  # not folded
    assert max(map(len, lines)) <= 80
    under = [line for line in lines[2:] if line.startswith("    ")]
    assert " ".join(LONG.split()) in " ".join(" ".join(under).split())
    piped = _cli(config, kind, "list").stdout.splitlines()
    assert piped[0].split()[-1] == "REASON"


def test_markdown_is_never_wrapped_or_folded(wide: tuple[Path, int]) -> None:
    """``--format md`` is pasted where a renderer lays it out: every table whole, one
    row a line past 100 columns, the same bytes on an 80-column terminal as piped; a
    sentence after a table is set apart by a blank line (else it is one more row)."""
    config, _ = wide
    args = ("report", "--month", "2026-11", "--format", "md")
    piped = _cli(config, *args).stdout
    env = {**_plain_env(), "TERM": "xterm-256color"}
    shown = _on_a_terminal(config, *args, env=env, columns=80).replace("\r\n", "\n")
    assert shown == piped
    lines = piped.splitlines()
    assert max(map(len, lines)) > 100
    tables = [line for line in lines if line.startswith("| SERVICE |")]
    heads = [line.split(" | ") for line in tables]
    assert heads[0][:3] == ["| SERVICE", "MONTH", "AVAILABILITY"] and "MEASURED |" in heads[0]
    assert sum("PRIORITY" in h for h in heads) == 1  # the performance table: one, 16 columns
    assert next(h for h in heads if "PRIORITY" in h)[-1] == "RCA DONE |"
    for n, line in enumerate(lines):
        if line.startswith("|") and n + 1 < len(lines):
            assert lines[n + 1].startswith("|") or lines[n + 1] == "", lines[n + 1]
    assert "REPORTED: minutes of the outages reported" in piped


def test_what_a_write_says_fits_an_80_column_terminal(wide: tuple[Path, int]) -> None:
    """``maintenance add`` / ``remove`` and ``credit settle`` say what they did in a
    sentence that wraps to the terminal (an 80-column one cut the reason mid-word),
    continued indented; piped, one line (grep)."""
    config, _ = wide
    env = {**_plain_env(), "TERM": "xterm-256color"}
    window = ("--service", "mail", "--from", "2026-11-05T01:00:00Z",
              "--to", "2026-11-05T02:00:00Z", "--reason", LONG)  # fmt: skip

    def said(*args: str) -> list[str]:
        lines = _on_a_terminal(config, *args, env=env, columns=80).replace("\r\n", "\n")
        shown = [line for line in lines.splitlines() if line.strip()]
        assert shown and max(map(len, shown)) <= 80, shown
        assert all(line.startswith("  ") for line in shown[1:]), shown
        return shown

    added = said("maintenance", "add", *window)
    assert " ".join(LONG.split()) in " ".join(" ".join(added).split())
    listed = json.loads(_cli(config, "maintenance", "list", "--json").stdout)
    (made,) = [w for w in listed if w["from"] == "2026-11-05T01:00:00Z"]
    assert len(said("maintenance", "remove", str(made["id"]))) > 1
    said("credit", "settle", "--service", "portal", "--month", "2026-10")
    again = _cli(config, "maintenance", "add", *window)
    assert again.returncode == 0 and len(again.stdout.splitlines()) == 1
    listed = json.loads(_cli(config, "maintenance", "list", "--json").stdout)
    (made,) = [w for w in listed if w["from"] == "2026-11-05T01:00:00Z"]
    assert _cli(config, "maintenance", "remove", str(made["id"])).returncode == 0


def test_open_cases_leave_out_resolved_and_fit_80_columns(wide: tuple[Path, int]) -> None:
    """``case list --open`` (and a case just opened) has no RESOLVED column of dashes:
    each row fits an 80-column terminal whole, not folded into a second block."""
    config, _ = wide
    env = {**_plain_env(), "TERM": "xterm-256color", "NO_COLOR": "1"}
    shown = _on_a_terminal(config, "case", "list", "--open", env=env, columns=80)
    lines = shown.replace("\r\n", "\n").splitlines()
    heads = [line for line in lines if line.startswith("ID")]
    assert heads == [lines[0]], lines  # one block
    assert lines[0].split()[-2:] == ["DUE", "RESPONDED"]
    assert max(map(len, lines)) <= 80
    every = _cli(config, "case", "list").stdout.splitlines()[0]
    assert every.split()[-1] == "RESOLVED"  # the seed's resolved cases are listed there


def test_a_warning_wraps_to_the_terminal_it_is_written_to(tmp_path: Path) -> None:
    """An exclusion over minutes already recorded down warns on stderr; on an 80-column
    terminal the warning is wrapped (the terminal cut a time in two), continued
    indented; piped, it stays one line."""
    config = write_config(tmp_path, "http://127.0.0.1:9")
    csv = tmp_path / "down.csv"
    csv.write_text(
        "service,minute,status\n"
        + "".join(f"portal,2026-11-03T10:{m:02d}:00Z,down\n" for m in range(10))
    )
    assert _cli(config, "import", "minutes", str(csv)).returncode == 0
    env = {**_plain_env(), "TERM": "xterm-256color", "NO_COLOR": "1"}
    span = ("--service", "portal", "--from", "2026-11-03T10:00:00Z",
            "--to", "2026-11-03T10:10:00Z", "--reason", "a firewall change")  # fmt: skip
    shown = _on_a_terminal(config, "exclude", "add", *span, env=env, columns=80)
    lines = shown.replace("\r\n", "\n").splitlines()
    warned = [n for n, line in enumerate(lines) if line.startswith("slawatch: warning:")]
    assert warned and lines[warned[0] + 1].startswith("  "), lines
    assert max(map(len, lines)) <= 80, lines
    assert "2026-11-03 10:00Z to 2026-11-03 10:10Z" in " ".join(shown.split())
    removed = _cli(config, "exclude", "list", "--json").stdout
    assert _cli(config, "exclude", "remove", str(json.loads(removed)[0]["id"])).returncode == 0
    piped = _cli(config, "exclude", "add", *span)
    assert piped.returncode == 0 and len(piped.stderr.splitlines()) == 1
