"""The audit trail: an append-only log of every correction, with a Merkle tree over it.

``AuditStore`` is the part of the store the other parts build on to record a
change in the same transaction as the change itself (``_audit``): a window
added or removed, a minute record replaced, a case edited, a settlement undone.
slawatch only ever INSERTs into ``audit_log``; each row keeps its entry's leaf
hash and the RFC 9162 tree head after it (``core.merkle``). ``check_audit``
recomputes every leaf and every head, and names the first entry that no longer
holds: an entry edited, inserted or removed from the middle behind slawatch's
back. (A log cut off at its end together with its heads, or re-hashed from the
first entry on, can only be caught against a head kept outside this database;
see docs/audit.md.)
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from core import merkle
from core.audit import BASELINE, SEAL, TAMPER, AuditEntry, canonical_json
from core.timeutil import from_minute, iso_z, utc_now
from store import records
from store.base import StoreBase, instant, seconds
from store.db import Conn

_COLUMNS = "seq, at, actor, kind, service, span_start, span_end, before_json, after_json"

log = logging.getLogger("slawatch.store")

_told_frontier = False  # the kept frontier found changed: said once per process


def os_user() -> str:
    """Who is running this: the OS user (``getpass``), else the numeric uid."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no $USER and no passwd entry (a bare container)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


@dataclass(frozen=True)
class AuditProblem:
    """Where the audit trail does not hold, and why."""

    seq: int
    reason: str

    def describe(self) -> str:
        if self.seq == 0:  # a record the trail has no entry for
            return self.reason
        return f"audit entry #{self.seq}: {self.reason}"


@dataclass(frozen=True)
class AuditSummary:
    entries: int
    head: bytes  # the tree head over every entry (merkle.EMPTY_ROOT when none)
    problems: tuple[AuditProblem, ...]


def _entry(row: Sequence[Any]) -> AuditEntry:
    seq, at, actor, kind, service, lo, hi, before, after = row
    when = instant(int(at))
    assert when is not None
    return AuditEntry(
        seq=int(seq),
        at=when,
        actor=str(actor),
        kind=str(kind),
        service=None if service is None else str(service),
        span=None if lo is None or hi is None else (int(lo), int(hi)),
        before=json.loads(before),
        after=json.loads(after),
    )


