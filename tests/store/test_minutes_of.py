"""``minutes_of``, ``hours_with_of``, ``recorded_until_of``: several services in one
query, on SQLite and PostgreSQL, against a plain model of what was written (issue 10).
PostgreSQL joins each source's blocks in the database, in whatever order its rows
come (``Conn.joined_blocks``): here the hours are written newest first, so that the
rows are stored, and may be read, out of hour order."""

from __future__ import annotations

import random

from core.status import DOWN, UP
from store import MinuteRow
from store.blocks import BLOCK
from store.minutes import _joined, _span
from tests.conftest import OpenDb

T0 = 29_000_040  # an epoch minute on an hour boundary
HOURS = 30


def _status(service: int, source: int, minute: int) -> int:
    return DOWN if (minute * 7 + service * 3 + source) % 11 == 0 else UP


def _written() -> dict[tuple[str, str], dict[int, int]]:
    """(service, source) -> minute -> status, with hours missing here and there."""
    out: dict[tuple[str, str], dict[int, int]] = {}
    for s in range(3):
        for src in range(2):
            out[f"svc{s}", f"agent{src}"] = {
                T0 + m: _status(s, src, m)
                for m in range(HOURS * BLOCK)
                if (m // BLOCK) % (4 + s + src) != 2  # a gap every few hours
                and not (s == 2 and src == 1 and m >= 10 * BLOCK)  # stops early
            }
    return out


async def test_several_services_read_as_written(open_db: OpenDb) -> None:
    written = _written()
    store = await open_db()
    try:
        for hour in reversed(range(HOURS)):  # newest hour first
            lo, hi = T0 + hour * BLOCK, T0 + (hour + 1) * BLOCK
            rows = [
                MinuteRow(service, source, m, status, 90)
                for (service, source), minutes in written.items()
                for m, status in minutes.items()
                if lo <= m < hi
            ]
            await store.record_minutes(rows)
    finally:
        await store.close()
    store = await open_db(readonly=True)
    try:
        for start, end in ((T0, T0 + HOURS * BLOCK), (T0 + 17, T0 + 20 * BLOCK + 3)):
            got = await store.minutes_of(["svc0", "svc1", "svc2", "nobody"], start, end)
            expected: dict[str, dict[str, bytes]] = {}
            for (service, source), minutes in written.items():
                data = bytes(minutes.get(m, 0) for m in range(start, end))
                expected.setdefault(service, {})[source] = data
            assert got == expected
            for service in ("svc0", "svc2"):  # one service alone: the same
                assert await store.minutes(service, start, end) == expected[service]
        names = ["svc0", "svc1", "svc2", "nobody"]
        newest: dict[str, int] = {}
        down: dict[str, set[int]] = {}
        for (service, _), minutes in written.items():
            newest[service] = max(newest.get(service, 0), max(minutes) + 1)
            hours = {m // BLOCK for m, status in minutes.items() if status == DOWN}
            down.setdefault(service, set()).update(hours)
        assert await store.recorded_until_of(names) == newest
        span = T0 + 5, T0 + 20 * BLOCK
        got_hours = await store.hours_with_of(names, *span, [DOWN])
        lo, hi = span[0] // BLOCK, -(-span[1] // BLOCK)
        assert got_hours == {n: sorted(h for h in down[n] if lo <= h < hi) for n in newest}
        assert await store.hours_with_of(["svc1"], *span, [DOWN]) == {"svc1": got_hours["svc1"]}
        assert await store.hours_with_of(names, span[1], span[0], [DOWN]) == {}
        assert await store.recorded_until_of(["nobody"]) == {}
        # latencies: each service's minutes recorded by some source, the sources' mean
        lat = await store.latencies_of(names, *span)
        assert set(lat) == set(newest)
        for service, minutes in lat.items():
            recorded = {m for (s, _), ms in written.items() if s == service for m in ms}
            assert [m for m, _ in minutes] == sorted(m for m in recorded if span[0] <= m < span[1])
            assert all(latency == 90 for _, latency in minutes)
        later = T0 + 12 * BLOCK, T0 + 14 * BLOCK
        assert set((await store.minutes_of(["svc2"], *later))["svc2"]) == {"agent0"}
        assert await store.minutes_of(["svc0"], T0 - 2 * BLOCK, T0) == {}
    finally:
        await store.close()


def test_joined_blocks_in_any_order_land_on_their_hours() -> None:
    hours = [5, 6, 7, 9, 10, 13]
    blocks = {h: bytes([1 + h % 3]) * BLOCK for h in hours}
    want = _span([(h, blocks[h]) for h in hours], 4, 30, 9 * BLOCK)
    assert want[: BLOCK + 30] == bytes(BLOCK - 30) + blocks[5]
    shuffled = hours[:]
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        data = b"".join(blocks[h] for h in shuffled)
        assert _joined(shuffled, data, 4, 30, 9 * BLOCK) == want
    data = b"".join(blocks[h] for h in hours)
    assert _joined(hours, data, 4, 30, 9 * BLOCK) == want  # in order: the fast way
    assert _joined([7, 8], blocks[7] + blocks[7], 4, 0, 6 * BLOCK)[3 * BLOCK :] == (
        blocks[7] * 2 + bytes(BLOCK)
    )
