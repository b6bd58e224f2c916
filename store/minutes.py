"""Minute records: hour blocks upserted by the agent and imports, read back as bytes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from datetime import datetime
from itertools import compress, groupby
from operator import add, itemgetter
from typing import Any

from core.errors import InputError
from core.status import DOWN, NAMES
from core.timeutil import from_minute, iso_z
from store.blocks import (
    BLOCK,
    MAX_LATENCY_MS,
    NO_LATENCY,
    Block,
    decode_latency,
    id_list,
    span_groups,
)
from store.chain import (
    ChainStore,
    ErrorsMemo,
    LiveMemo,
    LogItem,
    MemoStale,
    WriteContext,
)
from store.db import Conn
from store.layout import (
    Key,
    Segment,
    Tally,
    classify,
    fill,
    hours_of,
    is_consecutive,
    segments,
    splice,
)
from store.rows import MinuteRow, StateSave

_BLOCK_COLUMNS = (
    ("service_id", "bigint"),
    ("hour", "bigint"),
    ("source_id", "bigint"),
    ("status", "bytea"),
    ("latency", "bytea"),
)
_BLOCK_KEY = ("service_id", "hour", "source_id")
_BLOCK_CHECK = (("status", "bytea"), ("latency", "bytea"))
_ERROR_COLUMNS = (
    ("service_id", "bigint"),
    ("source_id", "bigint"),
    ("minute", "bigint"),
    ("error_id", "bigint"),
)
_STATUS_CODES = frozenset(range(DOWN + 1))


def _clamp(latency_ms: int) -> int:
    return min(max(latency_ms, 0), MAX_LATENCY_MS)


def _span(rows: Sequence[tuple[Any, ...]], first: int, skip: int, length: int) -> bytes:
    """One source's rows ending in (hour, status), hours ascending, as the ``length``
    bytes from minute ``skip`` of hour ``first`` on (0 where no block is)."""
    hours = list(map(itemgetter(-2), rows))
    start = hours[0]
    if hours == list(range(start, start + len(hours))):  # no gap: join at C speed
        data = bytes((start - first) * BLOCK) + b"".join(map(itemgetter(-1), rows))
    else:
        parts, at = [], first
        for *_, hour, status in rows:
            if hour > at:
                parts.append(bytes((hour - at) * BLOCK))
            parts.append(status)
            at = hour + 1
        data = b"".join(parts)
    return data[skip : skip + length].ljust(length, b"\0")


def _joined(hours: Sequence[int], data: bytes, first: int, skip: int, length: int) -> bytes:
    """``_span`` of one source's blocks read joined (``Conn.joined_blocks``): ``data``
    holds the block of each of ``hours``, one after the other, in any order."""
    start = hours[0]
    if hours == list(range(start, start + len(hours))):  # in order, no gap: as they are
        data = bytes((start - first) * BLOCK) + data
        return data[skip : skip + length].ljust(length, b"\0")
    blocks = sorted((hour, data[i * BLOCK : (i + 1) * BLOCK]) for i, hour in enumerate(hours))
    return _span(blocks, first, skip, length)


def _runs(changes: Sequence[tuple[int, int, int, int, int]], s: int, lat: int) -> list[list[Any]]:
    """Replaced minutes as runs ``[from, to, status, latencies]`` (to exclusive) of
    consecutive minutes with the same status at position ``s``; ``latencies`` lists
    each minute's latency in ms (position ``lat``; null where none), or is null when
    no minute of the run had one."""
    runs: list[list[Any]] = []
    end = None
    for change in changes:
        minute, status, latency = change[0], NAMES[change[s]], change[lat]
        shown = None if latency == NO_LATENCY else latency
        if runs and end == minute and runs[-1][2] == status:
            runs[-1][1] = iso_z(from_minute(minute + 1))
            runs[-1][3].append(shown)
        else:
            runs.append(
                [iso_z(from_minute(minute)), iso_z(from_minute(minute + 1)), status, [shown]]
            )
        end = minute + 1
    for run in runs:
        if all(v is None for v in run[3]):
            run[3] = None
    return runs


def _by_id(ids: Mapping[str, int]) -> dict[int, str]:
    """Name -> id as id -> name."""
    return dict(zip(ids.values(), ids, strict=True))


def _rows(blocks: Mapping[Key, tuple[bytes, bytes]]) -> list[tuple[Any, ...]]:
    """Blocks as rows of ``_BLOCK_COLUMNS`` (service_id, hour, source_id, status, latency)."""
    return list(map(add, blocks.keys(), blocks.values()))


class ImportConflict(InputError):
    """Rows of an import would change minutes already recorded: refused, nothing stored."""

    def __init__(
        self,
        where: str,
        count: int,
        tally: Tally,
        names: tuple[Mapping[int, str], Mapping[int, str]],
    ) -> None:
        sid, src, minute, old_s, _, new_s, _ = min(tally.conflicts, key=lambda c: c[2])
        first = (
            f"{names[0][sid]} {iso_z(from_minute(minute))} source {names[1][src]!r}:"
            f" recorded {NAMES[old_s]}, here {NAMES[new_s]}"
        )
        if old_s == new_s:
            first = f"{first} with another latency"
        super().__init__(
            where,
            f"{len(tally.conflicts)} of {count} records conflict with minutes already recorded"
            f" ({tally.new} new, {tally.unchanged} unchanged; first: {first}); nothing stored."
            " Give --replace to replace them (kept in the audit trail)",
        )
        self.tally = tally


# Memos of other agents' minute writes a store keeps aside (``MinuteStore._live_for``).
_LIVE_ASIDE = 32


class MinuteStore(ChainStore):
    """Minute records in hour blocks (``store.blocks``), upserted idempotently."""

    # The error classes the agent's last minute write left (``record_minutes``): its
    # next minute, into the same hours, need not read them again while no other
    # connection committed (SQLite's data_version) and no import of this store ran
    # (only minute writes change minute_errors; an import forgets it).
    _errors_memo: ErrorsMemo | None = None
    _last_context: tuple[frozenset[Key], dict[Key, list[tuple[int, str]]]] | None = None
    # PostgreSQL: what the last minute write left in the rows it wrote (``LiveMemo``):
    # the next minute into the same hour writes over them without reading them first,
    # each row only if it still holds just that (else it reads, as without a memo).
    # A store that writes for several agents in turn (the fleet benchmark's shared
    # connections) keeps each one's memo aside while it writes another's: a memo
    # holds one hour, so one memo for all lost the others' chains at the first
    # agent's first minute of an hour and sent them all the reading way.
    _live_memo: LiveMemo | None = None
    _live_sources: frozenset[str] = frozenset()
    _live_aside: dict[frozenset[str], LiveMemo] | None = None

    def _rolled_back(self) -> None:
        super()._rolled_back()
        self._forget_live()

    def _forget_live(self) -> None:
        self._live_memo = self._live_aside = None

    def _live_for(self, sources: frozenset[str]) -> LiveMemo | None:
        """Take the memo of the last minute write of ``sources`` (set aside the one of
        the sources written last, when they are others)."""
        live, self._live_memo = self._live_memo, None
        if sources == self._live_sources:
            return live
        aside = self._live_aside if self._live_aside is not None else {}
        if live is not None:
            aside[self._live_sources] = live
            while len(aside) > _LIVE_ASIDE:
                del aside[next(iter(aside))]  # the longest unwritten
        self._live_aside, self._live_sources = aside, sources
        return aside.pop(sources, None)

    async def record_minutes(
        self, rows: Sequence[MinuteRow], *, state: StateSave | None = None
    ) -> None:
        """Upsert minute records in one short transaction (re-recording is idempotent);
        with ``state``, the agent's state that follows from them, in the same one."""
        if not rows:
            if state is not None:
                async with self._write() as db:
                    await self._save_agent_state_in(db, state)
            return
        memo, self._errors_memo = self._errors_memo, None  # valid only if this commits
        live = self._live_for(frozenset(map(itemgetter(1), rows)))
        remember = self.dialect == "postgresql"
        while True:
            try:
                async with self._write() as db:
                    await self._begin_minute_log(db)
                    version = None  # no cheap "nobody else committed" on PostgreSQL: read them
                    if self.dialect == "sqlite":
                        version = int((await db.fetchall("PRAGMA data_version"))[0][0])
                    known = memo if memo is not None and memo[0] == version else None
                    items, names = await self._upsert(
                        db, rows, live=True, known=known, memo=live, remember=remember
                    )
                    await self._log_minutes(db, items, names, "the agent")
                    if state is not None:
                        await self._save_agent_state_in(db, state)
            except MemoStale:  # rolled back: a row was not as the memo had it
                self._minute_log_begun = False
                live = None
                continue
            except BaseException:
                self._minute_log_begun = False  # its baseline entry, if any, rolled back
                raise
            break
        done = self._last_context
        if version is not None and done is not None:
            self._errors_memo = (version, *done)
        if remember and self._live_next is not None:
            if live is None:
                live = LiveMemo()
            live.update(self._live_next)
            self._live_memo = live

    async def import_minutes(
        self,
        batches: Iterable[Sequence[MinuteRow]],
        *,
        replace: bool = False,
        tally: Tally | None = None,
        where: str = "import",
        actor: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Upsert every batch in ONE transaction; returns the number of rows.

        ``batches`` is consumed lazily (a streaming CSV reader); if it raises,
        the transaction rolls back and nothing of the import is kept. Each row
        is counted into ``tally``: new, unchanged (the same status and latency
        already recorded) or conflicting (a different one recorded). Conflicting
        rows refuse the whole import (``ImportConflict``, nothing stored) unless
        ``replace``; then what they replace goes to the audit trail, one entry
        per service and source, in the same transaction.
        """
        tally = Tally() if tally is None else tally
        count = 0
        by = f"an import of {where}"
        self._errors_memo = None
        self._forget_live()
        try:
            async with self._write() as db:
                await self._begin_minute_log(db)
                logged: dict[tuple[int, int, int], LogItem] = {}
                services: dict[int, str] = {}
                sources: dict[int, str] = {}
                for batch in batches:
                    if batch:
                        items, names = await self._upsert(db, batch, tally=tally, by=by)
                        services.update(names[0])
                        sources.update(names[1])
                        for item in items:  # an hour written by two batches: its first before
                            first = logged.get(item[:3])
                            logged[item[:3]] = (
                                item if first is None else (*item[:3], first[3], item[4])
                            )
                        count += len(batch)
                if tally.conflicts:
                    names = await self._names("services"), await self._names("sources")
                    if not replace:
                        raise ImportConflict(where, count, tally, names)
                    await self._audit_replaced(db, tally, names, where, actor=actor, at=at)
                await self._log_minutes(
                    db, list(logged.values()), (services, sources), by, actor=actor, at=at
                )
        except BaseException:
            self._minute_log_begun = False  # its baseline entry, if any, rolled back
            raise
        return count

    async def _audit_replaced(
        self,
        db: Conn,
        tally: Tally,
        names: tuple[dict[int, str], dict[int, str]],
        where: str,
        *,
        actor: str | None,
        at: datetime | None,
    ) -> None:
        """One ``minutes.replace`` entry per (service, source): what was recorded, what now is."""
        by_chain: dict[tuple[int, int], list[tuple[int, int, int, int, int]]] = defaultdict(list)
        for sid, src, minute, old_s, old_l, new_s, new_l in sorted(tally.conflicts):
            by_chain[(sid, src)].append((minute, old_s, old_l, new_s, new_l))
        for (sid, src), changes in by_chain.items():
            source = names[1][src]
            span = (changes[0][0], changes[-1][0] + 1)
            before = {"source": source, "minutes": len(changes), "runs": _runs(changes, 1, 2)}
            after = {
                "source": source,
                "minutes": len(changes),
                "runs": _runs(changes, 3, 4),
                "from_file": where,
            }
            await self._audit(
                db, "minutes.replace", names[0][sid], span, before, after, actor=actor, at=at
            )

    async def _upsert(
        self,
        db: Conn,
        rows: Sequence[MinuteRow],
        *,
        tally: Tally | None = None,
        by: str = "a write",
        live: bool = False,
        known: ErrorsMemo | None = None,
        memo: LiveMemo | None = None,
        remember: bool = False,
    ) -> tuple[list[LogItem], tuple[dict[int, str], dict[int, str]]]:
        """Merge ``rows`` into their hour blocks, then extend the hash chains; returns
        what the audit trail is to log of it and the names of the ids it uses.

        Written for speed (an import pushes millions of rows through here):
        checks run once per batch on sets, and runs of consecutive minutes of
        one service and source (how an import file is laid out) are copied
        into their blocks a slice at a time (``store.layout``).

        ``memo`` (the agent's minute on PostgreSQL, ``LiveMemo``): when it holds every
        block the rows touch, the blocks and their seals are not read but taken from
        it, and rewritten only where they still hold what it says (``MemoStale``
        otherwise: the caller rolls back and writes again without it). ``remember``:
        leave this write's blocks and seals as the next memo (``_live_next``).
        """
        if not set(map(itemgetter(3), rows)) <= _STATUS_CODES:
            raise ValueError("a row's status is not a core.status code")
        latencies = set(map(itemgetter(4), rows))
        latencies.discard(None)
        if latencies and (min(latencies) < 0 or max(latencies) > MAX_LATENCY_MS):
            rows = [r if r[4] is None else r._replace(latency_ms=_clamp(r[4])) for r in rows]
        services = list(map(itemgetter(0), rows))
        sources = list(map(itemgetter(1), rows))
        minutes = list(map(itemgetter(2), rows))
        sids = await self._ensure_sorted("services", services)
        srcs = await self._ensure_sorted("sources", sources)
        names = _by_id(sids), _by_id(srcs)
        # The agent's minute (and a forwarded batch of it): one row per service and
        # source. Each row is spliced into its block's bytes; no segments, no Block.
        by_row = tally is None and len(set(zip(services, sources, strict=True))) == len(rows)
        parts: list[tuple[Segment, list[int]]] = []
        plain: list[bool] = []
        row_keys: list[Key] = []  # by_row: each row's block
        if by_row:
            row_keys = list(
                zip(
                    map(sids.__getitem__, services),
                    map(BLOCK.__rfloordiv__, minutes),
                    map(srcs.__getitem__, sources),
                    strict=True,
                )
            )
            keys: set[Key] = set(row_keys)
        else:
            parts = [(p, minutes[p.start : p.stop]) for p in segments(services, sources)]
            plain = [is_consecutive(m) for _, m in parts]
            keys = set()
            for (part, mins), consecutive in zip(parts, plain, strict=True):
                sid, src = sids[part.service], srcs[part.source]
                keys.update((sid, hour, src) for hour in hours_of(mins, consecutive))
        # The memo's next hour (an agent's first minute of an hour): no block of it is
        # stored yet, which the write proves by inserting each only where none is.
        crossing = memo is not None and by_row and memo.next_hour(keys)
        if memo is not None and not crossing and not (by_row and keys <= memo.blocks.keys()):
            memo = None
        if crossing:
            before: dict[Key, tuple[bytes, bytes]] = {}
        elif memo is not None:
            before = dict(zip(keys, map(memo.blocks.__getitem__, keys), strict=True))
        else:
            before = await self._load_blocks(keys)
        existed = before.keys()
        # Read once what the chains need (errors, seals); nothing is read back later.
        context = await self._write_context(db, keys, known, memo)
        if memo is None or not memo.same_errors(keys, context.errors):
            # Through the memo, with its error classes, each block hashes to its seal.
            await self._check_sealed(db, before, names, by, context)
        if by_row:
            written = splice(before, rows, row_keys)
        else:
            blocks = {k: Block.decode(*before[k]) if k in before else Block() for k in keys}
            for (part, mins), consecutive in zip(parts, plain, strict=True):
                sid, src = sids[part.service], srcs[part.source]
                if tally is not None:
                    classify(
                        blocks, sid, src, rows[part.start : part.stop], mins, consecutive, tally
                    )
                fill(blocks, sid, src, rows[part.start : part.stop], mins, consecutive)
            written = {key: blk.encode() for key, blk in blocks.items()}
        if memo is None:
            await db.upsert(
                "minute_blocks",
                _BLOCK_COLUMNS,
                _BLOCK_KEY,
                _rows(written),
                stored=lambda row: row[:3] in existed,
            )
        elif crossing:
            new = _rows(written)
            if await db.insert_new("minute_blocks", _BLOCK_COLUMNS, new) != len(new):
                raise MemoStale
        elif await db.update_unchanged(
            "minute_blocks",
            _BLOCK_COLUMNS,
            _BLOCK_KEY,
            _BLOCK_CHECK,
            list(map(add, _rows(written), map(before.__getitem__, written))),
        ) != len(written):
            raise MemoStale
        distinct = by_row or (
            all(plain) and len({(p.service, p.source) for p, _ in parts}) == len(parts)
        )
        await self._upsert_errors(db, rows, sids, srcs, existed, context, distinct=distinct)
        items = await self._extend_chains(
            db,
            rows,
            blocks=keys,
            names=names,
            written=written,
            context=context,
            live=live,
            memo=memo,
            remember=remember and by_row,
        )
        if not {item[0] for item in items} <= names[0].keys():  # a service no longer probed
            names[0].update(await self._names("services"))
        self._last_context = frozenset(keys), context.errors  # the errors the blocks hold now
        return items, names

    async def _upsert_errors(
        self,
        db: Conn,
        rows: Sequence[MinuteRow],
        sids: dict[str, int],
        srcs: dict[str, int],
        existed: AbstractSet[tuple[int, int, int]],
        context: WriteContext,
        *,
        distinct: bool = False,
    ) -> None:
        """Store the rows' error classes; a re-recorded minute without one loses its old
        one. ``context.errors`` (read before the write) is brought up to date.

        ``distinct``: no minute appears twice in ``rows``. Then, when none of their
        hours holds a stored error, only the rows with an error class matter and
        they are picked out at C speed (an import's batch: 65,536 rows, a few
        hundred with an error); otherwise every row is looked at (the last row of
        a minute wins)."""
        with_errors = existed & context.errors.keys()
        texts = set(map(itemgetter(5), rows))
        texts.discard(None)
        if not with_errors and not texts:
            return
        named = await self._ensure_sorted("error_texts", (t for t in texts if t is not None))
        ids: dict[str | None, int] = {text: i for text, i in named.items()}  # once each
        errors: list[tuple[int, int, int, int]] = []
        cleared: list[tuple[int, int, int]] = []
        if distinct and not with_errors and "" not in texts:  # compress skips a falsy text
            for service, source, minute, _s, _l, error in compress(rows, map(itemgetter(5), rows)):
                sid, src = sids[service], srcs[source]
                errors.append((sid, src, minute, ids[error]))
                context.set_error((sid, minute // BLOCK, src), minute % BLOCK, error)
        else:
            final: dict[tuple[int, int, int], str | None] = {}  # the last row of a minute wins
            for service, source, minute, _status, _lat, error in rows:
                final[(sids[service], srcs[source], minute)] = error
            for (sid, src, minute), error in final.items():
                key = (sid, minute // BLOCK, src)
                if error is not None:
                    errors.append((sid, src, minute, ids[error]))
                    context.set_error(key, minute % BLOCK, error)
                elif key in with_errors:
                    cleared.append((sid, src, minute))
                    context.set_error(key, minute % BLOCK, None)
        if cleared:
            await db.executemany(
                "DELETE FROM minute_errors WHERE service_id = ? AND source_id = ? AND minute = ?",
                cleared,
            )
        await db.upsert(
            "minute_errors", _ERROR_COLUMNS, ("service_id", "minute", "source_id"), errors
        )

    async def _load_blocks(
        self, keys: set[tuple[int, int, int]]
    ) -> dict[tuple[int, int, int], tuple[bytes, bytes]]:
        """The stored blocks among ``keys``, as read: (status, latency) bytes."""
        before: dict[tuple[int, int, int], tuple[bytes, bytes]] = {}
        # Only the writing sources' blocks: in a fleet's database a service has a
        # block per agent, and an agent's write must not read the other agents'.
        srcs = id_list({src for _, _, src in keys})
        for (lo, hi), sids in span_groups(keys).items():
            rows = await self._fetchall(
                "SELECT service_id, hour, source_id, status, latency FROM minute_blocks"
                f" WHERE service_id IN ({id_list(sids)}) AND hour BETWEEN ? AND ?"
                f" AND source_id IN ({srcs})",
                (lo, hi),
            )
            for sid, hour, src, status, latency in rows:
                key = (sid, hour, src)
                if key in keys:
                    before[key] = (status, latency)
        return before

    async def minutes(self, service: str, start: int, end: int) -> dict[str, bytes]:
        """source -> one status byte per minute of [start, end), 0 where nothing was recorded."""
        return (await self.minutes_of((service,), start, end)).get(service, {})

    async def minutes_of(
        self, services: Iterable[str], start: int, end: int
    ) -> dict[str, dict[str, bytes]]:
        """``minutes`` of several services over the same [start, end), in one query:
        service -> source -> bytes (a service with nothing recorded there: absent).
        A month's report of every service reads its minutes in one trip, not one each
        (PostgreSQL: a trip is a message both ways through the server's process)."""
        sids = await self._lookup_many("services", services)
        if not sids or end <= start:
            return {}
        first, last = start // BLOCK, -(-end // BLOCK)
        length, skip = end - start, start - first * BLOCK
        among, ids = self._db.among("service_id", sids)
        out: dict[int, dict[int, bytes]] = {}
        joined = self._db.joined_blocks("status", "hour")
        if joined is not None:  # one row per service and source: its hours, its blocks
            rows = await self._fetchall(
                f"SELECT service_id, source_id, {joined} FROM minute_blocks"
                f" WHERE {among} AND hour >= ? AND hour < ? GROUP BY service_id, source_id",
                (*ids, first, last),
                binary=True,
            )
            for sid, src, hours, data in sorted(rows, key=itemgetter(0, 1)):
                out.setdefault(sid, {})[src] = _joined(hours, data, first, skip, length)
        else:  # one row per block, in key order (no sort in SQLite)
            rows = await self._fetchall(
                "SELECT service_id, source_id, hour, status FROM minute_blocks"
                f" WHERE {among} AND hour >= ? AND hour < ? ORDER BY service_id, hour, source_id",
                (*ids, first, last),
            )
            for sid, group in groupby(rows, key=itemgetter(0)):
                blocks = list(group)
                if len(set(map(itemgetter(1), blocks))) > 1:
                    blocks.sort(key=itemgetter(1))  # stable: each source's hours stay in order
                out[sid] = {
                    src: _span(list(series), first, skip, length)
                    for src, series in groupby(blocks, key=itemgetter(1))
                }
        if not {src for data in out.values() for src in data} <= self._source_names.keys():
            self._source_names = await self._shared_names("sources")
        names = self._source_names
        return {
            sids[sid]: {names[src]: data for src, data in by_source.items()}
            for sid, by_source in out.items()
        }

    async def latencies(self, service: str, start: int, end: int) -> list[tuple[int, int | None]]:
        """(minute, latency_ms) for each recorded minute of [start, end), in order.

        With several sources the latency is the mean of the sources that
        measured one; None when a minute was recorded without a latency.
        """
        return (await self.latencies_of((service,), start, end)).get(service, [])

    async def latencies_of(
        self, services: Iterable[str], start: int, end: int
    ) -> dict[str, list[tuple[int, int | None]]]:
        """``latencies`` of several services in one query (the dashboard's month pass:
        every service's last hour): service -> its minutes (nothing recorded: absent)."""
        sids = await self._lookup_many("services", services)
        if not sids or end <= start:
            return {}
        among, ids = self._db.among("service_id", sids)
        rows = await self._fetchall(
            "SELECT service_id, hour, status, latency FROM minute_blocks"
            f" WHERE {among} AND hour >= ? AND hour < ?",
            (*ids, start // BLOCK, -(-end // BLOCK)),
        )
        # Per service: the minutes some source recorded, and the sum and count of the
        # latencies measured (plain ints: no container per minute for the collector)
        per: dict[int, tuple[set[int], dict[int, int], dict[int, int]]] = {}
        for sid, hour, status, latency in rows:
            lat = decode_latency(latency)
            base = hour * BLOCK
            got, total, n = per.setdefault(int(sid), (set(), {}, {}))
            for i in range(max(start - base, 0), min(end - base, BLOCK)):
                if status[i]:
                    minute = base + i
                    got.add(minute)
                    value = lat[i]
                    if value != NO_LATENCY:
                        total[minute] = total.get(minute, 0) + value
                        n[minute] = n.get(minute, 0) + 1
        return {
            sids[sid]: [(m, round(total[m] / n[m]) if m in n else None) for m in sorted(got)]
            for sid, (got, total, n) in per.items()
            if got
        }

    async def minute_errors(self, service: str, start: int, end: int) -> list[tuple[int, str, str]]:
        """(minute, source, error class) for minutes of [start, end) recorded with an error."""
        rows = await self._fetchall(
            "SELECT e.minute, src.name, t.text FROM minute_errors e"
            " JOIN services s ON s.id = e.service_id JOIN sources src ON src.id = e.source_id"
            " JOIN error_texts t ON t.id = e.error_id"
            " WHERE s.name = ? AND e.minute >= ? AND e.minute < ? ORDER BY e.minute, src.name",
            (service, start, end),
        )
        return [(int(m), str(src), str(text)) for m, src, text in rows]

    async def hours_with_of(
        self, services: Iterable[str], start: int, end: int, statuses: Iterable[int]
    ) -> dict[str, list[int]]:
        """The hours (``minute // 60``) overlapping [start, end) where some source of
        each of ``services`` recorded one of ``statuses``, in one query: service ->
        hours, ascending (a service without such an hour: absent). A cheap scan that
        lets readers skip clean months."""
        sids = await self._lookup_many("services", services)
        codes = [bytes([code]) for code in statuses]
        if not sids or not codes or end <= start:
            return {}
        among, ids = self._db.among("service_id", sids)
        found = " OR ".join(self._db.contains_bytes("status") for _ in codes)
        rows = await self._fetchall(
            "SELECT DISTINCT service_id, hour FROM minute_blocks"
            f" WHERE {among} AND hour >= ? AND hour < ? AND ({found}) ORDER BY service_id, hour",
            (*ids, start // BLOCK, -(-end // BLOCK), *codes),
        )
        out: dict[str, list[int]] = {}
        for sid, hour in rows:
            out.setdefault(sids[int(sid)], []).append(int(hour))
        return out

    async def recorded_until_of(self, services: Iterable[str]) -> dict[str, int]:
        """The minute after the newest recorded minute (any source) of each of
        ``services``, in one query (a service without records: absent): how far its
        figures reach (``status`` flags an agent that stopped recording). Each
        service's newest hour is one step down the key."""
        sids = await self._lookup_many("services", services)
        if not sids:
            return {}
        among, ids = self._db.among("s.id", sids)
        rows = await self._fetchall(
            "SELECT b.service_id, b.hour, b.status FROM minute_blocks b JOIN"
            " (SELECT s.id, (SELECT MAX(hour) FROM minute_blocks WHERE service_id = s.id) AS last"
            f" FROM services s WHERE {among}) m ON b.service_id = m.id AND b.hour = m.last",
            ids,
        )
        out: dict[str, int] = {}
        for sid, hour, status in rows:
            name = sids[int(sid)]
            end = int(hour) * BLOCK + len(bytes(status).rstrip(b"\0"))
            out[name] = max(out.get(name, end), end)
        return out

    async def data_bounds(self, service: str) -> tuple[int, int] | None:
        """[first, last) minutes of the hours holding records of ``service`` (None: no data)."""
        sid = await self._lookup("services", service)
        if sid is None:
            return None
        rows = await self._fetchall(
            "SELECT MIN(hour), MAX(hour) FROM minute_blocks WHERE service_id = ?", (sid,)
        )
        if not rows or rows[0][0] is None:
            return None
        return int(rows[0][0]) * BLOCK, (int(rows[0][1]) + 1) * BLOCK
