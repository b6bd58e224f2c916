"""A read-only table drawn line by line: every panel of the dashboard is one.

``DataTable`` re-renders every visible cell whenever any cell changes (its
caches are keyed by an update counter) and measures every cell of every new
row; with a thousand services and case countdowns ticking every second that
is most of a frame budget. This table keeps one rendered line per row, keyed
by what the row shows, so a tick re-renders only the rows on screen whose
text changed, and rows off screen are computed only when they scroll into view.

A person may sort any table by a column (``s`` picks the next column, ``S``
turns the order round, a click on a header sorts by it): numbers, durations and
percentages sort by value (``natural``), and a panel may give a column its own
key (a deadline rather than its words). With no column picked, the panel's
own order (the most urgent first) stands.

Column widths grow to fit their cells and are recomputed only when rows come
or go, so a ticking countdown never makes columns jitter. One ``flex`` column
may take (or give up) the width left over in the panel; a right-justified
cell that is cut keeps its right end (a sparkline keeps its latest minutes).
A cell that must never be cut (a deadline) is a ``Fitted`` one: it carries shorter
wordings, and a column too narrow for the whole sentence shows the longest wording
that fits; the flex column never narrows below the shortest of them (the table
scrolls sideways instead).
An empty table says so in words (``empty``) rather than showing a bare header.

Nothing a person wrote is out of reach: a cell cut short (``Search results
stale i…``) is shown whole when its row is selected in the focused table, wrapped
within its column onto lines of their own under the row (as the command line's
tables wrap a title), the rows below moving down. A row longer than the panel
shows what fits and ends in ``…`` (its own screen, Enter, has the rest).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cells = tuple[Text, ...]
Columns = Sequence[tuple[str, str]]  # (label, key)
Signature = tuple[tuple[str, str], ...]
PAD = 1  # blank cells either side of every column
SortKeys = Mapping[str, Callable[[str], Any]]  # column key -> (row key -> sort value)

_DURATION = re.compile(r"(?:(\d+)([dhms])\s*)+")
_PART = re.compile(r"(\d+)([dhms])")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # a line break in a title would break the row


class Fitted(Text):
    """A cell with shorter wordings (``shorter``, longest first) for a narrow column:
    ``⚠ report by 12-08 19:38 (1d 17h left)``, then ``⚠ by 12-08 19:38``."""

    def __init__(self, text: str, shorter: Sequence[str], **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.shorter = tuple(shorter)

    def fitting(self, width: int) -> Text:
        """The longest wording ``width`` cells hold (the shortest when none does)."""
        if self.cell_len <= width or not self.shorter:
            return self
        for words in self.shorter:
            if Text(words).cell_len <= width:
                break
        short = self.copy()
        short.plain = words
        return short

    @property
    def least(self) -> int:
        """The width of the shortest wording."""
        return min([self.cell_len, *(Text(w).cell_len for w in self.shorter)])


def natural(text: str) -> tuple[int, float, str]:
    """A cell's sort value: a duration (``7m 05s``) in seconds, else its first number
    (``1,320 ms``, ``99.972 %``), else its words; blank cells (``-``) last."""
    t = text.strip()
    if t in ("", "-"):
        return (2, 0.0, "")
    if _DURATION.fullmatch(t):
        return (0, float(sum(int(n) * _SECONDS[u] for n, u in _PART.findall(t))), "")
    number = _NUMBER.search(t)
    if number is not None:
        return (0, float(number.group().replace(",", "")), t.lower())
    return (1, 0.0, t.lower())


def one_line(cell: Text) -> Text:
    """``cell`` on one line: a line break or tab someone typed into a title (the CLI
    takes what the shell gives it) or any other control character becomes a space,
    so the row keeps its line and the panel its border."""
    if isinstance(cell, Fitted) or not _CONTROL.search(cell.plain):
        return cell  # (a Fitted cell's wordings are the program's own)
    flat = cell.copy()
    flat.plain = _CONTROL.sub(" ", cell.plain)  # one for one: the styles keep their place
    return flat


def signature(cells: Cells) -> Signature:
    """What a row looks like: its text and styles (Rich's ``==`` ignores base styles)."""
    return tuple((c.plain, f"{c.style}{c.spans}") for c in cells)


class RowTable(ScrollView, can_focus=True):
    """Rows of Rich ``Text`` cells with a fixed header, a row cursor and ``RowChosen``."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "row-table--header",
        "row-table--cursor",
        "row-table--stripe",
        "row-table--empty",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "move(-1000000)", "First", show=False),
        Binding("end", "move(1000000)", "Last", show=False),
        Binding("enter", "choose", "Choose", show=False),
        Binding("s", "sort_next", "Sort", show=False),
        Binding("S", "sort_reverse", "Reverse", show=False),
    ]

    cursor: reactive[int] = reactive(0, init=False)
    sort: reactive[tuple[str, bool] | None] = reactive(None, init=False)  # (column, descending)

    class RowChosen(Message):
        """Enter (or a double click) on a row."""

        def __init__(self, table: RowTable, key: str) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, *, id: str | None = None, empty: str = "") -> None:
        super().__init__(id=id)
        self.empty = empty  # what an empty table says instead of its header
        self._labels: tuple[tuple[str, str], ...] = ()
        self._flex: int | None = None
        self._widths: list[int] = []  # each column's content width
        self._least: list[int] = []  # the narrowest each column's Fitted cells allow
        self._laid_out: tuple[int, tuple[int, ...]] | None = None  # (panel width, widths)
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._cells_of: Callable[[str], Cells] = lambda key: ()
        self._rows: dict[str, Cells] = {}  # rows computed for the current generation
        self._lines: dict[tuple[str, int], tuple[Signature, Strip]] = {}
        self._styles: tuple[Style, Style, Style, Style] | None = None
        self._given: tuple[Columns, list[str], Callable[[str], Cells], str | None] | None = None
        self._sort_keys: SortKeys = {}
        self._extra = 0  # lines the selected row takes beyond its own (its cut cells whole)

    # -- content ----------------------------------------------------------------

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    @property
    def selected_key(self) -> str | None:
        return self._keys[self.cursor] if 0 <= self.cursor < len(self._keys) else None

    def row(self, key: str) -> Cells:
        """The cells a row shows now (computed if it has not been yet)."""
        cells = self._rows.get(key)
        if cells is None:
            cells = self._rows[key] = tuple(map(one_line, self._cells_of(key)))
            self._grow(cells)
        return cells

    def show_rows(
        self,
        columns: Columns,
        keys: Sequence[str],
        cells: Callable[[str], Cells],
        *,
        flex: str | None = None,
        sort_keys: SortKeys | None = None,
    ) -> None:
        """Show ``keys`` in this order (or sorted by the column a person picked);
        ``cells(key)`` is asked only for rows drawn.

        New or reordered rows (or new columns) recompute the column widths from
        every row; otherwise only rows on screen are computed now. ``flex`` is
        the key of the column that fits itself to the panel's width; ``sort_keys``
        give columns a sort value of their own (else ``natural`` of the cell).
        """
        self._given = (tuple(columns), list(keys), cells, flex)
        self._sort_keys = sort_keys or {}
        columns, keys = self._sorted(columns, keys, cells)
        selected = self.selected_key
        labels = tuple(columns)
        keys = list(keys)
        self._cells_of = cells
        self._rows = {}
        self._flex = next((i for i, (_, key) in enumerate(labels) if key == flex), None)
        if labels != self._labels or keys != self._keys:
            self._labels, self._keys = labels, keys
            self._index = {key: i for i, key in enumerate(keys)}
            self._widths = [len(label) for label, _ in labels]
            self._least = [0] * len(labels)
            self._lines.clear()
            self._laid_out = None
            for key in keys:
                self.row(key)
            self._resize_virtual()
            if selected in self._index:
                self.set_reactive(RowTable.cursor, self._index[selected])
            self.cursor = min(self.cursor, max(len(keys) - 1, 0))
        else:
            top = int(self.scroll_y)
            for key in keys[top : top + self.size.height]:
                self.row(key)
            if self.has_focus:
                self._resize_virtual()  # the selected row's text may have changed
        self.refresh()

    def _sorted(
        self, columns: Columns, keys: Sequence[str], cells: Callable[[str], Cells]
    ) -> tuple[Columns, Sequence[str]]:
        """``keys`` in the order of the picked column, its header marked ▲ or ▼."""
        if self.sort is None:
            return columns, keys
        column, descending = self.sort
        index = next((i for i, (_, key) in enumerate(columns) if key == column), None)
        if index is None:
            return columns, keys
        by = self._sort_keys.get(column)
        if by is None:

            def by(key: str) -> tuple[int, float, str]:
                row = cells(key)
                return natural(row[index].plain) if index < len(row) else (2, 0.0, "")

        ordered = sorted(keys, key=by, reverse=descending)
        mark = " ▼" if descending else " ▲"
        marked = [(label + mark if key == column else label, key) for label, key in columns]
        return marked, ordered

    def watch_sort(self) -> None:
        if self._given is not None:
            columns, keys, cells, flex = self._given
            self.show_rows(columns, keys, cells, flex=flex, sort_keys=self._sort_keys)

    def action_sort_next(self) -> None:
        """The next column (ascending); after the last, the panel's own order."""
        keys = [key for _, key in self._given[0]] if self._given else []
        if not keys:
            return
        current = self.sort[0] if self.sort else None
        if current not in keys:
            self.sort = (keys[0], False)
        elif current == keys[-1]:
            self.sort = None
        else:
            self.sort = (keys[keys.index(current) + 1], False)
        self._say_sort()

    def action_sort_reverse(self) -> None:
        if self.sort is not None:
            self.sort = (self.sort[0], not self.sort[1])
        elif self._given and self._given[0]:
            self.sort = (self._given[0][0][1], True)
        self._say_sort()

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; again on the same column turns the order round."""
        if self.sort is not None and self.sort[0] == column:
            self.sort = (column, not self.sort[1])
        else:
            self.sort = (column, False)

    def _say_sort(self) -> None:
        if self._given is None:
            return
        if self.sort is None:
            self.notify("Sorted as the panel orders it (most urgent first).", timeout=2)
            return
        label = dict((key, label) for label, key in self._given[0]).get(self.sort[0], "")
        order = "descending" if self.sort[1] else "ascending"
        self.notify(f"Sorted by {label} ({order}); s: next column, S: reverse.", timeout=2)

    def _grow(self, cells: Cells) -> None:
        """Widen a column a new cell does not fit in (every line is drawn again)."""
        grown = False
        for i, cell in enumerate(cells[: len(self._widths)]):
            if cell.cell_len > self._widths[i]:
                self._widths[i] = cell.cell_len
                grown = True
            if isinstance(cell, Fitted) and cell.least > self._least[i]:
                self._least[i] = cell.least
                grown = True
        if grown:
            self._lines.clear()
            self._laid_out = None
            self._resize_virtual()

    @property
    def natural_width(self) -> int:
        """The width every cell needs whole (the flex column's included)."""
        return sum(w + 2 * PAD for w in self._widths)

    def _resize_virtual(self) -> None:
        self._extra = max(len(self._opened()) - 1, 0)
        self.virtual_size = Size(
            sum(w + 2 * PAD for w in self._shown_widths()), len(self._keys) + 1 + self._extra
        )

    def _shown_widths(self) -> tuple[int, ...]:
        """Column widths as drawn: the flex column takes what the panel has left."""
        # The width rows are drawn in: less a vertical scrollbar, once one shows (more
        # rows than fit), or the flex column would not give up its two columns and a
        # horizontal scrollbar would cover the last row.
        panel = self.scrollable_content_region.width
        if self._laid_out is not None and self._laid_out[0] == panel:
            return self._laid_out[1]
        if self._laid_out is not None:  # the scrollbar came or went: the content too
            self.call_later(self._resize_virtual)
        widths = list(self._widths)
        if self._flex is not None and panel > 0 and self._flex < len(widths):
            others = sum(w + 2 * PAD for i, w in enumerate(widths) if i != self._flex)
            least = max(len(self._labels[self._flex][0]), self._least[self._flex])
            widths[self._flex] = max(least, min(widths[self._flex], panel - others - 2 * PAD))
        self._laid_out = (panel, tuple(widths))
        return self._laid_out[1]

    @on(events.Resize)
    def _refit(self) -> None:
        """A new panel width: the flex column takes what is left now."""
        if self._flex is not None:
            self._laid_out = None
            self._lines.clear()
            self._resize_virtual()

    # -- drawing ----------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base, header, _, _ = self._row_styles()
        if not self._keys and self.empty:
            if y != 0:
                return Strip.blank(width, base)
            empty = self.get_component_rich_style("row-table--empty")
            strip = Strip([Segment(" " * PAD), Segment(self.empty, base + empty)])
        elif y == 0:
            strip = self._line(tuple(Text(label) for label, _ in self._labels), header)
        else:
            index, part = self._at(scroll_y + y - 1)
            if not 0 <= index < len(self._keys):
                return Strip.blank(width, base)
            opened = self._opened() if index == self.cursor else []
            strip = self._opened_line(opened, part) if opened else self._row_line(index)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _at(self, line: int) -> tuple[int, int]:
        """The row drawn on content ``line`` (0: the first row) and which of its lines."""
        cursor, extra = self.cursor, self._extra
        if line <= cursor or not extra:
            return line, 0
        if line <= cursor + extra:
            return cursor, line - cursor
        return line - extra, 0

    def _row_line(self, index: int) -> Strip:
        key = self._keys[index]
        cells = self.row(key)
        flags = (index == self.cursor) * 2 + (index % 2) + self.has_focus * 4
        sig = signature(cells)
        cached = self._lines.get((key, flags))
        if cached is not None and cached[0] == sig:
            return cached[1]
        base, _, stripe, cursor = self._row_styles()
        style = cursor if index == self.cursor else stripe if index % 2 else base
        strip = self._line(cells, style)
        self._lines[(key, flags)] = (sig, strip)
        return strip

    def _row_styles(self) -> tuple[Style, Style, Style, Style]:
        """(base, header, stripe, cursor) styles, looked up once per style change."""
        if self._styles is None:
            base = self.rich_style
            self._styles = (
                base,
                self.get_component_rich_style("row-table--header"),
                base + self.get_component_rich_style("row-table--stripe"),
                base + self.get_component_rich_style("row-table--cursor"),
            )
        return self._styles

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None
        self._lines.clear()

    def _opened(self) -> list[list[Text]]:
        """The selected row's lines, each a list of cells, when this table has focus and
        a cell of that row is cut: every cut cell (left-justified, one wording) wrapped
        within its column, at most the lines the panel shows under its header. Empty
        when nothing is cut (the row is drawn as every other)."""
        key = self.selected_key
        if key is None or not self.has_focus or not self.is_mounted:
            return []
        console = self.app.console
        columns: list[list[Text]] = []
        cut = False
        for cell, width in zip(self.row(key), self._shown_widths(), strict=False):
            if cell.cell_len <= width or cell.justify == "right" or isinstance(cell, Fitted):
                columns.append([cell])
                continue
            cut = True
            lines = list(cell.wrap(console, width, overflow="fold"))
            for line in lines:
                line.rstrip()
            columns.append(lines or [cell])
        if not cut:
            return []
        room = max(1, self.size.height - 1)
        count = min(room, max(len(c) for c in columns))
        rows = [[c[n] if n < len(c) else Text("") for c in columns] for n in range(count)]
        for n, column in enumerate(columns):
            if len(column) > count:  # longer than the panel: the last line says more follows
                rows[-1][n] = Text.assemble(rows[-1][n], "…")
        return rows

    def _opened_line(self, opened: list[list[Text]], part: int) -> Strip:
        _, _, _, cursor = self._row_styles()
        return self._line(tuple(opened[part]) if part < len(opened) else (), cursor)

    def _line(self, cells: Cells, style: Style) -> Strip:
        console = self.app.console
        segments: list[Segment] = []
        for cell, width in zip(cells, self._shown_widths(), strict=False):
            text = (cell.fitting(width) if isinstance(cell, Fitted) else cell).copy()
            if text.cell_len > width and text.justify == "right":
                text = text[text.cell_len - width :]  # keep the right end (the latest minutes)
            text.truncate(width, overflow="ellipsis")
            gap = width - text.cell_len
            if text.justify == "right":
                text.pad_left(gap)
            else:
                text.pad_right(gap)
            segments.append(Segment(" " * PAD))
            base = console.get_style(text.style) if text.style else None
            segments.extend(Segment.apply_style(text.render(console, end=""), base))
            segments.append(Segment(" " * PAD))
        return Strip(segments).apply_style(style)

    # -- the cursor ---------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self._resize_virtual()  # the row selected now may open (its cut cells whole)
        self._show_cursor()

    def _show_cursor(self) -> None:
        """Scroll so the selected row, all its lines, is in view."""
        new = self.cursor
        rows = max(self.size.height - 1, 1)
        top = int(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False)
        elif new + self._extra >= top + rows:
            self.scroll_to(y=min(new, new + self._extra - rows + 1), animate=False)
        self.refresh()

    def action_move(self, step: int) -> None:
        if self._keys:
            self.cursor = max(0, min(len(self._keys) - 1, self.cursor + step))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(self.size.height - 2, 1))

    def action_choose(self) -> None:
        key = self.selected_key
        if key is not None:
            self.post_message(self.RowChosen(self, key))

    def on_click(self, event: events.Click) -> None:
        if event.y == 0 and self._keys:  # a header: sort by that column
            x = int(self.scroll_x) + event.x
            for width, (_, key) in zip(self._shown_widths(), self._labels, strict=False):
                x -= width + 2 * PAD
                if x < 0:
                    self.sort_by(key)
                    return
            return
        index, _ = self._at(int(self.scroll_y) + event.y - 1)
        if event.y >= 1 and 0 <= index < len(self._keys):
            self.cursor = index
            if event.chain >= 2:
                self.action_choose()

    def watch_has_focus(self, has_focus: bool) -> None:
        # (``on_focus`` runs before ``has_focus`` is set: the selected row opens here.)
        super().watch_has_focus(has_focus)
        self._styles = None
        self._resize_virtual()
        self._show_cursor()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.refresh()
