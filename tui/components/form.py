"""What the dashboard's forms share: the dialog's last lines, its error line, Esc.

A form (``CaseForm``, ``ExclusionForm``, ``TimeForm``) is a modal screen that
composes its own fields, then ``buttons(confirm)``: the error line and the
confirm and Cancel buttons. Enter in any field or the confirm button runs the
form's own ``_submit``; a refused value is shown with ``_error(field, text)``,
which also puts the cursor back in that field. Esc or Cancel dismiss with None.
"""

from __future__ import annotations

from typing import ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

T = TypeVar("T")


class FormScreen(ModalScreen[T | None]):
    """A modal form whose ``first`` field has the cursor when it opens."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]
    first: ClassVar[str]  # the id of the field focused on opening

    def buttons(self, confirm: str) -> ComposeResult:
        """The error line (hidden until ``_error``), then the confirm and Cancel buttons."""
        yield Label("", id="error", classes="problem")
        with Horizontal(classes="buttons"):
            yield Button(confirm, variant="primary", id="ok")
            yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one(f"#{self.first}", Input).focus()

    def _error(self, field: str, text: str) -> None:
        """Show ``text`` on the error line and put the cursor in ``field``."""
        self.query_one("#error", Label).update(text)
        self.query_one("#error", Label).add_class("-shown")
        self.query_one(f"#{field}", Input).focus()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
