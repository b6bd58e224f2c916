"""The agent's minute through its ``LiveMemo`` against the reading way, edit by edit
(#10 review): an hour changed behind the agent's back in any of these ways is
logged exactly as a store without the memo logs it (the same ``store.tamper`` and
``minutes.seal`` entries, seq for seq), the same minutes kept, twice written once."""

from __future__ import annotations

from typing import Any

from store.chain import close_minute
from store.postgres import PostgresStore
from tests.pg import Cluster
from tests.store.test_live_memo import BASE, Reads, minute

HOUR = BASE // 60 + 1  # the open hour (the one before it is sealed and logged)
S1 = "(SELECT id FROM services WHERE name = 's1')"
OPEN = f"service_id = {S1} AND hour = {HOUR}"
EDITS = [
    f"UPDATE minute_blocks SET status = set_byte(status, 5, 3) WHERE {OPEN}",
    f"UPDATE minute_blocks SET latency = set_byte(latency, 0, 7) WHERE {OPEN}",
    f"DELETE FROM minute_errors WHERE service_id = {S1} AND minute >= {HOUR * 60}",
    "INSERT INTO error_texts (id, text) VALUES (999, 'dns')",
    f"INSERT INTO minute_errors SELECT service_id, source_id, {HOUR * 60 + 1}, 999"
    f" FROM minute_blocks WHERE {OPEN}",
    f"UPDATE minute_errors SET error_id = 999 WHERE minute >= {HOUR * 60}",
    "UPDATE error_texts SET text = 'edited' WHERE text = 'timeout'",
    f"UPDATE chain_seals SET digest = '\\x00' WHERE {OPEN}",
    f"UPDATE chain_seals SET link = '\\x00' WHERE {OPEN}",
    f"UPDATE chain_seals SET logged = 1 - logged WHERE {OPEN}",
    f"DELETE FROM chain_seals WHERE {OPEN}",
    f"DELETE FROM minute_blocks WHERE {OPEN}",
    f"UPDATE chain_seals SET digest = '\\x01' WHERE service_id = {S1} AND hour = {HOUR - 1}",
    f"UPDATE chain_seals SET link = '\\x01' WHERE service_id = {S1} AND hour = {HOUR - 1}",
    f"UPDATE minute_blocks SET status = set_byte(status, 1, 3) WHERE hour = {HOUR - 1}",
]


async def _trail(store: PostgresStore) -> list[tuple[Any, ...]]:
    entries = await store.audit_entries(minutes=True)
    return [(e.seq, e.kind, e.service, e.span, e.before, e.after) for e in entries]


async def test_every_edit_is_logged_as_the_reading_way_logs_it(
    pg_cluster: Cluster, pg_url: str
) -> None:
    other = pg_cluster.url(pg_cluster.new_database())
    async with (
        await PostgresStore.open(pg_url, init=True) as memo,
        await PostgresStore.open(other, init=True) as reading,
    ):

        async def write(m: int) -> None:
            await memo.record_minutes(minute(m))
            reading._live_memo = None
            await reading.record_minutes(minute(m))

        for m in (0, 1, 2, 60, 61):
            await write(m)
        for i, edit in enumerate(EDITS):
            for store in (memo, reading):
                async with store._db.transaction():
                    await store._db.execute(edit)
            await write(62 + i)
            assert memo._live_memo is not None  # (the memo serves the next minute again)
            await write(62 + i)  # the same minute again: nothing new
            assert await _trail(memo) == await _trail(reading), edit
            span = (BASE, BASE + 120)
            assert await memo.minutes("s1", *span) == await reading.minutes("s1", *span), edit
        kinds = [e[1] for e in await _trail(memo)]
        assert kinds.count("store.tamper") >= len(EDITS) - 3  # the closed hour's: verify's
        assert (await memo.check_audit()).problems == (await reading.check_audit()).problems


def _at_the_turn(h: int) -> list[str]:
    """Edits of hour ``h`` (the agent's open hour) and of the next, ``h + 1``, made
    before the agent's first minute of ``h + 1`` (``LiveMemo.next_hour``)."""
    closing = f"service_id = {S1} AND hour = {h}"
    return [
        "SELECT 1",  # none: the memo's way
        f"UPDATE chain_seals SET digest = '\\x00' WHERE {closing}",
        f"UPDATE chain_seals SET link = '\\x00' WHERE {closing}",
        f"UPDATE chain_seals SET logged = 1 - logged WHERE {closing}",
        f"DELETE FROM chain_seals WHERE {closing}",
        f"UPDATE minute_blocks SET status = set_byte(status, 5, 3) WHERE {closing}",
        f"DELETE FROM minute_blocks WHERE {closing}",
        "INSERT INTO minute_blocks (service_id, hour, source_id, status, latency)"
        f" SELECT service_id, {h + 1}, source_id, status, latency FROM minute_blocks"
        f" WHERE {closing}",
        "INSERT INTO chain_seals (service_id, source_id, hour, digest, link, logged)"
        f" SELECT service_id, source_id, {h + 1}, digest, link, 0 FROM chain_seals"
        f" WHERE {closing}",
        "INSERT INTO error_texts (id, text) VALUES (998, 'dns') ON CONFLICT DO NOTHING",
        f"INSERT INTO minute_errors SELECT service_id, source_id, {(h + 1) * 60 + 5}, 998"
        f" FROM chain_seals WHERE {closing}",
    ]


async def test_an_edit_before_the_hours_first_minute_is_logged_as_the_reading_way_logs_it(
    pg_cluster: Cluster, pg_url: str
) -> None:
    """The agent's first minute of an hour through its memo (the new hour opened,
    nothing read back; the hour before left open) and its close minute (the hour
    before closed where its seal is still the memo's) against the reading way, edit
    by edit."""
    assert close_minute("agent") == 1  # the agent of ``minute``: it closes in minute 1
    other = pg_cluster.url(pg_cluster.new_database())
    async with (
        await PostgresStore.open(pg_url, init=True) as memo,
        await PostgresStore.open(other, init=True) as reading,
    ):
        reads = Reads(memo)

        async def write(m: int) -> None:
            await memo.record_minutes(minute(m))
            reading._live_memo = None
            await reading.record_minutes(minute(m))

        for i in range(len(_at_the_turn(0))):
            await write(i * 60)
            await write(i * 60 + 1)
            edit = _at_the_turn(BASE // 60 + i)[i]
            for store in (memo, reading):
                async with store._db.transaction():
                    await store._db.execute(edit)
            was = reads.count
            await write(i * 60 + 60)
            # Through the memo unless a row it writes was there already, or the hour
            # before (kept open until the close minute, not rewritten) is not as the memo
            # remembers it: the new hour's link follows from that seal.
            assert (reads.count > was) == (i in (1, 2, 3, 4, 7, 8)), edit
            assert memo._live_memo is not None and memo._live_memo.hour == BASE // 60 + i + 1
            await write(i * 60 + 60)  # the same minute again: nothing new
            assert await _trail(memo) == await _trail(reading), edit
            was = reads.count
            await write(i * 60 + 61)  # the close minute: the hour before is logged now
            # Through the memo: an edit of the hour before's seal sent the turn the reading
            # way already (an edit of its block is not looked at either way: verify's).
            assert reads.count == was, edit
            assert await _trail(memo) == await _trail(reading), edit
            span = (BASE, BASE + 60 * (i + 2))
            assert await memo.minutes("s1", *span) == await reading.minutes("s1", *span), edit
        kinds = [e[1] for e in await _trail(memo)]
        assert "store.tamper" in kinds
        assert (await memo.check_audit()).problems == (await reading.check_audit()).problems
