"""A certificate nearing its expiry is on the operator's screens, not only in the log.

Real probe states with ``tls_expires_at`` in a real SQLite store, the real app
through ``run_test()``, the clock pinned: the main screen's error column and
title bar warn within ``tls_warn_days`` (and say an expired one has expired),
the detail screen shows the expiry always and as a warning when it is near.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from rich.text import Text

from core.config import Config
from core.configfile import load_config
from core.status import DOWN, UP
from store import ProbeState, open_store
from tests import configs
from tests.conftest import write_config
from tests.tui.conftest import NOW, pinned
from tests.tui.test_actions import loaded, row_text, until
from tui.app import SlawatchApp
from tui.components.fact_line import FactLine
from tui.components.service_screen import ServiceScreen
from tui.components.status_table import StatusTable, certificate_text
from tui.components.title_bar import TitleBar
from tui.months import skeleton_row
from tui.palette import Palette

CONFIG = configs.toml(
    storage="certs.db",
    agent={"tls_warn_days": 14},
    contracts=[configs.contract()],
    services=[
        configs.service(
            name, monthly_fee="100.00", probe=configs.probe("https://127.0.0.1:9/", **own)
        )
        for name, own in (
            ("shop", {}),  # 5 days left: warns under the agent's 14
            ("api", {}),  # 40 days left: quiet
            ("docs", {"tls_warn_days": 60}),  # 40 days left, but its own threshold is 60
            ("old", {}),  # expired yesterday (and down with tls, which its error column says)
            ("plain", {}),  # no certificate recorded
        )
    ],
)

EXPIRIES = {
    "shop": (UP, NOW + timedelta(days=5, hours=2), None),
    "api": (UP, NOW + timedelta(days=40), None),
    "docs": (UP, NOW + timedelta(days=40), None),
    "old": (DOWN, NOW - timedelta(days=1), "tls:expired"),
    "plain": (UP, None, None),
}


async def _config(tmp_path: Path) -> Config:
    config = load_config(write_config(tmp_path, CONFIG))

    async def seed() -> None:
        async with await open_store(config) as store:
            for name, (status, expiry, error) in EXPIRIES.items():
                at = NOW - timedelta(seconds=3)
                await store.record_probe(
                    ProbeState(name, "agent", at, status, 20, error, tls_expires_at=expiry)
                )

    await seed()
    return config


async def test_main_screen_warns_of_expiring_certificates(tmp_path: Path) -> None:
    config = await _config(tmp_path)
    app = SlawatchApp(config, now=pinned, refresh_every=0.2)
    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, app)
        table = app.screen.query_one(StatusTable)
        assert "⚠ cert: 5 days left" in row_text(table, "shop")
        assert "⚠ cert: 40 days left" in row_text(table, "docs")  # its own 60 days
        assert "cert" not in row_text(table, "api")
        assert "cert" not in row_text(table, "plain")
        # A probe error says more than the certificate line: it stays in the column.
        assert "tls:expired" in row_text(table, "old") and "cert" not in row_text(table, "old")
        title = app.screen.query_one(TitleBar).plain
        assert "⚠ 3 certificates expiring" in title  # shop, docs, old
    narrow = SlawatchApp(config, now=pinned, refresh_every=0.2)
    async with narrow.run_test(size=(80, 24)) as pilot:  # the title bar says it at 80 columns
        await loaded(pilot, narrow)
        assert "⚠ 3 certificates expiring" in narrow.screen.query_one(TitleBar).plain


async def test_detail_screen_shows_the_expiry_and_warns_when_near(tmp_path: Path) -> None:
    config = await _config(tmp_path)
    app = SlawatchApp(config, now=pinned, refresh_every=0.2)

    async def facts(name: str) -> str:
        table = app.screen.query_one(StatusTable)
        table.cursor = table.keys.index(name)
        await app.run_action("details")
        await until(
            pilot,
            lambda: isinstance(app.screen, ServiceScreen) and app.screen.detail is not None,
        )
        plain = app.screen.query_one("#detail-title", FactLine).plain
        app.pop_screen()
        await pilot.pause()
        return plain

    async with app.run_test(size=(160, 45)) as pilot:
        await loaded(pilot, app)
        assert "⚠ certificate expires 11-27 11:30 (5 days left)" in await facts("shop")
        api = await facts("api")
        assert (
            "certificate expires 01-01 09:30 (40 days left)" in api and "⚠ certificate" not in api
        )
        assert "⚠ certificate expired 11-21 09:30" in await facts("old")
        assert "certificate" not in await facts("plain")


def test_certificate_warning_colours(tmp_path: Path) -> None:
    """Yellow while it still holds, red once it has expired."""
    row = skeleton_row(load_config(write_config(tmp_path, CONFIG)), "shop")
    soon = certificate_text(replace(row, tls_expires_at=NOW + timedelta(days=2)), NOW, Palette())
    gone = certificate_text(replace(row, tls_expires_at=NOW - timedelta(hours=1)), NOW, Palette())
    assert isinstance(soon, Text) and soon.plain == "⚠ cert: 2 days left"
    assert str(soon.style) == Palette().warn and str(gone.style) == Palette().bad
    assert gone.plain == "⚠ cert: expired"
