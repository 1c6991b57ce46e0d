"""Child process for the crash tests: a tiny top-up server over stdin/stdout.

Reads lines `TOPUP <id> <amount>`; for each, calls the journaled top-up, then (if STOP_BEFORE_ACK=1)
stops itself with SIGSTOP *after the call returned and before printing the ack*, so the parent can
SIGKILL it at exactly that point; otherwise prints `ACK <id> <balance>`.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from gateway.store.journal import JournaledAccount
from prepayment import AccountConfig


def main() -> None:
    path = sys.argv[1]
    stop = os.environ.get("STOP_BEFORE_ACK") == "1"
    t0 = datetime(2026, 6, 1, 9, tzinfo=ZoneInfo("Europe/Brussels"))
    jacc = JournaledAccount.open(path, AccountConfig(accounting="immediate"), t0)
    print("READY", jacc.account.balance_eur, flush=True)
    for n, line in enumerate(sys.stdin):
        _, top_up_id, amount = line.split()
        at = max(jacc.account.now, t0 + timedelta(seconds=n))
        jacc.account.consume(Decimal("0.01"), "day", at)
        result = jacc.top_up(top_up_id, Decimal(amount), at)
        if stop:
            os.kill(os.getpid(), signal.SIGSTOP)
        print("ACK", top_up_id, result.balance_eur, flush=True)


if __name__ == "__main__":
    main()
