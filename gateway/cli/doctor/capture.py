"""`p1gw doctor`'s serial capture: `listen` reads a port at one setting, `Capture.analyse` judges the bytes
(telegrams, CRC errors, and the telltales of a cable that does not invert the data line) without I/O."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from dsmr_parser import FramingError, Telegram, TelegramReader


@dataclasses.dataclass(frozen=True)
class Setting:
    baudrate: int
    bytesize: int
    parity: str

    def __str__(self) -> str:
        return f"{self.baudrate} {self.bytesize}{self.parity}1"


SETTINGS = (Setting(115200, 8, "N"), Setting(9600, 7, "E"))


@dataclasses.dataclass
class Decoded:
    telegrams: list[Telegram]
    errors: list[FramingError]

    @property
    def bad_crc(self) -> int:
        return sum(e.reason in ("bad_crc", "malformed_crc") for e in self.errors)


def decode(
    data: bytes, tz: str = "Europe/Brussels", *, transform: Callable[[int], int] | None = None
) -> Decoded:
    """Telegrams and framing errors in a capture (a telegram cut by the capture's end is not an error)."""
    if transform is not None:
        data = bytes(transform(b) for b in data)
    telegrams: list[Telegram] = []
    errors: list[FramingError] = []
    for event in TelegramReader(tz).feed(data):
        if isinstance(event, FramingError):
            # A capture joins the stream mid-telegram: the bytes before the first '/' are no error.
            if not (event.reason == "garbage" and not telegrams and not errors and b"/" in data):
                errors.append(event)
        else:
            telegrams.append(event)
    return Decoded(telegrams, errors)


@dataclasses.dataclass
class Capture:
    """What one serial setting yielded: the bytes, the telegrams, and the telltales of a bad line."""

    setting: Setting | None  # None: a socket, whose serial settings live on the remote side
    data: bytes
    decoded: Decoded
    inverted: Decoded  # the same bytes with every bit flipped
    seven_bit: Decoded  # the same bytes with bit 7 cleared (7E1 data read as 8 bits)

    @classmethod
    def analyse(cls, setting: Setting | None, data: bytes, tz: str = "Europe/Brussels") -> Capture:
        seven = setting is not None and setting.bytesize == 7
        decoded = decode(data, tz, transform=(lambda b: b & 0x7F) if seven else None)
        return cls(
            setting=setting,
            data=data,
            decoded=decoded,
            inverted=decode(data, tz, transform=lambda b: ~b & (0x7F if seven else 0xFF)),
            seven_bit=decoded if seven else decode(data, tz, transform=lambda b: b & 0x7F),
        )

    @property
    def valid(self) -> bool:
        return bool(self.decoded.telegrams)

    @property
    def high_bit_ratio(self) -> float:
        return sum(b >= 0x80 for b in self.data) / len(self.data) if self.data else 0.0

    @property
    def nul_ratio(self) -> float:
        """Share of NUL bytes: Linux reports a UART framing error or a break as a NUL."""
        return self.data.count(0) / len(self.data) if self.data else 0.0

    @property
    def has_markers(self) -> bool:
        return b"/" in self.data and b"!" in self.data

    @property
    def looks_inverted(self) -> bool:
        """Telegrams appear once the bits are flipped, or the classic garbage of a non-inverted line."""
        if self.inverted.telegrams:
            return True
        garbage = self.high_bit_ratio > 0.3 or self.nul_ratio > 0.1
        return len(self.data) >= 64 and not self.has_markers and garbage and not self.seven_bit.telegrams


def open_port(port: str, setting: Setting | None) -> Any:
    import serial  # pyserial; imported late so `p1gw doctor --help` stays light

    kwargs: dict[str, Any] = {"timeout": 0.2}
    if setting is not None:
        kwargs.update(baudrate=setting.baudrate, bytesize=setting.bytesize, parity=setting.parity)
    if not port.startswith("socket://"):
        kwargs["exclusive"] = True
    return serial.serial_for_url(port, **kwargs)


def listen(
    port: str, setting: Setting | None, seconds: float, enough: int = 5, tz: str = "Europe/Brussels"
) -> Capture:
    """Read for up to `seconds` (stops early once `enough` valid telegrams came)."""
    data = bytearray()
    reader = TelegramReader(tz)
    good = 0
    deadline = time.monotonic() + seconds
    seven = setting is not None and setting.bytesize == 7
    with open_port(port, setting) as ser:
        if setting is not None:
            ser.reset_input_buffer()  # bytes queued before the settings took effect
        while time.monotonic() < deadline and good < enough:
            chunk = ser.read(4096)
            if not chunk:
                continue
            data += chunk
            if seven:
                chunk = bytes(b & 0x7F for b in chunk)
            good += sum(not isinstance(e, FramingError) for e in reader.feed(chunk))
    return Capture.analyse(setting, bytes(data), tz)
