"""What the store asks of a database (`Backend`), and the backend a URL names (`open_backend`).

A SQLite path (or `sqlite:///path`, or ":memory:") opens `SqliteBackend`; a `postgresql://` URL opens
`PostgresBackend`. Both run the same SQL (`?` parameters) with the same transaction semantics.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from gateway.store.errors import StoreError
from gateway.store.postgres import PostgresBackend, is_postgres_url
from gateway.store.sqlite import SqliteBackend, Synchronous


class Backend(Protocol):
    """A database connection the store, the migration runner and the hub share."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int: ...
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def transaction(self) -> contextlib.AbstractContextManager[None]: ...
    def close(self) -> None: ...


def sqlite_path(url: str) -> str:
    """The file a SQLite URL or path names (`~` expanded); refuses one whose directory does not exist."""
    path = url.removeprefix("sqlite:///").removeprefix("sqlite://")
    if path == ":memory:":
        return path
    parent = Path(path).expanduser().resolve().parent
    if not parent.is_dir():
        raise StoreError(f"directory {parent} does not exist (for database {path})")
    return str(Path(path).expanduser())


def open_backend(url: str | os.PathLike[str], *, synchronous: Synchronous = "FULL") -> Backend:
    """Connect to the database `url` names (`synchronous` is SQLite's, see `gateway.store.sqlite`)."""
    text = os.fspath(url)
    if is_postgres_url(text):
        return PostgresBackend(text)
    path = sqlite_path(text)
    try:
        return SqliteBackend(path, synchronous=synchronous)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable SQLite database: {exc}") from exc
