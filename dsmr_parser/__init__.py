"""P1 telegram parsing: framing, CRC-16, the OBIS registry, values and the builder. Pure, no I/O.

from dsmr_parser import TelegramReader, TelegramError
reader = TelegramReader()                 # Europe/Brussels gives S/W their offsets
for event in reader.feed(chunk):           # any chunking; O(n); bounded memory
    if isinstance(event, TelegramError): event.offset, event.reason  # a FramingError, never raised
    else: event.values["1-0:1.8.1"].value  # Decimal('1234.567'), unit 'kWh'
telegram_json(event)                       # the telegram JSON, the meter's digits kept
parse_telegram(data)                       # one telegram; raises TelegramError (a ValueError) otherwise

Errors are one family (dsmr_parser.errors): `TelegramError` > `FramingError` > `CrcError`, and `ParseError`;
`reason` is one of `REASONS`.
"""

from .builder import build_telegram
from .crc import crc16
from .errors import (
    REASONS,
    CrcError,
    FramingError,
    ParseError,
    TelegramError,
    TelegramErrorReason,
)
from .framing import Frame, Framer
from .jsontext import TelegramEncoder, telegram_dict, telegram_json, value_json, value_to_json
from .parser import TelegramParser, parse_telegram
from .reader import TelegramReader
from .registry import REGISTRY, TARIFF_LABELS, ObisObject, StateValue, lookup, state_values
from .timestamps import MeterClock, meter_clock
from .values import MonthlyPeak, PowerFailure, Raw, Telegram, Value

__all__ = [
    "REASONS",
    "REGISTRY",
    "TARIFF_LABELS",
    "CrcError",
    "Frame",
    "Framer",
    "FramingError",
    "MeterClock",
    "MonthlyPeak",
    "ObisObject",
    "ParseError",
    "PowerFailure",
    "Raw",
    "StateValue",
    "Telegram",
    "TelegramEncoder",
    "TelegramError",
    "TelegramErrorReason",
    "TelegramParser",
    "TelegramReader",
    "Value",
    "build_telegram",
    "crc16",
    "lookup",
    "meter_clock",
    "parse_telegram",
    "state_values",
    "telegram_dict",
    "telegram_json",
    "value_json",
    "value_to_json",
]
