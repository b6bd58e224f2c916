"""Tamper-evident minute records: hour seals linked into a SHA-256 chain.

There is one chain per (service, source). Its unit is the UTC hour
(``minute // 60``): every hour that holds at least one recorded minute has a
*seal*, and the seals are linked in hour order::

    genesis   = SHA256("slawatch-chain-v1" 0x00 service 0x00 source)
    digest(h) = SHA256("slawatch-hour-v1" | service | source | h
                       | SHA256(verdicts(h)) | SHA256(latencies(h)))
    link(h)   = SHA256(link(previous sealed hour, or genesis) | h | digest(h))

``verdicts(h)`` encodes the hour's 60 status codes (0 = no verdict) and its
error classes; ``latencies(h)`` its 60 latencies. The two are hashed apart so
that a claim bundle can prove the verdicts (what a credit depends on) while
carrying one latency digest per hour instead of every latency. Editing,
deleting or inserting a stored minute changes its hour's digest and so every
later link. An hour is sealed when a write touches it; an hour no write ever
touched has no seal, so records appearing there are caught too.

Why hours and not a link per minute: a writer (the agent, or a bulk import)
touches many minutes per transaction, and hashing each touched hour once per
transaction is far cheaper than a link per row. A late write into an old hour
re-links all later hours of that chain; that is rare (back-fills) and costs one
SHA-256 per later hour, reading only the stored digests. The limit of any such
scheme: a legitimate write into an hour re-seals what that hour holds at that
moment, so an edit made directly in the database is caught until the writer
next touches that very hour (for the agent, only the current hour). And a chain
alone cannot show that its newest hours were cut off together with their seals:
an exported (and signed) claim bundle pins the links of its month.

Pure: no I/O. The store keeps seals next to the minutes (``store/chain.py``);
claim bundles carry the seals of their month (``core/claim.py``).
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress, repeat
from operator import add

#: An hour's error classes as (minute offset 0-59, error class), offsets ascending.
HourErrors = Sequence[tuple[int, str]]

MINUTES = 60
_CHAIN_TAG = b"slawatch-chain-v1"
_HOUR_TAG = b"slawatch-hour-v1"
_SHORT = struct.Struct(">H")
_LONG = struct.Struct(">q")


@dataclass(frozen=True)
class Seal:
    """The seal of one UTC hour of one chain."""

    hour: int  # UTC epoch hour (minute // 60)
    digest: bytes  # 32 bytes: the hour's records
    link: bytes  # 32 bytes: chains this hour to every earlier one


@dataclass(frozen=True)
class Break:
    """The first place where a chain does not hold, and why."""

    service: str
    source: str
    hour: int
    reason: str

    def describe(self) -> str:
        from core.timeutil import from_minute, iso_z

        return (
            f"chain {self.service}/{self.source} hour {iso_z(from_minute(self.hour * 60))}: "
            f"{self.reason}"
        )


def _field(text: str) -> bytes:
    raw = text.encode()
    return _SHORT.pack(len(raw)) + raw


def genesis(service: str, source: str) -> bytes:
    """The link before a chain's first hour (bound to the chain's identity)."""
    return hashlib.sha256(_CHAIN_TAG + b"\0" + service.encode() + b"\0" + source.encode()).digest()


def verdict_digest(status: bytes, errors: HourErrors) -> bytes:
    """SHA-256 of the canonical encoding of an hour's verdicts.

    ``status`` is 60 bytes, one ``core.status`` code per minute of the hour
    (0 where no verdict was recorded). Then, for each minute with an error
    class, in minute order: its offset (1 byte), the class's UTF-8 length
    (2 bytes, big-endian) and the UTF-8 bytes.
    """
    if len(status) != MINUTES:
        raise ValueError("an hour has 60 status bytes")
    if errors:
        offsets = [e[0] for e in errors]
        if offsets[0] < 0 or offsets[-1] >= MINUTES or offsets != sorted(set(offsets)):
            raise ValueError("error offsets must ascend within the hour")
        return hashlib.sha256(b"".join([bytes(status), *map(_error_part, errors)])).digest()
    return hashlib.sha256(bytes(status)).digest()


@lru_cache(maxsize=16_384)
def _error_part(error: tuple[int, str]) -> bytes:
    """One minute's (offset, error class) as the verdict digest encodes it: the offset
    (1 byte) and the class (the same few recur every minute of an outage: encoded once)."""
    return bytes((error[0],)) + _field(error[1])


def latency_digest(latency: bytes) -> bytes:
    """SHA-256 of an hour's latencies: 60 unsigned 16-bit little-endian values in
    milliseconds, 0xFFFF where none was recorded (the store's own layout)."""
    if len(latency) != 2 * MINUTES:
        raise ValueError("an hour has 60 latencies of 2 bytes")
    return hashlib.sha256(latency).digest()


@lru_cache(maxsize=1 << 17)  # a fleet's chains: 100 agents x 1,000 services and more
def _names(service: str, source: str) -> bytes:
    """What an hour digest starts with for one chain (the same for each of its hours)."""
    return _HOUR_TAG + _field(service) + _field(source)


def seal_digest(service: str, source: str, hour: int, verdicts: bytes, latencies: bytes) -> bytes:
    """An hour's digest from its two part digests."""
    return hashlib.sha256(
        _names(service, source) + _LONG.pack(hour) + verdicts + latencies
    ).digest()


def hour_digest(
    service: str, source: str, hour: int, status: bytes, latency: bytes, errors: HourErrors
) -> bytes:
    """The digest of one stored hour of one chain."""
    return seal_digest(
        service, source, hour, verdict_digest(status, errors), latency_digest(latency)
    )


def link(prev: bytes, hour: int, digest: bytes) -> bytes:
    """The link of an hour: previous link, the hour, and the hour's digest."""
    return hashlib.sha256(prev + _LONG.pack(hour) + digest).digest()


_sha256 = hashlib.sha256
_done = type(_sha256()).digest  # a HASH object's digest(), called through map


def hour_digests(
    services: Sequence[str],
    sources: Sequence[str],
    hour: int,
    statuses: Sequence[bytes],
    latencies: Sequence[bytes],
    errors: Sequence[HourErrors | None],
) -> list[bytes]:
    """``hour_digest`` of many chains' blocks of the same ``hour`` at once (the i-th of
    each argument is one block; ``errors`` None or empty where it has none): the same
    bytes, hashed at C speed with no Python step per block but for those with error
    classes (an agent's minute: a thousand hours, a few with errors)."""
    if set(map(len, statuses)) - {MINUTES} or set(map(len, latencies)) - {2 * MINUTES}:
        return [  # raises the single one's error
            hour_digest(*one)
            for one in zip(services, sources, repeat(hour), statuses, latencies, errors)
        ]
    verdicts = list(map(_done, map(_sha256, statuses)))
    for i in compress(range(len(verdicts)), errors):
        verdicts[i] = verdict_digest(statuses[i], errors[i] or ())
    heads = map(add, map(_names, services, sources), repeat(_LONG.pack(hour)))
    parts = map(add, map(add, heads, verdicts), map(_done, map(_sha256, latencies)))
    return list(map(_done, map(_sha256, parts)))


def links(prevs: Iterable[bytes], hour: int, digests: Iterable[bytes]) -> list[bytes]:
    """``link`` of many chains' same ``hour`` at once (each its previous link and digest)."""
    at = repeat(_LONG.pack(hour))
    return list(map(_done, map(_sha256, map(add, map(add, prevs, at), digests))))


def relink(prev: bytes, digests: Iterable[tuple[int, bytes]]) -> list[Seal]:
    """Seals for (hour, digest) pairs in ascending hour order, starting after ``prev``."""
    seals: list[Seal] = []
    last_hour: int | None = None
    for hour, digest in digests:
        if last_hour is not None and hour <= last_hour:
            raise ValueError("hours must ascend")
        prev = link(prev, hour, digest)
        seals.append(Seal(hour, digest, prev))
        last_hour = hour
    return seals


def first_break(
    service: str,
    source: str,
    prev: bytes,
    seals: Sequence[Seal],
    digests: Iterable[tuple[int, bytes]],
) -> Break | None:
    """Check stated seals against digests recomputed from the records.

    ``prev`` is the link before the first seal (``genesis`` for a whole chain);
    ``seals`` are the stated seals in hour order; ``digests`` are (hour,
    digest) recomputed from the records, one per hour that holds records, in
    hour order. Returns the first hour where they disagree, else None.
    """
    computed = dict(digests)
    by_hour = {seal.hour: seal for seal in seals}
    for hour in sorted(by_hour.keys() | computed.keys()):
        seal = by_hour.get(hour)
        digest = computed.get(hour)
        if seal is None:
            return Break(service, source, hour, "records in an hour that was never sealed")
        if digest is None:
            return Break(service, source, hour, "sealed hour has no records (deleted)")
        if digest != seal.digest:
            return Break(service, source, hour, "records do not match the hour's seal")
        if link(prev, hour, seal.digest) != seal.link:
            return Break(service, source, hour, "link does not follow from the previous one")
        prev = seal.link
    return None


@dataclass(frozen=True)
class HourRecord:
    """One stored hour of one source: what its seal covers."""

    hour: int
    status: bytes  # 60 status codes, 0 = no verdict
    errors: tuple[tuple[int, str], ...]  # (minute offset, error class), ascending
    latency_digest: bytes  # core.latency_digest of the hour's latencies

    def digest(self, service: str, source: str) -> bytes:
        verdicts = verdict_digest(self.status, self.errors)
        return seal_digest(service, source, self.hour, verdicts, self.latency_digest)


@dataclass(frozen=True)
class Opening:
    """What a link is made of: the sealed hour it is the link of, that hour's digest,
    and the link before it. ``link(prev, hour, digest)`` must give the opened link;
    SHA-256 being one-way, only the true hour opens a link taken from a real chain."""

    hour: int
    digest: bytes
    prev: bytes

    def link(self) -> bytes:
        return link(self.prev, self.hour, self.digest)


@dataclass(frozen=True)
class Next:
    """The next sealed hour of a chain after the hours a claim carries (its hour and
    digest), or ``hour`` None: the chain had no later sealed hour when the claim was
    made. Unlike an ``Opening`` this is the claimant's word until a later head of the
    chain (next month's bundle, an agent's checkpoint) is compared with it."""

    hour: int | None
    digest: bytes | None = None


@dataclass(frozen=True)
class SourceRecords:
    """A source's hours over a claim's span, with the chain that checks them."""

    name: str
    hours: tuple[HourRecord, ...]  # hours holding a stored block, ascending
    prev: bytes  # the link before the first hour of the span (or the genesis)
    seals: tuple[Seal, ...]
    # ``prev`` opened (its sealed hour before the span's hours), when the hour before
    # the span holds no block: it proves that no hour between was left out.
    before: Opening | None = None
    # The next sealed hour after the span's hours, when the hour after the span holds
    # no block (``Next``).
    after: Next | None = None
