"""A bordered panel of the dashboard's screens: a titled box around its widgets."""

from __future__ import annotations

from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget


def panel(box_id: str, title: str, *children: Widget, scroll: bool = False) -> Widget:
    """``children`` in a ``.panel`` box with ``title`` on its border (``scroll``: the box
    scrolls when they are taller than it)."""
    box = (VerticalScroll if scroll else Vertical)(*children, id=box_id, classes="panel")
    box.border_title = title
    return box
