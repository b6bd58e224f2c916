"""Reading the minute-records CSV of ``slawatch import minutes``, as a stream.

Header ``service,minute,status`` with an optional fourth column ``latency_ms``.
``minute`` is ISO 8601 with an offset, on a whole minute; ``status`` is ``up``,
``down`` or ``degraded``. The stream may be a gzip one (``.csv.gz``, opened by
the caller); one cut short is an error naming the line. Rows come out in
batches so that a file of any size is read in bounded memory; the first bad
row raises ``InputError`` naming the file and line, and the caller's
transaction then keeps nothing. Line numbers
count physical lines; no field of a valid row can hold a line break.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from itertools import repeat
from typing import TextIO

from core.errors import InputError
from core.status import DEGRADED, DOWN, UP
from core.timeutil import to_minute
from store.rows import MinuteRow

_LATENCY_DIGITS = 12  # more would be no latency at all (and int() refuses 4,300 digits)
MAX_LINE_CHARS = 1 << 20  # a line without its end this long is refused (memory bound)
CHUNK_CHARS = 2 << 20  # about 55,000 rows of a typical file per batch
_STATUSES = {"up": UP, "down": DOWN, "degraded": DEGRADED}
_HEADERS = (["service", "minute", "status"], ["service", "minute", "status", "latency_ms"])
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# What may follow ``YYYY-MM-DDTHH`` in the canonical UTC form, and the minute it names.
_TAILS = {f":{m:02d}{tail}": m for m in range(60) for tail in (":00Z", "Z", ":00+00:00")}


class _MinuteParser:
    """ISO text -> epoch minute, with a fast path for ``YYYY-MM-DDTHH:MM[:00]Z``.

    The hour part of canonical UTC times repeats for 60 rows in a row, so its
    epoch minute is cached; anything else goes through ``datetime.fromisoformat``.
    """

    def __init__(self) -> None:
        self._hours: dict[str, int] = {}
        self._texts: dict[str, int] = {}

    def __call__(self, text: str) -> int | None:
        n = len(text)
        if (n == 17 or (n == 20 and text[16:19] == ":00")) and text[-1] == "Z" and text[13] == ":":
            mm = text[14:16]
            if mm.isdigit() and mm < "60":
                base = self._hours.get(text[:13])
                if base is None:
                    base = self._slow(text[:13] + ":00Z")
                    if base is None:
                        return None
                    if len(self._hours) > 10_000:
                        self._hours.clear()
                    self._hours[text[:13]] = base
                return base + int(mm)
        return self._slow(text)

    def column(self, texts: Sequence[str]) -> list[int] | None:
        """Every text of a column in the canonical UTC form, or None if any is not.

        Whole texts are cached too: a file of many services repeats every
        minute once per service, and a dict lookup is the cheapest parse.
        """
        known = self._texts
        new = set(texts).difference(known)
        if new:
            if len(known) + len(new) > 250_000:
                known.clear()
            hours = self._hours
            for text in new:
                tail = _TAILS.get(text[13:])
                if tail is None:
                    return None
                base = hours.get(text[:13])
                if base is None:
                    base = self._slow(text[:13] + ":00Z")
                    if base is None:
                        return None
                    hours[text[:13]] = base
                known[text] = base + tail
        return list(map(known.__getitem__, texts))

    @staticmethod
    def _slow(text: str) -> int | None:
        raw = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            return None
        if ts.tzinfo is None or ts.second or ts.microsecond:
            return None
        minute = int((ts - _EPOCH).total_seconds()) // 60
        # 0001-01-01T00:00+14:00 is in year 0 in UTC: no datetime can hold that minute.
        return minute if _FIRST_MINUTE <= minute <= _LAST_MINUTE else None


_FIRST_MINUTE = to_minute(datetime.min.replace(tzinfo=UTC))
_LAST_MINUTE = to_minute(datetime.max.replace(tzinfo=UTC))


def read_minutes(
    stream: TextIO, *, name: str, source: str, services: Collection[str]
) -> Iterator[list[MinuteRow]]:
    """Yield batches of rows from an open CSV ``stream`` called ``name``.

    The file is read in chunks of whole lines. A chunk of plain lines (no
    quotes, blank lines or unusual times) is split into columns and checked
    column by column at C speed (``_plain``); any other chunk goes through the
    ``csv`` module row by row (``_careful``), which names the first bad line.
    """
    known = frozenset(services)
    parse_minute = _MinuteParser()
    width = _header(stream, name)
    line, pending = 2, ""  # ``line``: the file line the next chunk starts on
    while True:
        try:
            chunk = stream.read(CHUNK_CHARS)
        except UnicodeDecodeError:
            raise InputError(
                f"{name}: line {line}", "not UTF-8 text (here or further on)"
            ) from None
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:  # a .csv.gz cut short
            raise InputError(
                f"{name}: line {line}", f"the compressed file is cut short or damaged ({exc})"
            ) from None
        except OSError as exc:
            raise InputError(
                f"{name}: line {line}", f"cannot be read: {exc.strerror or exc}"
            ) from None
        text = pending + chunk
        if chunk:
            cut = text.rfind("\n") + 1
            if cut == 0:
                pending = text
                if len(pending) > MAX_LINE_CHARS:  # an endless line is no minute record
                    raise InputError(
                        f"{name}: line {line}", f"longer than {MAX_LINE_CHARS:,} characters"
                    )
                continue
            text, pending = text[:cut], text[cut:]
        if text:
            batch = _plain(text, width, source, known, parse_minute)
            if batch is None:
                batch = list(_careful(text, line, width, name, source, known, parse_minute))
            if batch:
                yield batch
            line += text.count("\n")
        if not chunk:
            return


def _header(stream: TextIO, name: str) -> int:
    """Check the header line; the number of columns."""
    try:
        first = stream.readline()
    except UnicodeDecodeError:
        raise InputError(f"{name}: line 1", "not UTF-8 text") from None
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(
            f"{name}: line 1", f"the compressed file is cut short or damaged ({exc})"
        ) from None
    if not first:
        raise InputError(
            f"{name}: line 1",
            "the file is empty; expected the header 'service,minute,status[,latency_ms]'",
        )
    header = [h.strip() for h in next(csv.reader([first]), [])]
    if header not in _HEADERS:
        raise InputError(
            f"{name}: line 1",
            "header must be 'service,minute,status' with an optional ',latency_ms'",
        )
    return len(header)


def _plain(
    text: str, width: int, source: str, services: frozenset[str], parse_minute: _MinuteParser
) -> list[MinuteRow] | None:
    """The chunk's rows when every line is plainly valid, else None (then ``_careful``)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")  # Windows line ends
    if '"' in text or "\r" in text:
        return None
    body = text[:-1] if text.endswith("\n") else text
    # Every line has exactly width - 1 commas, so the flat split below stays aligned.
    if set(map(str.count, body.split("\n"), repeat(","))) != {width - 1}:
        return None
    flat = body.replace("\n", ",").split(",")
    columns = [flat[i::width] for i in range(width)]
    if not services.issuperset(columns[0]):
        return None
    statuses = list(map(_STATUSES.get, columns[2]))
    if None in statuses:
        return None
    minutes = parse_minute.column(columns[1])
    if minutes is None:
        return None
    latencies: list[int | None] | Iterator[None] = repeat(None)
    if width == 4:
        distinct = set(columns[3])
        if not all(t.isascii() and t.isdigit() and len(t) <= _LATENCY_DIGITS for t in distinct):
            if distinct != {""}:
                return None
        else:
            values = {t: int(t) for t in distinct}  # latencies repeat: convert each once
            latencies = list(map(values.__getitem__, columns[3]))
    # tuple.__new__ builds each MinuteRow in C (the NamedTuple's own __new__ is Python).
    fields = zip(columns[0], repeat(source), minutes, statuses, latencies, repeat(None))
    return list(map(tuple.__new__, repeat(MinuteRow), fields))


