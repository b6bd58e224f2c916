"""``core.chain``'s batch digests (an agent's minute hashes a thousand hours at once)
are the single ones, byte for byte; an audit entry's leaf over the JSON the store
spelled once is the one spelled here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import chain
from core.audit import AuditEntry, canonical_json

names = st.text(min_size=0, max_size=12)
errors = st.none() | st.lists(
    st.tuples(st.integers(0, 59), st.text(max_size=20)), max_size=4, unique_by=lambda e: e[0]
).map(sorted)
blocks = st.lists(
    st.tuples(
        names,
        names,
        st.binary(min_size=60, max_size=60),
        st.binary(min_size=120, max_size=120),
        errors,
        st.binary(min_size=32, max_size=32),
    ),
    min_size=1,
    max_size=20,
)


@settings(max_examples=60, deadline=None)
@given(blocks, st.integers(-(2**40), 2**40))
def test_batch_digests_and_links_are_the_single_ones(
    found: list[tuple[str, str, bytes, bytes, list[tuple[int, str]] | None, bytes]], hour: int
) -> None:
    services, sources = [f[0] for f in found], [f[1] for f in found]
    statuses, latencies = [f[2] for f in found], [f[3] for f in found]
    errs, prevs = [f[4] for f in found], [f[5] for f in found]
    digests = chain.hour_digests(services, sources, hour, statuses, latencies, errs)
    assert digests == [
        chain.hour_digest(s, r, hour, st_, lat, e or ())
        for s, r, st_, lat, e in zip(services, sources, statuses, latencies, errs, strict=True)
    ]
    assert chain.links(prevs, hour, digests) == [
        chain.link(p, hour, d) for p, d in zip(prevs, digests, strict=True)
    ]


def test_a_block_of_the_wrong_size_is_refused_as_by_the_single_one() -> None:
    for status, latency in ((bytes(59), bytes(120)), (bytes(60), bytes(121))):
        with pytest.raises(ValueError, match="an hour has 60"):
            chain.hour_digests(["s", "t"], ["a", "a"], 7, [bytes(60), status],
                               [bytes(120), latency], [None, None])  # fmt: skip
    with pytest.raises(ValueError, match="offsets must ascend"):
        chain.hour_digests(["s"], ["a"], 7, [bytes(60)], [bytes(120)], [[(5, "x"), (5, "y")]])


json_values = st.recursive(
    st.none() | st.integers() | st.text(max_size=8) | st.booleans(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=80, deadline=None)
@given(json_values, json_values, st.text(max_size=10), st.none() | st.text(max_size=10))
def test_an_entry_spelled_by_the_store_hashes_as_spelled_here(
    before: object, after: object, kind: str, service: str | None
) -> None:
    """The store hands an audit entry its before and after as the JSON it stores
    (``AuditEntry.canonical(spelled)``): the same bytes, so the same leaf."""
    entry = AuditEntry(
        seq=7,
        at=datetime(2026, 12, 7, 6, 0, tzinfo=UTC),
        actor="ops",
        kind=kind,
        service=service,
        span=(29_619_360, 29_619_420),
        before=before,
        after=after,
    )
    spelled = (canonical_json(before), canonical_json(after))
    assert entry.canonical(spelled) == entry.canonical()
    assert entry.leaf(spelled) == entry.leaf()
