"""The real dashboard driven from the keyboard; every action checked in the store."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Input, Label, Select

from core.config import Config
from core.outages import Outage
from core.timeutil import YearMonth, to_minute
from slawatch.claims import export_claim
from store.sqlite import SqliteStore
from tests.tui.conftest import NOW, pinned
from tui.app import SlawatchApp
from tui.components.case_form import CaseForm
from tui.components.case_screen import CaseScreen
from tui.components.cases_panel import CasesPanel
from tui.components.credits_panel import CreditsPanel
from tui.components.exclusion_form import ExclusionForm
from tui.components.help_screen import HelpScreen
from tui.components.row_table import RowTable
from tui.components.service_screen import ServiceScreen
from tui.components.status_table import StatusTable
from tui.components.time_form import TimeForm

SIZE = (160, 45)


async def until(pilot: Pilot[int], ready: Callable[[], bool], tries: int = 100) -> None:
    for _ in range(tries):
        if ready():
            return
        await pilot.pause(0.02)
    raise AssertionError("the dashboard never got there")


def app_for(config: Config) -> SlawatchApp:
    return SlawatchApp(config, now=pinned, refresh_every=0.2)


async def loaded(pilot: Pilot[int], app: SlawatchApp) -> None:
    await until(pilot, lambda: app.month_passes >= 1 and app.refreshes >= 1)
    await pilot.pause()


def row_text(table: RowTable, key: str) -> str:
    return " ".join(cell.plain for cell in table.row(key))


async def test_live_status_shows_words_stale_and_budget(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        table = app.screen.query_one(StatusTable)
        assert table.keys == [
            "search",
            "billing",
            "mail",
            "portal",
        ]
        assert "✖ down" in row_text(table, "search")
        assert "▲ degraded" in row_text(table, "billing")
        assert "◌ stale" in row_text(table, "mail")  # last probe 10 min ago, 5 s interval
        assert "● up" in row_text(table, "portal")
        # mail, November 2026: 43,200 min less 5 Sunday maintenance hours and a 22 min
        # exclusion = 42,878 measured; 0.5 % of that is 214 min, 25 of them down -> 189 left
        assert "189 min" in row_text(table, "mail")
        cases = app.screen.query_one(CasesPanel)
        assert "BREACHED" in row_text(cases, cases.keys[0])
        credits = app.screen.query_one(CreditsPanel)
        assert "300.00 EUR" in row_text(credits, "credit/portal/2026-10")


async def case_form_for_the_unreported_outage(
    pilot: Pilot[int], app: SlawatchApp
) -> tuple[CreditsPanel, Outage]:
    """The pending credits' outage to report (mail's) selected, and `c` pressed."""
    await loaded(pilot, app)
    credits = app.screen.query_one(CreditsPanel)
    credits.focus()
    await pilot.press("down")
    outage = credits.selected_outage
    assert outage is not None and outage.service == "mail"
    await pilot.press("c")
    await until(pilot, lambda: isinstance(app.screen, CaseForm))
    return credits, outage


async def test_open_case_linked_to_the_selected_outage(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        credits, outage = await case_form_for_the_unreported_outage(pilot, app)
        await pilot.press(*"req77", "enter")  # a "q" typed in a form is text
        await until(pilot, lambda: not credits.selected_outage and app.refreshes >= 3)
    async with await SqliteStore.open(dash_config.storage_path, readonly=True) as store:
        (case,) = await store.cases(service="mail")
    assert case.ref == "req77"
    assert case.priority == "critical"
    assert case.opened_at == NOW
    assert case.links == ((to_minute(outage.start), to_minute(outage.end)),)


async def test_the_case_form_asks_which_channel_the_outage_was_reported_through(
    dash_config: Config,
) -> None:
    """Found as an operator: a case opened on the dashboard was always recorded as
    'email', so a report made by phone, which the SaaS contract does not count, earned
    the credit, and where [cases] channels has no email the dashboard wrote a channel
    that `case open --channel` refuses."""
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        credits, _ = await case_form_for_the_unreported_outage(pilot, app)
        form = app.screen
        channel = form.query_one("#channel", Select)
        assert channel.value == "email"  # the one channel of the contract that earns a credit
        assert "Reported through (a credit: email)" in str(
            form.query_one(".pair Vertical:last-child Label", Label).render()
        )
        channel.value = "phone"
        form.query_one("#ref", Input).focus()
        await pilot.press(*"ph1", "enter")
        await until(pilot, lambda: not isinstance(app.screen, CaseForm))
        seen = app.refreshes
        await until(pilot, lambda: app.refreshes >= seen + 2)
        # By phone: recorded and linked, but the outage is still to be reported.
        assert any(k.startswith("outage/") for k in credits.keys)
    async with await SqliteStore.open(dash_config.storage_path, readonly=True) as store:
        (case,) = await store.cases(service="mail")
    assert (case.ref, case.channel) == ("ph1", "phone")


async def test_record_first_response_and_resolve(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        cases = app.screen.query_one(CasesPanel)
        cases.focus()
        await pilot.press("down")  # the second most urgent: portal's, awaiting a response
        waiting = cases.selected_case
        await pilot.press("r")  # asks when, default now: Enter confirms
        await until(pilot, lambda: isinstance(app.screen, TimeForm))
        await pilot.press("enter")
        await until(pilot, lambda: "answered" in row_text(cases, str(waiting)))
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, TimeForm))
        await pilot.press("enter")
        await until(pilot, lambda: str(waiting) not in cases.keys)
    async with await SqliteStore.open(dash_config.storage_path, readonly=True) as store:
        case = await store.get_case(waiting or 0)
    assert case is not None and case.ref == "SUP-4720"
    assert case.responded_at == NOW
    assert case.resolved_at == NOW


async def test_exclusion_from_the_detail_screen(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("down", "down", "enter")  # mail, the third row
        await until(pilot, lambda: isinstance(app.screen, ServiceScreen))
        screen = app.screen
        assert isinstance(screen, ServiceScreen) and screen.service == "mail"
        await until(pilot, lambda: screen.detail is not None)
        outage = screen.selected_outage
        assert outage is not None
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ExclusionForm))
        await pilot.press("enter")  # no reason yet: refused, nothing written
        error = app.screen.query_one("#error", Label)
        assert "reason" in str(error.content)
        await pilot.press(*"ISP", "space", *"DNS", "enter")
        await until(pilot, lambda: isinstance(app.screen, ServiceScreen))
    start, end = YearMonth(2026, 11).bounds(dash_config.contract_for("mail").timezone)
    async with await SqliteStore.open(dash_config.storage_path, readonly=True) as store:
        windows = await store.windows("mail", start, end)
    (added,) = [w for w in windows if w.reason == "ISP DNS"]
    assert added.kind == "exclusion"
    assert (added.start, added.end) == (to_minute(outage.start), to_minute(outage.end))


async def test_a_maintenance_window_from_the_dashboard(dash_config: Config) -> None:
    """Found as an operator: the dashboard's x took minutes out only as an exclusion
    (with a reason), so a maintenance window the provider announced had to be added
    with the command line; the form now asks which it is."""
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("down", "down", "enter")  # mail
        await until(pilot, lambda: isinstance(app.screen, ServiceScreen))
        screen = app.screen
        await until(pilot, lambda: screen.detail is not None)
        outage = screen.selected_outage
        assert outage is not None
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ExclusionForm))
        form = app.screen
        kind = form.query_one("#kind", Select)
        assert kind.value == "exclusion"
        kind.value = "maintenance"
        form.query_one("#reason", Input).focus()
        await pilot.press("enter")  # maintenance: the reason may be left out
        await until(pilot, lambda: isinstance(app.screen, ServiceScreen))
    start, end = YearMonth(2026, 11).bounds(dash_config.contract_for("mail").timezone)
    async with await SqliteStore.open(dash_config.storage_path, readonly=True) as store:
        windows = await store.windows("mail", start, end)
    (added,) = [
        w for w in windows if (w.start, w.end) == (to_minute(outage.start), to_minute(outage.end))
    ]
    assert (added.kind, added.reason) == ("maintenance", "")


async def test_help_and_quit(dash_config: Config) -> None:
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running)
    assert app.return_code == 0


async def test_export_claim_bundle_for_the_selected_credit(dash_config: Config) -> None:
    app = SlawatchApp(dash_config, now=pinned, refresh_every=0.2, exporter=export_claim)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        app.screen.query_one(CreditsPanel).focus()
        await pilot.press("e")  # the first row: portal, 2026-10, 25 %
        bundle = dash_config.storage_path.parent / "claims" / "claim-portal-2026-10.json"
        await until(pilot, bundle.exists)
    verify = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "slawatch",
        "claim",
        "verify",
        str(bundle),
        "--allow-unsigned",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await asyncio.wait_for(verify.communicate(), 60))[0].decode()
    assert verify.returncode == 0, output
    assert "300.00" in output


async def test_a_re_rated_and_escalated_case_shows_both(dash_config: Config) -> None:
    async with await SqliteStore.open(dash_config.storage_path) as store:
        case = (await store.cases(open_only=True))[0]
        other = next(p for p in dash_config.contract_for(case.service).priorities
                     if p != case.priority)  # fmt: skip
        await store.change_priority(case.id, other, case.opened_at, "re-rated")
        await store.escalate_case(case.id, 3, case.opened_at)
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        cases = app.screen.query_one(CasesPanel)
        assert f"{other}←{case.priority} L3" in row_text(cases, str(case.id))
        cases.focus()
        while cases.selected_case != case.id:
            await pilot.press("down")
        await pilot.press("enter")  # the case itself, not its service
        await until(pilot, lambda: isinstance(app.screen, CaseScreen))
        screen = app.screen
        assert isinstance(screen, CaseScreen)
        await until(pilot, lambda: screen.detail is not None)
        assert screen.detail is not None
        facts = dict(screen.detail.facts)
        assert facts["escalation"] == "level 3 (specialists locate the cause)"
        assert "customer_wait_stops_clock = false" in facts["customer waits"]
        assert any("re-rated" in text for label, text in screen.detail.facts if not label)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, CaseScreen))


async def test_a_fractional_credit_reads_as_the_letter_prints_it(dash_config: Config) -> None:
    """billing, September 2026: 24,000 of 43,200 minutes down is 44.44 % available, in the
    lowest band (credit 100 - availability = 55.5555... %). The pending credits panel shows
    55.5555… % (cut and marked, the letter's digits), never a rounded 56 %."""
    from core.status import DOWN, UP
    from store import MinuteRow

    start, end = YearMonth(2026, 9).bounds(dash_config.contract_for("billing").timezone)
    rows = [MinuteRow("billing", "import", m, DOWN if m < start + 24_000 else UP)
            for m in range(start, end)]  # fmt: skip
    async with await SqliteStore.open(dash_config.storage_path) as store:
        await store.import_minutes([rows])
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        credits = app.screen.query_one(CreditsPanel)
        text = row_text(credits, "credit/billing/2026-09")
        assert "55.5555… %" in text, text


async def test_export_of_a_month_not_over_is_refused_as_the_command_refuses_it(
    dash_config: Config,
) -> None:
    """``e`` on a live service means its running month (November 2026, pinned on the 22nd):
    its figures are provisional, and ``claim export`` refuses them without --provisional;
    so does the dashboard, and says how to export them anyway. No file is written."""
    app = SlawatchApp(dash_config, now=pinned, refresh_every=0.2, exporter=export_claim)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        app.screen.query_one(StatusTable).focus()
        await pilot.press("e")
        await until(pilot, lambda: any(n.severity == "error" for n in app._notifications))
        (said,) = [n.message for n in app._notifications if n.severity == "error"]
        (title,) = [n.title for n in app._notifications if n.severity == "error"]
    assert title == "Claim bundle not written"  # never "Claim bundle written: failed"
    assert "is not over until 2026-12-01T00:00:00Z" in said, said
    assert "--provisional" in said, said
    folder = dash_config.storage_path.parent / "claims"
    assert not folder.exists() or not any(folder.iterdir())


async def test_next_month_stops_at_the_running_month(dash_config: Config) -> None:
    """``]`` from the running month (November 2026, pinned on the 22nd) stays there and
    says why: December has not begun (it read '100.000 %' available, provisional)."""
    app = app_for(dash_config)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ServiceScreen))
        screen = app.screen
        assert isinstance(screen, ServiceScreen)
        await until(pilot, lambda: screen.detail is not None and screen.detail.month == "2026-11")
        await pilot.press("right_square_bracket")
        await until(pilot, lambda: any("running month" in n.message for n in app._notifications))
        assert str(screen.month) == "2026-11"
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: screen.detail is not None and screen.detail.month == "2026-10")
        await pilot.press("right_square_bracket")  # back to the running month: allowed
        await until(pilot, lambda: screen.detail is not None and screen.detail.month == "2026-11")
