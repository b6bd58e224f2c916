"""``slawatch store migrate --to URL``: the whole SQLite store copied into PostgreSQL.

Every table is copied as it is, ids included (the hash chains hash names, not
ids, but cases keep their numbers and links), in one transaction on the
destination: a failure leaves it as empty as it was. The destination must hold
no records yet (a fleet's database is moved into once, before the agents
write to it). Tables are found in the source's own schema, so tables that
later migrations add are copied without a change here.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import SlawatchError
from store.postgres import PostgresStore
from store.sqlite import SqliteStore

BATCH = 5000


@dataclass(frozen=True)
class Copied:
    tables: dict[str, int]  # table -> rows copied

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


async def _source_tables(src: SqliteStore) -> list[tuple[str, list[str]]]:
    """The source's tables with their columns, each after the tables its foreign keys name."""
    names = [
        str(r[0])
        for r in await src._fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' AND name != 'schema_version' ORDER BY name"
        )
    ]
    refers: dict[str, set[str]] = {}
    for name in names:
        refers[name] = {
            str(r[2]) for r in await src._fetchall(f'PRAGMA foreign_key_list("{name}")')
        } - {name}
    ordered: list[str] = []
    while len(ordered) < len(names):  # a table after every table it refers to
        ready = [n for n in names if n not in ordered and refers[n] <= set(ordered)]
        if not ready:  # a cycle: cannot happen in this schema; keep the rest as they are
            ready = [n for n in names if n not in ordered]
        ordered.extend(ready)
    out = []
    for name in ordered:
        columns = [str(r[1]) for r in await src._fetchall(f'PRAGMA table_info("{name}")')]
        out.append((name, columns))
    return out


async def copy_store(src: SqliteStore, dst: PostgresStore) -> Copied:
    """Copy every row of ``src`` into the empty ``dst``; returns the counts."""
    tables = await _source_tables(src)
    for name, _ in tables:
        if not await dst._db.has_table(name):
            raise SlawatchError(dst.where, f"has no table {name}: run `slawatch store init` there")
        if await dst._fetchall(f'SELECT 1 FROM "{name}" LIMIT 1'):
            raise SlawatchError(
                dst.where,
                f"already holds records (table {name}); migrate only into an empty database",
            )
    counts: dict[str, int] = {}
    async with dst._write() as db:
        for name, columns in tables:
            cols = ", ".join(f'"{c}"' for c in columns)
            marks = ", ".join("?" * len(columns))
            insert = f'INSERT INTO "{name}" ({cols}) VALUES ({marks})'
            rows = await src._fetchall(f'SELECT {cols} FROM "{name}"')
            for at in range(0, len(rows), BATCH):
                await db.executemany(insert, rows[at : at + BATCH])
            counts[name] = len(rows)
            if "id" in columns and rows:  # a table numbered by a sequence goes on after
                found = await db.fetchall(f"SELECT pg_get_serial_sequence('\"{name}\"', 'id')")
                if found[0][0] is not None:  # (agent_notices' id is the notice's text)
                    await db.execute(
                        f'SELECT setval(?, (SELECT max(id) FROM "{name}"))', (found[0][0],)
                    )
    return Copied(counts)
