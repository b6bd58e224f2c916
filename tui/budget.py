"""How much more downtime the month can take before it drops into the next band."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from core.bands import HUNDRED, select_band
from core.config import Contract


def downtime_budget(
    contract: Contract, projected_measured: int, downtime: int, availability: Decimal
) -> int | None:
    """Minutes of downtime left in the current band; None in the lowest band.

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