def _careful(
    text: str,
    first_line: int,
    width: int,
    name: str,
    source: str,
    services: frozenset[str],
    parse_minute: _MinuteParser,
) -> Iterator[MinuteRow]:
    """Row by row with the csv module, raising InputError at the first bad row."""
    reader = csv.reader(io.StringIO(text))
    where = f"{name}: line {first_line}"
    try:
        for fields in reader:
            if not fields:
                where = f"{name}: line {first_line + reader.line_num}"
                continue  # a blank line
            yield _row(fields, where, width, source, services, parse_minute)
            where = f"{name}: line {first_line + reader.line_num}"
    except csv.Error as exc:
        raise InputError(where, f"malformed CSV ({exc})") from None


def _row(
    fields: list[str],
    where: str,
    width: int,
    source: str,
    services: frozenset[str],
    parse_minute: _MinuteParser,
) -> MinuteRow:
    if len(fields) != width:
        raise InputError(where, f"expected {width} fields, got {len(fields)}")
    service, minute_text, status_text = fields[0], fields[1], fields[2]
    if service not in services:
        raise InputError(where, f"unknown service {service!r}")
    status = _STATUSES.get(status_text)
    if status is None:
        raise InputError(where, f"status {status_text!r} is not one of up, down, degraded")
    minute = parse_minute(minute_text)
    if minute is None:
        raise InputError(
            where,
            f"minute {minute_text!r} is not an ISO 8601 time with an offset"
            " on a whole minute, in range in UTC (e.g. 2026-10-03T14:05:00Z)",
        )
    latency: int | None = None
    if width == 4 and fields[3] != "":
        text = fields[3]
        if not (text.isascii() and text.isdigit()) or len(text) > _LATENCY_DIGITS:
            shown = text if len(text) <= 20 else text[:20] + "..."
            raise InputError(where, f"latency_ms {shown!r} is not a whole number >= 0")
        latency = int(text)
    return MinuteRow(service, source, minute, status, latency)
