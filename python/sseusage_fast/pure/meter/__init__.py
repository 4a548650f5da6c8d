"""`UsageCore`, pure Python (twin of meter/): feed it the bytes of one response, get one raw
record at the end. The body is sniffed from its first significant byte: an event stream is
framed and each event handed to the provider's extractor; a JSON body is kept (bounded) and
read whole at the end; an HTML page or compressed bytes are reported as not_sse."""

from __future__ import annotations

from typing import Any

from ...record import TOKEN_COUNT_FIELDS, TOKEN_FIELDS
from ..framing.aws_eventstream import EventStream
from ..framing.json_array import JsonArray
from ..framing.ndjson import Ndjson
from ..providers import detect
from ..providers.bedrock import tree as bedrock_tree
from ..providers.error import read_error
from ..providers.facts import PROVIDERS
from ..scan.tree import DEFAULT_MAX_EVENT_BYTES, as_bytes, note, parse
from ..sse.events import EventBuilder, Lines
from ..sse.framer import BOM, Framer
from .dispatch import Dispatch

_WHITESPACE = b" \t\n\r\x0c"  # what Rust's is_ascii_whitespace accepts
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


# The framing a response's content type names (see `content_type_hint`).
_HINTS = {
    "text/event-stream": "sse",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/vnd.amazon.eventstream": "aws-eventstream",
    "application/json": "json",
}


