"""slawatch's memory: one SQLite file, reached only through this package.

Nothing outside ``store`` writes SQL. Every method is async (aiosqlite); every
time passed in must be timezone-aware; minutes are UTC epoch minutes; spans
are half-open ``[start, end)``.

Opening, through the one front door::

    async with await open_store(config) as store: ...
    store = await open_store(config, readonly=True)   # readers: CLI, dashboard

``open_store`` picks the backend from the config: the SQLite file at
``[storage] path`` (``store.sqlite``, the embedded default) or the PostgreSQL
database at ``[storage] url`` (``store.postgres``, fleet mode). Both hold the
same hour blocks, hash chains and migrations (``store.schema``), written once
in ``store``'s parts against ``store.db.Conn``; a backend only opens its
database and speaks its dialect. ``open_store`` runs pending forward
migrations (``store.schema.MIGRATIONS``: append one to change the schema).
Readers never hold a transaction open; a read-only open of a missing SQLite
file reads as empty. Every write is one short transaction; a writer kept
waiting by another raises ``StoreBusy``.

Minutes (``MinuteRow(service, source, minute, status, latency_ms=None,
error=None)``; ``store.minutes``; on disk one row per service, UTC hour and
source, see ``store.blocks``):

- ``record_minutes(rows) -> None``: upsert in one short transaction; recording
  the same row again changes nothing.
- ``import_minutes(batches: Iterable[Sequence[MinuteRow]], *, replace=False,
  tally=None, where="import", actor=None, at=None) -> int``: all batches in ONE
  transaction, rolled back if the iterable raises (the CSV reader
  ``store.csvfile.read_minutes`` raises InputError at a bad line). Each row is
  counted into ``tally`` (``store.layout.Tally``: new, unchanged, conflicts);
  a row that would change a recorded minute raises ``ImportConflict`` (nothing
  stored) unless ``replace``, and each replacement is an audit entry.
- ``minutes(service, start, end) -> dict[str, bytes]``: source -> one
  ``core.status`` byte per minute, 0 where nothing was recorded.
- ``latencies(service, start, end) -> list[tuple[int, int | None]]``: (minute,
  mean latency over sources) for each recorded minute (sparklines);
  ``latencies_of(services, start, end)`` the same of several services in one query.
- ``minute_errors(service, start, end) -> list[tuple[int, str, str]]``:
  (minute, source, error class).
- ``hours_with_of(services, start, end, statuses) -> dict[str, list[int]]``:
  each service's hours holding one of those statuses, one query (lets readers
  skip clean months).
- ``data_bounds(service) -> tuple[int, int] | None``: hour-granular span with data.
- ``recorded_until_of(services) -> dict[str, int]``: each service's minute after
  its newest recorded one, one query (absent: nothing recorded).

Every minute write extends the claims hash chain (``store.chain.ChainStore``)
inside the same transaction, after the upsert, passing
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
``core.errors.InputError``. Corrections (``store.caseedits``, audited):
``edit_case(id, changes) -> Case``, ``reopen_case(id) -> Case``,
``case_corrections(id) -> list[AuditEntry]``.

Windows (``store.windows``; ``core.windows.Window``): ``add_maintenance(service,
start, end, reason="", *, down_minutes=0, actor=None, at=None) -> Window``,
``add_exclusion(service, start, end, reason, ...) -> Window`` (each add audited,
with the recorded-down minutes it covers), ``stored_windows(kind, service=None)
-> list[StoredWindow]`` (with ids), ``remove_window(kind, id) -> StoredWindow``
(audited; InputError for an unknown id), ``windows(service, start, end) -> list[Window]`` (stored
one-off windows overlapping the span; weekly maintenance comes from the config),
``all_windows(start, end) -> dict[str, list[Window]]`` (every service's, one query).

Credits: ``settle_credit(service, month: YearMonth | str, at=None, *, span=None)
-> bool`` (True when newly settled; audited), ``unsettle_credit(service, month,
*, span=None) -> Settlement`` (audited; InputError when not settled),
``settlements(service=None) -> list[Settlement]`` (every service's in one query).

Chains: ``check_chains() -> ChainSummary``, ``verify_chains()``,
``evidence(service, start_hour, end_hour) -> list[core.chain.SourceRecords]``.
A write that finds a stored hour no longer matching its seal (edited outside
slawatch) appends a ``store.tamper`` audit entry before re-sealing it.

Audit trail (``store.audit``; ``core.audit.AuditEntry``; append-only):
``audit_entries(service=None, span=None, *, minutes=False) -> list[AuditEntry]``,
``audit_leaves() -> list[bytes]``, ``audit_head() -> (size, head)`` (O(log n), from the
tree's frontier the appender keeps), ``check_audit() -> AuditSummary`` (every
leaf and RFC 9162 tree head re-hashed; tamper entries reported; windows, cases
and minute blocks replayed against the tables). Every correction appends its
entry in its own transaction (``AuditStore._audit``); so does every minute
write (``minutes.seal``: each hour's digest after it; ``record_minutes`` leaves
each chain's newest hour to the write after it, ``store.chain``).

Other: ``data_version() -> int`` (changes when another connection commits),
``checkpoint()``, ``check_file()`` (the SQLite file is still the one opened).

The read models for the CLI and the dashboard live above the store, in
``reads`` (``reads.reports``: ``month_report``, ``overview``...; ``reads.quarter``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from store.db import StoreBusy, StoreUnavailable
from store.rows import MinuteRow, ProbeState
from store.store import Store

if TYPE_CHECKING:
    from core.config import Config

__all__ = ["MinuteRow", "ProbeState", "Store", "StoreBusy", "StoreUnavailable", "open_store"]


async def open_store(config: Config, *, readonly: bool = False) -> Store:
    """Open the store the config names: PostgreSQL at ``storage_url``, else the
    SQLite file at ``storage_path``."""
    if config.storage_url:
        from store.postgres import PostgresStore

        return await PostgresStore.open(config.storage_url, readonly=readonly)
    from store.sqlite import SqliteStore

    return await SqliteStore.open(config.storage_path, readonly=readonly)
