"""Hour blocks: how a (service, source)'s minute records sit on disk.

A block holds the 60 minutes of one UTC hour (``hour = minute // 60``) for one
service and one source: ``status`` is 60 bytes (one ``core.status`` code per
minute, 0 where nothing was recorded) and ``latency`` is 60 little-endian
unsigned 16-bit values in milliseconds, ``NO_LATENCY`` where none was recorded.
Latencies above ``MAX_LATENCY_MS`` are stored as that value (a probe that
slow has long since timed out).
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

BLOCK = 60
NO_LATENCY = 0xFFFF
MAX_LATENCY_MS = 0xFFFE
_SWAP = sys.byteorder != "little"


def _empty_latency() -> array[int]:
    return array("H", [NO_LATENCY]) * BLOCK


@dataclass
class Block:
    """One hour of one source, decoded for editing."""

    status: bytearray = field(default_factory=lambda: bytearray(BLOCK))
    latency: array[int] = field(default_factory=_empty_latency)

    @classmethod
    def decode(cls, status: bytes, latency: bytes) -> Block:
        lat = array("H")
        lat.frombytes(latency)
        if _SWAP:
            lat.byteswap()
        return cls(bytearray(status), lat)

    def encode(self) -> tuple[bytes, bytes]:
        return bytes(self.status), encode_latency(self.latency)


def encode_latency(latency: array[int]) -> bytes:
    """Latencies as a block stores them: unsigned 16-bit little-endian."""
    if _SWAP:
        latency = array("H", latency)
        latency.byteswap()
    return latency.tobytes()


def decode_latency(latency: bytes) -> array[int]:
    lat = array("H")
    lat.frombytes(latency)
    if _SWAP:
        lat.byteswap()
    return lat


def span_groups(keys: Iterable[tuple[int, int, int]]) -> dict[tuple[int, int], set[int]]:
    """(first hour, last hour) -> the service ids whose (service, hour, source) keys span it.

    Services that share a span are read in one query: the agent's minute puts
    every service in the same hour, an import gives each service its own span.
    """
    keys = keys if isinstance(keys, (set, frozenset)) else set(keys)
    hours = {hour for _, hour, _ in keys}
    if len(hours) == 1:  # the agent's minute: every key in the same hour
        hour = hours.pop()
        return {(hour, hour): {sid for sid, _, _ in keys}}
    spans: dict[int, tuple[int, int]] = {}
    for sid, hour, _src in keys:
        lo, hi = spans.get(sid, (hour, hour))
        spans[sid] = (min(lo, hour), max(hi, hour))
    groups: dict[tuple[int, int], set[int]] = {}
    for sid, span in spans.items():
        groups.setdefault(span, set()).add(sid)
    return groups


def id_list(ids: Iterable[int]) -> str:
    """An SQL ``IN`` list of integer ids (from the database, never user text)."""
    return ",".join(map(str, sorted(set(map(int, ids)))))  # int(): never anything else
