"""A line of facts separated by dots that wraps between facts, never inside one.

A header such as ``availability 99.104 % · band 25 % · credit 300.00 EUR`` is
read fact by fact: wrapped mid-value ("band 0" / "%") it misleads. This widget
packs whole facts into as many lines as its width needs.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len, get_character_cell_size
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

SEPARATOR = "  ·  "


def pack(parts: Sequence[Text], width: int) -> list[Text]:
    """Greedy lines of whole parts; a part wider than ``width`` gets lines of its own,
    wrapped between words (a problem naming a long URL, never cut at the edge)."""
    lines: list[Text] = []
    line = Text()
    for part in parts:
        if line.cell_len and line.cell_len + len(SEPARATOR) + part.cell_len > width:
            lines.append(line)
            line = Text()
        if part.cell_len > width:
            pieces = _wrap(part, max(width, 1))
            lines += pieces[:-1]
            line = pieces[-1]
            continue
        if line.cell_len:
            line.append(SEPARATOR)
        line.append_text(part)
    if line.cell_len or not lines:
        lines.append(line)
    return lines


def _wrap(part: Text, width: int) -> list[Text]:
    """``part`` in lines of at most ``width`` cells, broken after a space where there
    is one (a word longer than the line is cut), styles kept."""
    plain = part.plain
    offsets: list[int] = []
    start = 0
    while cell_len(plain[start:]) > width:
        end, used = start, 0
        while end < len(plain) and used + get_character_cell_size(plain[end]) <= width:
            used += get_character_cell_size(plain[end])
            end += 1
        end = max(end, start + 1)  # one character wider than the line: on its own
        space = plain.rfind(" ", start, end)
        cut = space + 1 if space > start else end
        offsets.append(cut)
        start = cut
    pieces = list(part.divide(offsets)) if offsets else [part]
    for piece in pieces:
        piece.rstrip()  # in place: the space the line was broken after
    return pieces


class FactLine(Widget):
    DEFAULT_CSS = "FactLine { height: auto; }"

    def __init__(self, *parts: Text | str, id: str | None = None) -> None:
        super().__init__(id=id)
        self._parts = tuple(_text(p) for p in parts)

    @property
    def plain(self) -> str:
        return SEPARATOR.join(part.plain for part in self._parts)

    def show(self, parts: Sequence[Text | str]) -> None:
        """Show ``parts``; a layout pass only when the number of lines changes."""
        new = tuple(_text(p) for p in parts)
        if new == self._parts:
            return
        width = self.content_size.width or 80
        before = len(pack(self._parts, width))
        self._parts = new
        self.refresh(layout=len(pack(new, width)) != before)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(pack(self._parts, width))

    def render(self) -> Text:
        return Text("\n").join(pack(self._parts, self.content_size.width or 80))


def _text(part: Text | str) -> Text:
    return part if isinstance(part, Text) else Text.from_markup(part)
