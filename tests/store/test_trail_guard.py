"""An agent cannot break the audit trail for everyone (#10): the entries it may append
(its own source's, row-level security) must also come next, with their leaf and tree
head right (``store.postgres.trail``), or ``store verify`` would name the whole trail
broken from there on, every vantage point's evidence with it."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import merkle
from core.audit import SEAL, AuditEntry, canonical_json
from core.errors import SlawatchError
from store.chain import CLOSE_SPREAD
from store.postgres import PostgresStore
from store.rows import MinuteRow
from tests.fleetkit import agent_role, init_fleet
from tests.pg import Cluster

H = 29_619_360  # 2026-04-26T00:00Z, a whole hour
AT = datetime(2026, 4, 26, 1, 0, tzinfo=UTC)
_INSERT = (
    "INSERT INTO audit_log (seq, at, actor, kind, service, span_start, span_end,"
    " before_json, after_json, leaf, head) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _row(service: str, source: str, minute: int) -> MinuteRow:
    return MinuteRow(service, source, minute, 1, 90)


def _entry(seq: int, after: Any) -> AuditEntry:
    return AuditEntry(seq, AT, "ra", SEAL, "s", (H, H + 60), None, after)


def _params(entry: AuditEntry, leaf: bytes, head: bytes, after_text: str | None = None) -> tuple:
    span = entry.span or (None, None)
    after = canonical_json(entry.after) if after_text is None else after_text
    return (entry.seq, int(entry.at.timestamp()), entry.actor, entry.kind, entry.service,
            span[0], span[1], canonical_json(entry.before), after, leaf, head)  # fmt: skip


async def _forgeries(store: PostgresStore) -> list[tuple[str, tuple]]:
    """Entries about the agent's own hours (row-level security lets them through),
    each wrong in one way a verify would name."""
    leaves = await store.audit_leaves()
    last = len(leaves)
    after = {"by": "agent ra", "hours": [["s", "ra", H // 60, "ab" * 32]]}
    right = _entry(last + 1, after)

    def head(leaf: bytes) -> bytes:
        return merkle.root([*leaves, leaf])

    skipped = _entry(last + 3, after)  # entries missing before it
    again = _entry(last, after)
    lying = _entry(last + 1, {**after, "by": "someone else"}).leaf()  # another content's hash
    # Text with spaces, hashed as it stands: not what verify re-hashes (canonical JSON).
    spaced = f'{{"by": "agent ra", "hours": [["s", "ra", {H // 60}, "{"ab" * 32}"]]}}'
    raw = (
        '{"actor":"ra","after":' + spaced + ',"at":"2026-04-26T01:00:00Z","before":null,'
        f'"from":"2026-04-26T00:00:00Z","kind":"minutes.seal","seq":{last + 1},"service":"s",'
        '"to":"2026-04-26T01:00:00Z"}'
    )
    raw_leaf = hashlib.sha256(b"\x00" + raw.encode()).digest()
    return [
        ("a gap in seq", _params(skipped, skipped.leaf(), head(skipped.leaf()))),
        ("a seq twice", _params(again, again.leaf(), head(again.leaf()))),
        ("a leaf not of its content", _params(right, lying, head(lying))),
        ("a head not the tree's", _params(right, right.leaf(), merkle.root([right.leaf()]))),
        ("non-canonical JSON", _params(right, raw_leaf, head(raw_leaf), spaced)),
    ]


async def test_an_agent_cannot_append_a_broken_entry(pg_cluster: Cluster, pg_url: str) -> None:
    await init_fleet(pg_url)
    url_a = agent_role(pg_cluster, pg_url, "ra")
    url_b = agent_role(pg_cluster, pg_url, "rb")
    async with await PostgresStore.open(url_b) as b:
        for m in (0, 60 + CLOSE_SPREAD):  # its hour 0 logged (in its close minute)
            await b.record_minutes([_row("s", "rb", H + m)])
    async with await PostgresStore.open(url_a) as a:
        await a.record_minutes([_row("s", "ra", H)])
        for what, params in await _forgeries(a):
            with pytest.raises(SlawatchError, match="refused by the database"):
                async with a._write() as db:
                    await db.execute(_INSERT, params)
            assert (await a.check_audit()).problems == (), what
        # The appender's check ahead of the lock notes a digest for its own transaction:
        # a note of other content does not pass a non-canonical entry, and nobody but
        # the guard's functions writes the notes.
        spaced_params = dict(await _forgeries(a))["non-canonical JSON"]
        with pytest.raises(SlawatchError, match="refused by the database"):
            async with a._write() as db:
                await db.precheck_audit([("null", spaced_params[8].replace(" ", ""))])
                await db.execute(_INSERT, spaced_params)
        with pytest.raises(SlawatchError, match="permission denied"):
            async with a._write() as db:
                await db.execute("INSERT INTO audit_checked VALUES (pg_current_xact_id(), ?)",
                                 (bytes(32),))  # fmt: skip
        # A right entry is taken, also with the tree's kept frontier gone (rebuilt).
        leaves = await a.audit_leaves()
        right = _entry(len(leaves) + 1, {"by": "agent ra", "hours": [["s", "ra", H // 60, None]]})
        async with a._write() as db:
            await db.execute("DELETE FROM audit_frontier")
            await db.execute(
                _INSERT, _params(right, right.leaf(), merkle.root([*leaves, right.leaf()]))
            )
        # The honest appends go on: a service named outside ASCII, two hours logged.
        for m in (1, 61, 62, 121):
            await a.record_minutes([_row("s", "ra", H + m), _row("café ☕ 𝄞\t\x7f", "ra", H + m)])
    async with await PostgresStore.open(pg_url) as owner:
        audit = await owner.check_audit()
        chains = await owner.check_chains()
        assert audit.problems == () and chains.breaks == ()
        # Every note the honest appends made was found by the trigger (and deleted).
        assert await owner._db.fetchall("SELECT count(*) FROM audit_checked") == [(0,)]
        logged = {(h[0], h[1]) for e in await owner.audit_entries(minutes=True)
                  for h in (e.after or {}).get("hours", [])}  # fmt: skip
        assert logged == {("s", "ra"), ("s", "rb"), ("café ☕ 𝄞\t\x7f", "ra")}


async def test_many_agents_append_at_once(pg_cluster: Cluster, pg_url: str) -> None:
    """Five agents closing hours at the same moment, each logging its hours (the
    trigger takes the trail's lock the appenders take): all appended, verify clean.
    (Each closes its previous hour by minute ``CLOSE_SPREAD`` of the next.)"""
    await init_fleet(pg_url)
    names = [f"g{i}" for i in range(5)]
    stores = [await PostgresStore.open(agent_role(pg_cluster, pg_url, n)) for n in names]
    try:
        for m in (0, 1, 60, 60 + CLOSE_SPREAD, 120, 120 + CLOSE_SPREAD):
            await asyncio.gather(
                *(s.record_minutes([_row("s", n, H + m), _row(f"t{m}", n, H + m)])
                  for s, n in zip(stores, names, strict=True))
            )  # fmt: skip
    finally:
        for s in stores:
            await s.close()
    async with await PostgresStore.open(pg_url) as owner:
        audit = await owner.check_audit()
        assert audit.problems == () and audit.entries >= 2 * len(names)


_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",),
                                            blacklist_characters="\x00")), inner, max_size=4),
    max_leaves=12,
)  # fmt: skip


def test_sql_spells_json_as_python_does(pg_url: str) -> None:
    """The trigger's ``slawatch_json`` against ``core.audit.canonical_json``: the same
    text for every JSON value an entry may hold (unicode, controls, nesting, big
    integers), and none for a non-integer number (refused rather than misspelled)."""
    asyncio.run(init_fleet(pg_url))
    with psycopg.connect(pg_url, autocommit=True) as conn:

        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
        @given(_JSON_VALUES)
        def spelled(value: Any) -> None:
            text = canonical_json(value)
            [(sql,)] = conn.execute("SELECT slawatch_json(%s::jsonb)", (text,)).fetchall()
            assert sql == text

        spelled()
        for refused in ("1.5", "[1, 2.0]", '{"a": 1e3}', "-0"):
            [(sql,)] = conn.execute("SELECT slawatch_json(%s::jsonb)", (refused,)).fetchall()
            assert sql is None or sql != refused.replace(" ", "")
