"""An adversarial review of the edges of the records (``chain.before``, ``chain.after``):
honest bundles that must hold against what their verifier holds later, through the
real CLI from a real store.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core import bundle as bundle_file
from core.checkpoint import Checkpoint, Head, Signed, read_note, sign
from core.proof import next_hour_checks
from slawatch.cli import main
from slawatch.signing import load_private
from tests import configs
from tests.conftest import run_cli


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[arg-type,misc]


def _csv(path: Path, start: datetime, end: datetime, down: tuple[datetime, datetime]) -> Path:
    rows = ["service,minute,status"]
    t = start
    while t < end:
        rows.append(f"shop,{t:%Y-%m-%dT%H:%MZ},{'down' if down[0] <= t < down[1] else 'up'}")
        t += timedelta(minutes=1)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


class World:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.keys = folder / "keys"
        self.data = folder / "data"
        self.data.mkdir()
        self.config = self.data / "config.toml"
        self.config.write_text(
            configs.toml(
                storage="s.db",
                contracts=[configs.contract("std")],
                services=[configs.service("shop", "std", "1000.00")],
            ),
            encoding="utf-8",
        )
        self.key = self.keys / "agent.key"

    def cli(self, now: datetime, *args: object) -> int:
        return main(["--config", str(self.config), *map(str, args)], clock=lambda: now)

    def checkpoint(self, now: datetime, name: str) -> Path:
        out = self.folder / name
        assert self.cli(now, "checkpoint", "make", "--name", "agent", "--key", self.key,
                        "--out", out) == 0  # fmt: skip
        return out

    def verify(self, bundle: Path, *notes: Path) -> int:
        args: list[object] = ["claim", "verify", bundle, "--key", f"{self.key}.pub"]
        for note in notes:
            args += ["--checkpoint", note]
        return main(list(map(str, args)))


def test_no_next_hour_holds_against_a_checkpoint_signed_after_the_bundle(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """October ends on an outage and the agent records nothing after it: the bundle,
    made on 2 Nov, says no sealed hour follows (``chain.after`` null). The agent comes
    back on 5 Nov and signs a checkpoint on 6 Nov, which the provider holds with the
    October ones: a sealed hour signed after the bundle was made does not contradict
    "none when it was made" (it did: DOES NOT HOLD). One signed before it still does."""
    w = World(tmp_path)
    october = _csv(tmp_path / "oct.csv", _at(2026, 10, 1), _at(2026, 11, 1),
                   (_at(2026, 10, 31, 22), _at(2026, 11, 1)))  # fmt: skip
    assert w.cli(_at(2026, 11, 2), "import", "minutes", october, "--source", "agent") == 0
    assert w.cli(_at(2026, 11, 2), "key", "init", "--out", w.key) == 0
    held = [w.checkpoint(_at(2026, 10, 31, 12), "october.txt")]
    bundle = tmp_path / "claim.json"
    assert w.cli(_at(2026, 11, 2, 9, 30), "claim", "export", "--service", "shop", "--month",
                 "2026-10", "--out", bundle, "--sign", w.key) == 0  # fmt: skip
    november = _csv(tmp_path / "nov.csv", _at(2026, 11, 5), _at(2026, 11, 5, 6),
                    (_at(2000, 1, 1), _at(2000, 1, 1)))  # fmt: skip
    assert w.cli(_at(2026, 11, 6), "import", "minutes", november, "--source", "agent") == 0
    held.append(w.checkpoint(_at(2026, 11, 6), "november.txt"))
    capsys.readouterr()
    assert w.verify(bundle, *held) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert "none since" in out and "HOLDS" in out

    # The same head signed before the bundle was made (a tail cut said "none"): refused.
    claim, _ = bundle_file.parse(bundle.read_bytes(), str(bundle))
    later = Signed(read_note(held[1].read_text(encoding="utf-8"), "note"), "agent")
    early = Signed(replace(later.checkpoint, at=_at(2026, 11, 2, 9)), "agent")
    (found,) = next_hour_checks(claim, (early,))
    assert not found.ok and "2026-11-05T05:00:00Z the bundle says is not there" in found.recomputed
    assert next_hour_checks(claim, (later,)) == []


def test_a_stated_next_hour_holds_after_a_gap_is_filled_by_a_later_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """October ends on an outage, the agent records one hour on 3 Nov: the bundle names
    3 Nov 00:00 as the next sealed hour. Afterwards the gap's records, kept by another
    monitor, are imported (1 Nov 01:00-02:00): the store seals that hour and re-links
    the one after it, which the agent's next checkpoint names with its new link. The
    bundle said what was sealed when it was made (it DID NOT HOLD: 'its agent signed
    another hour than the bundle states'); a checkpoint signed before it still refutes
    a false one."""
    w = World(tmp_path)
    october = _csv(tmp_path / "oct.csv", _at(2026, 10, 1), _at(2026, 11, 1),
                   (_at(2026, 10, 31, 22), _at(2026, 11, 1)))  # fmt: skip
    resumed = _csv(tmp_path / "resumed.csv", _at(2026, 11, 3), _at(2026, 11, 3, 1),
                   (_at(2000, 1, 1), _at(2000, 1, 1)))  # fmt: skip
    for csv in (october, resumed):
        assert w.cli(_at(2026, 11, 4), "import", "minutes", csv, "--source", "agent") == 0
    assert w.cli(_at(2026, 11, 4), "key", "init", "--out", w.key) == 0
    held = [w.checkpoint(_at(2026, 10, 31, 12), "october.txt")]
    bundle = tmp_path / "claim.json"
    assert w.cli(_at(2026, 11, 4, 9), "claim", "export", "--service", "shop", "--month",
                 "2026-10", "--out", bundle, "--sign", w.key) == 0  # fmt: skip
    filled = _csv(tmp_path / "filled.csv", _at(2026, 11, 1, 1), _at(2026, 11, 1, 2),
                  (_at(2000, 1, 1), _at(2000, 1, 1)))  # fmt: skip
    assert w.cli(_at(2026, 11, 6), "import", "minutes", filled, "--source", "agent") == 0
    held.append(w.checkpoint(_at(2026, 11, 6), "after.txt"))
    capsys.readouterr()
    assert w.verify(bundle, *held) == 0, capsys.readouterr().out
    assert "the next is in the hour of 2026-11-03T00:00Z" in capsys.readouterr().out

    claim, _ = bundle_file.parse(bundle.read_bytes(), str(bundle))
    later = Signed(read_note(held[1].read_text(encoding="utf-8"), "note"), "agent")
    assert next_hour_checks(claim, (later,)) == []
    early = Signed(replace(later.checkpoint, at=_at(2026, 11, 4, 8)), "agent")
    (found,) = next_hour_checks(claim, (early,))
    assert not found.ok and "another hour 2026-11-03T00:00:00Z" in found.recomputed


@pytest.mark.parametrize("hour", [10**15, 10**8, -1, -(10**15)])
def test_a_signed_checkpoint_naming_an_impossible_hour_is_bad_input(
    hour: int, tmp_path: Path
) -> None:
    """A note signed by the agent's own key (the customer holds it) naming a chain head
    at an hour no datetime has: claim verify --checkpoint and checkpoint verify raised
    OverflowError/ValueError formatting it (a traceback, exit 1); now one line, exit 2."""
    w = World(tmp_path)
    records = _csv(tmp_path / "oct.csv", _at(2026, 10, 31, 20), _at(2026, 11, 1),
                   (_at(2026, 10, 31, 22), _at(2026, 11, 1)))  # fmt: skip
    assert w.cli(_at(2026, 11, 2), "import", "minutes", records, "--source", "agent") == 0
    assert w.cli(_at(2026, 11, 2), "key", "init", "--out", w.key) == 0
    bundle = tmp_path / "claim.json"
    assert w.cli(_at(2026, 11, 2), "claim", "export", "--service", "shop", "--month",
                 "2026-10", "--out", bundle) == 0  # fmt: skip
    head = Head("shop", "agent", hour, bytes(32))
    note = tmp_path / "hostile.txt"
    made = Checkpoint("slawatch/agent", 1, bytes(32), _at(2026, 11, 1, 12), (head,))
    note.write_text(sign(made, "agent", load_private(w.key)), encoding="utf-8")
    pub = f"{w.key}.pub"
    for args in (
        ("claim", "verify", bundle, "--key", pub, "--checkpoint", note),
        ("--config", w.config, "checkpoint", "verify", "--key", f"agent={pub}", note),
    ):
        done = run_cli(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.strip() == (
            f"slawatch: {note}: line 5: hour {hour} is outside the times slawatch records "
            "(1970-01-01 to 9999-12-01 UTC)"
        )
