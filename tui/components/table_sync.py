"""Bring a DataTable to new rows while touching as little as possible.

The small panels (cases, credits, the detail screen's lists) refresh every
second. When the row keys and their order are unchanged only the cells whose
text changed are updated; otherwise the rows are replaced and the cursor stays
on the row it was on. (The status panel, which can hold a thousand rows, uses
``RowTable`` instead.)

Column widths are computed here and given to the table explicitly: the
table's own auto-width is measured lazily and its cell cache is not keyed by
width, so a table filled between two frames can keep cells cut to the width
of the header. Widths are recomputed only when rows come or go (or a cell
outgrows its column), so a ticking countdown does not make columns jitter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rich.text import Text
from textual.widgets import DataTable

Cells = tuple[Text, ...]
Columns = Sequence[tuple[str, str]]  # (label, key)


@dataclass
class Shown:
    """What a table shows now: its columns with widths and its rows by key."""

    columns: tuple[tuple[str, str, int], ...] = ()
    rows: dict[str, Cells] = field(default_factory=dict)


def same(a: Text, b: Text) -> bool:
    """Text equality that also compares the base style (Rich's ``==`` ignores it)."""
    return a.plain == b.plain and a.style == b.style and a.spans == b.spans


def _widths(columns: Columns, rows: Sequence[tuple[str, Cells]]) -> list[int]:
    widths = [len(label) for label, _ in columns]
    for _, cells in rows:
        for i, cell in enumerate(cells):
            widths[i] = max(widths[i], cell.cell_len)
    return widths


def sync_table(
    table: DataTable[Text],
    columns: Columns,
    keys: Sequence[str],
    cells: Callable[[str], Cells],
    shown: Shown,
) -> Shown:
    """Show the rows ``keys`` (their cells from ``cells(key)``) under ``columns``.

    When the keys are the ones already shown, only the changed cells are
    replaced. Returns the new state.
    """
    keys = list(keys)
    if keys == list(shown.rows) and [c[:2] for c in shown.columns] == list(columns):
        updated = _update(table, keys, cells, shown)
        if updated is not None:
            return updated
    rows = [(key, cells(key)) for key in keys]
    spec = tuple(
        (label, key, width)
        for (label, key), width in zip(columns, _widths(columns, rows), strict=True)
    )
    selected = selected_key(table)
    if spec != shown.columns:
        table.clear(columns=True)
        for label, key, width in spec:
            table.add_column(label, width=width, key=key)
    else:
        table.clear()
    _add_rows(table, rows, selected)
    return Shown(spec, dict(rows))


def sync_rows(
    table: DataTable[Text], columns: Columns, rows: Sequence[tuple[str, Cells]], shown: Shown
) -> Shown:
    """``sync_table`` for a small table whose cells are all at hand."""
    by_key = dict(rows)
    return sync_table(table, columns, [key for key, _ in rows], by_key.__getitem__, shown)


def _update(
    table: DataTable[Text],
    keys: Sequence[str],
    cells: Callable[[str], Cells],
    shown: Shown,
) -> Shown | None:
    """Replace changed cells in place; None when a cell no longer fits its column."""
    new_rows = dict(shown.rows)
    changes: list[tuple[str, str, Text]] = []
    for key in keys:
        row = cells(key)
        old = shown.rows[key]
        for (_, column, width), new_cell, old_cell in zip(shown.columns, row, old, strict=True):
            if not same(new_cell, old_cell):
                if new_cell.cell_len > width:
                    return None
                changes.append((key, column, new_cell))
        new_rows[key] = row
    for key, column, cell in changes:
        table.update_cell(key, column, cell)
    return Shown(shown.columns, new_rows)


def _add_rows(
    table: DataTable[Text], rows: Sequence[tuple[str, Cells]], selected: str | None
) -> None:
    for key, cells in rows:
        table.add_row(*cells, key=key)
    keys = [key for key, _ in rows]
    if selected in keys:
        table.move_cursor(row=keys.index(selected), animate=False, scroll=False)


def selected_key(table: DataTable[Text]) -> str | None:
    """The key of the row under the cursor, or None for an empty table."""
    if not table.row_count or not table.columns:
        return None
    row = table.cursor_coordinate.row
    if not 0 <= row < table.row_count:
        return None
    return table.ordered_rows[row].key.value
