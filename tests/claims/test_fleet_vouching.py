"""A fleet's bundle vouched for by each agent (#15 Show): three agents, three keys.

Three sources (agents ``a``, ``b``, ``c``) record the same service; each agent
signs its own checkpoint with its own key, and the provider keeps the notes.
``claim verify`` given the three public keys and the notes says every source is
vouched for by its own agent; with one key removed, it names the source that no
longer is (exit 1); after a source's history is rewritten and re-sealed, it
names that source as rewritten although the chain itself holds.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from slawatch.cli import main
from tests import configs

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
AGENTS = ("a", "b", "c")


def _csv(path: Path, down_from: int, down_to: int) -> Path:
    """Oct 10 09:00-11:59, down from minute ``down_from`` to ``down_to`` (of 180)."""
    rows = ["service,minute,status"]
    for i in range(180):
        status = "down" if down_from <= i < down_to else "up"
        rows.append(f"portal,2026-10-10T{9 + i // 60:02d}:{i % 60:02d}:00Z,{status}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _cli(config: Path, *args: object) -> int:
    return main(["--config", str(config), *map(str, args)], clock=lambda: NOW)


@pytest.fixture
def fleet(tmp_path: Path) -> tuple[Path, dict[str, Path], dict[str, Path]]:
    """(config, each agent's public key, each agent's checkpoint note held by the provider)."""
    config = tmp_path / "config.toml"
    config.write_text(
        configs.toml(
            storage="data/slawatch.db",
            contracts=[configs.contract("std")],
            services=[configs.service("portal")],
        ),
        encoding="utf-8",
    )
    csv = _csv(tmp_path / "m.csv", 30, 60)
    pubs, notes = {}, {}
    for name in AGENTS:
        assert _cli(config, "import", "minutes", csv, "--source", name) == 0
        key = tmp_path / "keys" / f"{name}.key"
        assert _cli(config, "key", "init", "--out", key) == 0
        pubs[name] = tmp_path / "keys" / f"{name}.key.pub"
        notes[name] = tmp_path / "held" / f"heads-{name}.txt"
        notes[name].parent.mkdir(exist_ok=True)
        assert _cli(config, "checkpoint", "make", "--name", name, "--key", key,
                    "--out", notes[name]) == 0  # fmt: skip
    return config, pubs, notes


def _export(config: Path, out: Path) -> Path:
    key = config.parent / "keys" / "a.key"
    assert _cli(config, "claim", "export", "--service", "portal", "--month", "2026-10",
                "--out", out, "--sign", key) == 0  # fmt: skip
    return out


def _verify(bundle: Path, keys: list[Path], notes: list[Path]) -> int:
    args: list[object] = ["claim", "verify", bundle]
    for k in keys:
        args += ["--key", k]
    for n in notes:
        args += ["--checkpoint", n]
    return main(list(map(str, args)))


def test_all_three_keys_vouch_for_every_source_and_one_removed_is_named(
    fleet: tuple[Path, dict[str, Path], dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, pubs, notes = fleet
    bundle = _export(config, tmp_path / "claim.json")
    capsys.readouterr()
    assert _verify(bundle, list(pubs.values()), list(notes.values())) == 0
    out = capsys.readouterr().out
    for name in AGENTS:
        assert f"checkpoint {name}" in out
        assert f"Source {name}: vouched for by its agent '{name}' up to the hour " \
            "2026-10-10T11:00:00Z." in out  # fmt: skip
    assert "no source carries a signature of its own agent" not in out
    assert "HOLDS: all" in out

    # The provider no longer trusts c's key: c's note is not counted, c is named.
    assert _verify(bundle, [pubs["a"], pubs["b"]], list(notes.values())) == 1
    out = capsys.readouterr().out
    assert "heads-c.txt: signed by 'c', with none of the keys given: not counted" in out
    assert "Source c: NOT VOUCHED FOR" in out
    assert "Source a: vouched for" in out and "Source b: vouched for" in out
    differs = [line for line in out.splitlines() if "DIFFERS" in line]
    assert len(differs) == 1 and differs[0].startswith("checkpoint c")


def test_a_rewritten_and_resealed_source_is_named(
    fleet: tuple[Path, dict[str, Path], dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, pubs, notes = fleet
    # b's history rewritten: its outage shortened, its chain re-sealed from genesis.
    with sqlite3.connect(config.parent / "data" / "slawatch.db") as db:
        (b,) = db.execute("SELECT id FROM sources WHERE name = 'b'").fetchone()
        for table in ("minute_blocks", "minute_errors", "chain_seals"):
            db.execute(f"DELETE FROM {table} WHERE source_id = ?", (b,))
    assert _cli(config, "import", "minutes", _csv(tmp_path / "m2.csv", 30, 40),
                "--source", "b") == 0  # fmt: skip
    # The store's own trail names it too: the re-import found no seal where the
    # trail had logged b's hours (deleted behind slawatch's back).
    assert _cli(config, "store", "verify") == 1
    said = capsys.readouterr().out
    assert (
        "portal/b hour 2026-10-10T09:00:00Z was changed outside slawatch before this"
        " write (it found no seal where entry #2 had logged the hour)" in said
    ), said
    bundle = _export(config, tmp_path / "claim.json")
    capsys.readouterr()
    assert _verify(bundle, list(pubs.values()), list(notes.values())) == 1
    out = capsys.readouterr().out
    differs = [line for line in out.splitlines() if "DIFFERS" in line]
    assert len(differs) == 1 and differs[0].startswith("checkpoint b"), out
    assert "REWRITTEN: its link at 2026-10-10T11:00:00Z is not the one its agent signed" in out
    assert "chain b" not in "".join(differs)  # the chain itself holds: only the note says


def test_checkpoints_need_keys(
    fleet: tuple[Path, dict[str, Path], dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, _, notes = fleet
    bundle = _export(config, tmp_path / "claim.json")
    capsys.readouterr()
    assert _verify(bundle, [], [notes["a"]]) == 2
    assert "--checkpoint: needs --key" in capsys.readouterr().err


def test_one_agents_key_does_not_vouch_for_another(
    fleet: tuple[Path, dict[str, Path], dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A checkpoint for agent b made with a's key: not counted by claim verify (b is then
    not vouched for), refused by checkpoint verify (exit 2), whatever name it is signed in."""
    config, pubs, notes = fleet
    forged = tmp_path / "held" / "heads-b-by-a.txt"
    assert _cli(config, "checkpoint", "make", "--name", "b", "--key",
                config.parent / "keys" / "a.key", "--out", forged) == 0  # fmt: skip
    bundle = _export(config, tmp_path / "claim.json")
    capsys.readouterr()
    assert _verify(bundle, list(pubs.values()), [notes["a"], notes["c"], forged]) == 1
    out = capsys.readouterr().out
    assert "heads-b-by-a.txt: signed as 'b' with the key of 'a': a key signs only for its " \
        "own agent: not counted" in out  # fmt: skip
    assert "Source b: NOT VOUCHED FOR" in out
    keys = [arg for k in pubs.values() for arg in ("--key", str(k))]
    assert _cli(config, "checkpoint", "verify", *keys, forged) == 2
    assert "signed as 'b' with the key of 'a'" in capsys.readouterr().err
    # Named explicitly (NAME=FILE), a's key given as b's own is not a's any more.
    assert _cli(config, "checkpoint", "verify", "--key", f"b={pubs['a']}", forged) == 0
    assert _cli(config, "checkpoint", "verify", "--key", f"a={pubs['a']}", forged) == 2


