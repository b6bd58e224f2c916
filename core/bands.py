"""Rules 6-7: which band a month falls in, and the credit it owes.

Availability is compared unrounded: the caller passes the exact value (a
Decimal computed from integer minutes), never a rounded display figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

from core.config import Band, Basis, Contract
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

    The complement is exact (interfaces.md rules 6 and 7: the amount is the fee
    times this percentage, rounded half-up at the cent, nothing rounded before);
    a letter that prints it shows as many digits as it needs (``slawatch.letter``).
    """
    if band.complement or band.credit_percent is None:
        return max(HUNDRED - availability, Decimal(0))
    return band.credit_percent


def credit_amount(monthly_fee: Decimal, credit_percent: Decimal) -> Decimal:
    """Rule 7: fee x credit% / 100, rounded half-up to cents."""
    return round_cents(monthly_fee * credit_percent / HUNDRED)


def downtime_budget(
    contract: Contract, projected_measured: int, downtime: int, availability: Decimal
) -> int | None:
    """Minutes of downtime left before the month drops into the next band; None in
    the lowest band.

    ``projected_measured`` is the month's measured minutes as they will be at the
    end of the month (every minute not excluded), because the band is decided
    on the whole month, not on the part of it that has passed.
    """
    bands = contract.bands
    index = select_band(bands, contract.basis, availability, downtime)
    if index == len(bands) - 1:
        return None
    band = bands[index]
    if contract.basis == "minutes" and band.max_downtime_minutes is not None:
        return max(0, band.max_downtime_minutes - downtime)
    allowed = (
        Decimal(projected_measured) * (HUNDRED - band.min_availability) / HUNDRED
    ).to_integral_value(rounding=ROUND_FLOOR)
    return max(0, int(allowed) - downtime)
