"""Structured logging: one `key=value` line (text) or one JSON object (json) per record, and burst damping.

Records carry their fields in `extra={"fields": {...}}`; the text format prints them as `key=value` after
the message (grep-able in journald), the json format merges them into the object (Loki, jq). A meter that
sends a bad telegram every second must not write a log line every second: `BurstLog` logs the first error
of a burst, counts the rest silently, and logs one summary when the burst ends (`quiet_s` seconds without
errors, noticed at the next good telegram or error).
"""

from __future__ import annotations

import json
import logging
import sys
from collections import Counter
from datetime import UTC, datetime
from typing import Any, TextIO

LOGGER_NAME = "p1gw"


def get_logger(name: str = "") -> logging.Logger:
    """`p1gw` or a child of it (`p1gw.source`)."""
    return logging.getLogger(f"{LOGGER_NAME}.{name}" if name else LOGGER_NAME)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = getattr(record, "fields", None)
    return fields if isinstance(fields, dict) else {}


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if (not text or any(c in text for c in ' "=\n')) else text


class TextFormatter(logging.Formatter):
    """`2026-11-22T14:03:05.123+00:00 WARNING p1gw.source source lost spec=socket://x:1 retry_s=2`"""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        parts = [stamp, record.levelname, record.name, record.getMessage()]
        parts += [f"{key}={_text(value)}" for key, value in _fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """`{"ts": ..., "level": "warning", "logger": "p1gw.source", "msg": "source lost", "spec": ...}`"""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        out.update(_fields(record))
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)


def setup_logging(level: str = "info", fmt: str = "text", stream: TextIO | None = None) -> None:
    """Route the `p1gw` loggers to `stream` (stderr) in the chosen format; idempotent."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        if getattr(handler, "_p1gw", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler._p1gw = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level.upper())
    logger.propagate = False


def log(logger: logging.Logger, level: int, msg: str, **fields: Any) -> None:
    """`log(logger, logging.WARNING, "source lost", spec=..., retry_s=2.0)`"""
    logger.log(level, msg, extra={"fields": fields})


class BurstLog:
    """Logs the first error of a burst, then one summary when it ends; counts everything.

    Args:
        logger: where to log.
        what: the noun in the messages ("framing error").
        quiet_s: errors this far apart (in the caller's clock, seconds) belong to different bursts.
    """

    def __init__(self, logger: logging.Logger, what: str, quiet_s: float = 60.0) -> None:
        self.logger = logger
        self.what = what
        self.quiet_s = quiet_s
        self.burst: Counter[str] = Counter()
        self.burst_start = 0.0
        self.last_error = 0.0

    def error(self, reason: str, now: float, **fields: Any) -> None:
        """Count one error; log it if it opens a burst."""
        if self.burst and now - self.last_error > self.quiet_s:
            self.end(now)
        if not self.burst:
            self.burst_start = now
            log(self.logger, logging.WARNING, f"{self.what}: {reason}", reason=reason, **fields)
        self.burst[reason] += 1
        self.last_error = now

    def ok(self, now: float) -> None:
        """Good data arrived: close the burst if it has been quiet for `quiet_s` (logs its summary)."""
        if self.burst and now - self.last_error > self.quiet_s:
            self.end(now)

    def end(self, now: float) -> None:
        total = sum(self.burst.values())
        if total > 1:
            log(
                self.logger,
                logging.WARNING,
                f"{self.what} burst ended",
                errors=total,
                duration_s=round(self.last_error - self.burst_start, 1),
                **{f"reason_{reason}": count for reason, count in sorted(self.burst.items())},
            )
        self.burst.clear()
