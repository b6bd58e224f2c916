"""The embedded backend: one SQLite file (the default, ``[storage] path``)."""

from store.sqlite.backend import DatabaseReplaced, SqliteStore

__all__ = ["DatabaseReplaced", "SqliteStore"]
