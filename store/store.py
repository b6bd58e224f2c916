"""``Store``: the store's interface, and its parts joined over any backend's ``Conn``.

Its parts live one per module (minutes and their chains, probes, cases,
windows and credits, agent health, the
agent spool's outbox), each a ``StoreBase`` subclass written in
SQL both backends accept. A backend (``store.sqlite.SqliteStore``,
``store.postgres.PostgresStore``) subclasses it to open its database and to
answer the few questions whose SQL differs (``data_version``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from types import TracebackType
from typing import Self

from store.agentstate import AgentStateStore
from store.caseedits import CaseEditStore
from store.credits import CreditStore
from store.evidence import EvidenceStore
from store.health import HealthStore
from store.marks import MarksStore
from store.outbox import OutboxStore
from store.probes import ProbeStore
from store.windows import WindowStore


class Store(
    OutboxStore,
    ProbeStore,
    EvidenceStore,
    CaseEditStore,
    WindowStore,
    CreditStore,
    HealthStore,
    AgentStateStore,
    MarksStore,
    ABC,
):
    """An open slawatch database, whichever the backend. Open one with
    ``store.open_store(config)``; everything above the store sees only this."""

    async def close(self) -> None:
        await self._db.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def data_version(self) -> int:
        """A number that changes whenever another connection commits, so a poller
        (the dashboard) can skip a refresh when nothing was written."""

    async def checkpoint(self) -> None:
        """Fold whatever the backend keeps on the side back into the database."""

    async def check_file(self) -> None:
        """Raise when what this store writes no longer reaches the database its
        name points at (the SQLite file was removed or replaced); else nothing."""
