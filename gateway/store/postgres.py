"""PostgreSQL: the store's backend over psycopg 3 (a hub's database), with the SQLite backend's interface.

The SQL is written once, with SQLite's `?` parameters; this backend turns them into psycopg's `%s`. The
connection is in autocommit mode and `transaction()` opens an explicit one, as on SQLite.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from gateway.store.errors import StoreError
from gateway.urls import redact


def is_postgres_url(url: str) -> bool:
    """True for a `postgresql://` (or `postgres://`) URL, False for anything else (a SQLite path)."""
    return url.startswith(("postgresql://", "postgres://"))


class PostgresBackend:
    """The store's PostgreSQL connection: `?` parameters, explicit transactions."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is a dev dependency
            raise StoreError("PostgreSQL needs psycopg 3: pip install 'psycopg[binary]'") from exc
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            raise StoreError(f"cannot connect to {redact(url)}: {exc}") from exc

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed (-1 when not known)."""
        return self.conn.execute(self._sql(sql), tuple(params)).rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; returns all its rows."""
        return self.conn.execute(self._sql(sql), tuple(params)).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One transaction: committed at the end of the block, rolled back on an exception."""
        with self.conn.transaction():
            yield

    def close(self) -> None:
        self.conn.close()
