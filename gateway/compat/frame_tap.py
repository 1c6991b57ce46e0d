"""The raw bytes of every valid telegram, for the readers that want the wire format (`--serve-p1`, the
HomeWizard `/api/v1/telegram`).

Strategy: `FrameTap` is sans-I/O. It feeds the same chunks the gateway reads into its own
`dsmr_parser.Framer` (same CRC rules, so it accepts exactly the frames the pipeline accepts) and keeps the
stream bytes the framer still holds, so it can hand out each accepted telegram exactly as the meter sent it:
from `/` through the CRC digits, then the CR LF that ends every P1 telegram. Memory stays bounded by the
framer's own bound (`max_frame`). `TappedSource` wraps a `gateway.sources.Source`: the pipeline iterates it
as it would the source, and every chunk goes through the tap first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from dsmr_parser import Frame, Framer

_HEX = frozenset(b"0123456789abcdefABCDEF")
_CRC_DIGITS_MAX = 5


class FrameTap:
    """Bytes in, the exact bytes of each CRC-valid telegram out.

    Args:
        check_crc: as the pipeline's reader (a bad CRC is never passed on).
    """

    def __init__(self, *, check_crc: bool = True) -> None:
        self.framer = Framer(check_crc=check_crc)
        self._tail = bytearray()  # the last stream bytes: always covers what the framer still holds
        self._base = 0  # stream offset of _tail[0]
        self.frames = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes from the port; return the telegrams they complete, each as sent, oldest first."""
        self._tail += chunk
        out: list[bytes] = []
        for event in self.framer.feed(chunk):
            if isinstance(event, Frame):
                out.append(self._telegram_bytes(event))
        keep = self.framer.buffered
        drop = len(self._tail) - keep
        if drop > 0:
            del self._tail[:drop]
            self._base += drop
        self.frames += len(out)
        return out

    def _telegram_bytes(self, frame: Frame) -> bytes:
        start = frame.offset - self._base
        end = start + len(frame.data)  # just after '!'
        tail = self._tail
        limit = min(len(tail), end + _CRC_DIGITS_MAX)
        while end < limit and tail[end] in _HEX:
            end += 1
        return bytes(tail[start:end]) + b"\r\n"


class TappedSource:
    """A `Source` whose chunks also go through a `FrameTap`; each telegram goes to every listener.

    Everything else (spec, status, sim, aclose) is the wrapped source's.
    """

    def __init__(self, source: Any, *, check_crc: bool = True) -> None:
        self._source = source
        self.tap = FrameTap(check_crc=check_crc)
        self.listeners: list[Callable[[bytes], None]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._source:
            for telegram in self.tap.feed(chunk):
                for listener in self.listeners:
                    listener(telegram)
            yield chunk

    async def aclose(self) -> None:
        await self._source.aclose()
