"""The `from`/`to` query parameters: ISO dates or datetimes to a checked [start, end) range.

Strategy: a parameter must first match `ISO_PATTERN` (also published in the OpenAPI schema), then name an
instant: a date is a whole local day (its midnight; the next midnight for `to`), a datetime without an
offset is local time, an unencoded `+` (a space) is put back. Anything that names no instant (2026-02-30,
`from` after `to`, a range over `MAX_RANGE`, a year Python cannot convert) raises HTTPException 422 with a
sentence naming the parameter.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Query

MAX_RANGE = timedelta(days=400)
# The forms `from`/`to` accept: a date, or a datetime with an optional offset (` ` for an unencoded `+`).
_YEAR = r"(?:[1-9][0-9]{3}|0[1-9][0-9]{2}|00[1-9][0-9]|000[1-9])"
_DATE = _YEAR + r"-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])"
_OFFSET = r"(?:Z|[+ -](?:[01][0-9]|2[0-3]):?[0-5][0-9])"
ISO_PATTERN = rf"^{_DATE}(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{{1,6}})?)?{_OFFSET}?)?$"
_ISO = re.compile(ISO_PATTERN)

FROM_QUERY = Query(
    alias="from",
    description="ISO date (a whole local day) or datetime (local time without an offset)",
    json_schema_extra={"pattern": ISO_PATTERN},
)
TO_QUERY = Query(
    alias="to",
    description="ISO date (inclusive day) or datetime (exclusive)",
    json_schema_extra={"pattern": ISO_PATTERN},
)


def parse_instant(text: str, name: str, tz: ZoneInfo, *, is_end: bool) -> datetime:
    """An ISO date (a whole local day: its midnight, or the next midnight for `to`) or an ISO datetime
    (local time when it has no offset), of the forms in `ISO_PATTERN`. Raises HTTPException 422 with a
    sentence naming the parameter."""
    text = text.strip()
    problem = "is not an ISO 8601 date (2026-11-22) or datetime (2026-11-22T14:00:00+01:00)"
    if _ISO.match(text) is None:
        raise HTTPException(422, f"query parameter {name!r}: {text!r} {problem}")
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return _local_midnight(day + timedelta(days=1) if is_end else day, tz)
        parsed = datetime.fromisoformat(_plus_restored(text))
    except ValueError as exc:
        raise HTTPException(
            422, f"query parameter {name!r}: {text!r} is not a calendar date ({exc})"
        ) from exc
    except OverflowError as exc:
        raise HTTPException(422, _out_of_range(name, text)) from exc
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


def parse_range(
    start_text: str | None, end_text: str | None, tz: ZoneInfo, now: datetime
) -> tuple[datetime, datetime]:
    """[start, end) from the `from`/`to` query parameters; both missing = today (local)."""
    start = parse_instant(start_text, "from", tz, is_end=False) if start_text is not None else None
    end = parse_instant(end_text, "to", tz, is_end=True) if end_text is not None else None
    try:
        if start is None and end is None:
            start = _local_midnight(now.astimezone(tz).date(), tz)
        if end is None:
            assert start is not None
            end = _local_midnight(start.astimezone(tz).date() + timedelta(days=1), tz)
        if start is None:
            start = _local_midnight((end - timedelta(microseconds=1)).astimezone(tz).date(), tz)
        for instant in (start, end):  # both must be instants Python can convert (UTC and local)
            instant.astimezone(UTC), instant.astimezone(tz)
    except OverflowError as exc:
        name, text = ("from", start_text) if start_text else ("to", end_text or "")
        raise HTTPException(422, _out_of_range(name, text)) from exc
    if start > end or (start == end and start_text and end_text and len(end_text.strip()) <= 10):
        raise HTTPException(
            422,
            f"'from' ({start_text or start.isoformat()}) is after 'to' ({end_text or end.isoformat()}): "
            "swap them",
        )
    if end - start > MAX_RANGE:
        raise HTTPException(
            422, f"the range {start.isoformat()} .. {end.isoformat()} is longer than {MAX_RANGE.days} days"
        )
    return start, end


def _out_of_range(name: str, text: str) -> str:
    return f"query parameter {name!r}: {text!r} is out of range (years 0001 to 9999, a day inside them)"


def _plus_restored(text: str) -> str:
    """`+01:00` arrives as ` 01:00` when a client forgets to URL-encode the plus sign."""
    return re.sub(r" (\d\d:?\d\d)$", r"+\1", text)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)
