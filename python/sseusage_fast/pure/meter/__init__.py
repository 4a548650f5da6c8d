"""`UsageCore`, pure Python (twin of meter/): feed it the bytes of one response, get one raw
record at the end.

- `sniff`: the body's kind, from its first significant byte (event stream, JSON body, an HTML
  page or compressed bytes).
- `dispatch`: each event of a stream to its provider's readers.
- `finish`: what a cut stream left, a JSON body read whole, and the record."""

from __future__ import annotations

from typing import Any

from ..framing.aws_eventstream import EventStream
from ..framing.json_array import JsonArray
from ..framing.ndjson import Ndjson
from ..providers.bedrock import tree as bedrock_tree
from ..providers.facts import PROVIDERS
from ..scan.tree import DEFAULT_MAX_EVENT_BYTES, as_bytes
from ..sse.events import EventBuilder, Lines
from ..sse.framer import Framer
from .dispatch import Dispatch
from .finish import finish_raw
from .sniff import ZSTD_MAGIC, content_type_hint, keep_body, not_sse, sniff

__all__ = ["ZSTD_MAGIC", "UsageCore", "content_type_hint", "parse_usage_raw"]


class UsageCore:
    """The streaming half of `UsageParser`."""

    def __init__(
        self,
        provider: str = "auto",
        *,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        content_type: str | None = None,
    ) -> None:
        if provider not in PROVIDERS:
            raise ValueError(
                f"unknown provider {provider!r}: expected one of {', '.join(PROVIDERS)}"
            )
        if max_event_bytes <= 0:
            raise ValueError("max_event_bytes must be positive")
        self._hint = content_type_hint(content_type)  # read once, at the first byte
        self._framer = Framer(max_event_bytes + 64)
        self._events = EventBuilder(b"", max_event_bytes)
        self._sink = Dispatch(provider)
        self._lines = Lines(self._events, self._sink)
        self._mode = "sniff"  # sniff, sse, json, not_sse
        self._why_not_sse = ""
        self._body = bytearray()
        self._max_event_bytes = max_event_bytes
        self._raw: tuple[Any, ...] | None = None
        self._saw_bytes = False  # anything but white space arrived
        self._held = b""  # the first bytes, while they could still start a BOM or zstd magic
        self._bom_seen = False  # the first bytes were checked for a byte order mark
        self._aws = EventStream()  # the AWS event stream's unfinished message (Bedrock)
        self._aws_sniffed = False  # told from the first bytes (auto), not asked for
        self._array = JsonArray()  # a JSON array's unfinished element (Gemini without alt=sse)
        self._ndjson = Ndjson()  # newline-delimited JSON lines (Ollama), in mode "ndjson"
        self._json_checked = 0  # how far the JSON body was searched for a first line's end

    def feed(self, chunk: bytes | bytearray | memoryview, /) -> None:
        """Feeds one network read."""
        if self._raw is not None:
            raise RuntimeError("feed() after finish(): use one parser per stream")
        data = as_bytes(chunk)
        mode = self._mode
        if mode == "sse":
            self._framer.feed(data, self._lines)
        elif mode == "sniff":
            sniff(self, data)
        elif mode == "json":
            keep_body(self, data)
        elif mode == "ndjson":
            self._ndjson_lines(data)
        elif mode == "aws-eventstream":
            self._aws_messages(data)
        elif mode == "json-array":
            self._array_elements(data)

    def _array_elements(self, chunk: bytes) -> None:
        """Each element of a JSON array to the provider's reader, as an event."""
        long = [0]

        def too_long() -> None:
            long[0] += 1

        self._array.feed(chunk, self._max_event_bytes, self._ndjson_line, too_long)
        if long[0]:
            self._sink.facts.set_error(
                "event_too_large", "a JSON array element exceeded max_event_bytes and was dropped"
            )

    def _aws_messages(self, chunk: bytes) -> None:
        """Each message of an AWS event stream to the Bedrock reader; the first fault ends it."""
        facts = self._sink.facts
        fault = self._aws.feed(
            chunk, self._max_event_bytes, lambda msg: bedrock_tree.on_message(facts, msg)
        )
        if fault is not None:
            if self._aws_sniffed and facts.events == 0:
                # Told from a zero first byte, and its first message does not check: bytes of
                # something else.
                not_sse(self, f"neither an event stream nor a JSON body ({fault.message()})")
                facts.provider = "auto"
                facts.framing = None
                return
            kind = "event_too_large" if fault.kind == "too_large" else "invalid_event_stream"
            facts.set_error(kind, fault.message())

    def _ndjson_lines(self, chunk: bytes) -> None:
        """Each line of newline-delimited JSON to the provider's reader, as an event."""
        long = [0]

        def too_long() -> None:
            long[0] += 1

        self._ndjson.feed(chunk, self._max_event_bytes, self._ndjson_line, too_long)
        if long[0]:
            self._sink.facts.set_error(
                "event_too_large", "a JSON line exceeded max_event_bytes and was dropped"
            )

    def _ndjson_line(self, line: bytes) -> None:
        self._sink.handle(b"", line)

    def _finish_raw(self) -> tuple[Any, ...]:
        """End of stream: reads what a cut stream left unfinished, and says what the body was."""
        return finish_raw(self)


def parse_usage_raw(
    body: bytes, provider: str = "auto", max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
) -> tuple[Any, ...]:
    """The raw record of a whole captured body."""
    core = UsageCore(provider, max_event_bytes=max_event_bytes)
    core.feed(body)
    return core._finish_raw()
