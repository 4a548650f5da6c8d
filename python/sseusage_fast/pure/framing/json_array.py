"""A JSON array read element by element as it arrives (twin of framing/json_array.rs): each
top-level element is handed on when it ends, so memory holds one element, never the whole
body. An element longer than the limit is dropped (the caller is told)."""

from __future__ import annotations

from collections.abc import Callable

_WHITESPACE = b" \t\n\r\x0c"  # what Rust's is_ascii_whitespace accepts
_START, _BETWEEN, _ELEMENT, _DONE = range(4)
_QUOTE, _BACKSLASH, _COMMA = 0x22, 0x5C, 0x2C
_OPEN, _CLOSE = frozenset(b"{["), frozenset(b"}]")


class JsonArray:
    def __init__(self) -> None:
        self._place = _START
        self._element = bytearray()
        self._depth = 0
        self._in_string = False
        self._escaped = False
        self._skipping = False  # the current element passed the limit: its bytes not kept

    def feed(
        self,
        chunk: bytes,
        limit: int,
        element: Callable[[bytes], None],
        too_long: Callable[[], None],
    ) -> None:
        for b in chunk:
            place = self._place
            if place == _ELEMENT:
                self._element_byte(b, limit, element, too_long)
            elif place == _BETWEEN:
                if b == 0x5D:  # ]
                    self._place = _DONE
                elif b == _COMMA or b in _WHITESPACE:
                    pass
                else:
                    self._place = _ELEMENT
                    self._depth, self._in_string, self._escaped = 0, False, False
                    self._element_byte(b, limit, element, too_long)
            elif place == _START:
                if b == 0x5B:  # [
                    self._place = _BETWEEN
                elif b not in _WHITESPACE:
                    self._place = _DONE  # not an array: nothing to read
            else:
                return

    def _element_byte(
        self, b: int, limit: int, element: Callable[[bytes], None], too_long: Callable[[], None]
    ) -> None:
        end = None  # the element ends: with this byte (True) or before it (False)
        if self._in_string:
            if self._escaped:
                self._escaped = False
            elif b == _BACKSLASH:
                self._escaped = True
            elif b == _QUOTE:
                self._in_string = False
        elif b == _QUOTE:
            self._in_string = True
        elif b in _OPEN:
            self._depth += 1
        elif b in _CLOSE and self._depth > 0:
            self._depth -= 1
            if self._depth == 0:
                end = True
        elif b == 0x5D:  # a scalar element, and the array's end
            end = False
            self._place = _DONE
        elif b == _COMMA and self._depth == 0:
            end = False
        if end is not False and not self._skipping:
            if len(self._element) >= limit:
                self._element = bytearray()
                self._skipping = True
                too_long()
            else:
                self._element.append(b)
        if end is not None:
            if not self._skipping:
                text = bytes(self._element).strip(_WHITESPACE)
                if text:
                    element(text)
            self._skipping = False
            self._element = bytearray()
            if self._place == _ELEMENT:
                self._place = _BETWEEN

    def take_tail(self) -> bytes | None:
        """The unfinished last element, when the body was cut inside one."""
        tail, self._element = bytes(self._element), bytearray()
        if self._place == _ELEMENT and not self._skipping and tail.strip(_WHITESPACE):
            return tail
        return None
