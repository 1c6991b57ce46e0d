"""CRC-16/ARC (poly 0x8005 reflected, init 0, no final xor) over `/` .. `!` inclusive, as P1 requires."""

from __future__ import annotations

from collections.abc import Callable

import crcmod

crc16: Callable[[bytes], int] = crcmod.mkCrcFun(0x18005, initCrc=0x0000, rev=True, xorOut=0x0000)
"""CRC-16/ARC of a byte string (C implementation from crcmod-plus)."""


def crc_text(frame: bytes) -> str:
    """The 4 upper-case hex digits a meter prints after `!` for this frame."""
    return f"{crc16(frame):04X}"
