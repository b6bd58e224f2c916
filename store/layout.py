"""How a batch of minute rows lands in hour blocks, at C speed where the batch allows.

A batch is cut into *segments*: stretches of rows of one service and one source
(an import file sorted by service is a few long segments). A segment of
consecutive minutes, the usual case, is copied into its blocks one hour slice at
a time; any other segment is written minute by minute. Nothing there builds a
Python object per row. A batch of one row per service and source (the agent's
minute) would be a segment per row: ``splice`` writes each row straight into its
block's bytes instead.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import groupby, repeat
from operator import floordiv, itemgetter
from struct import Struct

from store.blocks import BLOCK, NO_LATENCY, Block, encode_latency
from store.rows import MinuteRow

Key = tuple[int, int, int]  # (service id, hour, source id): one stored block


@dataclass(frozen=True)
class Segment:
    service: str
    source: str
    start: int  # [start, stop): positions in the batch
    stop: int


def segments(services: Sequence[str], sources: Sequence[str]) -> list[Segment]:
    """The batch's stretches of one (service, source), in batch order."""
    out: list[Segment] = []
    at = 0
    for service, group in groupby(services):
        stop = at + len(list(group))
        part = sources[at:stop]
        if part.count(part[0]) == len(part):
            out.append(Segment(service, part[0], at, stop))
        else:
            for source, same in groupby(part):
                size = len(list(same))
                out.append(Segment(service, source, at, at + size))
                at += size
        at = stop
    return out


