"""The downtime budget left before the next credit band (saas-standard, 30-day month)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from core.bands import downtime_budget
from core.config import Config

MONTH = 43_200  # minutes in a 30-day month


def availability(down: int) -> Decimal:
    return Decimal(MONTH - down) * 100 / MONTH


def test_budget_at_the_band_edges(dash_config: Config) -> None:
    contract = dash_config.contract_for("portal")  # 99.5 / 95 / 50 / 100 - availability
    assert downtime_budget(contract, MONTH, 0, availability(0)) == 216
    assert downtime_budget(contract, MONTH, 216, availability(216)) == 0
    assert downtime_budget(contract, MONTH, 217, availability(217)) == 2160 - 217
    assert downtime_budget(contract, MONTH, 21_600, availability(21_600)) == 0
    assert downtime_budget(contract, MONTH, 21_601, availability(21_601)) is None  # lowest band


def test_budget_on_the_minutes_basis(dash_config: Config) -> None:
    contract = replace(dash_config.contract_for("portal"), basis="minutes")
    # 31-day month: the percent and minutes columns disagree; minutes count as written
    assert downtime_budget(contract, 44_640, 100, availability(100)) == 116
    assert downtime_budget(contract, 44_640, 2_000, availability(2_000)) == 160
