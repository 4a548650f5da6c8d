"""`SSEDecoder`, pure Python (twin of the decoder in rust/python/decoder.rs)."""

from __future__ import annotations

from .scan.tree import DEFAULT_MAX_EVENT_BYTES, as_bytes
from .sse.events import Event, EventBuilder, Lines
from .sse.framer import Framer


class _Collect:
    __slots__ = ("_id_bytes", "_id_text", "out")

    def __init__(self) -> None:
        self.out: list[Event] = []
        self._id_bytes: bytes | None = None
        self._id_text = ""

    def event(self, event_type: bytes, data: bytes, last_event_id: bytes) -> None:
        if last_event_id != self._id_bytes:
            self._id_bytes = last_event_id
            self._id_text = last_event_id.decode("utf-8", "replace")
        kind = event_type.decode("utf-8", "replace") if event_type else "message"
        self.out.append(Event(kind, data.decode("utf-8", "replace"), self._id_text))

    def oversized_event(self) -> None:
        pass

    def sse_line(self) -> None:
        pass


class SSEDecoder:
    """Incremental event-stream decoder (WHATWG "interpreting an event stream")."""

    __slots__ = ("_builder", "_framer")

    def __init__(
        self, *, last_event_id: str = "", max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    ) -> None:
        if max_event_bytes <= 0:
            raise ValueError("max_event_bytes must be positive")
        self._framer = Framer(max_event_bytes + 64)
        self._builder = EventBuilder(last_event_id.encode("utf-8"), max_event_bytes)

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[Event]:
        """Every event whose blank line has arrived."""
        sink = _Collect()
        self._framer.feed(as_bytes(chunk), Lines(self._builder, sink))
        return sink.out

    def flush(self) -> list[Event]:
        """End of stream: an unfinished event is discarded, as the spec says."""
        self._framer.take_tail()
        return []

    @property
    def last_event_id(self) -> str:
        return self._builder.last_event_id.decode("utf-8", "replace")

    @property
    def retry(self) -> int | None:
        return self._builder.retry
