"""One percent formatter, cut not rounded: a figure never shows on the wrong side of a band edge.

The dashboard used to round half-up and show ``99.500 %`` for a month at
99.49979 %, which is in the credit band below 99.5 %; the CLI showed ``99.499%``.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from core.percent import availability_text, credit_text, percent_text
from slawatch import letter
from tui import fmt

EDGE = Decimal("99.5")


def test_just_below_an_edge_reads_below_it_everywhere() -> None:
    value = Decimal("99.49979")
    assert percent_text(value) == "99.4997"
    assert fmt.percent(value) == "99.4997 %"  # the dashboard
    assert availability_text(value) == "99.4997 %"  # report, status, the claim line
    assert letter.pct(value) == "99.4997 %"  # the claim letter
    assert Decimal(percent_text(value)) < EDGE


def test_whole_and_small_figures() -> None:
    assert percent_text(Decimal(100)) == "100.0000"
    assert percent_text(Decimal("99.9999"), 2) == "99.99"
    assert percent_text(Decimal(0), 1) == "0.0"
    assert fmt.percent(None) == "-"


@given(
    st.decimals(min_value=0, max_value=100, places=9, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=5),
)
def test_shown_is_never_above_the_truth(value: Decimal, places: int) -> None:
    shown = Decimal(percent_text(value, places))
    assert shown <= value < shown + Decimal(1).scaleb(-places)


def test_a_credit_percentage_is_exact_or_marked_cut() -> None:
    assert credit_text(Decimal("25.00")) == "25 %"
    assert credit_text(Decimal("0.6625")) == "0.6625 %"
    third = Decimal(100) / 3
    assert credit_text(third) == "33.3333333333… %"  # report, status and the letter
    assert letter.share(third) == credit_text(third)
    assert fmt.credit_band(third) == "33.3333… %"  # the dashboard cuts sooner, marked
