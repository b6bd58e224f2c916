"""Percentages for people: cut, never rounded, so a figure never crosses a band edge.

A month at 99.49979 % is below a 99.5 % band edge and earns that band's credit;
rounded half-up to three places it would read ``99.500``, on the other side of
the edge. Every place that shows an availability (the CLI tables, the
dashboard, the claim letter) prints it through ``percent_text``: the digits
shown are always a lower bound of the true figure, so ``shown >= edge`` only
when the true figure is too.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal


def percent_text(value: Decimal, places: int = 3) -> str:
    """``value`` cut (toward zero) to ``places`` decimals, digits only: 99.49979 -> ``99.499``."""
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):f}"


def share_text(value: Decimal) -> str:
    """A credit percentage, cut to four places without trailing zeros: ``25``, ``0.6625``,
    ``54.8835`` (the claim letter's and the dashboard's spelling; never rounded up)."""
    text = percent_text(value, 4)
    return text.rstrip("0").rstrip(".") if "." in text else text
