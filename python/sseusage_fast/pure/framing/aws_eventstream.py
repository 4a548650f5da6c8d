"""The AWS event stream (twin of framing/aws_eventstream.rs): binary messages of a prelude
(total length, headers length, prelude CRC32), headers, a payload and a message CRC32, in any
chunking. Both CRCs are checked; a message longer than the limit is refused, never buffered;
the first fault stops the reading."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

OVERHEAD = 16  # prelude (12 bytes) and message CRC (4 bytes)
_HEADER_SIZES = {0: 0, 1: 0, 2: 1, 3: 2, 4: 4, 5: 8, 8: 8, 9: 16}
_READ = {
    ":message-type": "message_type",
    ":event-type": "event_type",
    ":exception-type": "exception_type",
    ":error-code": "error_code",
    ":error-message": "error_message",
}


@dataclass
class Message:
    """The headers a meter reads, and the payload."""

    message_type: str | None = None
    event_type: str | None = None
    exception_type: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    payload: bytes = b""


@dataclass(frozen=True)
class Fault:
    """Why the stream cannot be read on: `kind` is prelude_crc, message_crc, headers or
    too_large."""

    kind: str
    at: int
    length: int = 0

    def message(self) -> str:
        where = f"in the message at byte {self.at}"
        if self.kind == "prelude_crc":
            return f"AWS event stream: prelude CRC mismatch {where}"
        if self.kind == "message_crc":
            return f"AWS event stream: message CRC mismatch {where}"
        if self.kind == "headers":
            return f"AWS event stream: malformed headers {where}"
        return (
            f"AWS event stream: a message of {self.length} bytes at byte {self.at} is invalid "
            "or exceeds max_event_bytes"
        )


class EventStream:
    """The unfinished message between reads."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self._offset = 0  # where the buffer starts in the stream
        self._failed = False

    def feed(self, chunk: bytes, limit: int, message: Callable[[Message], None]) -> Fault | None:
        """Hands each whole message so far to `message`; the first fault is returned."""
        if self._failed:
            return None
        buf = self._buf
        buf += chunk
        pos = 0
        fault = None
        while len(buf) - pos >= 12:
            at = self._offset + pos
            total, headers, prelude_crc = struct.unpack_from(">III", buf, pos)
            if zlib.crc32(buf[pos : pos + 8]) != prelude_crc:
                fault = Fault("prelude_crc", at)
                break
            if total < OVERHEAD + headers or total > limit + OVERHEAD:
                fault = Fault("too_large", at, total)
                break
            if len(buf) - pos < total:
                break
            (crc,) = struct.unpack_from(">I", buf, pos + total - 4)
            if zlib.crc32(buf[pos : pos + total - 4]) != crc:
                fault = Fault("message_crc", at)
                break
            msg = _read_headers(bytes(buf[pos + 12 : pos + 12 + headers]))
            if msg is None:
                fault = Fault("headers", at)
                break
            msg.payload = bytes(buf[pos + 12 + headers : pos + total - 4])
            message(msg)
            pos += total
        if fault is not None:
            self._failed = True
            self._buf = bytearray()
        else:
            del buf[:pos]
            self._offset += pos
        return fault

    def unfinished(self) -> int:
        """Bytes of an unfinished message left at the end of the stream (0 after a fault)."""
        return len(self._buf)


def _read_headers(block: bytes) -> Message | None:
    """The headers block: name (1-byte length), type, value; the string headers read."""
    msg = Message()
    i = 0
    try:
        while i < len(block):
            n = block[i]
            name_bytes = block[i + 1 : i + 1 + n]
            if len(name_bytes) != n:
                return None
            name = name_bytes.decode()
            kind = block[i + 1 + n]
            i += 2 + n
            if kind in (6, 7):
                if i + 2 > len(block):
                    return None
                size = 2 + struct.unpack_from(">H", block, i)[0]
            elif kind in _HEADER_SIZES:
                size = _HEADER_SIZES[kind]
            else:
                return None
            value = block[i : i + size]
            if len(value) != size:
                return None
            if kind == 7 and name in _READ:
                try:
                    setattr(msg, _READ[name], value[2:].decode())
                except UnicodeDecodeError:
                    setattr(msg, _READ[name], None)
            i += size
    except (IndexError, UnicodeDecodeError):
        return None
    return msg
