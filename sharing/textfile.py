"""Checking an input file's bytes before any CSV reader sees them, with file:line:column errors.

Strategy: the file is read in chunks of ``CHUNK_BYTES`` cut at their last newline, so no more than one
chunk plus one (bounded) line is ever in memory. Each chunk is checked with NumPy: no NUL byte (a
binary file), no line longer than ``MAX_LINE_BYTES`` (which also bounds every field), an even number
of ``"`` on every line (a quoted field never runs on to the next line, so a CSV row is exactly one
line and line numbers stay exact). The text encoding is decided by the first chunk holding a non-ASCII
byte: UTF-8 if it decodes as such, else Windows-1252 (the superset of Latin-1 that spreadsheets on
Windows write); a later byte that does not fit the decided encoding is an error. Blank lines are
recorded so that a reader skipping them can still map a data row to its line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

MAX_LINE_BYTES = 4096
CHUNK_BYTES = 8 << 20
UTF8_BOM = b"\xef\xbb\xbf"
_NUL, _LF, _CR, _QUOTE = 0, 10, 13, 34
_QUOTE_BYTE = b'"'


class InputError(ValueError):
    """Bad input; the message names the file and, where there is one, the line and column."""


def where(path: Path | str, line: int | None = None, column: int | None = None) -> str:
    """``path``, ``path:line`` or ``path:line:column``."""
    text = str(path)
    if line is not None:
        text += f":{line}"
        if column is not None:
            text += f":{column}"
    return text


@dataclass(frozen=True)
class TextInfo:
    """What :func:`scan` learnt: the encoding to decode with, bytes to skip (a BOM), the number of
    lines and the 1-based numbers of the blank ones."""

    path: Path
    encoding: str
    skip: int
    lines: int
    blank_lines: npt.NDArray[np.int64]

    def line_of_row(self, rows: npt.NDArray[np.int64], header_lines: int = 1) -> npt.NDArray[np.int64]:
        """Line numbers of 0-based data rows, for a reader that skips blank lines."""
        lines = rows.astype(np.int64) + header_lines + 1
        for blank in self.blank_lines.tolist():  # few; usually none
            lines = lines + (lines >= blank)
        return lines


def _fail(path: Path, line: int, column: int, message: str) -> InputError:
    return InputError(f"{where(path, line, column)}: {message}")


def _check_chunk(path: Path, data: bytes, first_line: int) -> tuple[int, list[int]]:
    """Check whole lines in ``data`` (which ends at a line end or EOF); returns (lines, blanks)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(arr == _LF)
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [arr.size]))
    if ends[-1] == starts[-1]:  # the chunk ends with a newline: no last partial line
        starts, ends = starts[:-1], ends[:-1]
    nul = np.flatnonzero(arr == _NUL) if b"\x00" in data else np.zeros(0, np.int64)
    if nul.size:
        line = int(np.searchsorted(newlines, nul[0]))
        raise _fail(path, first_line + line, int(nul[0] - starts[line]) + 1,
                    "NUL byte: this is a binary file, not a CSV text export (save it as CSV)")  # fmt: skip
    lengths = ends - starts
    too_long = np.flatnonzero(lengths > MAX_LINE_BYTES)
    if too_long.size:
        line = int(too_long[0])
        raise _fail(path, first_line + line, MAX_LINE_BYTES + 1,
                    f"line longer than {MAX_LINE_BYTES} bytes: not a quarter-hour CSV, or a broken "
                    "export (check the file)")  # fmt: skip
    if _QUOTE_BYTE in data:  # most data files have no quote at all
        quote_at = np.flatnonzero(arr == _QUOTE)
        quote_line = np.searchsorted(newlines, quote_at)  # line index of each quote
        odd = np.flatnonzero(np.bincount(quote_line, minlength=starts.size) % 2)
        if odd.size:
            line = int(odd[0])
            column = int(quote_at[quote_line == line][-1] - starts[line]) + 1
            message = 'unbalanced quote: a field opened with " must be closed on the same line'
            raise _fail(path, first_line + line, column, message)
    has_cr = (lengths > 0) & (arr[np.maximum(ends - 1, 0)] == _CR)
    blank = np.flatnonzero((lengths == 0) | ((lengths == 1) & has_cr))
    return int(starts.size), [first_line + int(b) for b in blank]