class AuditStore(StoreBase):
    """The append-only audit trail (``audit_log``)."""

    def __init__(self, conn: Conn, where: str, readonly: bool) -> None:
        super().__init__(conn, where, readonly)
        # The open write's entries, seq not yet known, each with the canonical JSON of
        # its before and after, spelled once for the guard's precheck and the row (an
        # hour's minutes.seal entry of 1,000 hours is some 100 kB of it).
        self._queued: list[tuple[AuditEntry, str, str]] = []
        # The tree as this store last appended to it (seq, size, frontier): where the
        # kept frontier was changed behind its back, the entries since are read, not
        # every leaf (``_frontier``). Only a hint: used when it folds to the last head.
        self._memo: tuple[int, int, list[bytes]] | None = None

    async def _audit(
        self,
        db: Conn,
        kind: str,
        service: str | None,
        span: tuple[int, int] | None,
        before: Any,
        after: Any,
        *,
        actor: str | None = None,
        at: datetime | None = None,
        plain: bool = False,
    ) -> None:
        """One entry of the caller's write transaction, appended when it commits
        (``_before_commit``), in the order asked, after everything else it did.

        The trail's lock (``lock_schema``: PostgreSQL's advisory lock, held to
        commit) is so the last thing a write takes. A write holding it never waits
        on another's uncommitted rows: an agent that found a tampered block
        (``store.tamper``) and then added a new error class would wait on another
        agent's uncommitted insert of the same class while that one waited for the
        lock, a deadlock PostgreSQL breaks by failing one of them. Every write
        that appends still takes the lock (one appender at a time), none that
        does not.

        ``plain``: ``before`` and ``after`` are JSON as it reads back (lists, dicts
        with string keys, strings, integers, null), so spelled once as they are (an
        hour's ``minutes.seal`` entry of 1,000 hours is some 100 kB of JSON)."""
        del db  # appended on the same connection, at commit
        when = (utc_now() if at is None else at).astimezone(UTC).replace(microsecond=0)
        if plain:
            stored_before, stored_after = before, after
            before_text, after_text = canonical_json(before), canonical_json(after)
        else:
            # What is stored is what is hashed: the values as JSON gives them back (a
            # dict's int keys become strings, and sort so), spelled once from those.
            stored_before = json.loads(canonical_json(before))
            stored_after = json.loads(canonical_json(after))
            before_text = canonical_json(stored_before)
            after_text = canonical_json(stored_after)
        entry = AuditEntry(
            seq=0,  # known when appended
            at=when,
            actor=os_user() if actor is None else actor,
            kind=kind,
            service=service,
            span=span,
            before=stored_before,
            after=stored_after,
        )
        self._queued.append((entry, before_text, after_text))

    async def _before_commit(self, db: Conn) -> None:
        await super()._before_commit(db)
        queued, self._queued = self._queued, []
        if not queued:
            return
        # What PostgreSQL checks of an agent's entries, checked before the lock (its guard).
        await db.precheck_audit([(before, after) for _, before, after in queued])
        await db.lock_schema()  # one appender at a time (PostgreSQL; SQLite's BEGIN IMMEDIATE)
        last, size, hashes = await _frontier(db, self._memo, self.where)
        for n, (queued_entry, before_text, after_text) in enumerate(queued, start=1):
            entry = replace(queued_entry, seq=last + n)
            leaf = entry.leaf((before_text, after_text))
            hashes = merkle.append(hashes, size, leaf)
            size += 1
            await db.execute(
                f"INSERT INTO audit_log ({_COLUMNS}, leaf, head) VALUES ({', '.join('?' * 11)})",
                (
                    entry.seq,
                    seconds(entry.at),
                    entry.actor,
                    entry.kind,
                    entry.service,
                    None if entry.span is None else entry.span[0],
                    None if entry.span is None else entry.span[1],
                    before_text,
                    after_text,
                    leaf,
                    merkle.frontier_root(hashes),
                ),
            )
        await db.execute(
            "UPDATE audit_frontier SET seq = ?, size = ?, hashes = ?",
            (last + len(queued), size, b"".join(hashes)),
        )
        self._memo = (last + len(queued), size, hashes)

    def _rolled_back(self) -> None:
        super()._rolled_back()
        self._queued = []

    async def audit_entries(
        self,
        service: str | None = None,
        span: tuple[int, int] | None = None,
        *,
        minutes: bool = False,
    ) -> list[AuditEntry]:
        """The entries in order; only ``service``'s (and those touching ``span``) when given.

        The log of minute writes (``minutes.seal``, ``minutes.baseline``: one per
        import, one an hour from the agent) is left out unless ``minutes``: the
        rest are the corrections a reader (``slawatch audit``, a claim) looks for.
        """
        if not await self._db.has_table("audit_log"):
            return []  # a read-only look at a database from before the audit trail
        hide = "" if minutes else f" WHERE kind NOT IN ('{SEAL}', '{BASELINE}')"
        rows = await self._fetchall(f"SELECT {_COLUMNS} FROM audit_log{hide} ORDER BY seq")
        entries = [_entry(r) for r in rows]
        if service is not None:
            entries = [e for e in entries if e.service == service]
        if span is not None and service is not None:
            entries = [e for e in entries if e.touches(service, *span)]
        return entries

    async def audit_leaves(self) -> list[bytes]:
        """Every entry's leaf hash, in order (what inclusion proofs are built from)."""
        if not await self._db.has_table("audit_log"):
            return []
        return [
            bytes(r[0]) for r in await self._fetchall("SELECT leaf FROM audit_log ORDER BY seq")
        ]

    async def audit_head(self) -> tuple[int, bytes]:
        """(size, tree head) of the trail as slawatch last appended to it (what a
        checkpoint signs): in O(log n) from the kept frontier when it ends at the
        last entry's head, else recomputed from every leaf."""
        if await self._db.has_table("audit_frontier"):
            _, kept = await _kept_frontier(self._db)
            if kept is not None:
                size, hashes = kept
                return size, merkle.frontier_root(hashes)
        leaves = await self.audit_leaves()
        return len(leaves), merkle.root(leaves)

    async def check_audit(self) -> AuditSummary:
        """Recompute every entry's leaf and every tree head; the problems found, in order.

        Also reports each ``store.tamper`` entry: a minute block the store found
        edited outside slawatch when a later write re-sealed its hour.
        """
        if not await self._db.has_table("audit_log"):
            return AuditSummary(0, merkle.EMPTY_ROOT, ())
        rows = await self._fetchall(f"SELECT {_COLUMNS}, leaf, head FROM audit_log ORDER BY seq")
        problems: list[AuditProblem] = []
        entries: list[AuditEntry] = []  # the readable ones, for replaying windows and cases
        leaves: list[bytes] = []
        stored_heads: list[bytes] = []
        for expected, row in enumerate(rows, start=1):
            seq = int(row[0])
            if seq != expected:
                problems.append(
                    AuditProblem(seq, f"follows #{expected - 1}: entries missing or inserted")
                )
            try:
                entry = _entry(row[:9])
            except (ValueError, TypeError) as exc:
                problems.append(AuditProblem(seq, f"unreadable ({exc})"))
                leaves.append(bytes(row[9]))
                stored_heads.append(bytes(row[10]))
                continue
            entries.append(entry)
            if entry.leaf() != bytes(row[9]):
                problems.append(AuditProblem(seq, "its content does not match its hash (edited)"))
            elif entry.kind == TAMPER:
                problems.append(AuditProblem(seq, _tamper_text(entry)))
            # The stored leaf goes on: a content edit is named once, above; a leaf
            # rewritten to match its edited content breaks the heads from there on.
            leaves.append(bytes(row[9]))
            stored_heads.append(bytes(row[10]))
        seqs = [int(row[0]) for row in rows]
        for seq, head, stored in zip(seqs, merkle.roots(leaves), stored_heads, strict=True):
            if head != stored:
                problems.append(AuditProblem(seq, "the tree head stored with it does not hold"))
                break
        head = merkle.root(leaves)
        problems += await self._check_records(entries)
        return AuditSummary(len(rows), head, tuple(sorted(problems, key=lambda p: p.seq)))

    async def _check_records(self, entries: Sequence[AuditEntry]) -> list[AuditProblem]:
        """Windows and cases as the trail says slawatch left them, against the tables.

        Replaying the trail's window adds and removes, and each case's opening,
        first response, resolution, links, corrections and lifecycle events, gives
        what the tables must hold; a row deleted, edited or inserted behind slawatch's back is
        named. Rows older than the first entry of their kind (a database from
        before the trail) are left alone.
        """
        windows = await self._fetchall(
            "SELECT w.id, s.name, w.kind, w.start_min, w.end_min, w.reason FROM windows w"
            " JOIN services s ON s.id = w.service_id"
        )
        cases = await self._fetchall(
            "SELECT c.id, s.name, c.title, c.ref, c.opened_at, c.responded_at, c.resolved_at,"
            " c.channel, c.priority, c.escalation_level, c.rca_requested"
            " FROM cases c JOIN services s ON s.id = c.service_id"
        )
        links = await self._fetchall("SELECT case_id, start_min, end_min FROM case_links")
        events = await self._fetchall(
            "SELECT id, case_id, kind, event_at, value, previous, until_at, reason FROM case_events"
        )
        found = records.check(entries, windows, cases, links, events)
        found += await self._check_minutes(entries)
        return [AuditProblem(seq, why) for seq, why in found]

    async def _check_minutes(self, entries: Sequence[AuditEntry]) -> list[records.Problem]:
        """The minute blocks against the trail's ``minutes.seal`` entries (``store.chain``)."""
        return []


