"""`UsageCore`, pure Python (twin of usage.rs): feed it the bytes of one response, get one raw
record at the end. The body is sniffed from its first significant byte: an event stream is
framed and each event handed to the provider's extractor; a JSON body is kept (bounded) and
read whole at the end; an HTML page or compressed bytes are reported as not_sse."""

from __future__ import annotations

import json
from typing import Any

from ..record import TOKEN_COUNT_FIELDS, TOKEN_FIELDS
from . import anthropic, gemini, openai_chat, openai_responses
from .event import EventBuilder, Lines
from .framer import BOM, Framer
from .jsonread import DEFAULT_MAX_EVENT_BYTES, as_bytes, parse
from .textstats import TextStats

PROVIDERS = ("auto", "anthropic", "openai", "openai-responses", "gemini")
_WHITESPACE = b" \t\n\r\x0c"  # what Rust's is_ascii_whitespace accepts
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class Extract:
    """What the provider reported so far; the sink of the event builder."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.tokens: dict[str, int | None] = dict.fromkeys(TOKEN_FIELDS)
        self.output_final = False
        self.final_usage = False  # final figures seen (message_delta, a whole body)
        self.model: str | None = None
        self.message_id: str | None = None
        self.stop_reason: str | None = None
        self.service_tier: str | None = None
        self.speed: str | None = None
        self.error_type: str | None = None
        self.error_message: str | None = None
        self.last_usage: dict[str, Any] | None = None
        self.output_text = TextStats()
        self.saw_thinking = False
        self.saw_tool_use = False
        self.events = 0
        self.notes: list[str] = []
        self.gemini: dict[str, int] = {}
        self.invalid_events = 0  # events whose data is not valid JSON (their usage is lost)
        self.saw_sse_line = False
        # The second round: what was billed beyond the buckets (see record.SECOND_ROUND).
        self.audio_input: int | None = None
        self.audio_output: int | None = None
        self.iterations: list[tuple[Any, ...]] = []  # in record.ITERATION_FIELDS order
        self.provider_cost: str | None = None  # the decimal text the provider sent
        self.inference_geo: str | None = None
        self.framing: str | None = None  # set by a framing other than SSE or one JSON body

    def set_error(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.error_message = message

    def read_error(self, obj: dict[str, Any]) -> None:
        """{"error": {"type" | "status" | "code", "message"}}, the shape every provider uses."""
        error = obj.get("error")
        error = error if isinstance(error, dict) else {}
        error_type = None
        for key in ("type", "status", "code"):
            value = error.get(key)
            if isinstance(value, str):
                error_type = value
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                error_type = json.dumps(value)
            else:
                continue
            break
        message = error.get("message")
        self.set_error(
            error_type or "error",
            message if isinstance(message, str) else "the provider reported an error",
        )

    def handle(self, event_type: bytes, data: bytes) -> None:
        """Reads one event's data."""
        self.events += 1
        if self.provider in ("auto", "anthropic") and anthropic.fast_path(self, data):
            return
        if data == b"[DONE]":
            return
        value = parse(data)
        if value is None:
            self.invalid_events += 1
            return
        if self.provider == "auto":
            self.provider = detect(value)
        provider = self.provider
        if provider == "anthropic":
            anthropic.on_event(self, event_type, value)
        elif provider == "openai":
            openai_chat.on_event(self, value)
        elif provider == "openai-responses":
            openai_responses.on_event(self, value)
        elif provider == "gemini":
            gemini.on_event(self, value)
        elif isinstance(value, dict) and isinstance(value.get("error"), dict):
            self.read_error(value)

    # EventSink
    def event(self, event_type: bytes, data: bytes, last_event_id: bytes) -> None:
        self.handle(event_type, data)

    def oversized_event(self) -> None:
        self.set_error("event_too_large", "an event exceeded max_event_bytes and was dropped")

    def sse_line(self) -> None:
        self.saw_sse_line = True


def detect(value: Any) -> str:
    """Which provider wrote this event or body."""
    if isinstance(value, list):
        # Gemini's non-SSE streamGenerateContent answers with an array of chunks.
        return detect(value[0]) if value else "auto"
    if anthropic.looks_like(value):
        return "anthropic"
    if openai_responses.looks_like(value):
        return "openai-responses"
    if openai_chat.looks_like(value):
        return "openai"
    if gemini.looks_like(value):
        return "gemini"
    return "auto"


