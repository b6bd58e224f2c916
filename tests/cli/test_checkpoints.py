"""Checkpoints held by someone else (issue 15 item 5): a rewritten history contradicts them.

A real agent process sends its signed heads to a webhook on loopback (the
auditor's); the history is then rewritten behind slawatch's back in a way the
store's own checks accept (chains deleted and re-sealed from genesis by a
fresh import): ``store verify`` still says OK, ``checkpoint verify`` with the
notes the auditor holds says where the history changed.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from core import checkpoint, merkle
from core.errors import InputError
from tests import configs
from tests.cli.common import assert_user_error
from tests.loopback import QuietHandler, serve

if TYPE_CHECKING:
    from tests.conftest import RunCli

REPO = Path(__file__).resolve().parents[2]
AT = datetime(2026, 12, 6, 21, 0, tzinfo=UTC)


def _head(
    service: str = "portal", hour: int = 498_000, link: bytes = b"\1" * 32
) -> checkpoint.Head:
    return checkpoint.Head(service, "paris 1", hour, link)


def test_a_note_round_trips_and_a_changed_byte_breaks_its_signature() -> None:
    key = Ed25519PrivateKey.generate()
    leaves = [merkle.leaf_hash(b"entry %d" % i) for i in range(5)]
    made = checkpoint.make("paris 1", leaves, [_head("web shop"), _head()], AT)
    note = checkpoint.sign(made, "paris 1", key)
    assert note.startswith("slawatch/paris 1\n5\n")
    assert "chain web%20shop paris%201 498000 " in note  # names cannot split a line
    other = ("lyon-1", Ed25519PrivateKey.generate().public_key())
    signed = checkpoint.open_note(note, "n.txt", [other, ("paris 1", key.public_key())])
    assert signed.signer == "paris 1"
    assert signed.checkpoint == made
    assert [h.service for h in signed.checkpoint.heads] == ["portal", "web shop"]
    forged = note.replace("\n5\n", "\n4\n", 1)
    with pytest.raises(InputError, match="does not hold"):
        checkpoint.open_note(forged, "n.txt", [("paris 1", key.public_key())])
    with pytest.raises(InputError, match="none of the keys"):
        checkpoint.open_note(note, "n.txt", [other])
    with pytest.raises(InputError, match="not a slawatch checkpoint"):
        checkpoint.open_note("hello\n\n— x AAAA\n", "n.txt", [("x", key.public_key())])


def test_a_key_vouches_only_for_the_agent_it_is_bound_to() -> None:
    """Agent A's key cannot vouch for agent B: neither signing in B's name nor
    signing, in its own name, a note about B's chains."""
    a, b = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    keys = [("a", a.public_key()), ("b", b.public_key())]
    heads_b = [checkpoint.Head("portal", "b", 498_000, b"\2" * 32)]
    for_b = checkpoint.make("b", [], heads_b, AT)
    assert checkpoint.open_note(checkpoint.sign(for_b, "b", b), "n.txt", keys).signer == "b"
    # A's key, signing in B's name: the key id is A's, the verifier holds it for 'a' only.
    with pytest.raises(checkpoint.UnknownSigner, match="signed as 'b' with the key of 'a'"):
        checkpoint.open_note(checkpoint.sign(for_b, "b", a), "n.txt", keys)
    # A's key in its own name over B's heads (and B's origin): it speaks for B.
    with pytest.raises(checkpoint.UnknownSigner, match="signed by 'a' but speaks for 'b'"):
        checkpoint.open_note(checkpoint.sign(for_b, "a", a), "n.txt", keys)
    as_a = checkpoint.make("a", [], heads_b, AT)  # origin 'a', a chain of source 'b'
    with pytest.raises(checkpoint.UnknownSigner, match="speaks for 'b'"):
        checkpoint.open_note(checkpoint.sign(as_a, "a", a), "n.txt", keys)
    # A key given for 'a' is not trusted for 'b' even when it is B's own key material.
    with pytest.raises(checkpoint.UnknownSigner):
        checkpoint.open_note(checkpoint.sign(for_b, "b", b), "n.txt", [("a", b.public_key())])


def test_an_append_only_history_agrees_and_a_rewritten_one_is_named() -> None:
    leaves = [merkle.leaf_hash(b"entry %d" % i) for i in range(5)]
    held = checkpoint.make("a", leaves[:3], [_head()], AT)
    links = {("portal", "paris 1", 498_000): b"\1" * 32}
    assert checkpoint.contradictions(held, leaves, links) == []  # the trail only grew
    edited = [*leaves[:1], merkle.leaf_hash(b"other"), *leaves[2:]]
    (c,) = checkpoint.contradictions(held, edited, links)
    assert c.where == "audit trail" and "first 3 entries" in c.what
    (c,) = checkpoint.contradictions(held, leaves[:2], links)
    assert "fewer than the 3" in c.what
    (c,) = checkpoint.contradictions(held, leaves, {("portal", "paris 1", 498_000): b"\2" * 32})
    assert c.where == "chain portal/paris 1" and "rewritten at or before" in c.what
    (c,) = checkpoint.contradictions(held, leaves, {})
    assert "is gone" in c.what


