"""The parser's one error family: `TelegramError(ValueError)` with a stream `offset` and a closed `reason`.

    TelegramError            a ValueError: `except ValueError` keeps catching what it always caught
    ├── FramingError         bytes that did not make a telegram (`Framer`/`TelegramReader` return these
    │   └── CrcError         as events, in stream order; `parse_telegram` raises them)
    └── ParseError           `parse_telegram`/`TelegramParser.parse` given something that is no telegram

`reason` is one of `REASONS` (`TelegramErrorReason`), so callers can `match` it; `detail` is free text for
people. Errors compare equal when their class and fields are equal (two runs over the same bytes give the
same errors, as the framer promises).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, get_args

FramingReason = Literal["garbage", "truncated", "too_long"]
CrcReason = Literal["bad_crc", "malformed_crc", "missing_crc"]
ParseReason = Literal["not_a_telegram", "no_telegram", "several_telegrams"]
TelegramErrorReason = Literal[FramingReason, CrcReason, ParseReason]

REASONS: frozenset[str] = frozenset(get_args(FramingReason) + get_args(CrcReason) + get_args(ParseReason))
"""Every reason an error of this family can carry."""


class TelegramError(ValueError):
    """A telegram that could not be had: where in the stream (`offset`), why (`reason`), and a `detail`."""

    offset: int
    reason: TelegramErrorReason
    detail: str

    def __init__(self, offset: int, reason: TelegramErrorReason, detail: str = "") -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown telegram error reason {reason!r}")
        # BaseException.__new__ has kept the arguments as `args` (what pickling rebuilds the error from)
        self.offset = offset
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        label = self.reason.replace("_", " ").replace("crc", "CRC")
        return (
            f"{label}: {self.detail} (offset {self.offset})"
            if self.detail
            else f"{label} (offset {self.offset})"
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.offset!r}, {self.reason!r}, {self.detail!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TelegramError):
            return NotImplemented
        return type(self) is type(other) and (self.offset, self.reason, self.detail) == (
            other.offset,
            other.reason,
            other.detail,
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.offset, self.reason, self.detail))


class FramingError(TelegramError):
    """Bytes that did not make a valid telegram (`garbage`, `truncated`, `too_long`, or a CRC reason)."""

    reason: FramingReason | CrcReason

    if TYPE_CHECKING:  # the narrower reasons for type checkers; at run time the base's __init__, one call

        def __init__(self, offset: int, reason: FramingReason | CrcReason, detail: str = "") -> None: ...


class CrcError(FramingError):
    """A frame whose CRC line is wrong (`bad_crc`), unreadable (`malformed_crc`) or missing where DSMR 4+
    and e-MUCS require one (`missing_crc`): never data."""

    reason: CrcReason

    if TYPE_CHECKING:  # the narrower reasons for type checkers; at run time the base's __init__, one call

        def __init__(self, offset: int, reason: CrcReason, detail: str = "") -> None: ...


class ParseError(TelegramError):
    """Input handed to the parser that is no single telegram: `not_a_telegram` (no leading `/`),
    `no_telegram` or `several_telegrams` (`parse_telegram` wants exactly one)."""

    reason: ParseReason

    if TYPE_CHECKING:  # the narrower reasons for type checkers; at run time the base's __init__, one call

        def __init__(self, offset: int, reason: ParseReason, detail: str = "") -> None: ...
