"""Reading a JSON Lines file by byte offsets: the tail, backwards, forwards, by bisection.

Only complete lines (ending in a newline) are records; bytes after the last newline are an
unterminated fragment (a crash mid-write, or a write in flight) and are never parsed here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

BLOCK = 64 * 1024
FORWARD_BLOCK = 4 * 1024 * 1024


@dataclass(frozen=True)
class Tail:
    """The end of the file: the last complete line and any fragment after it."""

    size: int
    last_line: bytes | None  # without its newline
    last_offset: int  # where last_line starts (0 when there is none)
    fragment_offset: int  # where the unterminated fragment starts (== size when none)

    @property
    def has_fragment(self) -> bool:
        return self.fragment_offset < self.size


def read_tail(fd: int, size: int, *, limit: int) -> Tail:
    """Find the last complete line by reading backwards from ``size``.

    Raises ``ValueError`` when no line boundary is found within ``limit`` bytes.
    """
    if size == 0:
        return Tail(0, None, 0, 0)
    block = min(BLOCK, size)
    while True:
        start = size - block
        data = os.pread(fd, block, start)
        end_nl = data.rfind(b"\n")
        if end_nl == -1 and start == 0:  # only a fragment, no complete line
            return Tail(size, None, 0, 0)
        if end_nl != -1:
            before = data.rfind(b"\n", 0, end_nl)
            if before != -1 or start == 0:
                line = data[before + 1 : end_nl]
                return Tail(size, line, start + before + 1, start + end_nl + 1)
        if block >= limit:
            raise ValueError(f"no line boundary in the last {block} bytes")
        block = min(block * 4, size)


def iter_reverse(fh: BinaryIO, end: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` of the complete lines in ``[0, end)``, last first.

    ``end`` must be just after a newline (or 0).
    """
    pos = end
    pending = b""  # not yet yielded bytes after ``pos``: a line start .. its newline
    while pos > 0:
        size = min(BLOCK, pos)
        pos -= size
        fh.seek(pos)
        buf = fh.read(size) + pending  # the bytes [pos, ...), ending with a newline
        j = len(buf) - 1
        i = buf.rfind(b"\n", 0, j)
        while i != -1:
            yield pos + i + 1, buf[i + 1 : j]
            j = i
            i = buf.rfind(b"\n", 0, j)
        pending = buf[: j + 1]
    if pending:
        yield 0, pending[:-1]


def iter_forward(fh: BinaryIO, start: int, end: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, line)`` of the complete lines in ``[start, end)``, first first."""
    pos = start
    fh.seek(start)
    rest = b""
    rest_at = start
    while pos < end:
        chunk = fh.read(min(FORWARD_BLOCK, end - pos))
        if not chunk:
            break
        pos += len(chunk)
        buf = rest + chunk
        begin = 0
        nl = buf.find(b"\n")
        while nl != -1:
            yield rest_at + begin, buf[begin:nl]
            begin = nl + 1
            nl = buf.find(b"\n", begin)
        rest = buf[begin:]
        rest_at += begin


def line_from(fh: BinaryIO, offset: int, end: int) -> tuple[int, bytes] | None:
    """The first complete line that starts at or after ``offset`` (and before ``end``)."""
    if offset > 0:
        fh.seek(offset - 1)
        fh.readline()  # the remainder of the line ``offset - 1`` is in
    else:
        fh.seek(0)
    start = fh.tell()
    if start >= end:
        return None
    line = fh.readline()
    if not line.endswith(b"\n"):
        return None
    return start, line[:-1]