def test_each_source_is_vouched_for_by_its_own_key_inside_the_bundle(
    fleet: tuple[Path, dict[str, Path], dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The bundle carries each agent's own signed note (--vouch): with the three public
    keys alone (no notes held apart) every source is vouched for by its own agent's key;
    without c's key, c is named; a carried note changed does not count."""
    import json

    config, pubs, notes = fleet
    out = tmp_path / "claim.json"
    vouch = [arg for n in notes.values() for arg in ("--vouch", n)]
    assert _cli(config, "claim", "export", "--service", "portal", "--month", "2026-10",
                "--out", out, "--sign", config.parent / "keys" / "a.key", *vouch) == 0  # fmt: skip
    assert len(json.loads(out.read_text(encoding="utf-8"))["vouching"]) == 3
    capsys.readouterr()
    assert _verify(out, list(pubs.values()), []) == 0
    said = capsys.readouterr().out
    for name in AGENTS:
        assert f"Source {name}: vouched for by its agent '{name}' up to the hour" in said
    assert _verify(out, [pubs["a"], pubs["b"]], []) == 1
    said = capsys.readouterr().out
    assert (
        "claim.json: vouching[2]: signed by 'c', with none of the keys given: not counted" in said
    )
    assert "Source c: NOT VOUCHED FOR" in said
    assert _verify(out, [], []) == 0  # no keys: the notes cannot be checked, and it says so
    said = capsys.readouterr().out
    assert "vouching: 3 signed note(s) carried; give each agent's public key" in said
    # ...and the statement does not deny they are there (it said 'no source carries a
    # signature of its own agent'), nor does the letter made from the bundle alone.
    carried = "the bundle carries 3 note(s) signed by the agents themselves, not checked here"
    assert carried in said and "no source carries" not in said
    assert _cli(config, "claim", "letter", out, "--out", tmp_path / "letter.md") == 0
    letter = (tmp_path / "letter.md").read_text(encoding="utf-8")
    assert carried in letter and "no source carries" not in letter
    # The letter says the minutes come from three vantage points, decided by majority.
    assert "by slawatch from 3 vantage points (a, b, c), each probing on its own; a minute" \
        " counts as down only when more than half of those that recorded it saw it down" \
        in " ".join(letter.split())  # fmt: skip

    document = json.loads(out.read_text(encoding="utf-8"))
    del document["signature"]
    document["vouching"][1] = document["vouching"][1].replace("\ntime 2026-", "\ntime 2025-", 1)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(document), encoding="utf-8")
    assert _verify(forged, list(pubs.values()), []) == 1
    said = capsys.readouterr().out
    assert "forged.json: vouching[1]: the signature of 'b' does not hold: not counted" in said
    assert "Source b: NOT VOUCHED FOR" in said
    assert _cli(config, "claim", "export", "--service", "portal", "--month", "2026-10",
                "--out", out, "--vouch", config) == 2  # fmt: skip


def test_hours_recorded_after_the_note_are_counted_in_plain_words(
    fleet: tuple[Path, dict[str, Path], dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One hour after the note was 'the 1 sealed hours after it are not'."""
    config, pubs, notes = fleet
    later = tmp_path / "later.csv"
    later.write_text("service,minute,status\nportal,2026-10-10T12:00:00Z,up\n", encoding="utf-8")
    assert _cli(config, "import", "minutes", later, "--source", "a") == 0
    bundle = _export(config, tmp_path / "claim.json")
    capsys.readouterr()
    assert _verify(bundle, list(pubs.values()), list(notes.values())) == 0
    out = capsys.readouterr().out
    assert "Source a: vouched for by its agent 'a' up to the hour 2026-10-10T11:00:00Z;" \
        " the sealed hour after it is not." in out, out  # fmt: skip
    assert "1 sealed hours" not in out


def test_the_minutes_of_several_sources_are_said_to_be_added_up(
    fleet: tuple[Path, dict[str, Path], dict[str, Path]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Found reading a fleet's claim: 'from the 540 minutes the bundle records in the
    period' for three agents' 180 minutes each, as if 540 minutes had been measured."""
    config, _, _ = fleet
    bundle = _export(config, tmp_path / "claim.json")
    capsys.readouterr()
    assert main(["claim", "verify", str(bundle)]) == 0
    out = capsys.readouterr().out
    assert "from the 540 minutes the bundle records in the period (its 3 sources' added up" in out
    # A vendor manager reading a fleet's claim learns how three agents make one minute
    # (it said nothing of it: the README's verify section was about one agent).
    assert "each minute is what more than half of the sources that recorded it saw" in out
