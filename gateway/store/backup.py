"""Backup and restore of a SQLite store (a PostgreSQL database is backed up with pg_dump).

`backup_sqlite` copies an open database with SQLite's online backup API (consistent while the gateway keeps
writing) to a `.partial` file renamed into place when complete. `restore_sqlite` checks a backup (integrity,
our schema) before it overwrites anything, then migrates the restored database.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from gateway.store.errors import StoreError
from gateway.store.schema import apply_migrations
from gateway.store.sqlite import SqliteBackend, connect


def backup_sqlite(source: sqlite3.Connection, target: Path) -> Path:
    """Copy the database of `source` to `target` (replaced only once the copy is complete)."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    dest = connect(partial, wal=False)
    try:
        source.backup(dest)
        # the copied header says WAL (the source's mode): a backup is one self-contained file
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()
    os.replace(partial, target)
    return target


def restore_sqlite(backup: str | os.PathLike[str], db_path: str | os.PathLike[str]) -> tuple[int, int]:
    """Replace the SQLite database at `db_path` by a backup (stop the gateway first), then migrate it.

    The backup is checked first (integrity, our schema), so a wrong file never overwrites the database.
    Returns (schema version of the backup, version after migrating).
    """
    source_path = Path(backup)
    if not source_path.is_file():
        raise StoreError(f"backup {source_path} does not exist")
    source = connect(source_path, read_only=True)
    try:
        try:
            ok = source.execute("PRAGMA integrity_check").fetchone()[0]
            version = source.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            source.execute("SELECT count(*) FROM quarter_hours").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{source_path} is not a p1gw database backup: {exc}") from exc
        if ok != "ok":
            raise StoreError(f"{source_path} is damaged: {ok}")
        dest = SqliteBackend(os.fspath(db_path))
        try:
            source.backup(dest.conn)
            after = apply_migrations(dest)[1]
        finally:
            dest.close()
    finally:
        source.close()
    return int(version or 0), after
