"""SQLite: the one place a p1gw SQLite database is opened (`connect`), and the store's backend over it.

Every PRAGMA is stated once, in `connect`, with its reason. Its users differ only in how much a commit must
survive (`synchronous`) and in whether more than one thread calls the connection (`threads`):

- what must survive a power cut - the store's quarter-hours and checkpoints, the prepayment journal's
  top-ups: `synchronous="FULL"` (the default);
- what is resent or recomputed after one - the community hub's readings, the MQTT outbox queue:
  `synchronous="NORMAL"`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, Literal

Synchronous = Literal["FULL", "NORMAL"]


def connect(
    path: str | os.PathLike[str],
    *,
    synchronous: Synchronous = "FULL",
    busy_timeout_s: float = 30.0,
    threads: bool = False,
    wal: bool = True,
    read_only: bool = False,
) -> sqlite3.Connection:
    """Open (creating) the SQLite database at `path` (or ":memory:") in autocommit mode.

    Autocommit (`isolation_level=None`): the caller says where a transaction starts (`BEGIN IMMEDIATE`)
    instead of the sqlite3 module guessing it before the first write. `threads=True` lets the connection be
    used from the threads `asyncio.to_thread` picks (the caller serialises the calls with a lock).
    `wal=False` keeps the rollback journal (a backup file, read without the gateway). `read_only=True` opens
    an existing file without changing it (no PRAGMA is written: checking a backup before restoring it).
    Raises `sqlite3.DatabaseError` for a file that is not a SQLite database.
    """
    if read_only:
        return sqlite3.connect(f"file:{os.fspath(path)}?mode=ro", uri=True, check_same_thread=not threads)
    conn = sqlite3.connect(
        path,
        isolation_level=None,
        check_same_thread=not threads,
        # wait (instead of failing with "database is locked") while another connection - a second hub
        # worker, `p1gw db backup` next to the running gateway - holds the write lock
        timeout=busy_timeout_s,
    )
    try:
        if wal:
            # readers never block the writer and a commit appends to the log instead of rewriting pages:
            # the HTTP API and the CLI read while the gateway writes, and an SD card wears less
            conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk (fsync) when COMMIT returns - a closed quarter-hour or a top-up is
        # published or acknowledged only after that. NORMAL (in WAL mode): a power cut may lose the last
        # commits but never corrupts the file - enough for data the caller can rebuild or resend.
        conn.execute(f"PRAGMA synchronous={synchronous}")
    except BaseException:
        conn.close()
        raise
    # No `foreign_keys`: no p1gw schema declares a foreign key (rows are joined by meter and time).
    return conn


class SqliteBackend:
    """The store's SQLite connection: `?` parameters, explicit write transactions."""

    dialect = "sqlite"

    def __init__(self, path: str, *, synchronous: Synchronous = "FULL") -> None:
        self.path = path
        self.conn = connect(path, synchronous=synchronous, threads=True)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed (-1 when not known)."""
        return self.conn.execute(sql, tuple(params)).rowcount

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement; returns all its rows."""
        return self.conn.execute(sql, tuple(params)).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction: takes the write lock at its start, so it never fails halfway on a lock."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            # SQLite has already rolled back after some errors (SQLITE_FULL, SQLITE_IOERR): then a ROLLBACK
            # would fail and hide the real error ("database or disk is full") behind its own
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