class _Receiver(QuietHandler):
    """The auditor's webhook: keeps every note POSTed to it."""

    notes: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).notes.append(body.decode())
        self.answer(204, b"")


@pytest.fixture
def auditor() -> Iterator[tuple[int, list[str]]]:
    notes: list[str] = []
    handler = type("Receiver", (_Receiver,), {"notes": notes})
    with serve(handler) as port:
        yield port, notes


def test_an_agent_sends_signed_heads_that_a_rewrite_contradicts(
    tmp_path: Path, run_cli: RunCli, http_port: int, auditor: tuple[int, list[str]]
) -> None:
    port, notes = auditor
    config = tmp_path / "config.toml"
    config.write_text(
        configs.toml(
            storage="data/s.db",
            agent=configs.agent(
                "paris-1",
                checkpoint={
                    "webhook": f"http://127.0.0.1:{port}/heads",
                    "interval": "1s",
                    "key": "keys/paris-1.key",  # outside the database's folder
                },
            ),
            contracts=[configs.contract("std")],
            services=[configs.service("portal", probe=configs.probe(
                f"http://127.0.0.1:{http_port}/health", interval="5s", timeout="2s", retries=0))],
        ),
        encoding="utf-8",
    )  # fmt: skip
    cfg = ("--config", config)
    # No key yet: the agent refuses to start, naming the key (exit 2).
    missing = run_cli(*cfg, "agent", "--once")
    assert missing.returncode == 2 and "agent.checkpoint.key" in missing.stderr, missing.stderr
    key = tmp_path / "keys" / "paris-1.key"
    assert run_cli(*cfg, "key", "init", "--out", key).returncode == 0
    pub = tmp_path / "keys" / "paris-1.key.pub"

    def record(second_minute: str) -> None:
        """Three minutes of two hours, as paris-1's records (a fresh import each time)."""
        csv = tmp_path / f"m-{second_minute}.csv"
        csv.write_text(
            "service,minute,status\nportal,2026-11-02T10:00:00Z,up\n"
            f"portal,2026-11-02T10:01:00Z,{second_minute}\nportal,2026-11-02T11:05:00Z,up\n",
            encoding="utf-8",
        )
        result = run_cli(*cfg, "import", "minutes", csv, "--source", "paris-1")
        assert result.returncode == 0, result.stderr

    # Recorded earlier, so the agent's first note has chains to vouch for.
    record("down")

    agent = subprocess.Popen(
        [sys.executable, "-m", "slawatch", *map(str, cfg), "agent"],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(notes) < 2 and time.monotonic() < deadline and agent.poll() is None:
            time.sleep(0.1)
    finally:
        agent.send_signal(signal.SIGTERM)
        _, err = agent.communicate(timeout=30)
    assert agent.returncode == 0, err
    assert len(notes) >= 2, err  # one at start, one a second later
    held = []
    for n, note in enumerate(notes):
        path = tmp_path / f"heads-{n}.txt"
        path.write_text(note, encoding="utf-8")
        held.append(path)
    assert "chain portal paris-1 " in notes[0]

    ok = run_cli(*cfg, "checkpoint", "verify", "--key", pub, *held)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count(": OK\n") == len(held)

    # The customer rewrites the history: the down minute becomes up, every chain is
    # re-sealed from its genesis by a fresh import. The chains hold; the trail's
    # minute log names the hour the import found deleted...
    with sqlite3.connect(tmp_path / "data" / "s.db") as db:
        db.execute("DELETE FROM minute_blocks")
        db.execute("DELETE FROM minute_errors")
        db.execute("DELETE FROM chain_seals")
    record("up")
    verified = run_cli(*cfg, "store", "verify")
    assert verified.returncode == 1, verified.stdout
    assert "was changed outside slawatch before this write (it found no seal" in verified.stdout
    # ... and so do the notes the auditor holds (a trail re-hashed too would hold alone).
    bad = run_cli(*cfg, "checkpoint", "verify", "--key", pub, *held)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "CONTRADICTED" in bad.stdout
    assert "chain portal/paris-1: " in bad.stdout


def test_checkpoint_commands_refuse_bad_input_in_one_line(tmp_path: Path, run_cli: RunCli) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        configs.toml(storage="data/s.db", contracts=[configs.contract("std")],
                     services=[configs.service("portal")]),
        encoding="utf-8",
    )  # fmt: skip
    cfg = ("--config", config)
    xdg = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}  # where key init puts the agent's key
    assert run_cli(*cfg, "key", "init", env=xdg).returncode == 0
    pub = tmp_path / "xdg" / "slawatch" / "keys" / "agent.key.pub"
    made = run_cli(*cfg, "checkpoint", "make", env=xdg)
    assert made.returncode == 0 and made.stdout.startswith("slawatch/agent\n0\n"), made.stderr
    note = tmp_path / "n.txt"
    note.write_text(made.stdout.replace("\n0\n", "\n1\n", 1), encoding="utf-8")
    assert_user_error(run_cli(*cfg, "checkpoint", "verify", "--key", pub, note), "does not hold")
    note.write_text("garbage", encoding="utf-8")
    assert_user_error(run_cli(*cfg, "checkpoint", "verify", "--key", pub, note), "n.txt")
    note.write_bytes(b"\xb4\x00 binary")  # named as not text, not with Python's codec words
    assert_user_error(
        run_cli(*cfg, "checkpoint", "verify", "--key", pub, note), "n.txt: not UTF-8 text (byte 0)"
    )
    assert_user_error(
        run_cli(*cfg, "checkpoint", "verify", "--key", pub, tmp_path / "nope.txt"), "nope.txt"
    )
    assert_user_error(run_cli(*cfg, "checkpoint", "make", "--send"), "--send")
    assert_user_error(run_cli(*cfg, "checkpoint", "make", "--key", tmp_path / "nokey"), "nokey")
    # [agent.checkpoint] is checked like every key: a webhook is required, interval <= 1h.
    config.write_text(
        config.read_text(encoding="utf-8")
        + '\n[agent]\n[agent.checkpoint]\nwebhook = "http://127.0.0.1:9/h"\ninterval = "2h"\n',
        encoding="utf-8",
    )
    assert_user_error(run_cli(*cfg, "config", "check"), "agent.checkpoint.interval")


