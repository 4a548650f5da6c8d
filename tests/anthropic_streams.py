"""Builders for Anthropic Messages streams and bodies, in the documented wire format.

Shapes follow Anthropic's "Streaming messages" documentation: each event is an SSE block
`event: <type>` + `data: <json>` + blank line, the data's `type` repeating the event name; the
flow is message_start (a Message with empty content and usage whose output_tokens is a
placeholder), content blocks (content_block_start / content_block_delta / content_block_stop,
ping events anywhere), message_delta (stop_reason and cumulative usage), message_stop. Errors
arrive as `event: error` with `{"type": "error", "error": {"type": ..., "message": ...}}`.

The builders take knobs for the transport variations the parser must accept: without `event:`
lines, `data:` without a space, CRLF / CR line ends, JSON padded with spaces before the closing
brace (real Anthropic streams do this), `ensure_ascii` escapes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MODEL = "claude-sonnet-4-5-20250929"
MESSAGE_ID = "msg_01XFDUDYJgAACzvnptvVoYEL"

Payload = dict[str, Any]
EventPair = tuple[str, Payload]


@dataclass(frozen=True)
class Format:
    """How events are written on the wire."""

    event_lines: bool = True  # write `event: <type>` before the data line
    space: bool = True  # `data: {...}` (True) or `data:{...}` (False)
    newline: str = "\n"  # "\n", "\r\n" or "\r"
    pad: int = 0  # spaces inserted before the closing brace of each JSON payload
    ensure_ascii: bool = False  # \uXXXX escapes for non-ASCII text
    compact: bool = False  # json separators without spaces (as Anthropic writes them)


DEFAULT = Format()


def dumps(payload: Payload, fmt: Format = DEFAULT) -> str:
    separators = (",", ":") if fmt.compact else (", ", ": ")
    text = json.dumps(payload, ensure_ascii=fmt.ensure_ascii, separators=separators)
    if fmt.pad:
        text = text[:-1] + " " * fmt.pad + "}"
    return text


def sse_event(event_type: str, payload: Payload | str, fmt: Format = DEFAULT) -> bytes:
    """One SSE block: optional event line, one data line, blank line."""
    nl = fmt.newline
    data = payload if isinstance(payload, str) else dumps(payload, fmt)
    out = ""
    if fmt.event_lines:
        out += f"event:{' ' if fmt.space else ''}{event_type}{nl}"
    out += f"data:{' ' if fmt.space else ''}{data}{nl}{nl}"
    return out.encode("utf-8")


def encode(events: Iterable[EventPair], fmt: Format = DEFAULT) -> bytes:
    return b"".join(sse_event(kind, payload, fmt) for kind, payload in events)


# ---- payloads ------------------------------------------------------------------------------


def message_start(
    usage: Payload | None,
    *,
    model: str = MODEL,
    message_id: str = MESSAGE_ID,
) -> EventPair:
    message: Payload = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if usage is not None:
        message["usage"] = usage
    return "message_start", {"type": "message_start", "message": message}


def text_block(index: int, pieces: Sequence[str]) -> list[EventPair]:
    events: list[EventPair] = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
        )
    ]
    for piece in pieces:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": piece},
                },
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def thinking_block(index: int, pieces: Sequence[str]) -> list[EventPair]:
    events: list[EventPair] = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "thinking", "thinking": ""},
            },
        )
    ]
    for piece in pieces:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "thinking_delta", "thinking": piece},
                },
            )
        )
    events.append(
        (
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
            },
        )
    )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def tool_use_block(index: int, name: str, json_pieces: Sequence[str]) -> list[EventPair]:
    events: list[EventPair] = [
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {
                    "type": "tool_use",
                    "id": "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
                    "name": name,
                    "input": {},
                },
            },
        )
    ]
    for piece in json_pieces:
        events.append(
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": piece},
                },
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def ping() -> EventPair:
    return "ping", {"type": "ping"}


def message_delta(usage: Payload | None, stop_reason: str | None = "end_turn") -> EventPair:
    payload: Payload = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
    }
    if usage is not None:
        payload["usage"] = usage
    return "message_delta", payload


def message_stop(bedrock_metrics: Payload | None = None) -> EventPair:
    payload: Payload = {"type": "message_stop"}
    if bedrock_metrics is not None:
        payload["amazon-bedrock-invocationMetrics"] = bedrock_metrics
    return "message_stop", payload


def error_event(error_type: str = "overloaded_error", message: str = "Overloaded") -> EventPair:
    return "error", {"type": "error", "error": {"type": error_type, "message": message}}


# ---- whole streams -------------------------------------------------------------------------

# A message_start usage with every documented field.
FULL_START_USAGE: Payload = {
    "input_tokens": 472,
    "cache_creation_input_tokens": 2048,
    "cache_read_input_tokens": 8192,
    "cache_creation": {"ephemeral_5m_input_tokens": 1536, "ephemeral_1h_input_tokens": 512},
    "output_tokens": 1,
    "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 1},
    "service_tier": "standard",
}
FULL_DELTA_USAGE: Payload = {"output_tokens": 87}
FULL_TEXT = ["Hello", "! The sea", " is calm", ' tonight \u2014 "quiet"', ".\n\nGood night."]


def full_events(
    start_usage: Payload | None = FULL_START_USAGE,
    delta_usage: Payload | None = FULL_DELTA_USAGE,
    text: Sequence[str] = FULL_TEXT,
    *,
    stop: bool = True,
    pings: bool = True,
) -> list[EventPair]:
    events: list[EventPair] = [message_start(start_usage)]
    block = text_block(0, text)
    if pings:
        block.insert(1, ping())
    events += block
    events.append(message_delta(delta_usage))
    if stop:
        events.append(message_stop())
    return events


def full_stream(fmt: Format = DEFAULT, **kwargs: Any) -> bytes:
    return encode(full_events(**kwargs), fmt)


def stripped_stream(text: Sequence[str] = FULL_TEXT, fmt: Format = DEFAULT) -> bytes:
    """The seed's case: a proxy removed every usage object."""
    return encode(full_events(None, None, text), fmt)


def message_body(
    usage: Payload,
    text: str = "".join(FULL_TEXT),
    *,
    stop_reason: str = "end_turn",
) -> Payload:
    """A non-streaming Messages response."""
    return {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


REQUEST: Payload = {
    "model": MODEL,
    "max_tokens": 1024,
    "system": "You are a poet. Answer briefly.",
    "messages": [
        {"role": "user", "content": "Write two short sentences about the sea at night."},
    ],
    "stream": True,
}

CHINESE_TEXT = (
    (
        "\u6d77\u9762\u4e0a\u7684\u6708\u5149\u5f88\u5b89\u9759\u3002"  # 海面上的月光很安静。
        "\u6211\u4eec\u5728\u5c71\u9876\u770b\u65e5\u51fa\uff0c"  # 我们在山顶看日出，
        "\u98ce\u5f88\u51b7\uff0c\u4f46\u662f\u5fc3\u91cc\u5f88\u6696\u548c\u3002"  # 风很冷，但是心里很暖和。
    )
    * 12
)