_BODY_READERS = {
    "anthropic": anthropic.on_body,
    "openai": openai_chat.on_body,
    "openai-responses": openai_responses.on_body,
    "gemini": gemini.on_body,
}


class UsageCore:
    """The streaming half of `UsageParser`."""

    def __init__(
        self, provider: str = "auto", *, max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    ) -> None:
        if provider not in PROVIDERS:
            raise ValueError(
                f"unknown provider {provider!r}: expected auto, anthropic, openai, "
                "openai-responses or gemini"
            )
        if max_event_bytes <= 0:
            raise ValueError("max_event_bytes must be positive")
        self._framer = Framer(max_event_bytes + 64)
        self._events = EventBuilder(b"", max_event_bytes)
        self._extract = Extract(provider)
        self._lines = Lines(self._events, self._extract)
        self._mode = "sniff"  # sniff, sse, json, not_sse
        self._why_not_sse = ""
        self._body = bytearray()
        self._max_event_bytes = max_event_bytes
        self._raw: tuple[Any, ...] | None = None
        self._saw_bytes = False  # anything but white space arrived
        self._held = b""  # the first bytes, while they could still start a BOM or zstd magic
        self._bom_seen = False  # the first bytes were checked for a byte order mark

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
        if first in b"{[":
            self._mode = "json"
            self._keep_body(head)
            return
        if first == 0x3C:  # '<'
            self._not_sse("an HTML or XML page, not an event stream (an error page from a proxy?)")
        elif first == 0x1F:
            self._not_sse("gzip-compressed bytes: the body must be decompressed before metering")
        elif head.startswith(ZSTD_MAGIC):
            self._not_sse("zstd-compressed bytes: the body must be decompressed before metering")
        else:
            self._mode = "sse"
            self._framer.feed(chunk, self._lines)

    def _not_sse(self, why: str) -> None:
        self._mode = "not_sse"
        self._why_not_sse = why

    def _keep_body(self, chunk: bytes) -> None:
        if len(self._body) + len(chunk) > self._max_event_bytes:
            self._not_sse("")
            self._body = bytearray()
            self._extract.set_error(
                "event_too_large", "a JSON body exceeded max_event_bytes and was dropped"
            )
            return
        self._body += chunk

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
            else:
                kind = self._mark_not_sse(self._why_not_sse)
            self._raw = self._raw_record(kind)
        return self._raw

    def _finish_stream(self) -> str:
        # The spec drops an unfinished event; for metering, its data is still read when it is
        # complete JSON (a cut before the blank line loses nothing then).
        tail = self._framer.take_tail()
        if tail is not None:
            self._events.line(tail, self._extract)
        pending = self._events.pending()
        if pending is not None and parse(pending[1]) is not None:
            self._extract.handle(*pending)
        ex = self._extract
        if ex.saw_sse_line or ex.events > 0:
            return "sse"
        if not self._saw_bytes:
            # Nothing arrived (a client that went away at once): no usage, not a bad body.
            ex.error_message = "empty body: no bytes arrived"
            return "sse"
        if ex.error_type is not None:
            return "not_sse"
        return self._mark_not_sse("neither an event stream nor a JSON body (no SSE fields found)")

    def _finish_json(self) -> str:
        body, self._body = bytes(self._body), bytearray()
        value = parse(body)
        if value is None:
            return self._mark_not_sse("a body that starts like JSON but does not parse")
        ex = self._extract
        if ex.provider == "auto":
            ex.provider = detect(value)
        on_body = _BODY_READERS.get(ex.provider)
        if on_body is not None:
            known = on_body(ex, value)
        elif isinstance(value, dict) and isinstance(value.get("error"), dict):
            ex.read_error(value)
            known = True
        else:
            known = False
        if known:
            return "json"
        return self._mark_not_sse("a JSON body that is not a provider response")

    def _mark_not_sse(self, why: str) -> str:
        ex = self._extract
        if ex.error_type is None:
            ex.error_message = why or "empty body"
        return "not_sse"

    def _raw_record(self, body_kind: str) -> tuple[Any, ...]:
        ex = self._extract
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
        # RAW_FIELDS order.
        return (
            *(tokens[name] for name in TOKEN_FIELDS),
            ex.service_tier,
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
