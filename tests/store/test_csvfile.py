"""The minute-records CSV reader: fast and careful paths agree, line numbers are exact."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from core.errors import InputError
from core.status import DEGRADED, DOWN, UP
from store import MinuteRow, csvfile
from store.csvfile import read_minutes

SERVICES = {"portal", "api"}
M0 = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp()) // 60


def rows(text: str, source: str = "csv") -> list[MinuteRow]:
    stream = io.StringIO(text, newline="")
    return [r for batch in read_minutes(stream, name="f.csv", source=source, services=SERVICES)
            for r in batch]  # fmt: skip


def error(text: str) -> str:
    with pytest.raises(InputError) as info:
        rows(text)
    return str(info.value)


PLAIN = (
    "service,minute,status,latency_ms\n"
    "portal,2026-10-01T00:00:00Z,up,12\n"
    "portal,2026-10-01T00:01Z,down,\n"
    "api,2026-10-01T00:02:00Z,degraded,7\n"
)
EXPECTED = [
    MinuteRow("portal", "csv", M0, UP, 12),
    MinuteRow("portal", "csv", M0 + 1, DOWN, None),
    MinuteRow("api", "csv", M0 + 2, DEGRADED, 7),
]


def test_plain_crlf_quoted_and_offset_forms_read_the_same() -> None:
    assert rows(PLAIN) == EXPECTED
    assert rows(PLAIN.replace("\n", "\r\n")) == EXPECTED
    quoted = PLAIN.replace("portal,2026-10-01T00:00:00Z", '"portal","2026-10-01T02:00:00+02:00"')
    assert rows(quoted) == EXPECTED
    assert rows(PLAIN.rstrip("\n")) == EXPECTED  # no final line break
    three = "service,minute,status\nportal,2026-10-01T00:00:00Z,up\n"
    assert rows(three) == [MinuteRow("portal", "csv", M0, UP)]


def test_line_numbers_are_exact_across_chunks_and_blank_lines(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = "".join(
        f"portal,2026-10-01T{h:02d}:{m:02d}:00Z,up,{m}\n" for h in range(3) for m in range(60)
    )
    text = "service,minute,status,latency_ms\n" + body
    whole = rows(text)
    monkeypatch.setattr(csvfile, "CHUNK_CHARS", 97)  # chunks cut lines anywhere
    assert rows(text) == whole and len(whole) == 180
    with_blank = text.replace("T01:00:00Z,up,0\n", "T01:00:00Z,up,0\n\n")
    assert rows(with_blank) == whole
    # Line 1 is the header; the blank line is line 63; the record after it line 64.
    bad = with_blank.replace("T01:01:00Z,up,1", "T01:01:00Z,sideways,1")
    assert "f.csv: line 64: status 'sideways'" in error(bad)
    last = text + "portal,2026-10-01T03:00:00Z,up,x\n"
    assert "f.csv: line 182: latency_ms 'x'" in error(last)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "line 1: the file is empty"),
        ("service,minute\nportal,2026-10-01T00:00:00Z\n", "line 1: header"),
        (PLAIN + "portal,2026-10-01T00:03:30Z,up,1\n", "line 5: minute"),
        (PLAIN + "portal,2026-10-01T00:03:00,up,1\n", "line 5: minute"),
        (PLAIN + "portal,2026-13-01T00:03:00Z,up,1\n", "line 5: minute"),
        (PLAIN + "web,2026-10-01T00:03:00Z,up,1\n", "line 5: unknown service 'web'"),
        (PLAIN + "portal,2026-10-01T00:03:00Z,UP,1\n", "line 5: status 'UP'"),
        (PLAIN + "portal,2026-10-01T00:03:00Z,up,1,2\n", "line 5: expected 4 fields, got 5"),
        (PLAIN + 'portal,"2026-10-01T00:03:00Z\n', "line 5: expected 4 fields, got 2"),
        (PLAIN + "portal,2026-10-01T00:03:00Z,up,١\n", "line 5: latency_ms"),
    ],
)
def test_bad_rows_name_their_line(text: str, message: str) -> None:
    assert message in error(text)


def test_text_that_is_not_utf8_is_an_input_error() -> None:
    raw = PLAIN.encode() + b"portal,2026-10-01T00:03:00Z,up,\xff\n"
    stream = io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline="")
    with pytest.raises(InputError, match="not UTF-8"):
        list(read_minutes(stream, name="f.csv", source="csv", services=SERVICES))
