"""The writes a store refused (a full disk, a lost database server), told as one story per outage."""

from __future__ import annotations

import logging
from typing import Any

from gateway.logs import log


class WriteOutage:
    """The writes a store refused (a full disk, a lost database server), told as one story per outage.

    Every refusal is counted (`errors`, `last_error`); the first one of an outage logs ONE error line, the
    ones after it go to DEBUG; the outage ends at the first write that succeeds once nothing waits for the
    store any more (the caller says how much waits), with one INFO line. `active` turns with those two
    events, not with a timer: health is `ok` again the moment the waiting data is stored.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.errors = 0
        self.last_error: str | None = None
        self._since: float | None = None
        self._refused = 0

    @property
    def active(self) -> bool:
        """True from the first refused write until the waiting data is stored."""
        return self._since is not None

    def refused(self, exc: BaseException, now: float) -> None:
        """A write failed at `now` (monotonic seconds)."""
        self.errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._refused += 1
        if self._since is None:
            self._since, self._refused = now, 1
            log(
                self.logger,
                logging.ERROR,
                "store write failed; closed quarter-hours wait in memory until it accepts writes",
                error=self.last_error,
            )
        else:
            log(self.logger, logging.DEBUG, "store write failed again", error=self.last_error)

    def accepted(self, now: float, *, waiting: int, **fields: Any) -> None:
        """A write succeeded at `now`; `waiting` items still wait for the store (the outage goes on)."""
        if self._since is None or waiting:
            return
        log(
            self.logger,
            logging.INFO,
            "store writes work again",
            outage_s=round(now - self._since, 1),
            refused_writes=self._refused,
            **fields,
        )
        self._since = None
