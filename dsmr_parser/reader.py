"""`TelegramReader`: the framer and the parser joined — feed bytes, get telegrams and errors (sans-I/O)."""

from __future__ import annotations

from .errors import FramingError
from .framing import DEFAULT_MAX_FRAME, Frame, Framer
from .parser import TelegramParser
from .timestamps import DEFAULT_TZ
from .values import Telegram


class TelegramReader:
    """Turns a P1 byte stream into `Telegram`s and `FramingError`s, in stream order.

    Args:
        tz: the zone that gives the meter's S/W flags their offsets (Europe/Brussels by default).
        max_frame: bound on one frame's size in bytes; memory stays bounded on endless garbage.
        check_crc: verify CRC-16/ARC (a bad CRC is an error, never data).

    Example:
        reader = TelegramReader()
        for event in reader.feed(chunk):
            if isinstance(event, FramingError): log(event)
            else: publish(event)
    """

    def __init__(
        self, tz: str = DEFAULT_TZ, *, max_frame: int = DEFAULT_MAX_FRAME, check_crc: bool = True
    ) -> None:
        self.framer = Framer(max_frame, check_crc=check_crc)
        self._parse = TelegramParser(tz).parse  # its own: it remembers this stream's previous telegram
        self.telegrams = 0
        self.errors = 0

    def feed(self, data: bytes) -> list[Telegram | FramingError]:
        """Add bytes from the port; return what they complete."""
        return self._convert(self.framer.feed(data))

    def close(self) -> list[Telegram | FramingError]:
        """End of stream: flush a last telegram without a final line break, report leftovers."""
        return self._convert(self.framer.close())

    def _convert(self, events: list[Frame | FramingError]) -> list[Telegram | FramingError]:
        out: list[Telegram | FramingError] = []
        parse = self._parse
        for event in events:
            if isinstance(event, Frame):
                out.append(parse(event.data, event.crc))
                self.telegrams += 1
            else:
                out.append(event)
                self.errors += 1
        return out
