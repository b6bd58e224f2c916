"""core.merkle against RFC 9162's definitions, every size and index up to 33 leaves;
the right frontier an appender keeps, every size up to 300 and random ones."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import merkle


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(f"entry {i}".encode()) for i in range(n)]


def _mth(leaves: list[bytes]) -> bytes:
    """MTH written out as RFC 9162 2.1.1 states it, for comparison."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return hashlib.sha256(b"\x01" + _mth(leaves[:k]) + _mth(leaves[k:])).digest()


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert merkle.root([]) == hashlib.sha256(b"").digest()


def test_roots_and_root_agree_with_the_definition() -> None:
    leaves = _leaves(33)
    heads = list(merkle.roots(leaves))
    for n in range(1, 34):
        assert merkle.root(leaves[:n]) == _mth(leaves[:n]) == heads[n - 1], n


def test_every_inclusion_proof_verifies_and_a_wrong_one_does_not() -> None:
    for n in range(1, 34):
        leaves = _leaves(n)
        head = merkle.root(leaves)
        for i in range(n):
            proof = merkle.inclusion_proof(i, leaves)
            assert merkle.verify_inclusion(i, n, leaves[i], proof, head), (i, n)
            other = merkle.leaf_hash(b"forged")
            assert not merkle.verify_inclusion(i, n, other, proof, head)
            if n > 1:
                assert not merkle.verify_inclusion((i + 1) % n, n, leaves[i], proof, head)
                bent = [bytes(32), *proof[1:]]
                assert not merkle.verify_inclusion(i, n, leaves[i], bent, head)
                assert not merkle.verify_inclusion(i, n, leaves[i], proof[:-1], head)
        assert not merkle.verify_inclusion(n, n, leaves[0], [], head)


def test_every_consistency_proof_verifies_and_a_rewritten_prefix_does_not() -> None:
    for n in range(1, 34):
        leaves = _leaves(n)
        new = merkle.root(leaves)
        for m in range(1, n + 1):
            old = merkle.root(leaves[:m])
            proof = merkle.consistency_proof(m, leaves)
            assert merkle.verify_consistency(m, n, old, new, proof), (m, n)
            rewritten = [merkle.leaf_hash(b"edited"), *leaves[1:]]
            if m < n:
                assert not merkle.verify_consistency(
                    m, n, old, merkle.root(rewritten), merkle.consistency_proof(m, rewritten)
                )
                assert not merkle.verify_consistency(m, n, bytes(32), new, proof)


def test_the_frontier_gives_every_head_from_0_to_300_leaves() -> None:
    leaves = _leaves(300)
    hashes: list[bytes] = []
    for n in range(301):
        assert hashes == merkle.frontier(leaves[:n]), n
        assert len(hashes) == n.bit_count()
        assert merkle.frontier_root(hashes) == merkle.root(leaves[:n]), n
        if n < 300:
            hashes = merkle.append(hashes, n, leaves[n])
    assert merkle.frontier_root([]) == merkle.EMPTY_ROOT


@settings(max_examples=60, deadline=None)
@given(size=st.integers(0, 5_000), more=st.integers(1, 40), seed=st.binary(max_size=8))
def test_appending_to_the_frontier_of_any_size_gives_the_tree_head(
    size: int, more: int, seed: bytes
) -> None:
    leaves = [merkle.leaf_hash(seed + i.to_bytes(4, "big")) for i in range(size + more)]
    hashes = merkle.frontier(leaves[:size])
    assert merkle.frontier_root(hashes) == merkle.root(leaves[:size])
    for n in range(size, size + more):
        hashes = merkle.append(hashes, n, leaves[n])
        assert merkle.frontier_root(hashes) == merkle.root(leaves[: n + 1]), n
    assert hashes == merkle.frontier(leaves)


def test_a_frontier_that_does_not_fit_its_size_is_refused() -> None:
    leaves = _leaves(6)  # 6 = 4 + 2: two subtrees
    hashes = merkle.frontier(leaves)
    for size in (4, 7, -1):
        with pytest.raises(ValueError, match="is not that of a tree of"):
            merkle.append(hashes, size, leaves[0])
    assert merkle.append(hashes, 6, leaves[0]) == merkle.frontier([*leaves, leaves[0]])
