"""The hash chains kept next to the minute records (rules in ``core.chain``).

``ChainStore`` is the part of the store that keeps them. Every transaction
that writes minutes calls ``_extend_chains`` after its upsert,
so the seals and the minutes commit or roll back together. ``extend`` reads
back only the hour blocks the rows touched (the store keeps a source's hour as
one row, see ``store.blocks``), hashes each once, and re-links the chain from
the earliest touched hour: for the agent that is the current hour; for an
import, the batch's own hours. Links that come out unchanged (re-importing the
same file) are not rewritten.

``check_chains()`` walks every chain from its genesis and reports the first
broken link of each; ``slawatch store verify`` prints it. ``evidence()``
reads what a claim bundle needs: a span of hours with their seals.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain as chained
from itertools import compress, repeat
from operator import add, contains, getitem, itemgetter, methodcaller, ne
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from core import chain
from core.audit import BASELINE, SEAL, TAMPER, AuditEntry
from core.chain import HourRecord, SourceRecords
from core.timeutil import from_minute, iso_z, to_minute
from store.audit import AuditStore
from store.blocks import id_list
from store.db import Conn

if TYPE_CHECKING:
    from store.rows import MinuteRow

_BLOCKS = (
    "SELECT hour, status, latency FROM minute_blocks"
    " WHERE service_id = ? AND hour >= ? AND hour < ? AND source_id = ? ORDER BY hour"
)
_ERRORS = (
    "SELECT e.minute, t.text FROM minute_errors e JOIN error_texts t ON t.id = e.error_id"
    " WHERE e.service_id = ? AND e.minute >= ? AND e.minute < ? AND e.source_id = ?"
    " ORDER BY e.minute"
)
_SEALS = (
    "SELECT hour, digest, link FROM chain_seals"
    " WHERE service_id = ? AND source_id = ? AND hour >= ? AND hour < ? ORDER BY hour"
)
_PREV = (
    "SELECT link FROM chain_seals WHERE service_id = ? AND source_id = ? AND hour < ?"
    " ORDER BY hour DESC LIMIT 1"
)
_BEFORE = (
    "SELECT hour, digest FROM chain_seals WHERE service_id = ? AND source_id = ?"
    " AND hour < ? ORDER BY hour DESC LIMIT 1"
)
_AFTER = (
    "SELECT hour, digest FROM chain_seals WHERE service_id = ? AND source_id = ?"
    " AND hour >= ? ORDER BY hour LIMIT 1"
)
_SEAL_COLUMNS = (
    ("service_id", "bigint"),
    ("source_id", "bigint"),
    ("hour", "bigint"),
    ("digest", "bytea"),
    ("link", "bytea"),
    ("logged", "bigint"),
)
# What a minute write left of the error classes: (data_version after it, the blocks
# it covers, (service_id, hour, source_id) -> [(offset, error class)]).
ErrorsMemo = tuple[
    int, frozenset[tuple[int, int, int]], dict[tuple[int, int, int], list[tuple[int, str]]]
]
# One logged change of an hour: (service_id, source_id, hour, logged digest before
# or None, digest after or None when the hour was emptied).
LogItem = tuple[int, int, int, bytes | None, bytes | None]
_SEAL_KEY = ("service_id", "source_id", "hour")
_SEAL_CHECK = (("digest", "bytea"), ("link", "bytea"), ("logged", "bigint"))
_SERVICE, _SOURCE, _MINUTE = itemgetter(0), itemgetter(1), itemgetter(2)
_HOUR, _KEY_SOURCE = itemgetter(1), itemgetter(2)  # of a (service_id, hour, source_id) key
_FIRST, _SECOND = itemgetter(0), itemgetter(1)
_SEAL_HOUR = itemgetter(2)  # of a (service_id, source_id, hour) key
# Hour digests remembered per store (``ChainStore._digest``): past this many
# blocks (some 20 MB) the memo starts afresh. An agent's forwarder needs one per
# service (two around the turn of an hour); a bulk import gains nothing from it.
_DIGEST_MEMO = 50_000
_HOUR_OF = (60).__rfloordiv__  # minute -> minute // 60
_NO_END = 2**50  # beyond any hour; times 60 still fits SQLite's 64-bit integers
# The minutes a time can name (years 1 to 9999): an entry's span lies within them.
_FIRST_MINUTE = to_minute(datetime(1, 1, 1, tzinfo=UTC))
_LAST_MINUTE = to_minute(datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
# How far before its first touched hour a chain's seals are read in the same query,
# to find the link it continues from (the agent's previous hour) without another
# (a chain with no seal in that hour, after a gap, asks for its link apart).
_LOOKBACK = 1
# An agent closes each chain's previous hour (marks its seal logged and lists it in a
# ``minutes.seal`` entry) not in the first minute of the next hour but in minute
# ``close_minute(source)`` of it, 1 to ``CLOSE_SPREAD``: a fleet's agents close their
# hours over ten minutes instead of all in the one that also starts every new hour.
CLOSE_SPREAD = 10


def close_minute(source: str) -> int:
    """The minute of each hour (1 to ``CLOSE_SPREAD``) from which an agent of this
    name closes its chains' previous hour: the same for a name on every machine and
    every run (SHA-256 of the name, not Python's salted ``hash``), spread over the
    names. Until then that hour stays open beside the new one (``logged = 0``, in no
    ``minutes.seal`` entry yet), as the newest hour is: ``store verify`` allows it
    (``_check_minutes``), and a write the general way closes it at once."""
    digest = hashlib.sha256(source.encode()).digest()
    return 1 + int.from_bytes(digest[:4], "big") % CLOSE_SPREAD


def _before_close(hour: StoredHour, source: str) -> bool:
    """Whether ``hour`` holds no minute from ``close_minute(source)`` on: no status, nor
    an unknown minute (status 0, stored by its error class alone). Only then may the
    writer have left the hour before it open (``store verify``): it closes that hour
    in the first write of a minute from then on."""
    at = close_minute(source)
    return not any(hour.status[at:]) and all(offset < at for offset, _ in hour.errors)


@dataclass(frozen=True)
class StoredHour:
    """One stored hour of one source, as the chain hashes it."""

    hour: int
    status: bytes  # 60 status codes
    latency: bytes  # 60 x u16 little-endian
    errors: tuple[tuple[int, str], ...]  # (offset, error class)

    def digest(self, service: str, source: str) -> bytes:
        return chain.hour_digest(service, source, self.hour, self.status, self.latency, self.errors)


@dataclass(frozen=True)
class ChainSummary:
    chains: int
    hours: int
    breaks: tuple[chain.Break, ...]  # the first break of each broken chain


async def _hours(
    db: Conn, service_id: int, source_id: int, lo: int, hi: int
) -> dict[int, StoredHour]:
    """The stored hours in [lo, hi) of one chain, with their error classes."""
    errors: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for minute, text in await db.fetchall(_ERRORS, (service_id, lo * 60, hi * 60, source_id)):
        errors[minute // 60].append((minute % 60, text))
    out: dict[int, StoredHour] = {}
    for hour, status, latency in await db.fetchall(_BLOCKS, (service_id, lo, hi, source_id)):
        out[hour] = StoredHour(hour, bytes(status), bytes(latency), tuple(errors[hour]))
    return out


async def _prev(db: Conn, ids: tuple[int, int], hour: int, gen: bytes) -> bytes:
    rows = await db.fetchall(_PREV, (*ids, hour))
    return bytes(rows[0][0]) if rows else gen


async def _prev_many(
    db: Conn, chains: Sequence[tuple[int, int]], hour: int
) -> dict[tuple[int, int], bytes]:
    """``_prev`` of many chains in one query: each chain's link of its newest seal
    before ``hour``; a chain with none is left out (its genesis is the caller's).
    An agent's first hour has no seal before it in any chain: one query per minute
    write instead of one per service (10,000 round trips a minute at 10,000)."""
    if not chains:
        return {}
    # One index probe per chain (the newest seal before ``hour``), not ``MAX(hour)
    # ... GROUP BY``: neither SQLite nor PostgreSQL skips through the key for that,
    # so it read every seal of the chains' whole history (2,000 hours of 1,000
    # services: 340 ms against 27 ms for the probes).
    pairs = ",".join(f"({int(sid)},{int(src)})" for sid, src in sorted(set(chains)))
    out: dict[tuple[int, int], bytes] = {}
    for sid, src, link_ in await db.fetchall(
        f"WITH c(sid, src) AS (VALUES {pairs}) SELECT c.sid, c.src, (SELECT s.link"
        " FROM chain_seals s WHERE s.service_id = c.sid AND s.source_id = c.src"
        " AND s.hour < ? ORDER BY s.hour DESC LIMIT 1) FROM c",
        (hour,),
    ):
        if link_ is not None:
            out[(int(sid), int(src))] = bytes(link_)
    return out


def _touched(rows: Sequence[MinuteRow]) -> dict[tuple[str, str], set[int]]:
    """The hours each (service, source) chain gets rows in.

    Per-row work runs at C speed (map, zip, set); a batch of one chain (an
    import sorted by service) skips building a tuple per row.
    """
    services, sources = set(map(_SERVICE, rows)), set(map(_SOURCE, rows))
    if len(services) == 1 and len(sources) == 1:
        return {(services.pop(), sources.pop()): set(map(_HOUR_OF, map(_MINUTE, rows)))}
    touched: dict[tuple[str, str], set[int]] = defaultdict(set)
    hours = map(_HOUR_OF, map(_MINUTE, rows))
    for service, source, hour in set(
        zip(map(_SERVICE, rows), map(_SOURCE, rows), hours, strict=True)
    ):
        touched[(service, source)].add(hour)
    return touched


def _relinked(
    ids: tuple[int, int],
    hours: AbstractSet[int],
    fresh: Mapping[int, bytes],
    old: dict[int, tuple[bytes, bytes]],
    prev: bytes,
) -> tuple[list[tuple[int, int, int, bytes, bytes]], list[tuple[int, int, int]]]:
    """The seals of one chain to write and to delete after its ``hours`` changed.

    ``fresh`` holds the digest of each touched hour that holds records now (an
    hour without is no longer sealed); ``old`` the chain's stored (digest, link)
    from its first touched hour on; ``prev`` is the link before that hour.
    """
    if len(hours) == 1 and old.keys() <= hours:  # the agent's minute: one hour, the newest
        (hour,) = hours
        digest = fresh.get(hour)
        if digest is None:
            return [], [(*ids, h) for h in old]
        sealed = (digest, chain.link(prev, hour, digest))
        return ([] if old.get(hour) == sealed else [(*ids, hour, *sealed)]), []
    digests = {h: d for h, (d, _) in old.items()}
    for hour in hours:
        digest = fresh.get(hour)
        if digest is None:
            digests.pop(hour, None)
        else:
            digests[hour] = digest
    last_touched = max(hours)
    changed = []
    for seal in chain.relink(prev, sorted(digests.items())):
        if old.get(seal.hour) == (seal.digest, seal.link):
            if seal.hour > last_touched:
                break  # every later link follows from this unchanged one
            continue
        changed.append((*ids, seal.hour, seal.digest, seal.link))
    return changed, [(*ids, h) for h in old.keys() - digests.keys()]


async def _hours_many(
    db: Conn, chains: Sequence[tuple[int, int]], lo: int, hi: int
) -> dict[tuple[int, int], dict[int, StoredHour]]:
    """The stored hours in [lo, hi) of several chains, in two queries."""
    wanted = set(chains)
    sids, srcs = id_list(c[0] for c in chains), id_list(c[1] for c in chains)
    errors = await _errors_many(db, chains, lo, hi)
    out: dict[tuple[int, int], dict[int, StoredHour]] = {ids: {} for ids in chains}
    for sid, src, hour, status, latency in await db.fetchall(
        "SELECT service_id, source_id, hour, status, latency FROM minute_blocks"
        f" WHERE service_id IN ({sids}) AND hour >= ? AND hour < ? AND source_id IN ({srcs})",
        (lo, hi),
    ):
        if (sid, src) in wanted:
            found = tuple(errors.get((sid, hour, src), ()))
            out[(sid, src)][hour] = StoredHour(hour, bytes(status), bytes(latency), found)
    return out


async def _seals_many(
    db: Conn,
    chains: Sequence[tuple[int, int]],
    lo: int,
    unlogged: dict[tuple[int, int, int], bytes] | None = None,
) -> dict[tuple[int, int], dict[int, tuple[bytes, bytes]]]:
    """Each chain's stored seals from hour ``lo`` on: hour -> (digest, link). Those not
    yet in the audit trail (``logged = 0``) also go into ``unlogged`` when given,
    (service_id, source_id, hour) -> digest, as ``_write_context`` keeps them."""
    out: dict[tuple[int, int], dict[int, tuple[bytes, bytes]]] = {ids: {} for ids in chains}
    for sid, src, hour, digest, link_, logged in await db.fetchall(
        "SELECT service_id, source_id, hour, digest, link, logged FROM chain_seals"
        f" WHERE service_id IN ({id_list(c[0] for c in chains)})"
        f" AND source_id IN ({id_list(c[1] for c in chains)}) AND hour >= ?",
        (lo,),
    ):
        mine = out.get((sid, src))
        if mine is not None:
            mine[hour] = (digest, link_)
            if unlogged is not None and not logged:
                unlogged[(sid, src, hour)] = digest
    return out


class MemoStale(Exception):
    """A write through ``LiveMemo`` found a row other than the memo says (another
    writer's, or an edit behind slawatch's back): its transaction rolls back and the
    write is made again the reading way, which sees (and logs) what changed."""


@dataclass
class LiveMemo:
    """What the store's last live minute writes (an agent's minutes, on PostgreSQL) left
    in the rows they wrote, so that the next minute into the same hour need not read
    them back: each block as written, (service_id, hour, source_id) -> (status,
    latency), and its error classes after the write (only blocks with some); each of
    those chains' seals of that hour and the one before, (service_id, source_id) ->
    {hour: (digest, link)}, and which of those are not yet in the audit trail,
    (service_id, source_id) -> {hour: digest} (``logged = 0``). One store may write
    for several agents (the fleet benchmark's shared connections): it keeps a memo per
    set of sources written (``MinuteStore._live_for``), each of one hour.

    Trusted no further than the next write proves it: that write rewrites every block
    and every seal of the hour with ``Conn.update_unchanged``, each row only if it still
    holds exactly what the memo says, else ``MemoStale``. An edit of a block or a seal
    behind slawatch's back therefore always sends the write the reading way, whose
    tamper check logs it (``store.tamper``). The error classes are read afresh on every
    write; when they are not what the memo holds, the tamper check runs on the
    remembered blocks (with the memo's, a block hashes to its seal: nothing to check).
    What is taken on trust is the sealed hour before (its link continues the chain):
    it is closed and in the audit trail, where ``store verify`` checks it, and the
    reading way does not check it either. Until the agent's close minute that hour is
    still open: the turn proves its seal (``_seal_next_hour``), and a write of it by
    slawatch since re-links the new hour, whose seal every write proves."""

    blocks: dict[tuple[int, int, int], tuple[bytes, bytes]] = field(default_factory=dict)
    seals: dict[tuple[int, int], dict[int, tuple[bytes, bytes]]] = field(default_factory=dict)
    unlogged: dict[tuple[int, int], Mapping[int, bytes]] = field(default_factory=dict)
    errors: dict[tuple[int, int, int], list[tuple[int, str]]] = field(default_factory=dict)
    hour: int | None = None  # the one hour it holds

    def update(self, new: LiveMemo) -> None:
        """Take in what a later write left of its chains (all of one hour: those of an
        earlier hour are forgotten, they are history)."""
        if new.hour != self.hour or (
            new.blocks.keys() >= self.blocks.keys()
            and new.seals.keys() >= self.seals.keys()
            and new.unlogged.keys() >= self.unlogged.keys()
        ):  # (or every chain it holds written again, an agent's every minute: taken whole)
            self.blocks, self.seals, self.unlogged = new.blocks, new.seals, new.unlogged
            self.errors, self.hour = new.errors, new.hour
            return
        for key in [k for k in self.errors if k in new.blocks]:
            del self.errors[key]
        self.blocks.update(new.blocks)
        self.seals.update(new.seals)
        self.unlogged.update(new.unlogged)
        self.errors.update(new.errors)

    def next_hour(self, keys: AbstractSet[tuple[int, int, int]]) -> bool:
        """Whether the blocks ``keys`` are all of the hour after the memo's, each of a
        chain whose block and seal of the memo's hour it holds: the agent's first
        minute of an hour. That write proves the memo too: it closes each chain's
        hour only where the seal still holds what the memo says, and inserts the new
        hour's blocks and seals only where none is (``_seal_next_hour``)."""
        hour = self.hour
        if hour is None or not keys:
            return False
        if set(map(_HOUR, keys)) != {hour + 1}:
            return False
        sids, srcs = list(map(_FIRST, keys)), list(map(_KEY_SOURCE, keys))
        held = map(self.seals.get, zip(sids, srcs, strict=True), repeat(()))
        return all(map(self.blocks.__contains__, zip(sids, repeat(hour), srcs))) and all(
            map(contains, held, repeat(hour))
        )

    def same_errors(
        self,
        keys: AbstractSet[tuple[int, int, int]],
        found: Mapping[tuple[int, int, int], list[tuple[int, str]]],
    ) -> bool:
        """Whether the error classes ``found`` of the blocks ``keys`` are the memo's."""
        held = self.errors
        mine = [k for k in held if k in keys]
        return len(mine) == sum(1 for k in found if k in keys) and all(
            found.get(k) == held[k] for k in mine
        )


_NOTHING: Mapping[int, bytes] = MappingProxyType({})  # a chain with every seal logged


@dataclass
class WriteContext:
    """What one minute write reads of the touched chains, once, before it changes them:
    the stored error classes of the touched hours, (service_id, hour, source_id) ->
    [(offset, error class)] in offset order, kept up to date by the write; and each
    chain's seals from ``_LOOKBACK`` hours before its first touched hour on,
    (service_id, source_id) -> {hour: (digest, link)}. The tamper check, the error
    upsert and the re-sealing all use it instead of reading the same rows again."""

    errors: dict[tuple[int, int, int], list[tuple[int, str]]]
    seals: dict[tuple[int, int], dict[int, tuple[bytes, bytes]]]
    spans: tuple[
        dict[tuple[int, int], frozenset[int]], dict[tuple[int, int], list[tuple[int, int]]]
    ]  # ``_chain_spans`` of the write's blocks
    # Seals of the writing sources whose digest is not yet in the audit trail (the
    # agent's newest hour of each chain): (service_id, source_id, hour) -> digest.
    unlogged: dict[tuple[int, int, int], bytes] = field(default_factory=dict)

    def set_error(self, key: tuple[int, int, int], offset: int, error: str | None) -> None:
        """The error class of one minute after the write (None: it has none)."""
        kept = [e for e in self.errors.get(key, ()) if e[0] != offset]
        if error is not None:
            kept.append((offset, error))
            kept.sort()
        if kept:
            self.errors[key] = kept
        else:
            self.errors.pop(key, None)


def _chain_spans(
    keys: Iterable[tuple[int, int, int]],
) -> tuple[dict[tuple[int, int], frozenset[int]], dict[tuple[int, int], list[tuple[int, int]]]]:
    """The hours each (service_id, source_id) chain has among ``keys``, and the chains
    grouped by their span of hours [lo, hi) (the agent's minute: one span for all,
    found at C speed)."""
    keys = keys if isinstance(keys, (set, frozenset, dict)) else set(keys)
    hours = set(map(_HOUR, keys))
    if len(hours) == 1:  # every chain in the same hour: no step per key
        hour = hours.pop()
        chains = list(dict.fromkeys(zip(map(_SERVICE, keys), map(_KEY_SOURCE, keys), strict=True)))
        return dict.fromkeys(chains, frozenset((hour,))), {(hour, hour + 1): chains}
    touched: dict[tuple[int, int], set[int]] = defaultdict(set)
    for sid, hour, src in keys:
        touched[(sid, src)].add(hour)
    by_span: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for ids, found in touched.items():
        by_span[(min(found), max(found) + 1)].append(ids)
    return {ids: frozenset(found) for ids, found in touched.items()}, by_span


async def _errors_many(
    db: Conn, chains: Sequence[tuple[int, int]], lo: int, hi: int
) -> dict[tuple[int, int, int], list[tuple[int, str]]]:
    """The error classes stored in hours [lo, hi) of several chains:
    (service_id, hour, source_id) -> [(offset, error class)], in offset order."""
    wanted = set(chains)
    out: dict[tuple[int, int, int], list[tuple[int, str]]] = defaultdict(list)
    services, by_service = db.among("e.service_id", map(_FIRST, chains))
    sources, by_source = db.among("e.source_id", set(map(_SECOND, chains)))
    for sid, src, minute, text in await db.fetchall(
        "SELECT e.service_id, e.source_id, e.minute, t.text FROM minute_errors e"
        f" JOIN error_texts t ON t.id = e.error_id WHERE {services} AND e.minute >= ?"
        f" AND e.minute < ? AND {sources} ORDER BY e.minute",
        (*by_service, lo * 60, hi * 60, *by_source),
    ):
        if (sid, src) in wanted:
            out[(int(sid), int(minute) // 60, int(src))].append((int(minute) % 60, str(text)))
    return out


def _add_unlogged(
    unlogged: dict[tuple[int, int, int], bytes],
    chains: Sequence[tuple[int, int]],
    waiting: Sequence[Mapping[int, bytes]],
) -> None:
    """Add each chain's unlogged hours, hour -> digest, as (service_id, source_id,
    hour) -> digest, in chain order (one each, the agent's open hour: at C speed)."""
    if list(map(len, waiting)).count(1) == len(waiting):
        hours = list(map(next, map(iter, waiting)))
        keys = map(add, chains, zip(hours))
        unlogged.update(zip(keys, map(getitem, waiting, hours), strict=True))
        return
    for ids, found in zip(chains, waiting, strict=True):
        for hour, digest in found.items():
            unlogged[(*ids, hour)] = digest


def _to_log(
    ids: tuple[int, int],
    found: tuple[list[tuple[int, int, int, bytes, bytes]], list[tuple[int, int, int]]],
    seals: Mapping[int, tuple[bytes, bytes]],
    unlogged: Mapping[tuple[int, int, int], bytes],
    newest: int,
    defer: bool,
) -> tuple[list[tuple[int, int, int, bytes, bytes, int]], list[LogItem]]:
    """The seal rows to write (with their ``logged`` flag) and the hours to log, of one
    chain whose write gave ``found`` (``_relinked``: seals changed, seals gone)."""
    rows: list[tuple[int, int, int, bytes, bytes, int]] = []
    items: list[LogItem] = []
    for sid, src, hour, digest, link_ in found[0]:
        old = seals.get(hour)
        logged_before = old is not None and (sid, src, hour) not in unlogged
        if old is not None and old[0] == digest:  # only its link moved
            rows.append((sid, src, hour, digest, link_, 0 if (sid, src, hour) in unlogged else 1))
        elif defer and hour == newest and not logged_before:
            rows.append((sid, src, hour, digest, link_, 0))  # still being written
        else:
            rows.append((sid, src, hour, digest, link_, 1))
            items.append((sid, src, hour, old[0] if logged_before and old else None, digest))
    for sid, src, hour in found[1]:
        old = seals.get(hour)
        if old is not None and (sid, src, hour) not in unlogged:
            items.append((sid, src, hour, old[0], None))
    return rows, items


_NOT_AS_WRITTEN = "an entry of minute writes not as slawatch writes it"
_ROW_SHAPE = "not each [service, source, hour, digest]"


def _hour_rows(value: Any) -> list[tuple[str, str, int, str | None]] | None:
    """A ``minutes.seal`` entry's ``hours`` (a baseline's ``chains``) as slawatch writes
    them, each ``[service, source, hour, hex digest or null]``; None for anything else
    (written behind slawatch's back: ``store verify`` names it rather than stopping)."""
    if not isinstance(value, list):
        return None
    out = []
    for row in value:
        if not (
            isinstance(row, list)
            and len(row) == 4
            and isinstance(row[0], str)
            and isinstance(row[1], str)
            and type(row[2]) is int
            and (row[3] is None or isinstance(row[3], str))
        ):
            return None
        out.append((row[0], row[1], row[2], row[3]))
    return out


def _hour_digest(
    key: tuple[int, int, int],
    names: tuple[str, str],
    status: bytes,
    latency: bytes,
    errors: tuple[tuple[int, str], ...],
) -> bytes:
    """``ChainStore._digest`` without its memo."""
    return chain.hour_digest(names[0], names[1], key[1], status, latency, errors)


def _hex(item: LogItem) -> str | None:
    """A logged hour's digest after the write, as the trail spells it (null: emptied)."""
    return None if item[4] is None else item[4].hex()


def _hour_text(hour: int) -> str:
    """A UTC epoch hour for people (ISO Z; its number when outside years 1-9999)."""
    if _FIRST_MINUTE <= hour * 60 <= _LAST_MINUTE:
        return str(iso_z(from_minute(hour * 60)))
    return f"#{hour} (epoch hours)"


def _span(hours: Sequence[int]) -> tuple[int, int]:
    """The minutes of ``hours`` as an entry's span, within the times a span can name."""
    return max(min(hours) * 60, _FIRST_MINUTE), min(max(hours) * 60 + 60, _LAST_MINUTE)


async def _chain_ids(db: Conn) -> list[tuple[int, int]]:
    rows = await db.fetchall(
        "SELECT DISTINCT service_id, source_id FROM minute_blocks"
        " UNION SELECT DISTINCT service_id, source_id FROM chain_seals"
    )
    return [(int(a), int(b)) for a, b in rows]


async def _reseal_unchanged(
    db: Conn,
    memo: LiveMemo,
    chains: Iterable[tuple[int, int]],
    hour: int,
    changed: Sequence[tuple[int, int, int, bytes, bytes, int]],
    checked: list[tuple[Any, ...]],
) -> None:
    """The seals of a write through ``memo``: every seal of the hour rewritten (an
    unchanged one too, so that each is proven) where it still holds what the memo
    says; ``MemoStale`` when one does not. ``checked`` holds those rows already, with
    the values each must still hold (``_reseal_hour``); ``changed`` the seal rows the
    general way made for ``chains``, which are checked here."""
    expected: dict[tuple[int, int, int], tuple[bytes, bytes, int]] = {}
    for ids in chains:
        seal = memo.seals.get(ids, {}).get(hour)
        if seal is None:
            raise MemoStale
        expected[(*ids, hour)] = (*seal, 0 if hour in memo.unlogged.get(ids, ()) else 1)
    rows: dict[tuple[int, int, int], tuple[Any, ...]] = {}
    for row in changed:
        key = row[:3]
        if key not in expected or key in rows:
            raise MemoStale  # more than rewriting the hour's seals: the reading way
        rows[key] = (*row, *expected[key])
    for key, was in expected.items():
        if key not in rows:
            rows[key] = (*key, *was, *was)
    checked.extend(rows.values())
    done = await db.update_unchanged("chain_seals", _SEAL_COLUMNS, _SEAL_KEY, _SEAL_CHECK, checked)
    if done != len(checked):
        raise MemoStale


async def _seal_next_hour(
    db: Conn,
    memo: LiveMemo,
    hour: int,
    chains: int,
    changed: Sequence[tuple[int, int, int, bytes, bytes, int]],
    late: AbstractSet[int] = frozenset(),
) -> None:
    """The seals of a write through ``memo`` into the hour after its own (an agent's
    first minute of an hour, ``LiveMemo.next_hour``): each of the ``chains`` closes
    its previous hour (logged now) only where that seal still holds what the memo
    says, digest, link and not yet logged, and gets its first seal of ``hour`` only
    where it has none; ``MemoStale`` otherwise (the reading way, which sees what
    changed). ``changed``: the seal rows ``_reseal_hour`` made. A chain of a source in
    ``late`` (``close_minute``) leaves its previous hour open: that seal is not written
    now, but each new hour's link follows from it, so it must still hold the memo's
    digest, link and logged flag all the same (read, not rewritten): another
    writer (an operator's backfill of that hour) changed it, and the new hour, sealed
    from the memo's link, broke the chain until the close minute."""
    closed: list[tuple[Any, ...]] = []
    opened: list[tuple[int, int, int, bytes, bytes, int]] = []
    kept: list[tuple[Any, ...]] = []
    for row in changed:
        ids, at = row[:2], row[2]
        if at == hour:
            opened.append(row)
            if row[1] in late:
                prior = memo.seals.get(ids, {}).get(hour - 1)
                if prior is None:
                    raise MemoStale  # (cannot be: the new seal was linked from it)
                logged = 0 if hour - 1 in memo.unlogged.get(ids, _NOTHING) else 1
                kept.append((*ids, hour - 1, *prior, logged))
            continue
        seal = memo.seals.get(ids, {}).get(at)
        if at != hour - 1 or seal is None or row[3:5] != seal or row[5] != 1:
            raise MemoStale
        if at not in memo.unlogged.get(ids, _NOTHING):
            raise MemoStale  # (cannot be: only an unlogged hour is closed)
        closed.append((*row, *seal, 0))
    # Every chain opens its new hour; each closes its previous one unless its source
    # is ``late`` (``_reseal_hour`` kept it open: the memo has it unlogged).
    if len(opened) != chains or len(closed) != sum(1 for row in opened if row[1] not in late):
        raise MemoStale  # a chain not like that: the reading way
    if (
        await db.count_unchanged("chain_seals", _SEAL_COLUMNS, kept) != len(kept)
        or await db.update_unchanged("chain_seals", _SEAL_COLUMNS, _SEAL_KEY, _SEAL_CHECK, closed)
        != len(closed)
        or await db.insert_new("chain_seals", _SEAL_COLUMNS, opened) != len(opened)
    ):
        raise MemoStale


def _next_memo(
    fresh: LiveMemo,
    chains: Iterable[tuple[int, int]],
    context: WriteContext,
    changed: Sequence[tuple[int, int, int, bytes, bytes, int]],
) -> bool:
    """Add to ``fresh`` (the memo a write of one hour leaves) the seals of ``chains``
    after it, from the seals it read and the rows it wrote (``changed``). False when
    a chain has a seal after the hour or none of it (not an agent's minute)."""
    hour = fresh.hour
    if hour is None:
        return False
    chains = list(chains)
    if not chains:
        return True  # every chain went the fast way: in ``fresh`` already
    before = hour - _LOOKBACK
    seals = {
        ids: {h: seal for h, seal in context.seals.get(ids, {}).items() if h >= before}
        for ids in chains
    }
    for sid, src, at, digest, link_, _logged in changed:
        found = seals.get((sid, src))
        if found is None:
            continue  # a chain of the fast way, in ``fresh`` already
        if at < before:
            return False
        found[at] = (digest, link_)
    was = context.unlogged
    unlogged: dict[tuple[int, int], dict[int, bytes]] = {}
    for ids, found in seals.items():
        if max(found, default=hour) != hour or hour not in found:
            return False
        unlogged[ids] = {h: was[(*ids, h)] for h in found if (*ids, h) in was}
    for sid, src, at, digest, _link, logged in changed:
        pending = unlogged.get((sid, src))
        if pending is None:
            continue
        if logged:
            pending.pop(at, None)
        else:
            pending[at] = digest
    fresh.seals.update(seals)
    fresh.unlogged.update(unlogged)
    return True


class ChainStore(AuditStore):
    """The hash chains beside the minute records: extended by every minute write,
    walked by ``check_chains`` and read for claims by ``evidence``."""

    def __init__(self, conn: Conn, where: str, readonly: bool) -> None:
        super().__init__(conn, where, readonly)
        # (service_id, hour, source_id) -> (service, source, status, latency, errors,
        # digest) of the block as this store last hashed it: an agent's next write
        # checks the stored block against its seal (``_check_sealed``), and when that
        # block is byte for byte what it wrote a minute ago the digest is known. A
        # pure memo of ``core.chain.hour_digest``: every input, the names included,
        # is compared, since the ids are not the names for good (SQLite gives a
        # rolled-back new name's id to the next new name). A write that rolls back
        # also empties it (``_rolled_back``), and an edit behind the store's back
        # changes the bytes compared, so neither can fool it.
        self._digests: dict[
            tuple[int, int, int],
            tuple[str, str, bytes, bytes, tuple[tuple[int, str], ...], bytes],
        ] = {}

    def _rolled_back(self) -> None:
        super()._rolled_back()
        self._digests.clear()  # may hold digests of blocks under ids that rolled back

    def _digest(
        self,
        key: tuple[int, int, int],
        names: tuple[str, str],
        status: bytes,
        latency: bytes,
        errors: tuple[tuple[int, str], ...],
    ) -> bytes:
        """``core.chain.hour_digest`` of the block ``key`` (its service and source
        ``names``), from the memo when this store hashed the same names and bytes
        before."""
        known = self._digests.get(key)
        if (
            known is not None
            and known[2] == status
            and known[3] == latency
            and known[4] == errors
            and known[0] == names[0]
            and known[1] == names[1]
        ):
            return known[5]
        digest = chain.hour_digest(names[0], names[1], key[1], status, latency, errors)
        if len(self._digests) >= _DIGEST_MEMO:
            self._digests.clear()
        self._digests[key] = (*names, status, latency, errors, digest)
        return digest

    # What the last write with ``remember`` left of its chains (``_extend_chains``).
    _live_next: LiveMemo | None = None

    # Each chain's hour digests as ``check_chains`` last found them, for the replay
    # of minute writes that follows it in ``store verify`` (used once, then read afresh).
    _verified: dict[tuple[str, str], dict[int, bytes]] | None = None
    # The chains whose newest stored hour holds no minute from its source's close minute
    # on (``_before_close``), as ``check_chains`` found them: only those may have the hour
    # before still open.
    _closing: set[tuple[str, str]] | None = None

    async def _write_context(
        self,
        db: Conn,
        keys: Iterable[tuple[int, int, int]],
        known: ErrorsMemo | None = None,
        memo: LiveMemo | None = None,
    ) -> WriteContext:
        """Read, once, what a write of the blocks ``keys`` needs of their chains
        (two queries per span of hours: the agent's minute has one span).

        ``known``: the error classes this store's previous minute write left, with
        the ``data_version`` it saw; when no other connection has committed since
        (the same version now) and they cover ``keys``, they are not read again
        (the agent's next minute: the same hours). ``memo``: the seals are taken from
        the store's ``LiveMemo`` instead of read (the write then proves them)."""
        errors: dict[tuple[int, int, int], list[tuple[int, str]]] = {}
        seals: dict[tuple[int, int], dict[int, tuple[bytes, bytes]]] = {}
        keys = keys if isinstance(keys, (set, frozenset)) else set(keys)
        reuse = known is not None and keys <= known[1]
        if reuse and known is not None:
            errors = {k: list(v) for k, v in known[2].items() if k in keys}
        spans = _chain_spans(keys)
        unlogged: dict[tuple[int, int, int], bytes] = {}
        for (lo, hi), chains in spans[1].items():
            if not reuse:
                errors.update(await _errors_many(db, chains, lo, hi))
            if memo is None:
                seals.update(await _seals_many(db, chains, lo - _LOOKBACK, unlogged))
                continue
            held, waiting = memo.seals, memo.unlogged
            # The hour after the memo's (``LiveMemo.next_hour``): its seal of that hour
            # is what reading from ``lo - _LOOKBACK`` on would find (the new hour has
            # none yet: the write inserts them only where none is).
            closing = memo.hour if memo.hour is not None and lo == memo.hour + 1 else None
            held_seals = list(map(held.get, chains))
            if None in held_seals:
                raise MemoStale  # (cannot be: the memo holds every block written)
            found = cast(list[dict[int, tuple[bytes, bytes]]], held_seals)
            if closing is not None:
                found = list(map(dict, zip(zip(repeat(closing), map(itemgetter(closing), found)))))
            seals.update(zip(chains, found, strict=True))  # never changed in place
            _add_unlogged(unlogged, chains, list(map(waiting.get, chains, repeat(_NOTHING))))
        # The seals read above gave the unlogged hours from each span's look-back on;
        # only older ones are left to find (none, but for an agent that stopped, or a
        # chain of the source's that the write does not touch: a service no longer probed).
        srcs = id_list(map(_SECOND, chained.from_iterable(spans[1].values())))
        if srcs:
            for sid, src, hour, digest in await db.fetchall(
                "SELECT service_id, source_id, hour, digest FROM chain_seals"
                f" WHERE logged = 0 AND source_id IN ({srcs}) AND hour < ?",
                (max(lo for lo, _ in spans[1]) - _LOOKBACK,),
            ):
                unlogged.setdefault((int(sid), int(src), int(hour)), bytes(digest))
        return WriteContext(errors, seals, spans, unlogged)

    async def _check_sealed(
        self,
        db: Conn,
        before: Mapping[tuple[int, int, int], tuple[bytes, bytes]],
        names: tuple[Mapping[int, str], Mapping[int, str]],
        by: str,
        context: WriteContext | None = None,
    ) -> int:
        """Before a write re-seals hours: does each stored block still match its seal?

        ``before`` maps (service_id, hour, source_id) to the block's stored
        (status, latency), read before the write changed it. A block edited (or
        inserted) directly in the database no longer matches; re-sealing it
        would launder the edit, so each one found is appended to the audit
        trail (``store.tamper``), where ``store verify`` keeps reporting it.
        Returns how many were found.
        """
        if not before:
            return 0
        context = context or await self._write_context(db, set(before))
        errors, seals = context.errors, context.seals
        services, sources = names
        wrong: list[tuple[tuple[int, int, int], bytes, tuple[bytes, bytes] | None]] = []
        for key, (status, latency) in before.items():
            if not any(status):
                continue  # an empty block is no record (its seal was dropped)
            sid, hour, src = key
            found_errors = errors.get(key)
            digest = self._digest(
                key, (services[sid], sources[src]), status, latency, tuple(found_errors or ())
            )
            seal = seals.get((sid, src), {}).get(hour)
            if seal is None or seal[0] != digest:
                wrong.append((key, digest, seal))
        wrong.sort(key=itemgetter(0))
        for (sid, hour, src), digest, seal in wrong:
            service, source = services[sid], sources[src]
            stamp = iso_z(from_minute(hour * 60))
            await self._audit(
                db,
                TAMPER,
                service,
                (hour * 60, hour * 60 + 60),
                {"source": source, "hour": stamp, "sealed": seal[0].hex() if seal else None},
                {"source": source, "hour": stamp, "found": digest.hex(), "by": by},
            )
        return len(wrong)

    async def _extend_chains(
        self,
        db: Conn,
        rows: Sequence[MinuteRow],
        *,
        blocks: Iterable[tuple[int, int, int]] | None = None,
        names: tuple[Mapping[int, str], Mapping[int, str]] | None = None,
        written: Mapping[tuple[int, int, int], tuple[bytes, bytes]] | None = None,
        context: WriteContext | None = None,
        live: bool = False,
        memo: LiveMemo | None = None,
        remember: bool = False,
    ) -> list[LogItem]:
        """Re-seal the hours ``rows`` touched and re-link each chain after them;
        returns what the write changed for the audit trail (``_log_minutes``).

        Every hour whose digest changed is logged, but for a ``live`` write (the
        agent's minute) the newest hour of its chain, still being written: that
        one stays ``logged = 0`` and is logged by the first write after it (the
        chain moved on), as is any such hour left behind (an agent stopped).

        Runs inside the caller's write transaction, after the minutes are upserted.
        A caller that already knows the touched blocks as (service_id, hour,
        source_id) may pass them as ``blocks`` and spare the per-row scan, and the
        names of those ids as ``names`` (service id -> name, source id -> name).

        Chains that share their span of touched hours (the agent's minute: every
        service in the same hour) are read and written together, a handful of
        queries in all rather than several per chain. The minute write passes what
        it just wrote (``written``: every touched block's stored (status, latency))
        and its ``context`` (the errors after the write, the seals before it), so
        nothing is read back at all.

        ``memo``: the write's seals came from the store's ``LiveMemo``; each seal of the
        hour is rewritten only where it still holds what the memo says (``MemoStale``
        otherwise, as for anything but the plain minute). ``remember``: leave what this
        write stores of the chains as the next ``LiveMemo`` (``_live_next``), when the
        write was one hour of chains with nothing after it.
        """
        if not rows:
            return []
        if names is None or blocks is None:
            names = await self._names("services"), await self._names("sources")
        services, sources = names
        if blocks is None:
            service_ids = {n: i for i, n in services.items()}
            source_ids = {n: i for i, n in sources.items()}
            blocks = [
                (service_ids[service], hour, source_ids[source])
                for (service, source), hours in _touched(rows).items()
                if service in service_ids and source in source_ids  # else nothing was stored
                for hour in hours
            ]
        blocks = list(blocks)
        just = written if written is not None else {}
        if written is not None and context is not None:
            touched, by_span = context.spans
        else:
            touched, by_span = _chain_spans(blocks)
        changed: list[tuple[int, int, int, bytes, bytes, int]] = []
        gone: list[tuple[int, int, int]] = []
        items: list[LogItem] = []
        caught: list[tuple[int, int, int]] = []
        unlogged = (context or await self._write_context(db, blocks)).unlogged
        one_hour = len(by_span) == 1 and all(hi == lo + 1 for lo, hi in by_span)
        # A write through ``memo``: the seal rows of the fast way, with what each row
        # must still hold; the chains that went the general way (checked at the end).
        # The memo's next hour (``LiveMemo.next_hour``): written the general way's rows,
        # then proven (``_seal_next_hour``) instead of upserted.
        crossed = (
            memo is not None
            and memo.hour is not None
            and one_hour
            and next(iter(by_span))[0] == memo.hour + 1
        )
        checked: list[tuple[Any, ...]] | None = [] if memo is not None and not crossed else None
        general: list[tuple[int, int]] = []
        after: LiveMemo | None = None  # the memo this write leaves
        if remember and context is not None and written is not None and one_hour:
            (lo_only, _), *_ = by_span
            after = LiveMemo(hour=lo_only)
        unlogged_of: dict[tuple[int, int], list[tuple[int, bytes]]] = defaultdict(list)
        # Used for a chain's hours before its newest and for untouched chains: when
        # every chain touched one hour, the touched chains' unlogged seals of that hour
        # (the agent's open hour, 1,000 of them a minute) are neither.
        (open_hour, _), *_ = by_span if one_hour else ((None, None),)
        # The writing sources whose chains' previous hour stays open through this write
        # (``close_minute``): an agent's minute of one hour, written before the minute
        # its name closes the hour before. Only ``_reseal_hour`` keeps it open; a chain
        # that goes the general way has it closed (logged) at once, as before.
        late: frozenset[int] = frozenset()
        if live and one_hour:
            offset = max(map(_MINUTE, rows)) % 60
            late = frozenset(
                src for src in {ids[1] for ids in touched} if offset < close_minute(sources[src])
            )
        for (u_sid, u_src, u_hour), u_digest in unlogged.items():
            if u_hour != open_hour or (u_sid, u_src) not in touched:
                unlogged_of[(u_sid, u_src)].append((u_hour, u_digest))
        for (lo, hi), chains in by_span.items():
            if written is not None and context is not None:
                seals = context.seals
                errors = context.errors
                stored = None
            else:
                stored = await _hours_many(db, chains, lo, hi)
                seals = await _seals_many(db, chains, lo - _LOOKBACK)
            rest: Iterable[tuple[int, int]] = chains
            if stored is None and hi == lo + 1:  # the agent's minute: one hour for every chain
                rest = self._reseal_hour(
                    lo, chains, names, just, errors, seals, unlogged, live, changed, items,
                    checked, after, late, memo is not None,
                )  # fmt: skip
                general.extend(rest)
            rest = list(rest)
            # The link each chain left continues from, when no seal before ``lo`` was
            # read: asked for all such chains of the span at once.
            unlinked = [ids for ids in rest if not any(h < lo for h in seals[ids])]
            links = await _prev_many(db, unlinked, lo - _LOOKBACK)
            for ids in rest:
                sid, src = ids
                service, source = services[sid], sources[src]
                hours = touched[ids]
                fresh: dict[int, bytes] = {}
                if stored is None:  # what the write itself just stored
                    for hour in hours:
                        key = (sid, hour, src)
                        block = just.get(key)
                        if block is not None:
                            found = tuple(errors.get(key, ()))
                            fresh[hour] = self._digest(
                                key, (service, source), block[0], block[1], found
                            )
                else:
                    mine = stored[ids]
                    for hour in hours:
                        held = mine.get(hour)
                        if held is None:
                            continue
                        fresh[hour] = self._digest(
                            (sid, hour, src),
                            (service, source),
                            held.status,
                            held.latency,
                            held.errors,
                        )
                sealed = seals[ids]
                old: dict[int, tuple[bytes, bytes]] = {}
                before_lo = None  # the newest sealed hour before ``lo``
                for h, seal in sealed.items():
                    if h >= lo:
                        old[h] = seal
                    elif before_lo is None or h > before_lo:
                        before_lo = h
                if before_lo is not None:
                    prev = sealed[before_lo][1]
                else:
                    prev = links.get(ids) or chain.genesis(service, source)
                relinked = _relinked(ids, hours, fresh, old, prev)
                newest = max(hours)
                defer = live and not any(h > newest for h in old)  # (a later hour is >= lo)
                rows_, logged_now = _to_log(ids, relinked, sealed, unlogged, newest, defer)
                behind = [u for u in unlogged_of.get(ids, ()) if u[0] < newest]
                if (
                    src in late
                    and defer
                    and newest in fresh
                    and [u[0] for u in behind] == [newest - 1]
                    and (newest not in old or (sid, src, newest) in unlogged)
                ):
                    # Closed late (``close_minute``), as ``_reseal_hour`` keeps it: the
                    # hour before stays open beside the newest, which stays open too.
                    behind = []
                if behind:  # the newest hour stays open until the chain moves on
                    done = {item[2] for item in logged_now} | {g[2] for g in relinked[1]}
                    written_at = {row[2]: n for n, row in enumerate(rows_)}
                    for hour, digest in sorted(behind):
                        if hour in done:
                            continue
                        logged_now.append((sid, src, hour, None, digest))  # left behind: now
                        if hour in written_at:
                            rows_[written_at[hour]] = (*rows_[written_at[hour]][:5], 1)
                        elif hour in sealed:  # unchanged: rewritten as logged, in the one upsert
                            rows_.append((sid, src, hour, *sealed[hour], 1))
                        else:
                            caught.append((sid, src, hour))
                changed += rows_
                gone += relinked[1]
                items += logged_now
        if live:
            # A chain of the writing source that this write does not touch (a service
            # no longer probed) and an hour of it left unlogged that is over: logged now.
            # Else never: store verify lets a chain's newest hour go unlogged (still being
            # written), so that hour, edited and re-sealed behind slawatch's back, went unseen.
            for ids, left in unlogged_of.items():
                if ids not in touched:
                    for hour, digest in sorted(left):
                        items.append((*ids, hour, None, digest))
                        caught.append((*ids, hour))
        self._live_next = None
        if (
            after is not None
            and context is not None
            and not (gone or caught)
            and _next_memo(after, general, context, changed)
        ):
            after.blocks = {k: v for k, v in just.items() if k[1] == after.hour}
            after.errors = {k: v for k, v in context.errors.items() if k in after.blocks}
            self._live_next = after
        if memo is not None and crossed:
            if gone or caught or general:
                raise MemoStale  # more than an hour's first minute: the reading way
            await _seal_next_hour(db, memo, next(iter(by_span))[0], len(touched), changed, late)
            return items
        if memo is not None and checked is not None:
            if gone or caught or not one_hour:
                raise MemoStale  # more than rewriting the hour's seals: the reading way
            ((lo_only, _),) = by_span
            await _reseal_unchanged(db, memo, general, lo_only, changed, checked)
            return items
        if caught:
            await db.executemany(
                "UPDATE chain_seals SET logged = 1 WHERE service_id = ? AND source_id = ?"
                " AND hour = ?",
                caught,
            )
        if gone:
            await db.executemany(
                "DELETE FROM chain_seals WHERE service_id = ? AND source_id = ? AND hour = ?", gone
            )
        known = context.seals if context is not None else None  # read in this transaction
        await db.upsert(
            "chain_seals",
            _SEAL_COLUMNS,
            ("service_id", "source_id", "hour"),
            changed,
            stored=None if known is None else lambda row: row[2] in known.get((row[0], row[1]), {}),
        )
        return items

    def _reseal_hour(
        self,
        hour: int,
        chains: Sequence[tuple[int, int]],
        names: tuple[Mapping[int, str], Mapping[int, str]],
        written: Mapping[tuple[int, int, int], tuple[bytes, bytes]],
        errors: Mapping[tuple[int, int, int], list[tuple[int, str]]],
        seals: Mapping[tuple[int, int], dict[int, tuple[bytes, bytes]]],
        unlogged: Mapping[tuple[int, int, int], bytes],
        live: bool,
        changed: list[tuple[int, int, int, bytes, bytes, int]],
        items: list[LogItem],
        checked: list[tuple[Any, ...]] | None = None,
        fresh: LiveMemo | None = None,
        late: AbstractSet[int] = frozenset(),
        memo_way: bool = False,
    ) -> list[tuple[int, int]]:
        """``_extend_chains`` for chains that touched only ``hour``, their newest, right
        after a sealed previous hour, with nothing left unlogged before it: an agent's
        every minute but its first and those after a gap. Adds their seal rows to
        ``changed`` and their logged hours to ``items`` just as the general way does
        (``_relinked``, ``_to_log``), in one step per chain; returns the chains that
        are not like that, for the general way.

        A write through a ``LiveMemo`` passes ``checked``: each chain's seal row goes
        there instead, unchanged ones too, followed by the (digest, link, logged) the
        row must still hold (``_reseal_unchanged``); so does the closing of the hour
        before (its seal must still hold the memo's digest and link, not yet logged).
        ``fresh``: each chain's seals after the write are added to it (the next memo).

        ``late``: sources (ids) whose chains' previous hour stays open through this
        write (``close_minute``): only while ``hour`` is open too (new, or not yet
        logged), so that a chain's open hours are always its newest one or two and
        ``store verify`` may allow exactly those."""
        if live and self._reseal_alike(
            hour,
            chains,
            names,
            (written, errors, seals, unlogged),
            (changed, items, checked, fresh),
            late,
            memo_way,
        ):
            return []
        services, sources = names
        link, digest_of = chain.link, self._digest
        if checked is not None or memo_way:
            # A write through the memo (its next hour too) never needs a block's digest
            # for a tamper check (``_check_sealed``): none remembered.
            digest_of = _hour_digest
        before = hour - 1
        # The chains with an hour before ``hour`` not yet in the audit trail: at an
        # hour's first minute, each chain's previous hour (closed now: logged by this
        # write, as the general way does); any other such hour goes the general way.
        behind: dict[tuple[int, int], list[int]] = {}
        for sid, src, at in unlogged:
            if at < hour:
                behind.setdefault((sid, src), []).append(at)
        rest: list[tuple[int, int]] = []
        for ids in chains:
            sid, src = ids
            key = (sid, hour, src)
            block = written.get(key)
            sealed = seals[ids]
            prior = sealed.get(before)
            old = sealed.get(hour)
            waiting = behind.get(ids) if behind else None
            # The previous hour is kept open (not logged yet, ``late``) only beside an
            # open ``hour``: then the write leaves both unlogged, as the memo says.
            kept = (
                waiting == [before]
                and live
                and src in late
                and (old is None or (sid, src, hour) in unlogged)
            )
            if kept:
                waiting = None
            # ``sealed`` holds hours from ``before`` on: only ``before`` and ``hour`` here.
            if (
                block is None
                or prior is None
                or len(sealed) != (1 if old is None else 2)
                or (waiting is not None and waiting != [before])
            ):
                rest.append(ids)
                continue
            if waiting is not None:  # the previous hour is over: logged now, as it stands
                closing = (sid, src, before, *prior, 1)
                if checked is not None:  # only where it still holds the memo's, unlogged
                    checked.append((*closing, *prior, 0))
                else:
                    changed.append(closing)
                items.append((sid, src, before, None, unlogged[(sid, src, before)]))
            found = errors.get(key)
            digest = digest_of(
                key, (services[sid], sources[src]), block[0], block[1], tuple(found or ())
            )
            now = link(prior[1], hour, digest)
            was_logged = 0 if (sid, src, hour) in unlogged else 1
            row: tuple[int, int, int, bytes, bytes, int] | None
            if old is not None and old[0] == digest:
                row = None if old[1] == now else (sid, src, hour, digest, now, was_logged)
            elif live and not (old is not None and was_logged):
                row = (sid, src, hour, digest, now, 0)  # still being written: logged later
            else:
                row = (sid, src, hour, digest, now, 1)
                items.append((sid, src, hour, old[0] if old is not None and was_logged else None,
                              digest))  # fmt: skip
            if checked is not None:
                if old is None:
                    raise MemoStale  # (cannot be: the memo holds the hour's seal)
                checked.append((*(row or (sid, src, hour, *old, was_logged)), *old, was_logged))
            elif row is not None:
                changed.append(row)
            if fresh is not None:
                fresh.seals[ids] = {before: prior, hour: (digest, now)}
                logged = was_logged if row is None else row[5]
                still: dict[int, bytes] = {}
                if kept:
                    still[before] = unlogged[(sid, src, before)]
                if not logged:
                    still[hour] = digest
                fresh.unlogged[ids] = still or _NOTHING
        return rest

    def _reseal_alike(
        self,
        hour: int,
        chains: Sequence[tuple[int, int]],
        names: tuple[Mapping[int, str], Mapping[int, str]],
        given: tuple[
            Mapping[tuple[int, int, int], tuple[bytes, bytes]],
            Mapping[tuple[int, int, int], list[tuple[int, str]]],
            Mapping[tuple[int, int], dict[int, tuple[bytes, bytes]]],
            Mapping[tuple[int, int, int], bytes],
        ],
        out: tuple[
            list[tuple[int, int, int, bytes, bytes, int]],
            list[LogItem],
            list[tuple[Any, ...]] | None,
            LiveMemo | None,
        ],
        late: AbstractSet[int] = frozenset(),
        memo_way: bool = False,
    ) -> bool:
        """``_reseal_hour``'s loop for a live write whose chains are all alike in one of
        its usual shapes, with no Python step per chain (the agent's minute: a
        thousand chains): every chain's ``hour`` sealed and not yet logged, right after
        its sealed previous hour (each minute of an hour but its first), or every
        chain's first write of ``hour`` right after its previous hour, which is the
        one left unlogged (the hour's first minute; not through a memo's ``checked``).
        A previous hour left unlogged is closed (logged now) unless the chains' source
        is ``late`` (``close_minute``: kept open, as the loop keeps it); beside a sealed
        ``hour`` that closing goes through ``checked`` only (the reading way's close
        minute, once an hour, takes the loop). The same rows, items and memo as the
        loop, in its order. False, with nothing done, when the chains are not all of
        one shape (nor all of late sources or all not). ``given`` and ``out`` are
        ``_reseal_hour``'s (written, errors, seals, unlogged) and (changed, items,
        checked, fresh); ``memo_way``: a write through the memo (its digests are not
        kept for a tamper check: the memo's blocks need none)."""
        written, errors, seals, unlogged = given
        changed, items, checked, fresh = out
        before = hour - 1
        sids, srcs = list(map(_FIRST, chains)), list(map(_SECOND, chains))
        keep = not late.isdisjoint(srcs)  # the hour before stays open (``late``)
        if keep and not late >= set(srcs):
            return False
        keys = list(zip(sids, repeat(hour), srcs))
        found_blocks, found_seals = list(map(written.get, keys)), list(map(seals.get, chains))
        if not chains or None in found_blocks or None in found_seals:
            return False
        blocks = cast(list[tuple[bytes, bytes]], found_blocks)
        sealed = cast(list[dict[int, tuple[bytes, bytes]]], found_seals)
        priors = list(map(methodcaller("get", before), sealed))
        olds = list(map(methodcaller("get", hour), sealed))
        sizes = list(map(len, sealed))
        n = len(chains)
        # How many unlogged hours before ``hour`` there are (of any chain).
        early = sum(map(hour.__gt__, map(_SEAL_HOUR, unlogged)))
        if None in priors:
            return False
        opening = olds.count(None) == n and sizes.count(1) == n
        shut = list(zip(sids, srcs, repeat(before)))
        # Each chain's one unlogged hour before ``hour`` is ``before`` (``early`` counts
        # every chain's: n of them, each one of these).
        behind = early == n and all(map(unlogged.__contains__, shut))
        if opening:
            if checked is not None or not behind:
                return False
        elif (  # each chain's hour sealed, unlogged, with no unlogged hour before it
            None in olds  # but ``before`` (``behind``: kept open, or closed now)
            or sizes.count(2) != n
            or not all(map(unlogged.__contains__, zip(sids, srcs, repeat(hour))))
            or (
                early
                and not behind
                and not {k[:2] for k in unlogged if k[2] < hour}.isdisjoint(chains)
            )
            or (behind and not keep and checked is None)
        ):
            return False
        closing = behind and not keep  # each chain's ``before`` is logged now
        services, sources = names
        snames = list(map(services.__getitem__, sids))
        rnames = list(map(sources.__getitem__, srcs))
        statuses, latencies = list(map(_FIRST, blocks)), list(map(_SECOND, blocks))
        digests = chain.hour_digests(
            snames, rnames, hour, statuses, latencies, list(map(errors.get, keys))
        )
        prior_seals = cast(list[tuple[bytes, bytes]], priors)
        nows = chain.links(map(_SECOND, prior_seals), hour, digests)
        rows = list(zip(sids, srcs, repeat(hour), digests, nows, repeat(0)))
        # The closing row of each chain's ``before``, as it stands, now logged.
        closed = list(
            map(add, zip(sids, srcs, repeat(before)), map(add, prior_seals, repeat((1,))))
        )
        if closing:
            items.extend(zip(sids, srcs, repeat(before), repeat(None), map(unlogged.get, shut)))
        if opening and closing:
            changed.extend(chained.from_iterable(zip(closed, rows, strict=True)))
        elif opening:  # the hour before kept open: only the new hour's first seals
            changed.extend(rows)
        elif checked is not None:  # every seal of the hour, with what it must still hold
            now_rows = map(add, rows, map(add, olds, repeat((0,))))
            if closing:  # and ``before`` logged where it still holds the memo's, unlogged
                was = map(add, closed, map(add, prior_seals, repeat((0,))))
                checked.extend(chained.from_iterable(zip(was, now_rows, strict=True)))
            else:
                checked.extend(now_rows)
        else:  # a seal that comes out as it was is not rewritten
            changed.extend(compress(rows, map(ne, olds, zip(digests, nows, strict=True))))
        if checked is None and not memo_way:  # as ``_digest`` leaves them (tamper check)
            if len(self._digests) + n > _DIGEST_MEMO:
                self._digests.clear()
            found = map(tuple, map(errors.get, keys, repeat(())))
            self._digests.update(
                zip(
                    keys,
                    zip(snames, rnames, statuses, latencies, found, digests, strict=True),
                    strict=True,
                )
            )
        if fresh is not None:
            now = zip(repeat(hour), zip(digests, nows, strict=True))
            pairs = map(dict, zip(zip(repeat(before), priors), now, strict=True))
            fresh.seals.update(zip(chains, pairs, strict=True))
            if keep and behind:  # ``before`` still open beside ``hour``
                pending = zip(
                    zip(repeat(before), map(unlogged.__getitem__, shut)),
                    zip(repeat(hour), digests),
                    strict=True,
                )
                fresh.unlogged.update(zip(chains, map(dict, pending), strict=True))
            else:
                fresh.unlogged.update(
                    zip(chains, map(dict, zip(zip(repeat(hour), digests))), strict=True)
                )
        return True

    async def _begin_minute_log(self, db: Conn) -> None:
        """Before the first minute write the trail logs: a ``minutes.baseline`` entry
        with each chain's head as it stands (a database from before the trail
        logged minute writes), so every hour after it must come in a
        ``minutes.seal`` entry. Nothing when the database holds no minutes yet."""
        if self._minute_log_begun:
            return
        found = await db.fetchall(
            "SELECT 1 FROM audit_log WHERE kind IN (?, ?) LIMIT 1", (SEAL, BASELINE)
        )
        if not found:
            heads = await self.chain_heads(logged=True)
            if heads:
                hours = [h for _, _, h, _ in heads]
                await self._audit(
                    db, BASELINE, None, _span(hours), None,
                    {"chains": [[svc, src, h, link.hex()]
                                for svc, src, h, link in heads]},
                )  # fmt: skip
        self._minute_log_begun = True

    async def _log_minutes(
        self,
        db: Conn,
        items: Sequence[LogItem],
        names: tuple[Mapping[int, str], Mapping[int, str]],
        by: str,
        *,
        actor: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """One ``minutes.seal`` entry for what a write changed: each hour's digest
        after it (null: emptied), and before it where an earlier entry had logged
        one (a late write or correction says what it changes)."""
        if not items:
            return
        services, sources = names
        # Each item as [service, source, hour], sorted so (a stable sort of the items'
        # positions: an hour's first-come item first), at C speed.
        rows = list(
            map(
                list,
                zip(
                    map(services.__getitem__, map(_FIRST, items)),
                    map(sources.__getitem__, map(_SECOND, items)),
                    map(_SEAL_HOUR, items),
                    strict=True,
                ),
            )
        )
        order = sorted(range(len(rows)), key=rows.__getitem__)
        ordered = list(map(items.__getitem__, order))
        hours = list(map(rows.__getitem__, order))
        named = set(map(_FIRST, hours))
        before = [[*hour, item[3].hex()] for hour, item in zip(hours, ordered, strict=True)
                  if item[3] is not None]  # fmt: skip
        after = list(map(_hex, ordered))
        await self._audit(
            db, SEAL, named.pop() if len(named) == 1 else None,
            _span(list(map(_SEAL_HOUR, hours))),
            {"hours": before} if before else None,
            {"by": by, "hours": list(map(add, hours, map(list, zip(after))))},
            actor=actor, at=at, plain=True,
        )  # fmt: skip

    async def check_chains(self) -> ChainSummary:
        """Walk every chain from its genesis; the first break of each broken chain."""
        db = self._db
        services = await self._names("services")
        sources = await self._names("sources")
        breaks: list[chain.Break] = []
        hours = 0
        ids_list = await _chain_ids(db)
        digests: dict[tuple[str, str], dict[int, bytes]] = {}
        closing: set[tuple[str, str]] = set()
        self._verified = digests  # what check_audit's replay of minute writes compares
        self._closing = closing
        for ids in ids_list:
            service = services.get(ids[0], f"#{ids[0]}")
            source = sources.get(ids[1], f"#{ids[1]}")
            stored = await _hours(db, ids[0], ids[1], -_NO_END, _NO_END)
            digests[(service, source)] = {h: s.digest(service, source) for h, s in stored.items()}
            if stored and _before_close(stored[max(stored)], source):
                closing.add((service, source))  # a newest hour its close minute not reached
            seals = [
                chain.Seal(int(h), bytes(d), bytes(lk))
                for h, d, lk in await db.fetchall(_SEALS, (*ids, -_NO_END, _NO_END))
            ]
            hours += len(seals)
            found = chain.first_break(
                service,
                source,
                chain.genesis(service, source),
                seals,
                sorted(digests[(service, source)].items()),
            )
            if found is not None:
                breaks.append(found)
        breaks.sort(key=lambda b: (b.service, b.source))
        return ChainSummary(len(ids_list), hours, tuple(breaks))

    async def _check_minutes(self, entries: Sequence[AuditEntry]) -> list[tuple[int, str]]:
        """Every stored hour against the digest the trail last logged for it.

        Replaying the ``minutes.seal`` entries gives each (service, source, hour)
        its digest after the last write slawatch made to it; the stored blocks
        must hash to exactly that. An hour edited, deleted or inserted behind
        slawatch's back, or every chain re-sealed from genesis, no longer does.
        Hours up to a ``minutes.baseline`` (a database from before minute writes
        were logged) must still chain to the link it recorded. Only the newest
        hour of a chain may be in no entry: the agent is still writing it; and the
        hour before it while the newest is in none either and holds no minute from
        its source's ``close_minute`` on (the agent closes that hour then).
        """
        if self._verified is None:
            await self.check_chains()
        digests, self._verified = self._verified or {}, None  # read afresh next time
        closing, self._closing = self._closing or set(), None
        said: dict[tuple[str, str, int], tuple[int, str | None]] = {}
        first_before: dict[tuple[str, str, int], str | None] = {}
        baseline: dict[tuple[str, str], tuple[int, int, str]] = {}
        changed: list[tuple[int, str]] = []
        begun = False
        for e in entries:
            after = e.after if isinstance(e.after, dict) else {}
            before = e.before if isinstance(e.before, dict) else {}
            if e.kind not in (BASELINE, SEAL):
                continue
            begun = True
            if e.kind == BASELINE:
                chains = _hour_rows(after.get("chains", []))
                if chains is None or any(c[3] is None for c in chains):
                    changed.append((e.seq, f"{_NOT_AS_WRITTEN}: its chains are {_ROW_SHAPE}"))
                    continue
                for svc, src, at, link_ in chains:
                    baseline[(svc, src)] = (e.seq, at, str(link_))
                continue
            logged, earlier = (
                _hour_rows(after.get("hours", [])),
                _hour_rows(before.get("hours", [])),
            )
            if logged is None or earlier is None:
                changed.append((e.seq, f"{_NOT_AS_WRITTEN}: its hours are {_ROW_SHAPE}"))
                continue
            was = {(svc, src, at): d for svc, src, at, d in earlier}
            for svc, src, at, digest in logged:
                key = (svc, src, int(at))
                if key not in said:
                    first_before[key] = was.get(key)
                elif said[key][1] is not None and was.get(key) != said[key][1]:
                    # The write found another seal than the trail's last word on the
                    # hour (or none): changed or deleted behind slawatch's back, then
                    # written over by slawatch (a friendlier history re-imported).
                    seen = "no seal" if was.get(key) is None else "another seal"
                    where = f"{svc}/{src} hour {_hour_text(int(at))}"
                    why = (
                        f"{where} was changed outside slawatch before this write (it found"
                        f" {seen} where entry #{said[key][0]} had logged the hour)"
                    )
                    changed.append((e.seq, why))
                said[key] = (e.seq, digest)
        if not begun:
            return []  # a database from before minute writes were logged
        out: list[tuple[int, str]] = changed
        for (svc, src, hour), (seq, digest) in sorted(said.items()):
            found = digests.get((svc, src), {}).get(hour)
            where = f"{svc}/{src} hour {_hour_text(hour)}"
            if digest is None:
                if found is not None:
                    out.append((seq, f"{where} holds minutes written outside slawatch"
                                     " (the trail has it emptied)"))  # fmt: skip
            elif found is None:
                out.append((seq, f"{where} is gone: deleted outside slawatch"))
            elif found.hex() != digest:
                out.append((seq, f"{where} was edited outside slawatch (its minutes do not"
                                 " hash to the digest the trail logged)"))  # fmt: skip
        for (svc, src), hours in sorted(digests.items()):
            newest = max(hours, default=None)
            later = any(k[0] == svc and k[1] == src and k[2] > (newest or 0) for k in said)
            base = baseline.get((svc, src))
            for hour in sorted(hours):
                if (svc, src, hour) in said or (base is not None and hour <= base[1]):
                    continue
                if hour == newest and not later:
                    continue  # the hour the agent is still writing
                if (
                    newest is not None
                    and hour == newest - 1
                    and not later
                    and (svc, src, newest) not in said
                    and (svc, src) in closing
                ):
                    # Closed late (``close_minute``): the hour before the open newest
                    # one, which holds no minute from its source's close minute on.
                    continue
                out.append((0, f"{svc}/{src} hour {_hour_text(hour)} is in no"
                               " audit entry: written outside slawatch"))  # fmt: skip
        for (svc, src), (seq, last, link_) in sorted(baseline.items()):
            then = {h: d for h, d in digests.get((svc, src), {}).items() if h <= last}
            for (s2, r2, hour), old_digest in first_before.items():
                if (s2, r2) == (svc, src) and hour <= last:
                    if old_digest is None:
                        then.pop(hour, None)
                    else:
                        then[hour] = bytes.fromhex(old_digest)
            seals = chain.relink(chain.genesis(svc, src), sorted(then.items()))
            if not seals or seals[-1].hour != last or seals[-1].link.hex() != link_:
                out.append((seq, f"{svc}/{src}: its hours up to {_hour_text(last)}"
                                 " no longer chain to the head the trail recorded when it began"
                                 " logging minute writes: edited, deleted or inserted outside"
                                 " slawatch"))  # fmt: skip
        return out

    async def chain_heads(
        self,
        source: str | None = None,
        *,
        logged: bool = False,
        before_hour: int | None = None,
    ) -> list[tuple[str, str, int, bytes]]:
        """Each chain's latest seal: (service, source, hour, link); only ``source``'s when
        given (what one agent vouches for in its checkpoints); with ``logged``, its
        latest seal counted as in the audit trail (a database from before the trail
        logged minute writes: every seal); with ``before_hour``, its latest seal of an
        hour before that one (a checkpoint signs complete hours only)."""
        services = await self._names("services")
        sources = await self._names("sources")
        where = ["logged = 1"] if logged else []
        if before_hour is not None:
            where.append("hour < ?")
        only = f" WHERE {' AND '.join(where)}" if where else ""
        rows = await self._db.fetchall(
            "SELECT s.service_id, s.source_id, s.hour, s.link FROM chain_seals s"
            f" JOIN (SELECT service_id, source_id, MAX(hour) AS hour FROM chain_seals{only}"
            " GROUP BY service_id, source_id) m ON m.service_id = s.service_id"
            " AND m.source_id = s.source_id AND m.hour = s.hour",
            () if before_hour is None else (before_hour,),
        )
        heads = [
            (services[int(a)], sources[int(b)], int(h), bytes(lk))
            for a, b, h, lk in rows
            if int(a) in services and int(b) in sources
        ]
        return sorted(h for h in heads if source is None or h[1] == source)

    async def chain_links(
        self, wanted: Iterable[tuple[str, str, int]]
    ) -> dict[tuple[str, str, int], bytes]:
        """The link stored at each (service, source, hour) asked for (absent: no seal)."""
        services = await self._names("services")
        sources = await self._names("sources")
        service_ids = {n: i for i, n in services.items()}
        source_ids = {n: i for i, n in sources.items()}
        keys = {
            (service_ids[service], source_ids[source], int(hour))
            for service, source, hour in wanted
            if service in service_ids and source in source_ids
        }
        if not keys:
            return {}
        # One query for every head: the ids and hours as IN lists (integers, never user
        # text), the exact (service, source, hour) triples picked out here.
        rows = await self._db.fetchall(
            "SELECT service_id, source_id, hour, link FROM chain_seals"
            f" WHERE service_id IN ({id_list(k[0] for k in keys)})"
            f" AND source_id IN ({id_list(k[1] for k in keys)})"
            f" AND hour IN ({id_list(k[2] for k in keys)})"
        )
        return {
            (services[int(a)], sources[int(b)], int(h)): bytes(lk)
            for a, b, h, lk in rows
            if (int(a), int(b), int(h)) in keys
        }

    async def verify_chains(self) -> chain.Break | None:
        """The first broken link in the database (by service, source), or None."""
        summary = await self.check_chains()
        return summary.breaks[0] if summary.breaks else None

    async def evidence(self, service: str, start_hour: int, end_hour: int) -> list[SourceRecords]:
        """Each source's stored hours in [start_hour, end_hour) and the seals that check them."""
        db = self._db
        services = {n: i for i, n in (await self._names("services")).items()}
        if service not in services:
            return []
        sid = services[service]
        sources = await self._names("sources")
        found = await db.fetchall(
            "SELECT DISTINCT source_id FROM minute_blocks WHERE service_id = ? AND hour >= ?"
            " AND hour < ? UNION SELECT DISTINCT source_id FROM chain_seals WHERE service_id = ?"
            " AND hour >= ? AND hour < ?",
            (sid, start_hour, end_hour, sid, start_hour, end_hour),
        )
        source_ids = sorted(int(r[0]) for r in found)
        out: list[SourceRecords] = []
        for src in source_ids:
            name = sources[src]
            stored = await _hours(db, sid, src, start_hour, end_hour)
            seals = tuple(
                chain.Seal(int(h), bytes(d), bytes(lk))
                for h, d, lk in await db.fetchall(_SEALS, (sid, src, start_hour, end_hour))
            )
            gen = chain.genesis(service, name)
            prev = await _prev(db, (sid, src), start_hour, gen)
            hours = tuple(
                HourRecord(h.hour, h.status, h.errors, chain.latency_digest(h.latency))
                for h in (stored[k] for k in sorted(stored))
            )
            before = after = None
            # The hour beside either edge holds no block: say which sealed hour is the
            # chain's neighbour there, so a reader can tell "none" from "left out".
            if start_hour not in stored and prev != gen:
                # (A database edited behind slawatch's back may not open: verify says so.)
                ((hour, digest),) = await db.fetchall(_BEFORE, (sid, src, start_hour))
                before_prev = await _prev(db, (sid, src), int(hour), gen)
                before = chain.Opening(int(hour), bytes(digest), before_prev)
            if end_hour - 1 not in stored:
                rows = await db.fetchall(_AFTER, (sid, src, end_hour))
                after = chain.Next(int(rows[0][0]), bytes(rows[0][1])) if rows else chain.Next(None)
            out.append(SourceRecords(name, hours, prev, seals, before, after))
        return out
