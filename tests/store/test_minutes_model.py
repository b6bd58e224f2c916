"""Recording minutes in any batches, in any order, again and again, reads back like a dict."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from store import MinuteRow
from store.sqlite import SqliteStore

BASE = 29_000_040  # on an hour boundary
row_strategy = st.builds(
    MinuteRow,
    service=st.sampled_from(["portal", "api"]),
    source=st.sampled_from(["a", "b", "c"]),
    minute=st.integers(BASE - 70, BASE + 190),  # several hour blocks, both sides of BASE
    status=st.integers(0, 3),
    latency_ms=st.none() | st.integers(0, 70_000),
    error=st.none() | st.sampled_from(["timeout", "http 503"]),
)


@st.composite
def runs(draw: st.DrawFn) -> list[MinuteRow]:
    """Consecutive minutes of one service and source, as an import file has them
    (the store copies such runs into hour blocks a slice at a time)."""
    first = draw(row_strategy)
    statuses = draw(st.lists(st.integers(0, 3), min_size=1, max_size=130))
    latency = draw(st.none() | st.integers(0, 70_000))
    return [
        first._replace(minute=first.minute + i, status=s, latency_ms=latency, error=None)
        for i, s in enumerate(statuses)
    ]


rows_strategy = st.lists(st.lists(row_strategy, max_size=3) | runs(), max_size=12).map(
    lambda parts: [row for part in parts for row in part]
)


def expected_latencies(
    model: dict[tuple[str, str, int], MinuteRow], service: str, start: int, end: int
) -> list[tuple[int, int | None]]:
    """Per recorded minute (some source's status is not 0), the mean of the latencies of
    the sources that recorded it, latencies above 65,534 ms stored as that."""
    seen: dict[int, list[int]] = {}
    for (svc, _src, minute), row in model.items():
        if svc == service and start <= minute < end and row.status:
            got = seen.setdefault(minute, [])
            if row.latency_ms is not None:
                got.append(min(row.latency_ms, 0xFFFE))
    return [(m, round(sum(v) / len(v)) if v else None) for m, v in sorted(seen.items())]


@settings(max_examples=30, deadline=None)
@given(batches=st.lists(rows_strategy, max_size=4), start=st.integers(BASE - 80, BASE + 60))
def test_reads_match_a_dict_of_the_last_write(batches: list[list[MinuteRow]], start: int) -> None:
    model: dict[tuple[str, str, int], MinuteRow] = {}
    for batch in batches:
        for row in batch:
            model[(row.service, row.source, row.minute)] = row
    end = start + 150

    async def run(folder: Path) -> None:
        async with await SqliteStore.open(folder / "s.db") as store:
            for batch in batches:
                await store.record_minutes(batch)
            for service in ("portal", "api"):
                got = await store.minutes(service, start, end)
                expected: dict[str, bytearray] = {}
                for (svc, source, minute), row in model.items():
                    if svc == service and start <= minute < end:
                        buf = expected.setdefault(source, bytearray(end - start))
                        buf[minute - start] = row.status
                # A source with records only outside the span, or only status 0, may
                # come back as all zeros: compare what is not zero.
                assert {s: bytes(b) for s, b in expected.items() if any(b)} == {
                    s: b for s, b in got.items() if any(b)
                }
                errors = {
                    (m, src, e)
                    for (svc, src, m), row in model.items()
                    if svc == service and start <= m < end and (e := row.error) is not None
                }
                assert set(await store.minute_errors(service, start, end)) == errors
                assert await store.latencies(service, start, end) == expected_latencies(
                    model, service, start, end
                )
            both = {s: expected_latencies(model, s, start, end) for s in ("portal", "api")}
            assert await store.latencies_of(["portal", "api", "nobody"], start, end) == {
                s: minutes for s, minutes in both.items() if minutes
            }
            assert (await store.check_chains()).breaks == ()

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder)))
