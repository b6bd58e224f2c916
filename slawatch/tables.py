"""The command line's tables: aligned columns that fit 100 columns, coloured on a terminal.

Every table a command prints goes through ``table``, so they all keep the same
rules:

- **Width.** A table fits ``WIDTH`` (100) columns, or on a narrower terminal its
  width (``line_width``: an 80-column terminal gets 80, never fewer than
  ``MIN_WIDTH``); piped, always ``WIDTH``, whatever the terminal, so a script reads
  the same bytes everywhere. A long text column named by
  ``wrap`` (a title, a reason, a change) is wrapped onto lines of its own below
  the row rather than cut: nothing a person wrote is lost. A table still too
  wide is folded: its columns go into several blocks, one under the other,
  each repeating the first ``keys`` columns (the service, the month) so every
  row can be found again, and none holding a lone column when the block before
  can spare one. ``below`` puts a line of text under each row, indented (a
  case's reference and title); folded, under the rows of the first block. A
  table whose wrapped column is a free text of its own (a window's reason) may
  ``spill`` it instead: too narrow to keep it beside the row, the text goes under
  its row, indented and wrapped to the full width, and the row stays whole.
- **Markdown** (``report --format md``, ``_support.markdown``) is the exception,
  deliberately: a table row must stay on one line, and the reader sees it rendered,
  so it is neither wrapped nor folded, whatever its width.
- **Colour.** On a terminal the header is bold and a cell that says something
  is wrong or uncertain is coloured: red for ``DOWN``, ``BREACHED``,
  ``NOT RECORDING``; yellow for ``DEGRADED``, ``UNKNOWN``, ``(stale)``,
  ``LOW COVERAGE``, ``PROVISIONAL``, ``ongoing``; green for ``UP``. Piped, or
  with ``NO_COLOR`` set to anything but the empty string (https://no-color.org),
  or ``TERM=dumb``: plain text, byte for byte what a script reads.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

WIDTH = 100
"""The width every CLI table fits."""

MIN_WIDTH = 60
"""The narrowest a terminal makes them: below it the terminal wraps the lines."""

_MIN_WRAP = 24  # a wrapped column never narrower than this (it folds first)
_INDENT = "    "  # where a row's ``below`` line starts

_BOLD, _RED, _YELLOW, _GREEN, _RESET = "\x1b[1m", "\x1b[31m", "\x1b[33m", "\x1b[32m", "\x1b[0m"
_RED_WORDS = re.compile(r"\b(DOWN|BREACHED|NOT RECORDING)\b")
_YELLOW_WORDS = re.compile(r"\b(DEGRADED|UNKNOWN|LOW COVERAGE|PROVISIONAL|ongoing)\b|\(stale\)")
_GREEN_WORDS = re.compile(r"^UP\b")


_GLUE = "\x00"  # stands for a space no line may break at, while wrapping
_UNBROKEN = re.compile(
    r"(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}Z?)|(\d) (min|ms|%)(?!\w)|\b(?:NOT RECORDING|LOW COVERAGE)\b"
)


def line_width(stream: Any = None) -> int:
    """The width output to ``stream`` (default stdout) fits: ``WIDTH``, or a narrower
    terminal's width (``$COLUMNS`` first, as everywhere), at least ``MIN_WIDTH``.
    Piped output is always ``WIDTH`` wide."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return WIDTH
    columns = shutil.get_terminal_size((WIDTH, 24)).columns
    return max(MIN_WIDTH, min(WIDTH, columns))


def wrap(
    text: str, width: int | None = None, *, indent: str = "", then: str | None = None
) -> list[str]:
    """``text`` wrapped at spaces to ``width`` (default ``line_width()``; first line
    after ``indent``, the others after ``then``, default the same), never inside a time
    (``2026-11-06 09:12Z``) or a quantity (``25 min``, ``12 ms``, ``99.5 %``), nor at a
    hyphen."""
    width = line_width() if width is None else width
    glued = _UNBROKEN.sub(lambda m: m.group(0).replace(" ", _GLUE), text)
    lines = textwrap.wrap(
        glued, width, initial_indent=indent,
        subsequent_indent=indent if then is None else then, break_on_hyphens=False,
        break_long_words=False,
    )  # fmt: skip
    return [line.replace(_GLUE, " ") for line in lines]


