"""``store.layout.splice``: the agent's minute written into its blocks' bytes, by its
one-minute way (every row at one offset: strided slices) and by its row-by-row way
(rows of several minutes), which must give the same bytes."""

from __future__ import annotations

import random

from core.status import DOWN, UP
from store.blocks import BLOCK, NO_LATENCY, Block
from store.layout import Key, splice
from store.rows import MinuteRow

HOUR = 493_656  # 2026-04-26T00:00Z in hours


def _stored(keys: list[Key], rnd: random.Random) -> dict[Key, tuple[bytes, bytes]]:
    """Some of ``keys`` with a stored block of random bytes, the others none."""
    return {
        key: (rnd.randbytes(BLOCK), rnd.randbytes(2 * BLOCK)) for key in keys if rnd.random() < 0.6
    }


def _rows(keys: list[Key], minutes: list[int], rnd: random.Random) -> list[MinuteRow]:
    return [
        MinuteRow(
            f"s{sid}",
            f"a{src}",
            minute,
            rnd.choice((UP, DOWN)),
            rnd.choice((None, 0, 255, 256, 65_534, rnd.randrange(65_535))),
        )
        for (sid, _hour, src), minute in zip(keys, minutes, strict=True)
    ]


def test_one_minute_lands_at_its_offset_and_nothing_else_changes() -> None:
    rnd = random.Random(7)
    keys = [(sid, HOUR, 3) for sid in range(1, 40)]
    stored = _stored(keys, rnd)
    minute = HOUR * BLOCK + 17
    rows = _rows(keys, [minute] * len(keys), rnd)
    out = splice(stored, rows, keys)
    assert list(out) == keys
    for key, row in zip(keys, rows, strict=True):
        status, latency = out[key]
        assert type(status) is bytes and type(latency) is bytes
        was = Block.decode(*stored[key]) if key in stored else Block()
        now = Block.decode(status, latency)
        assert now.status[17] == row.status
        assert now.latency[17] == (NO_LATENCY if row.latency_ms is None else row.latency_ms)
        was.status[17], was.latency[17] = now.status[17], now.latency[17]
        assert now == was  # every other minute as it was (an empty block where none was)


def test_the_one_minute_way_gives_the_row_by_row_way_bytes() -> None:
    rnd = random.Random(11)
    for _ in range(200):
        count = rnd.randint(1, 30)
        hour = HOUR + rnd.randint(0, 3)
        keys = [(rnd.randint(1, 8), hour, rnd.randint(1, 2)) for _ in range(count)]  # repeats too
        stored = _stored(keys, rnd)
        first, second = hour * BLOCK + rnd.randrange(BLOCK), hour * BLOCK + rnd.randrange(BLOCK)
        one = _rows(keys, [first] * count, rnd)
        two = _rows(keys, [second] * count, rnd)
        # One minute, then the next: each call the one-minute way (a row given twice:
        # its last wins); both in one call: row by row (the same minute twice: one way).
        step = splice({**stored, **splice(stored, one, keys)}, two, keys)
        both = splice(stored, one + two, keys + keys)
        assert step == both and list(step) == list(both)
