"""The claim letter for people: a month with one reported and one unreported outage."""

from __future__ import annotations

from pathlib import Path

from core.configfile import load_config
from core.timeutil import YearMonth
from slawatch import claims
from slawatch.commands._support import run
from store.sqlite import SqliteStore
from tests.claims.conftest import NOW, World

EXPECTED = Path(__file__).with_name("letter_2026-10.md")


def _document(world: World) -> dict[str, object]:
    config = load_config(world.config)

    async def gather() -> claims.Exported:
        async with await SqliteStore.open(config.storage_path, readonly=True) as store:
            return await claims.gather(store, config, "portal", YearMonth(2026, 10), NOW)

    return run(gather()).document


def test_markdown_letter_says_exactly_what_was_worked_out(world: World) -> None:
    letter = claims.letter(_document(world), "md", "claim-2026-10.json")
    assert letter == EXPECTED.read_text(encoding="utf-8")


def test_html_letter_tells_the_same_and_escapes(world: World) -> None:
    page = claims.letter(_document(world), "html", "claim-2026-10.json")
    assert page.startswith("<!DOCTYPE html>")
    assert "<h1>Service credit claim: portal, October 2026</h1>" in page
    assert "<strong>We claim a service credit of 250.00 EUR" in page
    assert "Portal down | 503 errors" in page  # no Markdown escape in HTML
    assert '<td class="n">45</td>' in page
    assert "<script" not in page


def test_cli_writes_the_letter_atomically(world: World, tmp_path: Path) -> None:
    out = tmp_path / "letter.md"
    result = world.cli(
        "claim", "export", "--service", "portal", "--month", "2026-10", "--out", out,
        "--format", "md",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Service credit claim: portal, October 2026\n")
    assert "| 2 | 2026-10-12 09:00 UTC | 2026-10-12 09:45 UTC | 45 | no |" in text
    assert [p.name for p in tmp_path.iterdir()] == ["letter.md"]  # no temp file left