def content_type_hint(content_type: str | None) -> str | None:
    """What a `Content-Type` value says about the framing (twin of `Hint` in meter/sniff.rs):
    its media type, parameters dropped, ASCII case ignored; a hint where the first bytes leave
    the choice open, never over bytes that decide."""
    if content_type is None:
        return None
    if not isinstance(content_type, str):
        raise TypeError(f"content_type must be str or None, not {type(content_type).__name__}")
    media = content_type.split(";", 1)[0].strip()
    if not media.isascii():
        return None
    media = media.lower()
    if media.startswith("application/") and media.endswith("+json"):
        return "json"
    return _HINTS.get(media)


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
            self._sniff(data)
        elif mode == "json":
            self._keep_body(data)
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
                self._not_sse(f"neither an event stream nor a JSON body ({fault.message()})")
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

    def _sniff(self, chunk: bytes) -> None:
        if self._held:
            # The start of a possible BOM or zstd magic, held back: decide with the next bytes.
            chunk, self._held = self._held + chunk, b""
        # A byte order mark at the very start is text encoding, not content: a JSON body may
        # carry one too. The framer strips it from an event stream itself.
        skip = 0
        if not self._bom_seen and chunk:
            if len(chunk) < len(BOM) and BOM.startswith(chunk):
                self._held = chunk  # too few bytes to tell: wait for the next read
                return
            self._bom_seen = True
            if chunk.startswith(BOM):
                skip = len(BOM)
        start = len(chunk) - len(chunk[skip:].lstrip(_WHITESPACE))
        if start == len(chunk):
            self._framer.feed(chunk, self._lines)
            return
        self._saw_bytes = True
        head = chunk[start:]
        if len(head) < len(ZSTD_MAGIC) and ZSTD_MAGIC.startswith(head):
            # Too few bytes to tell zstd from anything else: keep them for the next read.
            self._framer.feed(chunk[:start], self._lines)
            self._held = head
            return
        first = head[0]
        provider, hint = self._sink.facts.provider, self._hint
        # A message's total length: its first byte is 0 below 16 MiB, never text.
        if (first == 0 and provider == "auto") or (
            provider == "bedrock" and first not in b"{[" and hint != "sse"
        ):
            self._start_aws(head, provider)
            return
        if first == 0x7B and (provider == "ollama" or hint == "ndjson"):
            self._mode = "ndjson"
            self._sink.facts.framing = "ndjson"
            self._ndjson_lines(head)
            return
        if first == 0x5B:  # [
            self._mode = "json-array"
            self._sink.facts.framing = "json-array"
            self._array_elements(head)
            return
        if first == 0x7B:
            self._mode = "json"
            self._keep_body(head)
            return
        if first == 0x3C:  # '<'
            self._not_sse("an HTML or XML page, not an event stream (an error page from a proxy?)")
        elif first == 0x1F:
            self._not_sse("gzip-compressed bytes: the body must be decompressed before metering")
        elif head.startswith(ZSTD_MAGIC):
            self._not_sse("zstd-compressed bytes: the body must be decompressed before metering")
        elif provider == "auto" and hint == "aws-eventstream":
            # A message of 16 MiB or more starts with a non-zero byte: the label tells.
            self._start_aws(head, provider)
        else:
            self._mode = "sse"
            self._framer.feed(chunk, self._lines)

    def _start_aws(self, head: bytes, provider: str) -> None:
        self._mode = "aws-eventstream"
        self._aws_sniffed = provider == "auto"
        self._sink.facts.framing = "aws-eventstream"
        self._sink.facts.provider = "bedrock"
        self._aws_messages(head)  # the length's zero bytes are not white space to skip

    def _not_sse(self, why: str) -> None:
        self._mode = "not_sse"
        self._why_not_sse = why

    def _keep_body(self, chunk: bytes) -> None:
        if len(self._body) + len(chunk) > self._max_event_bytes:
            self._not_sse("")
            self._body = bytearray()
            self._sink.facts.set_error(
                "event_too_large", "a JSON body exceeded max_event_bytes and was dropped"
            )
            return
        self._body += chunk
        self._check_ndjson()

    def _check_ndjson(self) -> None:
        """A body of several JSON objects, one a line, is newline-delimited JSON: told apart
        from one JSON body at the start of its second line, when its first line is a whole
        object and the second starts another. Until then the body is kept as one JSON body."""
        body = self._body
        if self._json_checked < 0 or body[:1] != b"{":
            return
        nl = body.find(b"\n", self._json_checked)
        if nl < 0:
            self._json_checked = len(body)
            return
        rest = body[nl + 1 :].lstrip(_WHITESPACE)
        if not rest:
            self._json_checked = nl  # the next read decides
            return
        self._json_checked = -1  # decided, either way
        if rest[:1] == b"{" and isinstance(parse(bytes(body[:nl])), dict):
            self._body = bytearray()
            self._mode = "ndjson"
            self._sink.facts.framing = "ndjson"
            self._ndjson_lines(bytes(body))

    def _finish_raw(self) -> tuple[Any, ...]:
        """End of stream: reads what a cut stream left unfinished, and says what the body was."""
        if self._raw is None:
            if self._held:
                # A body too short to be zstd: read as what it is, bytes of an event stream.
                self._framer.feed(self._held, self._lines)
                self._held = b""
            mode, self._mode = self._mode, "sniff"
            if mode in ("sse", "sniff"):
                kind = self._finish_stream()
            elif mode == "json":
                kind = self._finish_json()
            elif mode == "ndjson":
                kind = self._finish_ndjson()
            elif mode == "aws-eventstream":
                kind = self._finish_aws()
            elif mode == "json-array":
                kind = self._finish_array()
            else:
                kind = self._mark_not_sse(self._why_not_sse)
            self._raw = self._raw_record(kind)
        return self._raw

    def _finish_stream(self) -> str:
        # The spec drops an unfinished event; for metering, its data is still read when it is
        # complete JSON (a cut before the blank line loses nothing then).
        if self._framer.in_overlong_line():
            self._events.overlong_line()
        tail = self._framer.take_tail()
        if tail is not None:
            self._events.line(tail, self._sink)
        # An event cut inside after it outgrew the bound says so, as a finished one would.
        self._events.end_oversized(self._sink)
        pending = self._events.pending()
        if pending is not None and parse(pending[1]) is not None:
            self._sink.handle(*pending)
        ex = self._sink.facts
        if self._sink.saw_sse_line or ex.events > 0:
            return "sse"
        if not self._saw_bytes:
            # Nothing arrived (a client that went away at once): no usage, not a bad body.
            ex.error_message = "empty body: no bytes arrived"
            return "sse"
        if ex.error_type is not None:
            return "not_sse"
        return self._mark_not_sse("neither an event stream nor a JSON body (no SSE fields found)")

    def _finish_array(self) -> str:
        # A cut inside the last element: read if it is whole JSON (it rarely is).
        tail = self._array.take_tail()
        if tail is not None and parse(tail) is not None:
            self._sink.handle(b"", tail)
        ex = self._sink.facts
        if ex.provider == "auto" and ex.error_type is None:
            return self._mark_not_sse("a JSON body that is not a provider response")
        return "json"

    def _finish_aws(self) -> str:
        left = self._aws.unfinished()
        ex = self._sink.facts
        if left and ex.error_type is None:
            why = f"AWS event stream: the stream ended inside a message ({left} bytes)"
            if ex.final_usage:
                note(ex.notes, why)
            else:
                ex.set_error("truncated_event_stream", why)
        return "sse"

    def _finish_ndjson(self) -> str:
        # The last line, when the body did not end with a newline, and is whole JSON.
        tail = self._ndjson.take_tail()
        if tail is not None and parse(tail) is not None:
            self._sink.handle(b"", tail)
        ex = self._sink.facts
        if ex.events == 0 and ex.error_type is None:
            return self._mark_not_sse("a body that starts like JSON but does not parse")
        if ex.events == 1:
            ex.framing = "json"  # one value: a whole JSON body, as auto reads it
            return "json"
        return "sse"

    def _finish_json(self) -> str:
        body, self._body = bytes(self._body), bytearray()
        value = parse(body)
        if value is None:
            return self._mark_not_sse("a body that starts like JSON but does not parse")
        ex = self._sink.facts
        if ex.provider == "auto":
            ex.provider = detect(value)
        if ex.provider != "auto":
            known = self._sink.on_body(value)
        elif isinstance(value, dict) and isinstance(value.get("error"), dict):
            read_error(ex, value)
            known = True
        else:
            known = False
        if known:
            return "json"
        return self._mark_not_sse("a JSON body that is not a provider response")

    def _mark_not_sse(self, why: str) -> str:
        ex = self._sink.facts
        if ex.error_type is None:
            ex.error_message = why or "empty body"
        return "not_sse"

    def _raw_record(self, body_kind: str) -> tuple[Any, ...]:
        ex = self._sink.facts
        tokens = ex.tokens
        if ex.invalid_events:
            ex.notes.append(f"ignored {ex.invalid_events} event(s) whose data is not valid JSON")
        if body_kind == "not_sse" and ex.error_type is None:
            status = "not_sse"
        elif ex.error_type is not None:
            status = "error"
        elif ex.final_usage:
            status = "complete"
        elif any(tokens[k] is not None for k in TOKEN_COUNT_FIELDS):
            status = "partial"
        else:
            status = "no_usage"
        tier = ex.service_tier
        if tier is not None and tier.isascii():
            tier = tier.lower()  # whatever the provider's spelling (ASCII only, as Rust)
        # RAW_FIELDS order.
        return (
            *(tokens[name] for name in TOKEN_FIELDS),
            tier,
            ex.speed,
            None if ex.provider == "auto" else ex.provider,
            ex.model,
            ex.message_id,
            ex.stop_reason,
            status,
            ex.error_type,
            ex.error_message,
            ex.last_usage,
            tuple(ex.notes),
            body_kind,
            ex.output_final,
            ex.output_text.as_tuple(),
            ex.saw_thinking,
            ex.saw_tool_use,
            ex.events,
            ex.audio_input,
            ex.audio_output,
            tuple(ex.iterations),
            ex.provider_cost,
            ex.inference_geo,
            ex.framing or (None if body_kind == "not_sse" else body_kind),
        )


def parse_usage_raw(
    body: bytes, provider: str = "auto", max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
) -> tuple[Any, ...]:
    """The raw record of a whole captured body."""
    core = UsageCore(provider, max_event_bytes=max_event_bytes)
    core.feed(body)
    return core._finish_raw()
