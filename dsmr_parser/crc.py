"""CRC-16/ARC (poly 0x8005 reflected, init 0, no final xor) over `/` .. `!` inclusive, as P1 requires."""

from __future__ import annotations

from typing import Protocol

import crcmod


class _Crc(Protocol):
    def __call__(self, data: bytes, crc: int = 0, /) -> int: ...


crc16: _Crc = crcmod.mkCrcFun(0x18005, initCrc=0x0000, rev=True, xorOut=0x0000)
"""CRC-16/ARC of a byte string (C implementation from crcmod-plus); `crc16(more, crc16(data))` continues
a register, as `crc16(data + more)`."""


def crc_text(frame: bytes) -> str:
    """The 4 upper-case hex digits a meter prints after `!` for this frame."""
    return f"{crc16(frame):04X}"
