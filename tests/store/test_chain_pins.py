"""The hash chains and the trail's minute entries, pinned byte for byte (issue 10).

A fixed sequence of minute writes, through the store's every way of writing them (the
agent's steady minute and its hour's first through the live memo, a re-send, a
batch of several minutes, an error class set and cleared, several agents by one
store, a late write into a closed hour, an import, an edit behind slawatch's back),
must leave exactly these seals and audit entries on both backends: a faster write
path may change how they are computed, never what they are.
"""

from __future__ import annotations

import hashlib
from typing import Any

from core.audit import canonical_json
from core.status import DOWN, UP
from store import Store
from store.chain import close_minute
from store.rows import MinuteRow
from tests.conftest import OpenDb

BASE = 29_619_360  # 2026-04-26T00:00Z, a whole hour
# sha256 of the canonical JSON of ``_fingerprint`` after ``_write_all`` (each agent
# closing its hour in its close minute: "a" in minute 1, "b" in minute 7).
PINNED = "47f25704d99f6d779ac48117c8edb965ebe3b0620985021db932c2249f06e2bc"


def _minute(m: int, source: str, services: int = 6) -> list[MinuteRow]:
    return [
        MinuteRow(
            f"s{n}",
            source,
            BASE + m,
            DOWN if (m + n) % 5 == 0 else UP,
            None if (m + n) % 7 == 0 else 30 + (m * 7 + n) % 300,
            ("timeout" if n % 2 else "status:503") if (m + n) % 5 == 0 else None,
        )
        for n in range(services)
    ]


async def _write_all(store: Store) -> None:
    for m in (0, 1, 2):
        for source in ("a", "b"):
            await store.record_minutes(_minute(m, source))
    await store.record_minutes(_minute(2, "a"))  # a re-send: idempotent
    await store.record_minutes(_minute(3, "a") + _minute(4, "a"))  # two minutes at once
    # Minute 5 again without its error classes: a re-recorded minute loses them.
    await store.record_minutes([r._replace(error=None) for r in _minute(4, "a")])
    for m in (59, 60, 61):  # the turn of the hour ("a" closes hour 0 in minute 1)
        for source in ("a", "b"):
            await store.record_minutes(_minute(m, source))
    await store.record_minutes(_minute(60 + close_minute("b"), "b"))  # "b" closes it late
    await store.record_minutes(_minute(10, "b", services=3))  # late, into the closed hour
    await store.import_minutes([_minute(m, "c", services=4) for m in range(0, 130, 3)])
    async with store._db.transaction():  # an edit behind slawatch's back
        await store._db.execute(
            "UPDATE minute_blocks SET latency = ? WHERE hour = ?"
            " AND service_id = (SELECT id FROM services WHERE name = 's1')"
            " AND source_id = (SELECT id FROM sources WHERE name = 'a')",
            (bytes(range(120)), BASE // 60 + 1),
        )
    for m in (62, 63, 120, 121):  # into hour 2, and its close minute: hour 1 logged
        await store.record_minutes(_minute(m, "a"))


async def _fingerprint(store: Store) -> list[Any]:
    seals = await store._db.fetchall(
        "SELECT v.name, r.name, s.hour, s.digest, s.link, s.logged FROM chain_seals s"
        " JOIN services v ON v.id = s.service_id JOIN sources r ON r.id = s.source_id"
    )
    entries = await store.audit_entries(minutes=True)
    return [
        sorted(
            [v, r, int(h), bytes(d).hex(), bytes(lk).hex(), int(lg)] for v, r, h, d, lk, lg in seals
        ),
        [[e.seq, e.kind, e.service, list(e.span or ()), e.before, e.after] for e in entries],
    ]


async def test_the_chains_and_the_trail_are_as_pinned(open_db: OpenDb) -> None:
    async with await open_db() as store:
        await _write_all(store)
        found = await _fingerprint(store)
        kinds = [e[1] for e in found[1]]
        assert kinds == ["minutes.seal"] * 4 + ["store.tamper", "minutes.seal"]
        # Every entry's leaf and tree head holds; the edit behind slawatch's back is named.
        problems = (await store.check_audit()).problems
        assert [p.seq for p in problems if "hash" in p.reason or "tree head" in p.reason] == []
        assert [p.seq for p in problems if "edited outside slawatch" in p.reason] == [5]
        digest = hashlib.sha256(canonical_json(found).encode()).hexdigest()
        assert digest == PINNED, canonical_json(found)[:2000]
