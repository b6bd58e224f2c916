"""A Merkle tree over log entries, hashed as RFC 9162 (Certificate Transparency 2.0) says.

    leaf hash    = SHA-256(0x00 || entry)
    node hash    = SHA-256(0x01 || left || right)
    MTH({})      = SHA-256()
    MTH(D[n])    = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n

``root`` is the tree head of a list of leaf hashes, ``roots`` every head from
size 1 to n in one pass (how ``store verify`` re-checks each stored head),
``inclusion_proof`` / ``verify_inclusion`` the audit path of RFC 9162 2.1.3 and
``consistency_proof`` / ``verify_consistency`` that of 2.1.4: a log at size n
extends the log at size m without changing any of its first m entries.

The right frontier of a tree of size n (``frontier``) is the roots of the
perfect subtrees of n's binary decomposition, largest (leftmost) first: one
hash per 1-bit of n, RFC 9162's compact range [0, n). It is all an appender
needs: ``append`` gives the frontier of size n + 1 in O(log n) hashes and
``frontier_root`` the tree head from it, so a log that keeps its frontier
never re-reads its leaves to add one.

Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH over ``leaves`` (leaf hashes, in order)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root(leaves[:k]), root(leaves[k:]))


def roots(leaves: Sequence[bytes]) -> Iterator[bytes]:
    """The tree head after each leaf: MTH(D[1]), MTH(D[2]), ... MTH(D[n])."""
    hashes: list[bytes] = []
    for size, leaf in enumerate(leaves):
        hashes = append(hashes, size, leaf)
        yield frontier_root(hashes)


def append(hashes: Sequence[bytes], size: int, leaf: bytes) -> list[bytes]:
    """The frontier of the tree of ``size`` + 1 leaves, from that of ``size`` and the new leaf.

    Each trailing 1-bit of ``size`` is a perfect subtree as large as the one the
    new leaf completes: merge them (at most log2(size) + 1 hashes).
    """
    if size < 0 or len(hashes) != size.bit_count():
        raise ValueError(f"a frontier of {len(hashes)} hashes is not that of a tree of {size}")
    merged, h, n = list(hashes), leaf, size
    while n & 1:
        h = node_hash(merged.pop(), h)
        n >>= 1
    merged.append(h)
    return merged


def frontier_root(hashes: Sequence[bytes]) -> bytes:
    """The tree head from its frontier: the perfect subtrees folded from the right,
    which is exactly MTH's split (the largest power of two first)."""
    if not hashes:
        return EMPTY_ROOT
    head = hashes[-1]
    for left in reversed(hashes[:-1]):
        head = node_hash(left, head)
    return head


def frontier(leaves: Sequence[bytes]) -> list[bytes]:
    """The frontier of the tree of ``leaves``: each perfect subtree's root, largest first."""
    hashes: list[bytes] = []
    start, n = 0, len(leaves)
    for bit in reversed(range(n.bit_length())):
        if n >> bit & 1:
            hashes.append(root(leaves[start : start + (1 << bit)]))
            start += 1 << bit
    return hashes


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """The audit path of leaf ``index`` in the tree of ``leaves`` (RFC 9162 2.1.3.1)."""
    if not 0 <= index < len(leaves):
        raise ValueError("leaf index out of range")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], head: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does ``proof`` put ``leaf`` at ``index`` of the tree ``head``?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == head


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 9162 2.1.4.1: proof that the first ``old_size`` leaves are a prefix of ``leaves``."""
    if not 0 < old_size <= len(leaves):
        raise ValueError("old size out of range")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def verify_consistency(
    old_size: int, new_size: int, old_head: bytes, new_head: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: does ``proof`` show the tree ``new_head`` extends ``old_head``?"""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_head == new_head
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old head starts the path
        path.insert(0, old_head)
    if not path:
        return False
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_head and sr == new_head
