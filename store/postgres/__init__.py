"""The shared backend for fleet mode: one PostgreSQL database (``[storage] url``)."""

from store.postgres.backend import PostgresStore

__all__ = ["PostgresStore"]
