"""Field processing of an event stream, per WHATWG HTML "interpreting an event stream"
(twin of sse/events.rs). Works on bytes; decoding to text is left to the sink."""

from __future__ import annotations

from typing import Protocol


class EventSink(Protocol):
    def event(self, event_type: bytes, data: bytes, last_event_id: bytes) -> None: ...

    def oversized_event(self) -> None: ...

    def sse_line(self) -> None: ...


class Event:
    """One server-sent event."""

    __slots__ = ("data", "event", "id")

    def __init__(self, event: str = "message", data: str = "", id: str = "") -> None:
        self.event = event
        self.data = data
        self.id = id

    def __repr__(self) -> str:
        return f"Event(event={self.event!r}, data={self.data!r}, id={self.id!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.event, self.data, self.id) == (other.event, other.data, other.id)

    __hash__ = None  # type: ignore[assignment]


# Longer values are ignored: no reconnection time needs 20,000 digits, and converting millions
# of them to an integer would cost seconds.
MAX_RETRY_DIGITS = 20_000


def parse_retry(value: bytes) -> int | None:
    """`retry` takes only a non-empty run of ASCII digits (leading zeros dropped)."""
    if not value or not value.isdigit():
        return None
    digits = value.lstrip(b"0") or b"0"
    if len(digits) > MAX_RETRY_DIGITS:
        return None
    return _digits_to_int(digits)


def _digits_to_int(digits: bytes) -> int:
    # int() refuses more than 4,300 digits (sys.get_int_max_str_digits); split instead.
    if len(digits) <= 4000:
        return int(digits)
    half = len(digits) // 2
    return _digits_to_int(digits[:half]) * 10 ** (len(digits) - half) + _digits_to_int(
        digits[half:]
    )


class EventBuilder:
    __slots__ = (
        "_data",
        "_event_type",
        "_id_buffer",
        "_max_event_bytes",
        "_oversized",
        "last_event_id",
        "retry",
    )

    def __init__(self, last_event_id: bytes, max_event_bytes: int) -> None:
        self._data = bytearray()
        self._event_type = b""
        self._id_buffer = last_event_id
        self.last_event_id = last_event_id
        self.retry: int | None = None
        self._oversized = False  # the event outgrew max_event_bytes: dropped at its blank line
        self._max_event_bytes = max_event_bytes

    def pending(self) -> tuple[bytes, bytes] | None:
        """The event under construction, as far as it has come (for salvage at end of stream)."""
        if self._oversized or not self._data:
            return None
        return self._event_type, bytes(self._data[:-1])

    def line(self, line: bytes, sink: EventSink) -> None:
        if not line:
            self._dispatch(sink)
        elif line[0] == 0x3A:  # ':' comment
            sink.sse_line()
        else:
            name, colon, value = line.partition(b":")
            if colon and value[:1] == b" ":
                value = value[1:]
            self._field(name, value, sink)

    def end_oversized(self, sink: EventSink) -> None:
        """End of stream inside an event that outgrew the bound: reported as its blank line
        would have reported it (the spec drops an unfinished event either way)."""
        if self._oversized:
            self._oversized = False
            self._data.clear()
            self._event_type = b""
            sink.oversized_event()

    def overlong_line(self) -> None:
        self._oversized = True
        self._data = bytearray()

    def _dispatch(self, sink: EventSink) -> None:
        self.last_event_id = self._id_buffer
        if self._oversized:
            self._oversized = False
            sink.oversized_event()
        elif self._data:
            sink.event(self._event_type, bytes(self._data[:-1]), self.last_event_id)
        self._data.clear()
        self._event_type = b""

    def _field(self, name: bytes, value: bytes, sink: EventSink) -> None:
        if name == b"data":
            if self._oversized:
                return
            if len(self._data) + len(value) + 1 > self._max_event_bytes:
                self._oversized = True
                self._data = bytearray()
                return
            self._data += value
            self._data.append(0x0A)
        elif name == b"event":
            self._event_type = value
        elif name == b"id":
            if b"\x00" not in value:
                self._id_buffer = value
        elif name == b"retry":
            ms = parse_retry(value)
            if ms is not None:
                self.retry = ms
        else:
            return
        sink.sse_line()


class Lines:
    """Feeds the lines of a Framer to a builder, dispatching into a sink."""

    __slots__ = ("builder", "sink")

    def __init__(self, builder: EventBuilder, sink: EventSink) -> None:
        self.builder = builder
        self.sink = sink

    def line(self, line: bytes) -> None:
        self.builder.line(line, self.sink)

    def overlong_line(self) -> None:
        self.builder.overlong_line()
