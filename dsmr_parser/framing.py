"""Sans-I/O framing: bytes in (any chunking), telegram frames and framing errors out.

Strategy (as h11's receive buffer): bytes accumulate in one `bytearray`; the framer remembers how far it has
already searched, so a stream costs O(n) even when it arrives one byte at a time, and consumed bytes are
dropped once per `feed`, not once per frame. A telegram starts at a `/` and ends at a `!` at the start of a
line, at most `max_frame` bytes later, followed by its CRC line; inside a telegram, a `/` at the start of a
line starts anew (the earlier one was truncated). Everything else is reported, never silently eaten:

- `garbage`: non-whitespace bytes before a `/` (reported in pieces of at most `max_frame` bytes);
- `truncated`: a new `/` line before the `!` (the earlier telegram is dropped, the new one is kept);
- `too_long`: no `!` within `max_frame` bytes of a `/` (memory stays bounded on endless input);
- `bad_crc`, `malformed_crc`, `missing_crc` (DSMR 4+/e-MUCS must carry one): a `CrcError`.

Each is a `FramingError` (dsmr_parser.errors) returned in stream order among the frames, never raised.

The promise: every valid frame in the stream is found, whatever precedes it, and any chunking of the same
bytes gives the same frames and the same errors. Every decision depends on stream positions only, never on
where a chunk ended: a frame's end is looked for within `max_frame` bytes of its `/` (a `/` whose window holds
no `!` is `too_long` and the next `/` after it is tried, so a telegram glued after a long run of junk is still
found); a CRC line is judged once its line break has arrived; garbage is cut at fixed offsets. When the CRC
does not match, or matches for a `/` in the middle of noise, every later `/` before the `!` is tried as the
start (noise glued before a telegram) and the latest that matches is kept: the CRC of each suffix comes
from the whole frame's CRC and the CRC of the prefix before it (CRC-16/ARC is linear, `_crc_shift`), so
trying them all costs O(frame), not O(frame x candidates).

A frame with no CRC digits is accepted as `crc="absent"` only when it is not a DSMR 4+/e-MUCS telegram
(DSMR 2.2/3 have no CRC). A 3-digit CRC (unpadded, sent by some meters) is accepted. CRC checking can be
switched off (`check_crc=False`) for known-bad sources such as the DSMR 5.0.2 spec's own example.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from .crc import crc16
from .errors import CrcError, FramingError
from .values import CrcStatus

DEFAULT_MAX_FRAME = 16 * 1024
_CRC_DIGITS = re.compile(rb"[0-9A-Fa-f]{0,5}")
_LINE_BREAKS = b"\r\n"
_NEEDS_CRC = re.compile(rb"\n(?:0-0:96\.1\.4\(|1-3:0\.2\.8\((?:[4-9]\d))")


_SHIFT_TABLES: list[tuple[list[int], list[int]]] = []


def _crc_shift(crc: int, length: int) -> int:
    """The CRC-16/ARC register `crc` after `length` zero bytes, i.e. crc16(bytes(length), crc), in
    O(log length): per set bit j of `length`, the linear map of 2**j zero bytes, as two 256-entry tables."""
    if not _SHIFT_TABLES:
        columns = [crc16(b"\0", 1 << bit) for bit in range(16)]  # one zero byte, per register bit
        for _ in range(32):
            tables = ([0] * 256, [0] * 256)
            for byte in range(256):
                low = high = 0
                for bit in range(8):
                    if byte >> bit & 1:
                        low ^= columns[bit]
                        high ^= columns[bit + 8]
                tables[0][byte], tables[1][byte] = low, high
            _SHIFT_TABLES.append(tables)
            columns = [tables[0][c & 0xFF] ^ tables[1][c >> 8] for c in columns]  # the map applied twice
    level = 0
    while length:
        if length & 1:
            by_low, by_high = _SHIFT_TABLES[level]
            crc = by_low[crc & 0xFF] ^ by_high[crc >> 8]
        length >>= 1
        level += 1
    return crc


def _hex_or_none(digits: bytearray) -> int | None:
    try:
        return int(digits, 16)
    except ValueError:
        return None


class Frame(NamedTuple):
    """A complete telegram: bytes from `/` to `!` inclusive, where it started, and its CRC status."""

    data: bytes
    offset: int
    crc: CrcStatus


class Framer:
    """Cuts a P1 byte stream into telegram frames.

    Args:
        max_frame: the longest frame accepted, in bytes (e-MUCS telegrams are about 1 kB).
        check_crc: verify CRC-16/ARC; a mismatch is an error, never data.
    """

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME, *, check_crc: bool = True) -> None:
        self.max_frame = max_frame
        self.check_crc = check_crc
        self._buf = bytearray()
        self._base = 0  # stream offset of _buf[0]
        self._start = -1  # index of the current frame's '/', or -1 when hunting for one
        self._scan = 0  # where the next search resumes
        self._quiet = False  # the current '/' lies in the window of a '/' already reported too_long
        self._plausible = False  # the current '/' starts a line (or follows a frame): a telegram's place

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a frame (bounded by `max_frame` + a CRC line)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | FramingError]:
        """Add bytes; return the frames and errors they complete, in stream order."""
        buf = self._buf
        buf += data
        events: list[Frame | FramingError] = []
        pos = 0
        base = self._base
        check_crc = self.check_crc
        while True:
            if self._start < 0:
                # fast path, the usual case: a whole telegram next (after at most the previous CRC line's
                # line break), '!' at a line start, no other '/' inside, 4 CRC digits and CR LF; anything
                # else (or CRC checking off) takes the general path below
                slash = buf.find(b"/", pos) if check_crc else -1
                if 0 <= slash - pos <= 2 and (slash == pos or not buf[pos:slash].strip()):
                    bang = buf.find(b"!", slash)
                    if (
                        bang > 0
                        and buf[bang - 1] in _LINE_BREAKS
                        and buf[bang + 5 : bang + 7] == b"\r\n"
                        and bang - slash <= self.max_frame
                        and buf.find(b"/", slash + 1, bang) < 0
                    ):
                        digits = buf[bang + 1 : bang + 5]
                        frame = bytes(buf[slash : bang + 1])
                        if digits.isalnum() and _hex_or_none(digits) == crc16(frame):
                            events.append(tuple.__new__(Frame, (frame, base + slash, "ok")))
                            pos = bang + 5
                            continue
                pos = self._hunt(pos, events)
                if self._start < 0:
                    break
            consumed = self._frame_end(events)
            if consumed is None:
                break
            pos = consumed
        self._compact(pos)
        return events

    def close(self) -> list[Frame | FramingError]:
        """End of stream: finish a last frame whose CRC line had no line break; report leftovers."""
        events = self.feed(b"\n") if self._start >= 0 else []
        if self._start >= 0:
            events.append(
                FramingError(self._base + self._start, "truncated", "stream ended inside a telegram")
            )
        elif self._buf.strip():
            events.append(FramingError(self._base, "garbage", f"{len(self._buf.strip())} bytes"))
        self._base += len(self._buf)
        self._buf.clear()
        self._start = -1
        self._scan = 0
        self._quiet = False
        self._plausible = False
        return events

    # -- internals -----------------------------------------------------------------------------------

    def _hunt(self, pos: int, events: list[Frame | FramingError]) -> int:
        """Find the next '/' from `pos` (any '/': noise may precede a telegram without a line break);
        the bytes before it are garbage, cut at every `max_frame` bytes from `pos`."""
        buf, limit = self._buf, self.max_frame
        slash = buf.find(b"/", max(pos, self._scan))
        end = len(buf) if slash < 0 else slash
        while end - pos >= limit:
            self._report_garbage(pos, pos + limit, events)  # endless garbage: memory stays bounded
            pos += limit
        if slash < 0:
            self._scan = len(buf)
            return pos
        self._report_garbage(pos, slash, events)
        self._start = slash
        self._scan = slash + 1
        self._quiet = False
        self._plausible = slash == pos or (slash > 0 and buf[slash - 1] in _LINE_BREAKS)
        return slash

    def _report_garbage(self, begin: int, end: int, events: list[Frame | FramingError]) -> None:
        if end - begin <= 2 and not self._buf[begin:end].strip():
            return  # the line break after a CRC line: the usual case, not garbage
        junk = bytes(self._buf[begin:end])
        if junk.strip():
            events.append(FramingError(self._base + begin, "garbage", f"{len(junk)} bytes: {junk[:32]!r}"))

    def _frame_end(self, events: list[Frame | FramingError]) -> int | None:
        """Complete the frame at `_start` if its end has arrived; return the index after it."""
        buf, start = self._buf, self._start
        window = start + self.max_frame + 1  # its '!' must come before this index
        limit = min(len(buf), window)
        search = max(self._scan, start + 1)
        while True:
            bang = buf.find(b"!", search, limit)
            before = bang if bang >= 0 else limit
            slash = buf.find(b"/", search, before)
            while slash >= 0 and buf[slash - 1] not in _LINE_BREAKS:
                slash = buf.find(b"/", slash + 1, before)
            if slash >= 0:
                events.append(
                    FramingError(
                        self._base + start,
                        "truncated",
                        f"new telegram at offset {self._base + slash} before '!'",
                    )
                )
                self._start = slash
                self._scan = slash + 1
                self._quiet = False
                self._plausible = True
                return slash
            if bang < 0:
                self._scan = limit
                if limit == window:
                    return self._too_long(start, window, events)
                return None
            if buf[bang - 1] in _LINE_BREAKS:
                break
            search = bang + 1
        # the CRC line: up to 4 hex digits, then a line break (or a glued '/')
        end = _CRC_DIGITS.match(buf, bang + 1).end()  # type: ignore[union-attr]  # {0,5} always matches
        if end == len(buf):
            self._scan = bang  # wait for the rest of the CRC line
            return None
        terminator = buf[end]
        frame = bytes(buf[start : bang + 1])
        digits = bytes(buf[bang + 1 : end])
        offset = self._base + start
        if terminator not in b"\r\n/":
            # the rest of the CRC line (up to a line break or a glued '/') belongs to this error, not to
            # the garbage count: wait for it
            line_end = end
            while line_end < len(buf) and line_end - bang < 64 and buf[line_end] not in b"\r\n/":
                line_end += 1
            if line_end == len(buf) and line_end - bang < 64:
                self._scan = bang
                return None
            bad = bytes(buf[bang:line_end])
            events.append(CrcError(offset, "malformed_crc", f"CRC line {bad!r}"))
            self._start = -1
            self._scan = line_end
            return line_end
        self._start = -1
        self._scan = end
        if self.check_crc and len(digits) >= 3 and crc16(frame) == int(digits, 16):
            if self._plausible or buf.find(b"/", start + 1, bang) < 0:
                events.append(tuple.__new__(Frame, (frame, offset, "ok")))  # the usual case, inline
                return end
            # a '/' inside junk whose frame matched (1 in 65,536): a later '/' that matches too is likelier
            # the telegram's
            events.append(self._salvage(start, bang, int(digits, 16), Frame(frame, offset, "ok"), events))
            return end
        checked = self._checked(frame, digits, offset)
        if isinstance(checked, CrcError) and checked.reason == "bad_crc":
            checked = self._salvage(start, bang, int(digits, 16), checked, events)
        events.append(checked)
        return end

    def _too_long(self, start: int, window: int, events: list[Frame | FramingError]) -> int:
        """No '!' within `max_frame` bytes of the '/' at `start`: report it (once for a run of such '/'s)
        and try the next '/' after it, or hunt on after its window."""
        if not self._quiet:
            events.append(
                FramingError(self._base + start, "too_long", f"no '!' within {self.max_frame} bytes")
            )
        following = self._buf.find(b"/", start + 1, window)
        self._scan = window  # no line-start '!' or '/' before it: what the search learned stays true
        if following < 0:
            self._start = -1
            self._quiet = False
            return window
        self._start = following
        self._quiet = True
        self._plausible = False
        return following

    def _salvage(
        self,
        start: int,
        bang: int,
        stated: int,
        otherwise: Frame | FramingError,
        events: list[Frame | FramingError],
    ) -> Frame | FramingError:
        """Noise with a '/' may be glued before a good telegram: try every later '/' as the start and keep
        the latest that matches (a chance match, 1 in 65,536 per '/', is likelier early in the noise than
        inside a telegram, which has no '/'). The CRC of a suffix is the whole frame's CRC xor the prefix's
        CRC moved past the suffix's length (linearity): O(log n) per '/' beyond one pass over the frame."""
        buf = self._buf
        candidate = buf.find(b"/", start + 1, bang)
        if candidate < 0:
            return otherwise
        whole = crc16(bytes(buf[start : bang + 1]))
        prefix, done, found = 0, start, -1
        while candidate >= 0:
            prefix = crc16(bytes(buf[done:candidate]), prefix)
            done = candidate
            if whole ^ _crc_shift(prefix, bang + 1 - candidate) == stated:
                found = candidate
            candidate = buf.find(b"/", candidate + 1, bang)
        if found < 0:
            return otherwise
        self._report_garbage(start, found, events)
        return Frame(bytes(buf[found : bang + 1]), self._base + found, "ok")

    def _checked(self, frame: bytes, digits: bytes, offset: int) -> Frame | FramingError:
        if not digits:
            if _NEEDS_CRC.search(frame):
                return CrcError(offset, "missing_crc", "a DSMR 4+/e-MUCS telegram needs a CRC")
            return Frame(frame, offset, "absent")
        if len(digits) < 3:
            return CrcError(offset, "malformed_crc", f"CRC {digits.decode()!r} is too short")
        if self.check_crc:
            computed = crc16(frame)
            if computed != int(digits, 16):
                return CrcError(offset, "bad_crc", f"stated {digits.decode()}, computed {computed:04X}")
        return Frame(frame, offset, "ok")

    def _compact(self, pos: int) -> None:
        """Drop consumed bytes once per feed (keeps feed O(n) for big chunks)."""
        if self._start >= 0:
            pos = self._start
        if pos <= 0:
            return
        del self._buf[:pos]
        self._base += pos
        self._scan = max(0, self._scan - pos)
        if self._start >= 0:
            self._start -= pos
