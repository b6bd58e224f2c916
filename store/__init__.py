"""slawatch's memory: one SQLite file, reached only through this package.

Nothing outside ``store`` writes SQL. Every method is async (aiosqlite); every
time passed in must be timezone-aware; minutes are UTC epoch minutes; spans
are half-open ``[start, end)``.

Opening::

    async with await Store.open(config.storage_path) as store: ...
    store = await Store.open(path, readonly=True)   # readers: CLI, dashboard

``open`` creates the file (mode 0600, parent folders as needed), turns on WAL,
``synchronous = FULL`` (why: see ``store.store.SYNCHRONOUS``), a 5 s busy
timeout, and runs pending forward migrations (``store.schema.MIGRATIONS``:
append one to change the schema). Readers open their own connection and never
hold a transaction open; a read-only open of a missing file reads as empty.
Every write is one short ``BEGIN IMMEDIATE`` transaction.

Minutes (``MinuteRow(service, source, minute, status, latency_ms=None,
error=None)``; ``store.minutes``; on disk one row per service, UTC hour and
source, see ``store.blocks``):

- ``record_minutes(rows) -> None``: upsert in one short transaction; recording
  the same row again changes nothing.
- ``import_minutes(batches: Iterable[Sequence[MinuteRow]]) -> int``: all
  batches in ONE transaction, rolled back if the iterable raises (the CSV
  reader ``store.csvfile.read_minutes`` raises InputError at a bad line).
- ``minutes(service, start, end) -> dict[str, bytes]``: source -> one
  ``core.status`` byte per minute, 0 where nothing was recorded.
- ``latencies(service, start, end) -> list[tuple[int, int | None]]``: (minute,
  mean latency over sources) for each recorded minute (sparklines).
- ``minute_errors(service, start, end) -> list[tuple[int, str, str]]``:
  (minute, source, error class).
- ``hours_with(service, start, end, statuses) -> list[int]``: hours holding one
  of those statuses (lets readers skip clean months).
- ``data_bounds(service) -> tuple[int, int] | None``: hour-granular span with data.

Every minute write calls ``store.chain.extend(db, rows, blocks=..., names=...)``
inside the same transaction, after the upsert (the claims hash chain), passing
the (service id, hour, source id) blocks it wrote so the chain need not scan
the rows again. A write costs a fixed handful of queries however many services
it holds (``store.blocks.span_groups``); an import's runs of consecutive minutes
are copied into blocks a slice at a time (``store.layout``).

Live state (``store.probes``): ``record_probe(ProbeState(service, source, at,
status, latency_ms, error))`` and ``record_probes(states)`` keep the newest per
(service, source); ``probe_states() -> list[ProbeState]``.

Cases (``store.cases``; ``core.cases.Case``, ``id`` an int, ``links`` minute
spans): ``open_case(service, priority, title, opened_at, *, ref=None,
channel="email", escalation_level=1, rca_requested=False) -> Case``,
``respond_case(id, at) -> Case``, ``resolve_case(id, at) -> Case``,
``link_case(id, start_min, end_min) -> Case``, ``get_case(id) -> Case | None``,
``cases(service=None, open_only=False) -> list[Case]`` (oldest first;
``open_only`` = not resolved). Unknown ids and impossible times raise
``core.errors.InputError``.

Windows (``store.windows``; ``core.windows.Window``): ``add_maintenance(service,
start, end, reason="") -> Window``, ``add_exclusion(service, start, end,
reason) -> Window``, ``windows(service, start, end) -> list[Window]`` (stored
one-off windows overlapping the span; weekly maintenance comes from the config),
``all_windows(start, end) -> dict[str, list[Window]]`` (every service's, one query).

Credits: ``settle_credit(service, month: YearMonth | str, at=None) -> None``,
``settled_months(service) -> set[str]`` (``"YYYY-MM"``).

Other: ``data_version() -> int`` (changes when another connection commits),
``checkpoint()``.

Read models for the CLI and the dashboard: ``store.reports`` (``month_report``,
``month_reports`` for many services at once, ``overview``, ``case_view``,
``service_of``) and ``store.quarter``
(``quarter_report``).
"""

from __future__ import annotations

from store.rows import MinuteRow, ProbeState
from store.store import Store

__all__ = ["MinuteRow", "ProbeState", "Store"]