async def _frontier(
    db: Conn, memo: tuple[int, int, list[bytes]] | None = None, where: str = ""
) -> tuple[int, int, list[bytes]]:
    """(the last entry's seq, the tree's size, its frontier) for the next append.

    Read from ``audit_frontier`` in O(log n) when it ends where the log does: at
    the last entry, whose stored head it folds to. Otherwise (a database from
    before it, or a log or frontier changed behind slawatch's back) rebuilt and
    stored again, once: from ``memo`` (the tree as this store last appended to
    it) and the entries since, when that folds to the last head, else from every
    leaf. Either way the head appended is the tree of the leaves slawatch wrote;
    ``check_audit`` recomputes it without this. A kept frontier that is there
    but wrong (an agent role may write it, so a compromised agent can make every
    append pay for a rebuild) is logged, once a process.
    """
    last, kept, last_head, found = await _read_frontier(db)
    if kept is not None:
        return last, *kept
    if found and last:
        _tell_frontier(where, last)
    size, hashes = last, None
    if memo is not None and memo[0] <= last:
        hashes = _extended(memo, last, last_head, await _leaves(db, after=memo[0]))
    if hashes is None:
        leaves = await _leaves(db)
        size, hashes = len(leaves), merkle.frontier(leaves)
    await db.execute("DELETE FROM audit_frontier")  # the caller's UPDATE then keeps it
    await db.execute(
        "INSERT INTO audit_frontier (seq, size, hashes) VALUES (?, ?, ?)",
        (last, size, b"".join(hashes)),
    )
    return last, size, hashes


