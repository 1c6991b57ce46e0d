"""Durable top-ups of a `prepayment.PrepaymentAccount`: the shell's SQLite journal (the pure `prepayment`
package does no I/O).

Strategy: SQLite in WAL mode with `synchronous=FULL`. Why SQLite rather than an fsynced append-only
file: a top-up and the account snapshot that results from it must land together or not at all, and
SQLite gives exactly that (one transaction, committed with an fsync of the WAL before `commit()`
returns), detects and discards a torn last write by itself, enforces top-up id uniqueness with a
PRIMARY KEY, and is in the standard library; a hand-made append-only file would have to re-invent
record framing, checksums and tail truncation to reach the same guarantee. WAL keeps readers (e.g.
the gateway's HTTP view) from blocking the writer.

Ordering guarantee: `JournaledAccount.top_up()` applies the top-up to the in-memory account, then
commits `top_ups` row + snapshot, and only then returns; if the commit fails the in-memory account is
rolled back to its previous snapshot and the error propagates (the caller must not acknowledge).
On open, the account is rebuilt from the latest snapshot, and any journaled top-up missing from it is
re-applied (so the journal, not the snapshot, is the authority for credits). One writer per file.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from gateway.store.sqlite import connect
from prepayment import AccountConfig, PrepaymentAccount, TopUpResult

KEEP_SNAPSHOTS = 100

_SCHEMA = """
CREATE TABLE IF NOT EXISTS top_ups (
    top_up_id TEXT PRIMARY KEY,
    amount_cents INTEGER NOT NULL,
    at TEXT NOT NULL,
    recorded_seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    reason TEXT NOT NULL,
    snapshot TEXT NOT NULL
);
"""


class JournalError(RuntimeError):
    """The journal file cannot be used (not a database, unreadable snapshot...)."""


@dataclass(frozen=True, slots=True)
class JournaledTopUp:
    top_up_id: str
    amount_eur: Decimal
    at: datetime


class Journal:
    """The SQLite file: top-ups and account snapshots."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            # FULL (the default): a top-up is acknowledged only once it is on disk
            self._db = connect(self.path, busy_timeout_s=5.0)
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"{self.path}: cannot open the prepayment journal: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def record(self, account: PrepaymentAccount, reason: str, top_up: JournaledTopUp | None = None) -> None:
        """Commit (durably, fsync) the snapshot of `account`, with its top-up row if any."""
        snap = json.dumps(account.snapshot(), separators=(",", ":"), sort_keys=True)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            cur = db.execute(
                "INSERT INTO snapshots (at, reason, snapshot) VALUES (?, ?, ?)",
                (account.now.isoformat(), reason, snap),
            )
            seq = cur.lastrowid
            if top_up is not None:
                db.execute(
                    "INSERT INTO top_ups (top_up_id, amount_cents, at, recorded_seq) VALUES (?,?,?,?)",
                    (
                        top_up.top_up_id,
                        int(top_up.amount_eur * 100),
                        top_up.at.isoformat(),
                        seq,
                    ),
                )
            if seq is not None and seq > KEEP_SNAPSHOTS:
                db.execute("DELETE FROM snapshots WHERE seq <= ?", (seq - KEEP_SNAPSHOTS,))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    def latest_snapshot(self) -> dict[str, Any] | None:
        row = self._db.execute("SELECT snapshot FROM snapshots ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            return None
        try:
            snap: dict[str, Any] = json.loads(row[0])
        except ValueError as exc:
            raise JournalError(f"{self.path}: unreadable snapshot: {exc}") from exc
        return snap

    def top_ups(self) -> list[JournaledTopUp]:
        """All journaled top-ups, in the order they were recorded."""
        rows = self._db.execute(
            "SELECT top_up_id, amount_cents, at FROM top_ups ORDER BY recorded_seq, rowid"
        ).fetchall()
        return [
            JournaledTopUp(str(i), Decimal(int(c)).scaleb(-2), datetime.fromisoformat(a)) for i, c, a in rows
        ]


class JournaledAccount:
    """A `PrepaymentAccount` whose top-ups are durable before they are acknowledged.

    Use `account` for everything else (consume, advance, press_button...), and `checkpoint()` from
    time to time (e.g. each quarter-hour or daily update) to persist consumption progress.
    """

    def __init__(self, journal: Journal, account: PrepaymentAccount) -> None:
        self.journal = journal
        self.account = account

    @classmethod
    def open(cls, path: str | Path, config: AccountConfig, opened_at: datetime) -> JournaledAccount:
        """Rebuild the account from the journal at `path`, or open a new one (and journal it)."""
        journal = Journal(path)
        snap = journal.latest_snapshot()
        if snap is None:
            account = PrepaymentAccount(config, opened_at)
            journal.record(account, "opened")
            return cls(journal, account)
        try:
            account = PrepaymentAccount.restore(snap)
        except (KeyError, TypeError, ValueError) as exc:
            raise JournalError(f"{journal.path}: snapshot cannot be restored: {exc}") from exc
        self = cls(journal, account)
        known = account.top_up_ids()
        for t in journal.top_ups():
            if t.top_up_id not in known:
                account.top_up(t.top_up_id, t.amount_eur, max(t.at, account.now))
                journal.record(account, f"replayed {t.top_up_id}")
        return self

    def top_up(self, top_up_id: str, amount_eur: Decimal, at: datetime) -> TopUpResult:
        """Credit once per id; returns only after the top-up and its snapshot are on disk."""
        before = self.account.snapshot()
        result = self.account.top_up(top_up_id, amount_eur, at)
        if result.duplicate:
            return result
        try:
            self.journal.record(self.account, "top_up", JournaledTopUp(top_up_id, amount_eur, at))
        except BaseException:
            self.account = PrepaymentAccount.restore(before)
            raise
        return result

    def checkpoint(self, reason: str = "checkpoint") -> None:
        """Persist the current account state (consumption, charges, supply state)."""
        self.journal.record(self.account, reason)

    def close(self) -> None:
        self.journal.close()
