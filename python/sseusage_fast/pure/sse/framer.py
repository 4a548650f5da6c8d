"""Line framing of an event stream (twin of sse/framer.rs): CR, LF and CRLF line ends (also split
across chunks), one leading BOM stripped (also split across chunks), lines bounded in memory."""

from __future__ import annotations

import re
from typing import Protocol

BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"[\r\n]")


class LineSink(Protocol):
    def line(self, line: bytes) -> None: ...

    def overlong_line(self) -> None: ...


class Framer:
    __slots__ = ("_bom_checked", "_max_line", "_overflow", "_skip_lf", "_tail")

    def __init__(self, max_line: int) -> None:
        self._tail = b""  # the unfinished last line (before the BOM check: the first bytes)
        self._skip_lf = False  # the previous chunk ended in CR
        self._bom_checked = False
        self._overflow = False  # the current line outgrew max_line: dropped until its end
        self._max_line = max_line

    def feed(self, chunk: bytes, sink: LineSink) -> None:
        if not self._bom_checked:
            take = len(BOM) - len(self._tail)
            self._tail += chunk[:take]
            chunk = chunk[take:]
            if len(self._tail) < len(BOM) and BOM.startswith(self._tail):
                return
            self._bom_checked = True
            head, self._tail = self._tail, b""
            if head != BOM:
                self._scan(head, sink)
        self._scan(chunk, sink)

    def in_overlong_line(self) -> bool:
        """The unfinished line has outgrown the bound (its bytes are being dropped)."""
        return self._overflow

    def take_tail(self) -> bytes | None:
        """End of stream: the unfinished line, if any."""
        overflow, self._overflow = self._overflow, False
        tail, self._tail = self._tail, b""
        if overflow or not tail or (not self._bom_checked and BOM.startswith(tail)):
            return None
        return tail

    def _scan(self, data: bytes, sink: LineSink) -> None:
        pos = 0
        if self._skip_lf and data:
            self._skip_lf = False
            if data[0] == 0x0A:
                pos = 1
        size = len(data)
        search = _LINE_END.search
        while (match := search(data, pos)) is not None:
            end = match.start()
            self._emit(data[pos:end], sink)
            pos = end + 1
            if data[end] == 0x0D:
                if pos == size:
                    self._skip_lf = True
                elif data[pos] == 0x0A:
                    pos += 1
        self._push_tail(data[pos:])

    def _emit(self, piece: bytes, sink: LineSink) -> None:
        if self._overflow or len(self._tail) + len(piece) > self._max_line:
            self._overflow = False
            self._tail = b""
            sink.overlong_line()
        elif not self._tail:
            sink.line(piece)
        else:
            line, self._tail = self._tail + piece, b""
            sink.line(line)

    def _push_tail(self, rest: bytes) -> None:
        if self._overflow or not rest:
            return
        if len(self._tail) + len(rest) > self._max_line:
            self._overflow = True
            self._tail = b""
        else:
            self._tail += rest