def test_a_checkpoint_signs_complete_hours_only_so_later_minutes_never_contradict_it(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """A note made mid-hour signed that hour's seal, which the next minute rewrites: an
    honest store was then 'CONTRADICTED' by every note an agent had sent (it makes one
    at start and one per interval, neither on an hour's end), and a claim bundle
    carrying it (--vouch) said 'REWRITTEN'. Now a note vouches for complete hours only:
    ended SETTLE_MINUTES ago, and before the oldest minute the agent still holds."""
    import asyncio

    from agent.checkpoints import SETTLE_MINUTES, make_note
    from core.configfile import load_config
    from slawatch.signing import load_private

    config_path = tmp_path / "config.toml"
    config_path.write_text(
        configs.toml(
            storage="data/s.db",
            contracts=[configs.contract("std")],
            services=[configs.service("portal")],
        ),
        encoding="utf-8",
    )
    cfg = ("--config", config_path)
    key_path = tmp_path / "keys" / "paris-1.key"
    assert run_cli(*cfg, "key", "init", "--out", key_path).returncode == 0
    key = load_private(key_path)
    config = load_config(config_path)

    def record(*minutes: str) -> None:
        csv = tmp_path / f"m{len(list(tmp_path.glob('m*.csv')))}.csv"
        rows = "".join(f"portal,2026-11-02T{m}:00Z,up\n" for m in minutes)
        csv.write_text("service,minute,status\n" + rows, encoding="utf-8")
        done = run_cli(*cfg, "import", "minutes", csv, "--source", "paris-1")
        assert done.returncode == 0, done.stderr

    def note(at: str, unsettled_from: int | None = None) -> str:
        when = datetime.fromisoformat(f"2026-11-02T{at}+00:00")
        return asyncio.run(make_note(config, "paris-1", key, lambda: when, unsettled_from))

    hour10, hour11 = 498_226, 498_227  # UTC epoch hours of 2026-11-02T10:00Z and 11:00Z
    record("10:00", "10:01", "11:05")
    mid_hour = note("11:06:30")  # the agent's note at its start, mid-hour
    assert f"chain portal paris-1 {hour10} " in mid_hour and f" {hour11} " not in mid_hour
    held = tmp_path / "heads-mid.txt"
    held.write_text(mid_hour, encoding="utf-8")
    record("11:06", "11:07")  # the agent goes on recording the hour
    ok = run_cli(*cfg, "checkpoint", "verify", "--key", f"{key_path}.pub", held)
    assert ok.returncode == 0 and ": OK" in ok.stdout, ok.stdout + ok.stderr
    # The hour is signed once it ended SETTLE_MINUTES ago (its last minute written).
    assert f" {hour11} " not in note(f"12:{SETTLE_MINUTES - 1:02d}:59")
    assert f"chain portal paris-1 {hour11} " in note(f"12:{SETTLE_MINUTES:02d}:00")
    # A minute of hour 10 the agent still holds (a backlog): hour 10 is not signed yet.
    waiting = note("12:30:00", unsettled_from=hour10 * 60 + 30)
    assert "chain portal" not in waiting


def test_checkpoint_make_says_when_no_hour_is_complete_yet(
    tmp_path: Path, run_cli: RunCli, capsys: pytest.CaptureFixture[str]
) -> None:
    """A note made in an agent's first hour signs no chain: 'checkpoint make' says so
    and when the first hour will be signed, rather than a bare '(0 chain heads)'."""
    from slawatch.cli import main

    config = tmp_path / "config.toml"
    config.write_text(
        configs.toml(storage="data/s.db", contracts=[configs.contract("std")],
                     services=[configs.service("portal")]),
        encoding="utf-8",
    )  # fmt: skip
    csv = tmp_path / "m.csv"
    csv.write_text("service,minute,status\nportal,2026-11-02T11:05:00Z,up\n", encoding="utf-8")
    assert (
        run_cli("--config", config, "import", "minutes", csv, "--source", "paris-1").returncode == 0
    )
    key = tmp_path / "keys" / "paris-1.key"
    assert run_cli("--config", config, "key", "init", "--out", key).returncode == 0

    def make(at: datetime) -> str:
        capsys.readouterr()
        args = ["--config", str(config), "checkpoint", "make", "--name", "paris-1",
                "--key", str(key), "--out", str(tmp_path / "heads.txt")]  # fmt: skip
        assert main(args, clock=lambda: at) == 0
        return capsys.readouterr().err

    early = make(datetime(2026, 11, 2, 11, 30, tzinfo=UTC))
    assert "no complete hour of the chains of 'paris-1' yet" in early
    assert "(the next from 2026-11-02T12:02Z)" in early and early.count("\n") == 1
    assert make(datetime(2026, 11, 2, 12, 2, tzinfo=UTC)) == ""
    assert "chain portal paris-1 " in (tmp_path / "heads.txt").read_text(encoding="utf-8")


def test_one_config_for_a_fleet_each_agent_finds_its_own_key_in_the_key_folder(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """[agent.checkpoint] key named one file, so a fleet's one config could not give each
    server's agent its own key (the default, ~/.config, does not exist for a system user
    under systemd). A folder now holds each agent's NAME.key. config check tries the key
    the agent would load (it said ok, and the agent then refused to start)."""
    keys = tmp_path / "keys"
    config = tmp_path / "config.toml"
    config.write_text(
        configs.toml(
            storage="data/s.db",
            agent=configs.agent(
                "paris-1", checkpoint={"webhook": "http://127.0.0.1:9/heads", "key": "keys"}
            ),
            contracts=[configs.contract("std")],
            services=[configs.service("portal", probe=configs.probe("http://127.0.0.1:9/"))],
        ),
        encoding="utf-8",
    )
    csv = tmp_path / "m.csv"
    csv.write_text("service,minute,status\nportal,2026-11-02T10:00:00Z,up\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "SLAWATCH_AGENT_NAME"}
    for name in ("paris-1", "lyon-1"):
        done = run_cli("--config", config, "import", "minutes", csv, "--source", name)
        assert done.returncode == 0, done.stderr
    keys.mkdir()
    missing = run_cli("--config", config, "config", "check", env=env)
    assert_user_error(missing, "agent.checkpoint.key: cannot read the key", "paris-1.key")
    for name in ("paris-1", "lyon-1"):
        assert (
            run_cli("--config", config, "key", "init", "--out", keys / f"{name}.key").returncode
            == 0
        )
    assert run_cli("--config", config, "config", "check", env=env).returncode == 0
    held = []
    for name in ("paris-1", "lyon-1"):
        out = tmp_path / f"heads-{name}.txt"
        made = run_cli("--config", config, "checkpoint", "make", "--name", name, "--out", out)
        assert made.returncode == 0, made.stderr
        assert out.read_text(encoding="utf-8").startswith(f"slawatch/{name}\n")
        held.append(out)
    ok = run_cli(
        "--config", config, "checkpoint", "verify",
        "--key", keys / "paris-1.key.pub", "--key", keys / "lyon-1.key.pub", *held,
    )  # fmt: skip
    assert ok.returncode == 0 and ok.stdout.count(": OK\n") == 2, ok.stdout + ok.stderr
    # $SLAWATCH_AGENT_NAME picks the key config check tries, as it picks the agent's.
    (keys / "lyon-1.key").unlink()
    lyon = run_cli(
        "--config", config, "config", "check", env={**env, "SLAWATCH_AGENT_NAME": "lyon-1"}
    )
    assert_user_error(lyon, "agent.checkpoint.key", "lyon-1.key")
