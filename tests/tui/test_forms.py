"""The forms' shared behaviour (tui.components.form): Cancel, the error line, Enter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual.app import App
from textual.screen import Screen
from textual.widgets import Input, Label

from tui.components.case_form import CaseForm
from tui.components.exclusion_form import ExclusionForm
from tui.components.time_form import TimeForm
from tui.view import ExclusionRequest

NOW = datetime(2026, 10, 5, 12, 0, tzinfo=UTC)


class _Host(App[None]):
    """A bare app that opens one form and keeps what it was dismissed with."""

    def __init__(self, form: Screen[Any]) -> None:
        super().__init__()
        self.form = form
        self.answers: list[Any] = []

    def on_mount(self) -> None:
        self.push_screen(self.form, self.answers.append)


def _forms() -> list[Screen[Any]]:
    return [
        CaseForm("portal", ["high"], NOW),
        ExclusionForm("portal", NOW, NOW.replace(hour=13)),
        TimeForm("Resolve case 1", "When?", "Resolved", NOW),
    ]


async def test_cancel_dismisses_every_form_with_nothing() -> None:
    for form in _forms():
        app = _Host(form)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            await pilot.click("#cancel")
            await pilot.pause()
            assert app.answers == [None], type(form).__name__
            assert app.screen is not form


async def test_a_refused_value_shows_on_the_error_line_and_takes_the_cursor() -> None:
    form = ExclusionForm("portal", NOW, NOW.replace(hour=13))
    app = _Host(form)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        assert app.focused is form.query_one("#reason", Input)  # the form's first field
        form.query_one("#to", Input).value = "not a time"
        await pilot.press("enter")
        await pilot.pause()
        error = form.query_one("#error", Label)
        assert error.has_class("-shown") and "not an ISO 8601 time" in str(error.render())
        assert app.focused is form.query_one("#to", Input)
        assert app.answers == []
        form.query_one("#to", Input).value = "2026-10-05T13:00:00Z"
        form.query_one("#reason", Input).value = "ISP outage"
        await pilot.press("enter")
        await pilot.pause()
    assert app.answers == [ExclusionRequest("portal", NOW, NOW.replace(hour=13), "ISP outage")]


async def test_the_case_form_names_the_outage_it_reports() -> None:
    """Its end on the start's day as a bare time (as the outage tables show it); an
    ongoing outage is 'ongoing since', not an end where the records stop."""
    from datetime import timedelta

    from core.outages import Outage

    start = NOW.replace(hour=11, minute=5)
    ended = Outage("portal-1", "portal", start, start + timedelta(minutes=25), 25, False, None,
                   start + timedelta(hours=72))  # fmt: skip
    ongoing = Outage("portal-2", "portal", start, NOW, 55, False, None,
                     start + timedelta(hours=72), ongoing=True)  # fmt: skip
    said = []
    for outage in (ended, ongoing):
        form = CaseForm("portal", ["high"], NOW, outage)
        app = _Host(form)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            said.append(str(form.query(Label).first().render()))
    assert said[0].startswith("Reports the outage of 10-05 11:05–11:30 UTC (25 min)")
    assert said[1].startswith("Reports the outage ongoing since 10-05 11:05 UTC (55 min)")
    assert all(s.endswith("report by 10-08 11:05") for s in said), said
