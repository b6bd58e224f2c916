"""Money: Decimal amounts rounded half-up at the cent and printed with two decimals."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def round_cents(amount: Decimal) -> Decimal:
    """Round half-up to the cent (``0.005`` -> ``0.01``), as contracts compute credits."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def format_money(amount: Decimal) -> str:
    """Two decimals, half-up: ``Decimal("1234.5")`` -> ``"1234.50"``."""
    return f"{round_cents(amount):.2f}"
