"""Change marks: a cheap answer to "did another command change what a month shows?".

The agent writes all the time (probe states every probe, the current hour's
minute block every minute), so "the database changed" says little to a poller
like the dashboard. What other commands change is elsewhere: an import writes
hours before the current one (and re-seals every hour after, see
``store.chain``), ``maintenance``/``exclude`` touch windows, ``case`` the cases
and their links and events, ``credit`` the settled credits, and most leave an
audit entry. ``change_marks(before_hour)`` reads each of those in one or two
small queries (index seeks, never a scan of the minutes) and returns a value
that differs whenever any of them changed.
"""

from __future__ import annotations

from store.base import StoreBase

# Per chain (service, source), the link of its newest seal before the given hour:
# a link covers every hour before it, so any write before that hour changes it.
_HISTORY = (
    "SELECT s.id, r.id, (SELECT c.link FROM chain_seals c"
    " WHERE c.service_id = s.id AND c.source_id = r.id AND c.hour < ?"
    " ORDER BY c.hour DESC LIMIT 1) FROM services s, sources r ORDER BY s.id, r.id"
)
_TABLES = (
    "SELECT (SELECT COUNT(*) FROM cases), (SELECT MAX(id) FROM cases),"
    " (SELECT SUM(COALESCE(responded_at, 0) + COALESCE(resolved_at, 0)) FROM cases),"
    " (SELECT COUNT(*) FROM case_links), (SELECT COUNT(*) FROM windows),"
    " (SELECT MAX(id) FROM windows), (SELECT COUNT(*) FROM settled_credits)"
)
_LATER = {  # tables of later migrations: absent from an old database opened read-only
    "case_events": "SELECT MAX(id) FROM case_events",
    "audit_log": "SELECT MAX(seq) FROM audit_log",
}

Marks = tuple[object, ...]


class MarksStore(StoreBase):
    _marked_tables: frozenset[str] = frozenset()  # later tables seen: a table never goes away

    async def change_marks(self, before_hour: int) -> Marks:
        """A value that changes when minutes before ``before_hour`` (an epoch hour:
        minute // 60), cases, windows, settled credits or the audit trail change."""
        history = tuple(
            (int(a), int(b), None if link is None else bytes(link))
            for a, b, link in await self._fetchall(_HISTORY, (before_hour,))
        )
        (tables,) = await self._fetchall(_TABLES)
        later = []
        for table, sql in _LATER.items():
            if table in self._marked_tables or await self._db.has_table(table):
                self._marked_tables |= {table}
                later.append((await self._fetchall(sql))[0][0])
        return (history, tuple(tables), tuple(later))