# What a terminal acts on instead of showing: C0 and C1 controls (escape sequences
# that move the cursor, hide or recolour text), and the marks that reorder text on
# screen (bidirectional overrides and isolates).
_UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str, *, keep: str = "") -> str:
    """``text`` from someone else's file, safe to print: each character a terminal would
    act on rather than show (``_UNSHOWN``) written as its escape (``\\x1b``, ``\\u202e``),
    but those in ``keep`` (a letter's newlines)."""

    def shown(m: re.Match[str]) -> str:
        c = m.group()
        return c if c in keep else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"

    return _UNSHOWN.sub(shown, text)


def on_screen(line: str, *, then: str = "", stream: Any = None) -> str:
    """``line`` as a person at a terminal should see it: wrapped to the terminal
    (``line_width``), further lines after ``then``. Piped, untouched: one statement a
    line, for grep and scripts. ``stream``: where it goes (default stdout; a warning
    goes to stderr)."""
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if not (isatty and isatty()):
        return line
    indent = line[: len(line) - len(line.lstrip())]
    width = line_width(stream)
    return "\n".join(wrap(line.lstrip(), width, indent=indent, then=then or indent)) or line


def colour_on(stream: Any = None) -> bool:
    """Colour only for a person at a terminal: not piped, not ``NO_COLOR``, not ``TERM=dumb``."""
    stream = sys.stdout if stream is None else stream
    if os.environ.get("NO_COLOR", "") != "" or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    right: Sequence[int] = (),
    *,
    wrap: int | None = None,
    keys: int = 1,
    below: Sequence[str] | None = None,
    width: int | None = None,
    fold: bool = True,
    wrap_min: int = _MIN_WRAP,
    spill: bool = False,
) -> str:
    """Aligned columns for people; the columns listed in ``right`` align right (numbers).
    ``width`` defaults to ``line_width()``; the ``wrap`` column is wrapped rather than
    the table folded while it keeps ``wrap_min`` columns (a title's default; a column
    of short phrases, such as a NOTE, may go narrower). ``spill``: rather than fold,
    the ``wrap`` column goes under its row (as ``below``), when the rest fits."""
    width = line_width() if width is None else width
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    colour = colour_on()
    if _total(widths) <= width:
        return _render(cells, widths, right, below, width, colour)
    if wrap is not None and _total(widths) - widths[wrap] + min(wrap_min, widths[wrap]) <= width:
        room = width - (_total(widths) - widths[wrap])
        cells, below = _wrapped(cells, wrap, room, below)
        widths[wrap] = max(len(r[wrap]) for r in cells)
        return _render(cells, widths, right, below, width, colour)
    rest = [w for i, w in enumerate(widths) if i != wrap]
    if spill and wrap is not None and below is None and _total(rest) <= width:
        kept = [[c for i, c in enumerate(r) if i != wrap] for r in cells]
        shifted = [i - (i > wrap) for i in right if i != wrap]
        under = [r[wrap] for r in cells[1:]]
        return _render(kept, rest, shifted, under, width, colour, head=cells[0][wrap])
    if not fold:  # a block of a folded table: as narrow as it gets
        return _render(cells, widths, right, below, width, colour)
    packed = [min(w, wrap_min) if i == wrap else w for i, w in enumerate(widths)]
    blocks = []
    for n, group in enumerate(_fold(packed, keys, width)):
        blocks.append(
            table(
                [cells[0][i] for i in group],
                [[r[i] for i in group] for r in cells[1:]],
                [n for n, i in enumerate(group) if i in right],
                wrap=group.index(wrap) if wrap in group else None,
                keys=keys,
                below=below if n == 0 else None,
                width=width,
                fold=False,
                wrap_min=wrap_min,
            )
        )
    return "\n\n".join(blocks)


