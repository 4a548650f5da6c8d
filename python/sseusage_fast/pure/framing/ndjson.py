"""Newline-delimited JSON (twin of framing/ndjson.rs): one value a line, handed on as each
line ends. Bounded: a line longer than the limit is dropped (the caller is told), never kept."""

from __future__ import annotations

from collections.abc import Callable

_WHITESPACE = b" \t\n\r\x0c"  # what Rust's trim_ascii trims


class Ndjson:
    def __init__(self) -> None:
        self._partial = bytearray()
        self._skipping = False  # the current line passed the limit: skipped to its end

    def feed(
        self, chunk: bytes, limit: int, line: Callable[[bytes], None], too_long: Callable[[], None]
    ) -> None:
        rest = chunk
        while True:
            at = rest.find(b"\n")
            if at < 0:
                break
            head, rest = rest[:at], rest[at + 1 :]
            if self._skipping:
                self._skipping = False
            elif not self._partial:
                if len(head) > limit:
                    too_long()
                else:
                    _emit(head, line)
            elif len(self._partial) + len(head) > limit:
                self._partial = bytearray()
                too_long()
            else:
                self._partial += head
                whole, self._partial = bytes(self._partial), bytearray()
                _emit(whole, line)
        if self._skipping:
            return
        if len(self._partial) + len(rest) > limit:
            self._partial = bytearray()
            self._skipping = True
            too_long()
        else:
            self._partial += rest

    def take_tail(self) -> bytes | None:
        """The last line, when the body did not end with a newline."""
        tail, self._partial = bytes(self._partial), bytearray()
        return tail if tail.strip(_WHITESPACE) else None


def _emit(text: bytes, line: Callable[[bytes], None]) -> None:
    text = text.strip(_WHITESPACE)
    if text:
        line(text)