def _decode_error(path: Path, data: bytes, first_line: int, offset: int, message: str) -> InputError:
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = first_line + data.count(b"\n", 0, offset)
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return _fail(path, line, column, f"byte 0x{data[offset]:02x} {message}")


def _decide_encoding(path: Path, data: bytes, first_line: int, encoding: str | None) -> str | None:
    """Check a chunk's text against the decided encoding, or decide it on its first non-ASCII byte."""
    if data.isascii():
        return encoding
    if encoding in (None, "utf-8"):
        try:
            data.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError as exc:
            first_non_ascii = int(np.flatnonzero(np.frombuffer(data, dtype=np.uint8) >= 0x80)[0])
            if encoding == "utf-8" or exc.start > first_non_ascii:
                raise _decode_error(path, data, first_line, exc.start,
                                    "is not UTF-8, though the file's first non-ASCII text was: save the "
                                    "whole file as UTF-8") from None  # fmt: skip
    try:
        data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise _decode_error(path, data, first_line, exc.start,
                            "is neither UTF-8 nor Windows-1252/Latin-1 text: save the file as UTF-8 "
                            "CSV") from None  # fmt: skip
    return "cp1252"


@dataclass(frozen=True)
class Chunk:
    """Whole checked lines of a file as UTF-8 bytes (BOM removed), from line ``first_line`` on."""

    text: bytes
    first_line: int
    lines: int
    blank_lines: list[int]


def chunks(path: Path | str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[str, Chunk]]:
    """Check a file's bytes (see the module docstring) and yield (encoding so far, chunk) with the
    text transcoded to UTF-8; raises :class:`InputError` at the first hostile byte."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror}") from None
    encoding: str | None = None
    line = 1
    with handle:
        head = handle.read(4)
        if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise InputError(f"{where(path, 1, 1)}: UTF-16 text: save the file as UTF-8 CSV")
        if head.startswith(UTF8_BOM):
            encoding, head = "utf-8", head[len(UTF8_BOM) :]
        carry = head
        while True:
            block = handle.read(chunk_bytes)
            if not block and not carry:
                break
            cut = block.rfind(b"\n") + 1 if block else 0  # at the end: the carried last line
            if block and cut == 0:  # no newline in this block
                carry += block
                if len(carry) > MAX_LINE_BYTES:
                    _check_chunk(path, carry, line)  # raises: line too long
                continue
            # one copy: the carried start of a line, then the block up to its last line end
            text, carry = (carry + block[:cut] if carry else block[:cut]), block[cut:]
            encoding = _decide_encoding(path, text, line, encoding)
            count, blank = _check_chunk(path, text, line)
            if encoding == "cp1252" and not text.isascii():
                text = text.decode("cp1252").encode("utf-8")
            yield encoding or "utf-8", Chunk(text, line, count, blank)
            line += count


def scan(path: Path | str) -> TextInfo:
    """Check a whole file's bytes (see the module docstring); raises :class:`InputError`."""
    path = Path(path)
    encoding, lines, blanks = "utf-8", 0, []
    for decided, chunk in chunks(path):
        encoding = decided
        lines += chunk.lines
        blanks += chunk.blank_lines
    with path.open("rb") as handle:
        skip = len(UTF8_BOM) if handle.read(3) == UTF8_BOM else 0
    return TextInfo(path, encoding, skip, lines, np.array(blanks, dtype=np.int64))


def read_lines(info: TextInfo) -> Iterator[tuple[int, str]]:
    """(line number, text without its line end) of a file checked by :func:`scan`; blank lines
    are skipped."""
    with info.path.open("rb") as handle:
        handle.seek(info.skip)
        for number, raw in enumerate(handle, start=1):
            text = raw[: MAX_LINE_BYTES + 2].decode(info.encoding).rstrip("\r\n")
            if text:
                yield number, text


def field_column(text: str, delimiter: str, field: int) -> int:
    """1-based character column where field number ``field`` (0-based) starts in a line."""
    column, quoted = 0, False
    for _ in range(field):
        while column < len(text) and (quoted or text[column] != delimiter):
            quoted ^= text[column] == '"'
            column += 1
        column += 1
    return min(column, len(text)) + 1