def hours_of(minutes: Sequence[int], consecutive: bool) -> range | set[int]:
    """The hours a segment's minutes fall in (a range when they are consecutive)."""
    first = minutes[0]
    if consecutive:
        return range(first // BLOCK, (first + len(minutes) - 1) // BLOCK + 1)
    return set(map(floordiv, minutes, repeat(BLOCK)))


def is_consecutive(minutes: Sequence[int]) -> bool:
    """Each minute is the one after the previous (checked at C speed)."""
    first = minutes[0]
    return minutes[-1] - first == len(minutes) - 1 and list(minutes) == list(
        range(first, first + len(minutes))
    )


def _columns(rows: Sequence[MinuteRow]) -> tuple[bytes, array[int]]:
    """A segment's statuses and latencies as packed columns (``NO_LATENCY`` where none)."""
    statuses = bytes(map(itemgetter(3), rows))
    raw = list(map(itemgetter(4), rows))
    if None in raw:  # only then a Python step per row
        raw = [NO_LATENCY if lat is None else lat for lat in raw]
    return statuses, array("H", raw)


def _hour_slices(first: int, end: int) -> Iterator[tuple[int, int, int]]:
    """(hour, lo, hi): the minutes [first, end) cut at hour boundaries."""
    for hour in range(first // BLOCK, (end - 1) // BLOCK + 1):
        yield hour, max(first, hour * BLOCK), min(end, (hour + 1) * BLOCK)


def fill(
    blocks: dict[Key, Block],
    sid: int,
    src: int,
    rows: Sequence[MinuteRow],
    minutes: Sequence[int],
    consecutive: bool,
) -> None:
    """Write one segment's rows into their blocks (the last row of a minute wins)."""
    first = minutes[0]
    if not consecutive:
        last = -1
        status_buf, latency_buf, base = bytearray(), array("H"), 0
        for _service, _source, minute, status, lat, _error in rows:
            hour = minute // BLOCK
            if hour != last:
                block = blocks[(sid, hour, src)]
                status_buf, latency_buf = block.status, block.latency
                base, last = hour * BLOCK, hour
            status_buf[minute - base] = status
            latency_buf[minute - base] = NO_LATENCY if lat is None else lat
        return
    statuses, latencies = _columns(rows)
    for hour, lo, hi in _hour_slices(first, first + len(minutes)):
        block = blocks[(sid, hour, src)]
        at = lo - hour * BLOCK
        block.status[at : at + hi - lo] = statuses[lo - first : hi - first]
        block.latency[at : at + hi - lo] = latencies[lo - first : hi - first]


_EMPTY = (bytes(BLOCK), array("H", [NO_LATENCY] * BLOCK).tobytes())
_BYTES = [bytes((code,)) for code in range(256)]
_U16 = Struct("<H")  # a latency as the block stores it (store.blocks)


def splice(
    stored: Mapping[Key, tuple[bytes, bytes]], rows: Sequence[MinuteRow], keys: Sequence[Key]
) -> dict[Key, tuple[bytes, bytes]]:
    """The blocks ``rows`` touch, as (status, latency) bytes, after writing each row
    into its block (``keys``: each row's; from ``stored``, else empty) in order: the
    last row of a minute wins, as with ``fill``. One step per row and no ``Block``:
    for a batch with one row per service and source (the agent's minute), where
    segments would be a row each.

    All rows of one minute (the agent's minute, whatever else it holds): every
    block is spliced at the same offset, so the blocks are joined and each column's
    new bytes laid in by one strided slice, at C speed (a row given twice: its last
    wins here too, each block written over at the one offset)."""
    minutes = set(map(itemgetter(2), rows))
    if len(minutes) == 1:
        found = list(map(stored.get, keys, repeat(_EMPTY)))
        statuses, latencies = list(map(itemgetter(0), found)), list(map(itemgetter(1), found))
        if set(map(len, statuses)) == {BLOCK} and set(map(len, latencies)) == {2 * BLOCK}:
            spliced = _at_offset(statuses, latencies, rows, minutes.pop() % BLOCK)
            return dict(zip(keys, spliced, strict=True))
    out: dict[Key, tuple[bytes, bytes]] = {}
    for key, (_service, _source, minute, code, latency, _error) in zip(keys, rows, strict=True):
        at = minute % BLOCK
        status, lat = out.get(key) or stored.get(key) or _EMPTY
        value = _U16.pack(NO_LATENCY if latency is None else latency)
        out[key] = (
            status[:at] + _BYTES[code] + status[at + 1 :],
            lat[: 2 * at] + value + lat[2 * at + 2 :],
        )
    return out


def _at_offset(
    statuses: Sequence[bytes], latencies: Sequence[bytes], rows: Sequence[MinuteRow], at: int
) -> Iterator[tuple[bytes, bytes]]:
    """Whole blocks (``BLOCK`` status bytes, ``2 * BLOCK`` latency bytes each) with the
    i-th row's status and latency written at offset ``at`` of the i-th block."""
    codes, values = _columns(rows)
    raw = encode_latency(values)
    status, latency = bytearray(b"".join(statuses)), bytearray(b"".join(latencies))
    status[at::BLOCK] = codes
    latency[2 * at :: 2 * BLOCK] = raw[0::2]
    latency[2 * at + 1 :: 2 * BLOCK] = raw[1::2]
    return zip(_cuts(BLOCK, len(statuses)).unpack(status),
               _cuts(2 * BLOCK, len(latencies)).unpack(latency), strict=True)  # fmt: skip


@lru_cache(maxsize=16)
def _cuts(size: int, count: int) -> Struct:
    """Cuts ``count`` pieces of ``size`` bytes out of their join, as bytes, at C speed
    (an agent's every minute has the same count of blocks: made once)."""
    return Struct(f"{size}s" * count)


@dataclass
class Tally:
    """What an import found against the minutes already recorded: rows that are
    new, rows that repeat what is stored, and rows that would change it
    (``conflicts``: (service id, source id, minute, old status, old latency,
    new status, new latency), latencies ``NO_LATENCY`` where none)."""

    new: int = 0
    unchanged: int = 0
    conflicts: list[tuple[int, int, int, int, int, int, int]] = field(default_factory=list)


def classify(
    blocks: dict[Key, Block],
    sid: int,
    src: int,
    rows: Sequence[MinuteRow],
    minutes: Sequence[int],
    consecutive: bool,
    tally: Tally,
) -> None:
    """Count one segment's rows into ``tally`` against ``blocks`` as they are
    before ``fill``; an hour slice that is all new or all the same is counted
    at C speed, only a slice that differs is looked at minute by minute."""
    statuses, latencies = _columns(rows)
    if consecutive:
        first = minutes[0]
        for hour, lo, hi in _hour_slices(first, first + len(minutes)):
            block = blocks[(sid, hour, src)]
            at, size = lo - hour * BLOCK, hi - lo
            old_s = block.status[at : at + size]
            new_s = statuses[lo - first : hi - first]
            new_l = latencies[lo - first : hi - first]
            if old_s == new_s and block.latency[at : at + size] == new_l:
                tally.unchanged += size
            elif not any(old_s):
                tally.new += size
            else:
                _one_by_one(block, sid, src, range(lo, hi), new_s, new_l, tally)
        return
    # A minute given twice in one segment is counted against its first row, as one
    # given again in a later segment or batch is against what that one wrote: the
    # same row again is unchanged ("importing the same row twice changes nothing"),
    # another status or latency a conflict (refused unless --replace).
    earlier: dict[int, tuple[int, int]] = {}
    for i, minute in enumerate(minutes):
        row = (statuses[i], latencies[i])
        given = earlier.get(minute)
        if given is not None:
            if given == row:
                tally.unchanged += 1
            else:
                tally.conflicts.append((sid, src, minute, *given, *row))
            continue
        earlier[minute] = row
        block = blocks[(sid, minute // BLOCK, src)]
        _one_by_one(block, sid, src, (minute,), statuses[i : i + 1], latencies[i : i + 1], tally)


def _one_by_one(
    block: Block,
    sid: int,
    src: int,
    minutes: Sequence[int],
    statuses: bytes,
    latencies: array[int],
    tally: Tally,
) -> None:
    for minute, status, latency in zip(minutes, statuses, latencies, strict=True):
        at = minute % BLOCK
        old_s, old_l = block.status[at], block.latency[at]
        if old_s == status and old_l == latency:
            tally.unchanged += 1
        elif old_s == 0:
            tally.new += 1
        else:
            tally.conflicts.append((sid, src, minute, old_s, old_l, status, latency))
