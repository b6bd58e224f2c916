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


def share_text(value: Decimal, places: int = 10) -> str:
    """``value`` exactly when it has at most ``places`` decimals, else cut there and
    marked ``…`` (more digits follow): 25, 51.8192, 50.0023148148… The claim letter
    prints credit percentages with ten places, the dashboard with four (55.5555…):
    the digits shown agree, and a cut one says so."""
    exact = f"{value.normalize():f}"
    if "." not in exact or len(exact.partition(".")[2]) <= places:
        return exact
    text = f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "…"
