"""Times on the command line and in bundles: ISO 8601 with an offset, strictly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from core.errors import InputError
from core.timeutil import YearMonth, from_minute, iso_z, parse_instant, to_minute


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-10-03T14:05:00Z", datetime(2026, 10, 3, 14, 5, tzinfo=UTC)),
        ("2026-10-03T14:05Z", datetime(2026, 10, 3, 14, 5, tzinfo=UTC)),
        ("2026-10-03t14:05:00z", datetime(2026, 10, 3, 14, 5, tzinfo=UTC)),
        (
            "2026-10-03T16:05:00.5+02:00",
            datetime(2026, 10, 3, 16, 5, 0, 500000, tzinfo=timezone(timedelta(hours=2))),
        ),
    ],
)
def test_iso_times_with_an_offset_are_read(text: str, expected: datetime) -> None:
    assert parse_instant(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2026-10-03T14:05:00",  # no offset
        "2026-10-03",  # a date is not an instant
        "14:240Z",
        "2026-10-03T14:240Z",
        "2026-10-03T14:05:00+0200",  # basic-format offset
        "2026-13-03T14:05:00Z",
        "yesterday",
        "",
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC
        "9999-12-31T23:59:00-01:00",  # year 10000 in UTC
    ],
)
def test_anything_else_is_one_line_naming_the_option(text: str) -> None:
    with pytest.raises(InputError) as err:
        parse_instant(text, "--from")
    assert err.value.where == "--from"
    assert "\n" not in str(err.value)


def test_minutes_round_trip_and_months_know_their_length() -> None:
    ts = datetime(2026, 10, 3, 14, 5, 59, tzinfo=UTC)
    assert from_minute(to_minute(ts)) == ts.replace(second=0)
    assert iso_z(ts) == "2026-10-03T14:05:59Z"
    assert YearMonth.parse("2026-02").minutes(UTC) == 28 * 1440
    with pytest.raises(InputError):
        YearMonth.parse("2026-13")
