"""A claim exported while an agent records: the month is read in two queries (its
minutes, then the hash chains' evidence), and a minute recorded between them must
not end the export in a traceback. In a fleet three agents write every minute, so
`claim export --provisional` of the month under way met it one time in two."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from core.chain import SourceRecords
from core.claim import verify
from core.config import Config
from core.configfile import load_config
from core.timeutil import YearMonth, to_minute
from slawatch import claims
from slawatch.commands._support import run
from store.rows import MinuteRow
from store.sqlite import SqliteStore
from tests import configs
from tests.conftest import write_config

NOW = datetime(2026, 11, 3, tzinfo=UTC)


def _config(tmp_path: Path) -> Config:
    return load_config(
        write_config(
            tmp_path,
            configs.toml(
                storage="live.db",
                contracts=[configs.contract("std")],
                services=[configs.service("shop", "std", "1000.00")],
            ),
        )
    )


def test_a_minute_recorded_between_the_two_reads_is_read_again(tmp_path: Path) -> None:
    config = _config(tmp_path)
    first = to_minute(datetime(2026, 11, 1, tzinfo=UTC))
    last = to_minute(NOW) - 1  # the minute the agent records while the export reads
    rows = [
        MinuteRow("shop", "agent", m, 3 if first + 60 <= m < first + 90 else 1, 40, None)
        for m in range(first, last)
    ]
    late = MinuteRow("shop", "agent", last, 3, 40, "timeout")
    reads = 0

    async def export() -> claims.Exported:
        nonlocal reads
        async with await SqliteStore.open(config.storage_path) as store:
            await store.import_minutes([rows])
            evidence = store.evidence

            async def evidence_after_a_write(
                service: str, start: int, end: int
            ) -> list[SourceRecords]:
                nonlocal reads
                reads += 1
                if reads == 1:  # the agent's minute lands between the two reads
                    await store.record_minutes([late])
                return await evidence(service, start, end)

            store.evidence = evidence_after_a_write  # type: ignore[method-assign,assignment]
            return await claims.gather(store, config, "shop", YearMonth(2026, 11), NOW)

    exported = run(export())
    assert reads == 2  # read again, once
    assert exported.report.downtime_minutes == 31  # the late minute is in it, once
    assert exported.report.provisional


def test_an_outage_still_going_reads_ongoing_in_verify(tmp_path: Path) -> None:
    """A provisional export made during an outage (a fleet's `claim export
    --provisional` of the month under way): verify's outage line said 'to None'."""
    config = _config(tmp_path)
    first = to_minute(datetime(2026, 11, 1, tzinfo=UTC))
    last = to_minute(NOW)
    rows = [
        MinuteRow("shop", "agent", m, 3 if m >= last - 5 else 1, 40, None)
        for m in range(first, last)
    ]

    async def export() -> claims.Exported:
        async with await SqliteStore.open(config.storage_path) as store:
            await store.import_minutes([rows])
            return await claims.gather(store, config, "shop", YearMonth(2026, 11), NOW)

    exported = run(export())
    lines = [c for c in verify(exported.claim) if c.name.startswith("outage ")]
    assert [c.ok for c in lines] == [True]
    assert lines[0].recomputed == "2026-11-02T23:55:00Z ongoing, 5 min, unreported"
    assert "None" not in lines[0].stated
