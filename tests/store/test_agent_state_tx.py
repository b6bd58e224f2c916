"""The agent's state is saved in the same transaction as the minutes it follows from
(store.agentstate, issue 16): on SQLite (``record_minutes``) and on a fleet spool
(``spool_minutes``, with the outbox), both or neither are kept."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.status import DOWN
from store.rows import MinuteRow, Notice, OpenOutage, ProbeRecord, StateSave
from store.sqlite import SqliteStore

MINUTE = int(datetime(2026, 11, 1, 12, 0, tzinfo=UTC).timestamp()) // 60
ROWS = [MinuteRow("web", "paris-1", MINUTE, DOWN, None, "timeout")]
START = Notice("paris-1/web/2026-11-01T12:00:00Z/start", MINUTE * 2 + 1, '{"event": "start"}')


def state(notice: Notice = START) -> StateSave:
    return StateSave(
        "paris-1", MINUTE, (OpenOutage("web", MINUTE, MINUTE, 1, "timeout"),), (notice,)
    )


async def minutes_of(store: SqliteStore) -> list[int]:
    return list((await store.minutes("web", MINUTE, MINUTE + 1)).get("paris-1", b""))


@pytest.mark.parametrize("spool", [False, True], ids=["record_minutes", "spool_minutes"])
async def test_minutes_and_state_commit_together_or_not_at_all(tmp_path: Path, spool: bool) -> None:
    store = await SqliteStore.open(tmp_path / "agent.db")
    write = store.spool_minutes if spool else store.record_minutes
    try:
        await store.record_probe_results(
            [ProbeRecord("web", "paris-1", MINUTE, datetime.now(UTC), DOWN, None, "timeout")]
        )
        # A state that cannot be saved (a NULL payload): the minutes roll back with it.
        broken = Notice(START.id, START.seq, None)  # type: ignore[arg-type]
        with pytest.raises(Exception, match="NOT NULL"):
            await write(ROWS, state=state(broken))
        assert await minutes_of(store) == []
        kept = await store.agent_state("paris-1")
        assert (kept.judged_upto, kept.outages, kept.notices, len(kept.probes)) == (
            None, (), (), 1,
        )  # fmt: skip
        if spool:
            assert await store.outbox_batch(10) is None
        await write(ROWS, state=state())
        assert await minutes_of(store) == [DOWN]
        kept = await store.agent_state("paris-1")
        assert kept.judged_upto == MINUTE and kept.notices == (START,)
        assert kept.outages == state().outages and kept.probes == ()  # judged: forgotten
        await write(ROWS, state=state())  # saved again (a resend): one notice, not two
        assert (await store.agent_state("paris-1")).notices == (START,)
        await store.forget_notices("paris-1", [START.id])
        assert (await store.agent_state("paris-1")).notices == ()
        if spool:
            batch = await store.outbox_batch(10)
            assert batch is not None and batch.rows == tuple(ROWS) * 2
    finally:
        await store.close()


async def test_each_notifier_s_mark_is_kept_until_the_notice_is_forgotten(tmp_path: Path) -> None:
    """Which notifier has had a notice (``mark_notice``) comes back with it after a
    restart (``Notice.sent_to``); forgetting the notice forgets its marks; a notice
    already forgotten gets none."""
    store = await SqliteStore.open(tmp_path / "agent.db")
    try:
        end = Notice("paris-1/web/2026-11-01T12:00:00Z/end", MINUTE * 2 + 4, '{"event": "end"}')
        await store.record_minutes(ROWS, state=state())
        await store.save_agent_state("paris-1", MINUTE, (), (end,))
        await store.mark_notice("paris-1", START.id, "hook-b")
        await store.mark_notice("paris-1", START.id, "hook-a")
        await store.mark_notice("paris-1", START.id, "hook-a")  # twice: one mark
        await store.mark_notice("paris-1", "paris-1/gone/x/start", "hook-a")  # no such notice
        kept = (await store.agent_state("paris-1")).notices
        assert [(n.id, n.sent_to) for n in kept] == [
            (START.id, ("hook-a", "hook-b")), (end.id, ()),
        ]  # fmt: skip
        await store.forget_notices("paris-1", [START.id])
        marks = await store._fetchall("SELECT count(*) FROM agent_notice_marks")
        assert [tuple(r) for r in marks] == [(0,)]
        assert (await store.agent_state("paris-1")).notices == (end,)
    finally:
        await store.close()
