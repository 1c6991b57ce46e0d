"""The journal: top-ups durable before acknowledgement, rebuilt on restart, crash-safe (SIGKILL)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from gateway.store.journal import Journal, JournaledAccount, JournalError
from prepayment import AccountConfig, SupplyState

from .support import D, bru

CHILD = Path(__file__).with_name("journal_child.py")
ROOT = Path(__file__).resolve().parents[2]
CFG = AccountConfig(accounting="immediate")


def _spawn(db: Path, stop: bool) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT), STOP_BEFORE_ACK="1" if stop else "0")
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("READY")
    return proc


def test_restart_rebuilds_the_account_from_the_journal(tmp_path: Path) -> None:
    db = tmp_path / "prepay.db"
    j = JournaledAccount.open(db, CFG, bru(2026, 6, 1, 9))
    j.account.consume(D(10), "day", bru(2026, 6, 1, 10))  # 3.50 EUR, not yet checkpointed
    j.top_up("a", D("5.00"), bru(2026, 6, 1, 11))
    j.account.consume(D(1), "day", bru(2026, 6, 1, 12))  # lost: after the last snapshot
    j.close()
    k = JournaledAccount.open(db, CFG, bru(2030, 1, 1))  # opened_at ignored: journal exists
    assert k.account.balance_eur == D("21.50")
    assert k.account.now == bru(2026, 6, 1, 11)
    assert k.top_up("a", D("5.00"), bru(2026, 6, 1, 13)).duplicate
    k.account.consume(D(2), "day", bru(2026, 6, 1, 14))
    k.checkpoint()
    k.close()
    m = JournaledAccount.open(db, CFG, bru(2030, 1, 1))
    assert m.account.balance_eur == D("20.80")
    m.close()


def test_journaled_top_up_missing_from_snapshot_is_replayed(tmp_path: Path) -> None:
    db = tmp_path / "prepay.db"
    j = JournaledAccount.open(db, CFG, bru(2026, 6, 1, 9))
    j.top_up("a", D("5.00"), bru(2026, 6, 1, 11))
    j.close()
    with sqlite3.connect(db) as con:  # an older snapshot wins (e.g. restored backup of snapshots)
        con.execute("DELETE FROM snapshots WHERE reason = 'top_up'")
    k = JournaledAccount.open(db, CFG, bru(2026, 6, 1, 9))
    assert k.account.balance_eur == D("25.00") and k.account.top_up_ids() == {"a"}
    k.close()


def test_failed_write_rolls_back_and_raises(tmp_path: Path) -> None:
    db = tmp_path / "prepay.db"
    j = JournaledAccount.open(db, CFG, bru(2026, 6, 1, 9))
    j.journal.close()  # the disk goes away
    with pytest.raises(sqlite3.ProgrammingError):
        j.top_up("a", D("5.00"), bru(2026, 6, 1, 11))
    assert j.account.balance_eur == D("20.00") and "a" not in j.account.top_up_ids()


def test_not_a_journal_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(JournalError, match="cannot open the prepayment journal"):
        Journal(bad)
    assert bad.read_bytes() == b"this is not sqlite" * 100  # nothing overwritten


def test_sigkill_between_journal_write_and_ack_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "prepay.db"
    proc = _spawn(db, stop=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("TOPUP tx-1 12.34\n")
    proc.stdin.flush()
    _, status = os.waitpid(proc.pid, os.WUNTRACED)  # the child stopped itself before its ack
    assert os.WIFSTOPPED(status)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.stdout.read() == ""  # no acknowledgement was ever printed
    # the customer's app retries the unacknowledged top-up against the restarted service
    j = JournaledAccount.open(db, CFG, bru(2026, 6, 1, 9))
    assert j.account.balance_eur == D("32.34")  # 20 + 12.34; 0.01 kWh (0.35 cent) is carried
    retry = j.top_up("tx-1", D("12.34"), bru(2026, 6, 1, 10))
    assert retry.duplicate
    assert j.account.ledger.top_ups_cents == 1234
    assert j.account.supply_state is SupplyState.CONNECTED
    j.close()


def test_sigkill_during_a_stream_of_top_ups_keeps_every_acked_one(tmp_path: Path) -> None:
    db = tmp_path / "prepay.db"
    proc = _spawn(db, stop=False)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("".join(f"TOPUP id-{i} 1.{i % 100:02d}\n" for i in range(400)))
    proc.stdin.flush()
    acked = []
    for _ in range(25):
        acked.append(proc.stdout.readline().split()[1])
    os.kill(proc.pid, signal.SIGKILL)  # somewhere inside the next top-ups
    proc.wait()
    j = JournaledAccount.open(db, CFG, bru(2026, 6, 1, 9))
    ids = j.account.top_up_ids()
    assert set(acked) <= ids  # every acknowledged top-up survived
    assert len(ids) < 400  # the kill really interrupted the stream
    expected = sum((Decimal(f"1.{int(i[3:]) % 100:02d}") for i in ids), Decimal(0))
    assert j.account.ledger.top_ups_cents == int(expected * 100)  # each exactly once
    j.close()