async def _leaves(db: Conn, after: int = 0) -> list[bytes]:
    """The leaves of the entries after entry #``after``, in order."""
    rows = await db.fetchall("SELECT leaf FROM audit_log WHERE seq > ? ORDER BY seq", (after,))
    return [bytes(r[0]) for r in rows]


def _extended(
    memo: tuple[int, int, list[bytes]] | None, last: int, head: bytes, leaves: list[bytes]
) -> list[bytes] | None:
    """``memo``'s frontier with ``leaves`` appended, when that is the tree of entries
    1..``last`` folding to ``head``; else None."""
    if memo is None:
        return None
    seq, size, hashes = memo
    if seq != size or seq + len(leaves) != last:
        return None
    for leaf in leaves:
        hashes = merkle.append(hashes, size, leaf)
        size += 1
    return hashes if merkle.frontier_root(hashes) == head else None


def _tell_frontier(where: str, last: int) -> None:
    global _told_frontier
    if _told_frontier:
        return
    _told_frontier = True
    log.warning(
        "%s: the audit trail's kept frontier (audit_frontier) does not end at its last"
        " entry, #%d: rebuilt. If this is said again after a restart, a session that may"
        " write it (an agent role) changes it: each append then rebuilds it"
        " (deploy/fleet.md)",
        where,
        last,
    )


async def _read_frontier(
    db: Conn,
) -> tuple[int, tuple[int, list[bytes]] | None, bytes, bool]:
    """(the last entry's seq, the kept (size, frontier) when it is the tree of every
    entry up to the last and folds to that entry's head, that head, whether any
    frontier was kept at all)."""
    rows = await db.fetchall("SELECT seq, head FROM audit_log ORDER BY seq DESC LIMIT 1")
    last, last_head = (int(rows[0][0]), bytes(rows[0][1])) if rows else (0, merkle.EMPTY_ROOT)
    kept = await db.fetchall("SELECT seq, size, hashes FROM audit_frontier")
    if len(kept) != 1:
        return last, None, last_head, bool(kept)
    seq, size, blob = int(kept[0][0]), int(kept[0][1]), bytes(kept[0][2])
    hashes = [blob[i : i + 32] for i in range(0, len(blob), 32)]
    if (
        seq == last
        and size == last  # entries are numbered 1, 2, ... : a tree of every one of them
        and len(blob) == 32 * size.bit_count()
        and merkle.frontier_root(hashes) == last_head
    ):
        return last, (size, hashes), last_head, True
    return last, None, last_head, True


async def _kept_frontier(db: Conn) -> tuple[int, tuple[int, list[bytes]] | None]:
    """(the last entry's seq, the kept (size, frontier) when it is the tree of every
    entry up to the last and folds to that entry's head)."""
    last, kept, _, _ = await _read_frontier(db)
    return last, kept


def _tamper_text(entry: AuditEntry) -> str:
    after = entry.after if isinstance(entry.after, dict) else {}
    hour = entry.span[0] if entry.span else None
    return (
        f"{entry.service}/{after.get('source', '?')} hour "
        f"{iso_z(from_minute(hour)) if hour is not None else '?'}"
        f" was edited outside slawatch (found when {after.get('by', 'a write')} re-sealed it)"
    )