def _total(widths: Sequence[int]) -> int:
    return sum(widths) + 2 * (len(widths) - 1)


def _wrapped(
    cells: list[list[str]], column: int, room: int, below: Sequence[str] | None
) -> tuple[list[list[str]], Sequence[str] | None]:
    """The rows with ``column`` wrapped at ``room``: its further lines are rows of their
    own, blank but for that column; a row's ``below`` line comes after its last."""
    out = [cells[0]]
    under: list[str] = []
    for n, row in enumerate(cells[1:]):
        lines = wrap(row[column], room) or [""]
        out.append([*row[:column], lines[0], *row[column + 1 :]])
        for more in lines[1:]:
            out.append(["" if i != column else more for i in range(len(row))])
        under += [""] * (len(lines) - 1) + [below[n] if below else ""]
    return out, (under if below else None)


def _fold(widths: Sequence[int], keys: int, width: int) -> list[list[int]]:
    """Column groups, in order, each led by the ``keys`` columns and fitting ``width``;
    a last group of one column takes columns from the group before while that one keeps
    two and the last still fits (``MONTH`` alone in a block reads as a stray)."""
    lead = list(range(min(keys, len(widths))))
    groups: list[list[int]] = []
    current = list(lead)
    for i in range(len(lead), len(widths)):
        if len(current) > len(lead) and _total([widths[j] for j in [*current, i]]) > width:
            groups.append(current)
            current = list(lead)
        current.append(i)
    groups.append(current)
    while len(groups) > 1 and len(groups[-1]) - len(lead) == 1:
        before, last = groups[-2], groups[-1]
        moved = [*lead, before[-1], *last[len(lead) :]]
        if len(before) - len(lead) <= 2 or _total([widths[j] for j in moved]) > width:
            break
        groups[-2], groups[-1] = before[:-1], moved
    return groups


def _render(
    cells: Sequence[Sequence[str]],
    widths: Sequence[int],
    right: Sequence[int],
    below: Sequence[str] | None,
    width: int,
    colour: bool,
    *,
    head: str = "",
) -> str:
    """The lines of a table; ``head`` is the header of the ``below`` lines, if they
    have one (a spilled column's), under the header as they are under the rows."""
    lines = []
    for n, r in enumerate(cells):
        last = len(r) - 1
        parts = [
            r[i].rjust(widths[i]) if i in right else (r[i] if i == last else r[i].ljust(widths[i]))
            for i in range(len(r))
        ]
        if colour:
            parts = [_paint(p, header=n == 0) for p in parts]
        lines.append("  ".join(parts).rstrip())
        if n == 0 and head:
            lines.append(_INDENT + (_paint(head, header=True) if colour else head))
        if below and n > 0 and below[n - 1]:
            lines += _under(below[n - 1], width)
    return "\n".join(lines)


def _under(text: str, width: int) -> list[str]:
    return wrap(text, width, indent=_INDENT)


def _paint(cell: str, *, header: bool) -> str:
    if not cell.strip():
        return cell
    if header:
        return f"{_BOLD}{cell}{_RESET}"
    for words, sgr in ((_RED_WORDS, _RED), (_YELLOW_WORDS, _YELLOW), (_GREEN_WORDS, _GREEN)):
        if words.search(cell.strip()):
            return f"{sgr}{cell}{_RESET}"
    return cell


def nothing_listed(things: str, *, service: str | None = None, month: object = None) -> str:
    """The one line every list prints when it has nothing to show, in one shape (a
    sentence, as ``status`` says "No open cases."): ``No cases.``, ``No maintenance
    windows for erp.``, ``No outages for any service in 2026-09.``. ``service`` and
    ``month`` are the filters the command was given, so an empty answer says what
    was looked at."""
    scope = f" for {service}" if service else ""
    if month is not None:
        scope = f"{scope or ' for any service'} in {month}"
    return f"No {things}{scope}."
