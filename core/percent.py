"""Percentages for people: one vocabulary on every surface, cut, never rounded.

A month at 99.49979 % is below a 99.5 % band edge and earns that band's credit;
rounded half-up it would read ``99.500``, on the other side of the edge. Every
place that shows a figure (``report`` in every format, ``status``, ``outages``,
the claim export's line, the claim letter, the dashboard) prints it through
the functions here, so the same figure is the same string everywhere:

- an availability, ``availability_text``: cut to four places (``99.4997 %``);
  the digits shown are a lower bound of the true figure, so ``shown >= edge``
  only when the true figure is too;
- how much of a period was measured, ``coverage_text``: cut to one place;
- a credit percentage, ``credit_text``: exact (the fee times the printed figure
  is the amount claimed, rules 6-7), cut past ten places and marked ``…``.

JSON keeps its numbers exact; these are for people.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

AVAILABILITY_PLACES = 4
"""An availability's decimals: a minute of a 30-day month is 0.0023 %, so four places
show every minute, and a 99.99 % (four nines) edge with a digit to spare."""

CREDIT_PLACES = 10
"""A credit percentage's decimals before it is cut and marked ``…``."""


def percent_text(value: Decimal, places: int = AVAILABILITY_PLACES) -> str:
    """``value`` cut (toward zero) to ``places`` decimals, digits only: 99.49979 -> ``99.4997``."""
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):f}"


def availability_text(value: Decimal) -> str:
    """An availability as every surface prints it: ``99.4997 %``."""
    return f"{percent_text(value)} %"


def coverage_text(value: Decimal) -> str:
    """How much of a period was measured: cut to one place (99.96 reads ``99.9 %``)."""
    return f"{percent_text(value, 1)} %"


def measured_text(availability: Decimal, coverage: Decimal) -> str:
    """``100.0000 % (2.1 % measured)``: an availability never without how much was recorded."""
    return f"{availability_text(availability)} ({coverage_text(coverage)} measured)"


def credit_text(value: Decimal, places: int = CREDIT_PLACES) -> str:
    """A credit percentage as the amount is computed from it: ``25 %``, ``0.6625 %``,
    ``51.8192537634… %`` (exact, or cut past ``places`` and marked)."""
    return f"{share_text(value, places)} %"


def share_text(value: Decimal, places: int = CREDIT_PLACES) -> str:
    """``value`` exactly when it has at most ``places`` decimals, else cut there and
    marked ``…`` (more digits follow): 25, 51.8192, 50.0023148148…"""
    exact = f"{value.normalize():f}"
    if "." not in exact or len(exact.partition(".")[2]) <= places:
        return exact
    text = f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN):f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + "…"
