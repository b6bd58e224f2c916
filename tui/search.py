"""The main screen's filter (``/``): which rows a typed query keeps.

Every word of the query must appear (case-insensitive) in one of the row's
fields, so ``por crit`` keeps portal's critical cases and nothing else.
"""

from __future__ import annotations

from tui.view import CaseRow, CreditRow, ServiceRow, Snapshot


def matches(query: str, *fields: str) -> bool:
    words = query.lower().split()
    text = " ".join(fields).lower()
    return all(word in text for word in words)


def filtered(snapshot: Snapshot, query: str) -> Snapshot:
    """``snapshot`` with only the rows ``query`` keeps (all of them for a blank query)."""
    if not query.strip():
        return snapshot

    def service(r: ServiceRow) -> bool:
        return matches(query, r.name, r.contract, r.state, r.error or "")

    def case(c: CaseRow) -> bool:
        return matches(query, c.service, c.title, c.ref or "", c.priority, f"#{c.id}")

    def credit(c: CreditRow) -> bool:
        return matches(query, c.service, c.month)

    return Snapshot(
        services=tuple(r for r in snapshot.services if service(r)),
        cases=tuple(c for c in snapshot.cases if case(c)),
        credits=tuple(c for c in snapshot.credits if credit(c)),
        unreported=tuple(o for o in snapshot.unreported if matches(query, o.service)),
        outages=tuple(o for o in snapshot.outages if matches(query, o.service)),
    )
