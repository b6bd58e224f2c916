"""A bundle is someone else's file: text from it that verify, the letter or an error
prints must not act on the reader's terminal. An escape sequence in a stated field
(ESC[8m hides all that follows; a newline starts a line of the bundle's own) let a
failing bundle show a verdict line of its choosing and hide the real one.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt

from core.checkpoint import Checkpoint, Head, sign
from slawatch import claims
from slawatch.signing import load_private
from tests import configs
from tests.claims.conftest import World
from tests.conftest import run_cli, write_config

FAKE = "\nHOLDS: all 41 checks agree\x1b[8m"


def _write(tmp_path: Path, doc: dict[str, Any], name: str) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_verify_letter_and_errors_print_control_characters_as_escapes(
    world: World, tmp_path: Path
) -> None:
    doc = world.document()
    lying = copy.deepcopy(doc)
    lying["tzdata"] = "2025b" + FAKE
    lying["figures"]["credit_amount"] = "999.00"  # does not hold
    done = run_cli("claim", "verify", _write(tmp_path, lying, "lying.json"), "--allow-unsigned")
    assert done.returncode == 1
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout
    assert not any(line.startswith("HOLDS") for line in done.stdout.splitlines()), done.stdout
    assert "it states 2025b\\x0aHOLDS: all 41 checks agree\\x1b[8m;" in done.stdout
    assert done.stdout.splitlines()[-1].startswith("DOES NOT HOLD: 1 check(s) disagree")

    titled = copy.deepcopy(doc)
    titled["cases"][0]["title"] = "outage \u202eDLOH\x1b]0;owned\x07"
    done = run_cli("claim", "letter", _write(tmp_path, titled, "titled.json"))
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout and "\x07" not in done.stdout
    assert "outage \\u202eDLOH\\x1b\\]0;owned\\x07" in done.stdout  # (] escaped: Markdown)

    member = copy.deepcopy(doc)
    member["sources"]["agent"]["chain"]["\x1b[2J"] = 1
    done = run_cli("claim", "verify", _write(tmp_path, member, "member.json"))
    assert done.returncode == 2
    assert done.stderr.strip().endswith("sources.agent.chain.\\x1b[2J: unknown member")


def test_a_letter_written_to_a_file_shows_control_characters_as_escapes(
    world: World, tmp_path: Path
) -> None:
    """A provider reads the letter file, not the terminal: a case title with a
    right-to-left override (Trojan Source: the rest of the line shown reversed), an
    escape sequence and a BEL reached the Markdown and HTML files raw (only what was
    printed was escaped). Now the file shows each as the terminal does."""
    titled = copy.deepcopy(world.document())
    titled["cases"][0]["title"] = "outage \u202eDLOH\x1b]0;owned\x07 \u2066x\u2069"
    bundle = _write(tmp_path, titled, "titled.json")
    for fmt, shown in (
        ("md", "outage \\u202eDLOH\\x1b\\]0;owned\\x07 \\u2066x\\u2069"),
        ("html", "outage \\u202eDLOH\\x1b]0;owned\\x07 \\u2066x\\u2069"),
    ):
        out = tmp_path / f"letter.{fmt}"
        done = run_cli("claim", "letter", bundle, "--format", fmt, "--out", out)
        assert done.returncode == 0, done.stderr
        text = out.read_text(encoding="utf-8")
        assert not any(c in text for c in "\x1b\x07\u202e\u2066\u2069"), fmt
        assert shown in text, fmt
        printed = run_cli("claim", "letter", bundle, "--format", fmt)
        assert printed.stdout == text  # what the terminal shows, byte for byte
        # ``claim export --format md|html --out`` writes the letter of the same code.
        exported = claims.letter(titled, fmt, "titled.json")
        assert shown in exported and "\u202e" not in exported, fmt


def test_a_markdown_letter_rendered_shows_character_references_as_written(
    world: World, tmp_path: Path
) -> None:
    """Markdown reads ``&#x202e;`` as the character U+202E: a case title written with
    character references reached the letter file as text, and a Markdown viewer (a
    provider's editor preview, a forge) showed the line reordered, the escapes of
    9df10e4 bypassed. Now ``&`` is escaped: the viewer shows the text as written."""
    titled = copy.deepcopy(world.document())
    titled["cases"][0]["title"] = "outage &#x202e;DLOH &#8238;x &#x1b;[8m &#x2066;y&amp;"
    out = tmp_path / "letter.md"
    done = run_cli("claim", "letter", _write(tmp_path, titled, "titled.json"), "--out", out)
    assert done.returncode == 0, done.stderr
    shown = MarkdownIt("commonmark").enable("table").render(out.read_text(encoding="utf-8"))
    assert not any(c in shown for c in "\x1b\u202e\u2066"), shown
    assert "outage &amp;#x202e;DLOH &amp;#8238;x &amp;#x1b;[8m &amp;#x2066;y&amp;amp;" in shown


def test_checkpoint_notes_print_their_names_as_escapes(tmp_path: Path) -> None:
    """A note (the customer's agent key signs what it likes) naming a chain of a service
    written with escape sequences: checkpoint verify printed the name raw."""
    (tmp_path / "data").mkdir()
    config = write_config(tmp_path / "data", configs.toml(storage="s.db"))
    key = tmp_path / "keys" / "agent.key"
    assert run_cli("--config", config, "key", "init", "--out", key).returncode == 0
    head = Head("\x1b[2Jshop", "agent", 490000, bytes(32))
    made = Checkpoint("slawatch/agent", 0, bytes(32), datetime(2026, 11, 1, tzinfo=UTC), (head,))
    note = tmp_path / "note.txt"
    note.write_text(sign(made, "agent", load_private(key)), encoding="utf-8")
    done = run_cli("--config", config, "checkpoint", "verify", "--key", f"agent={key}.pub", note)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "\x1b" not in done.stdout and "\\x1b[2Jshop" in done.stdout, done.stdout
