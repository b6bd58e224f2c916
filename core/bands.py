"""Rules 6-7: which band a month falls in, and the credit it owes.

Availability is compared unrounded: the caller passes the exact value (a
Decimal computed from integer minutes), never a rounded display figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from core.config import Band, Basis
from core.money import round_cents

HUNDRED = Decimal(100)


def select_band(
    bands: Sequence[Band], basis: Basis, availability: Decimal, downtime_minutes: int
) -> int:
    """Index of the band that applies (rule 6), searching from the top.

    ``percent``: the first band whose ``min_availability`` <= availability.
    ``minutes``: the first band whose ``max_downtime_minutes`` >= downtime; a band
    without that bound takes any downtime. The last band catches whatever is left.
    """
    if not bands:
        raise ValueError("a contract needs at least one band")
    for index, band in enumerate(bands):
        if basis == "percent":
            if band.min_availability <= availability:
                return index
        elif band.max_downtime_minutes is None or downtime_minutes <= band.max_downtime_minutes:
            return index
    return len(bands) - 1


def band_credit_percent(band: Band, availability: Decimal) -> Decimal:
    """The band's credit: its ``credit_percent``, or ``100 - availability`` (rule 6).

    Taken to the letter even on the minutes basis, where a 31-day month owes
    50 % at 21,600 down minutes but 100 - 51.6 = 48.4 % at 21,601: the contract's
    minute column assumes 30-day months, and the percent basis (the default)
    has no such dip.
    """
    if band.complement or band.credit_percent is None:
        return max(HUNDRED - availability, Decimal(0))
    return band.credit_percent


def credit_amount(monthly_fee: Decimal, credit_percent: Decimal) -> Decimal:
    """Rule 7: fee x credit% / 100, rounded half-up to cents."""
    return round_cents(monthly_fee * credit_percent / HUNDRED)
