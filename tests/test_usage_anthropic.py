"""`UsageParser` / `parse_usage` on Anthropic Messages streams and bodies, on both backends.

Expected values come from Anthropic's documented stream format (see anthropic_streams.py) and
issue 2 / the contract: cumulative usage (the last value of each field wins, never a sum),
message_start's output_tokens is a placeholder, explicit zeros are never estimated over, stripped
usage is estimated and flagged, non-event-stream bodies are `not_sse`.

Every parse gets its own `Estimator()` so the process-wide calibration never leaks between tests.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import random
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import pytest
from anthropic_streams import (
    CHINESE_TEXT,
    FULL_DELTA_USAGE,
    MESSAGE_ID,
    MODEL,
    REQUEST,
    EventPair,
    Format,
    encode,
    error_event,
    full_events,
    full_stream,
    message_body,
    message_delta,
    message_start,
    message_stop,
    ping,
    sse_event,
    stripped_stream,
    text_block,
    thinking_block,
    tool_use_block,
)
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sseusage_fast.estimate import Estimator
from sseusage_fast.record import TOKEN_FIELDS, UsageRecord

Chunk = bytes | bytearray | memoryview

# --------------------------------------------------------------------------------------------
# helpers


def parse(backend: ModuleType, body: bytes, **kwargs: Any) -> UsageRecord:
    kwargs.setdefault("estimator", Estimator())
    record: UsageRecord = backend.parse_usage(body, **kwargs)
    return record


def parse_chunks(backend: ModuleType, chunks: Sequence[Chunk], **kwargs: Any) -> UsageRecord:
    kwargs.setdefault("estimator", Estimator())
    provider = kwargs.pop("provider", "auto")
    parser = backend.UsageParser(provider, **kwargs)
    for chunk in chunks:
        parser.feed(chunk)
    record: UsageRecord = parser.finish()
    return record


def tokens(record: UsageRecord) -> dict[str, int | None]:
    return {name: getattr(record, name) for name in TOKEN_FIELDS}


def assert_sane(record: UsageRecord) -> None:
    """Invariants every record keeps, whatever the input."""
    for name in TOKEN_FIELDS:
        value = getattr(record, name)
        assert value is None or (type(value) is int and 0 <= value < 2**63), (name, value)
    assert record.status in ("complete", "partial", "no_usage", "error", "not_sse")
    assert set(record.estimated) <= set(TOKEN_FIELDS)
    for name in record.estimated:
        assert getattr(record, name) is not None
    if record.estimated:
        assert record.requires_manual_review
    json.dumps(record.to_dict())  # plain JSON types only


FULL_TOKENS: dict[str, int | None] = {
    "input_tokens": 472,
    "cache_creation_input_tokens": 2048,
    "cache_creation_5m_input_tokens": 1536,
    "cache_creation_1h_input_tokens": 512,
    "cache_read_input_tokens": 8192,
    "output_tokens": 87,
    "reasoning_tokens": None,
    "web_search_requests": 2,
    "web_fetch_requests": 1,
}


def assert_full_record(record: UsageRecord) -> None:
    assert tokens(record) == FULL_TOKENS
    assert record.service_tier == "standard"
    assert record.speed is None
    assert record.provider == "anthropic"
    assert record.model == MODEL
    assert record.message_id == MESSAGE_ID
    assert record.stop_reason == "end_turn"
    assert record.status == "complete"
    assert record.error_type is None
    assert record.error_message is None
    assert record.no_usage_data is False
    assert record.requires_manual_review is False
    assert record.estimated == ()
    assert record.interrupted is None
    assert record.raw_usage == FULL_DELTA_USAGE
    assert record.notes == ()
    assert_sane(record)


# --------------------------------------------------------------------------------------------
# the documented happy path


def test_full_stream(backend: ModuleType) -> None:
    assert_full_record(parse(backend, full_stream()))


@pytest.mark.parametrize("provider", ["auto", "anthropic"])
def test_full_stream_provider_argument(backend: ModuleType, provider: str) -> None:
    assert_full_record(parse(backend, full_stream(), provider=provider))


def test_full_stream_compact_json(backend: ModuleType) -> None:
    # Anthropic writes compact JSON ({"type":"content_block_delta",...}).
    assert_full_record(parse(backend, full_stream(Format(compact=True))))


def test_message_start_placeholder_is_not_final(backend: ModuleType) -> None:
    # Without a message_delta the message_start output (1) is only a floor for an estimate.
    body = encode(full_events(stop=False)[:-1])  # drop message_delta
    record = parse(backend, body)
    assert record.status == "partial"
    assert record.input_tokens == 472
    assert record.output_tokens is not None and record.output_tokens >= 1
    assert "output_tokens" in record.estimated
    assert record.requires_manual_review


def test_reasoning_tokens_from_output_details(backend: ModuleType) -> None:
    events: list[EventPair] = [message_start({"input_tokens": 40, "output_tokens": 1})]
    events += thinking_block(0, ["Let me think", " about the sea."])
    events += text_block(1, ["Calm."])
    events.append(
        message_delta({"output_tokens": 310, "output_tokens_details": {"thinking_tokens": 250}})
    )
    events.append(message_stop())
    record = parse(backend, encode(events))
    assert record.output_tokens == 310
    assert record.reasoning_tokens == 250
    assert record.status == "complete"
    assert record.estimated == ()


def test_speed_and_priority_tier(backend: ModuleType) -> None:
    usage = {"input_tokens": 12, "output_tokens": 1, "service_tier": "priority", "speed": "fast"}
    record = parse(backend, full_stream(start_usage=usage))
    assert record.service_tier == "priority"
    assert record.speed == "fast"


# --------------------------------------------------------------------------------------------
# cumulative usage: last value wins, never a sum


def test_several_message_deltas_last_value_wins(backend: ModuleType) -> None:
    start = {
        "input_tokens": 100,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 50,
        "output_tokens": 1,
    }
    events: list[EventPair] = [message_start(start)]
    events += text_block(0, ["Searching..."])
    events.append(
        message_delta(
            {
                "input_tokens": 100,
                "cache_read_input_tokens": 50,
                "output_tokens": 30,
                "server_tool_use": {"web_search_requests": 1, "web_fetch_requests": 1},
            },
            stop_reason=None,
        )
    )
    events += text_block(1, ["Found it."])
    events.append(
        message_delta(
            {
                "input_tokens": 2100,
                "cache_creation_input_tokens": 300,
                "cache_read_input_tokens": 50,
                "output_tokens": 120,
                "server_tool_use": {"web_search_requests": 2},
            },
            stop_reason="end_turn",
        )
    )
    events.append(message_stop())
    record = parse(backend, encode(events))
    assert tokens(record) == {
        "input_tokens": 2100,
        "cache_creation_input_tokens": 300,
        "cache_creation_5m_input_tokens": None,
        "cache_creation_1h_input_tokens": None,
        "cache_read_input_tokens": 50,
        "output_tokens": 120,
        "reasoning_tokens": None,
        "web_search_requests": 2,
        "web_fetch_requests": 1,  # only the first delta had it: kept
    }
    assert record.stop_reason == "end_turn"
    assert record.status == "complete"
    assert record.estimated == ()
    assert record.requires_manual_review is False


def test_stop_reason_from_last_delta(backend: ModuleType) -> None:
    events: list[EventPair] = [message_start({"input_tokens": 9, "output_tokens": 1})]
    events.append(message_delta({"output_tokens": 5}, stop_reason="pause_turn"))
    events.append(message_delta({"output_tokens": 8}, stop_reason="tool_use"))
    record = parse(backend, encode(events))
    assert record.stop_reason == "tool_use"
    assert record.output_tokens == 8


def test_message_delta_overrides_message_start_input_and_cache(backend: ModuleType) -> None:
    start = {
        "input_tokens": 472,
        "cache_creation_input_tokens": 2048,
        "cache_read_input_tokens": 8192,
        "cache_creation": {"ephemeral_5m_input_tokens": 1536, "ephemeral_1h_input_tokens": 512},
        "output_tokens": 1,
    }
    delta = {
        "input_tokens": 480,
        "cache_creation_input_tokens": 1000,
        "cache_read_input_tokens": 9000,
        "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 0},
        "output_tokens": 64,
    }
    record = parse(backend, full_stream(start_usage=start, delta_usage=delta))
    assert record.input_tokens == 480
    assert record.cache_creation_input_tokens == 1000
    assert record.cache_creation_5m_input_tokens == 1000
    assert record.cache_creation_1h_input_tokens == 0
    assert record.cache_read_input_tokens == 9000
    assert record.output_tokens == 64
    assert record.raw_usage == delta
    assert record.status == "complete"


# --------------------------------------------------------------------------------------------
# transport variations: all give the record of the plain stream


def _with_comments(body: bytes) -> bytes:
    blocks = body.split(b"\n\n")
    out = b": keep-alive\n\n" + b"\n\n:\n".join(blocks)
    return out


VARIANTS: dict[str, Callable[[], bytes]] = {
    "no_event_lines": lambda: full_stream(Format(event_lines=False)),
    "data_no_space": lambda: full_stream(Format(space=False)),
    "crlf": lambda: full_stream(Format(newline="\r\n")),
    "cr": lambda: full_stream(Format(newline="\r")),
    "padded_json": lambda: full_stream(Format(pad=7, compact=True)),
    "padded_json_spaced": lambda: full_stream(Format(pad=15)),
    "ensure_ascii": lambda: full_stream(Format(ensure_ascii=True)),
    "keep_alive_comments": lambda: _with_comments(full_stream()),
    "bom": lambda: b"\xef\xbb\xbf" + full_stream(),
    "no_pings": lambda: full_stream(pings=False),
    "no_message_stop": lambda: full_stream(stop=False),
    "all_at_once": lambda: full_stream(
        Format(event_lines=False, space=False, newline="\r\n", pad=3)
    ),
    "extra_ignored_events": lambda: _with_extra_events(),
    "id_and_retry_fields": lambda: (
        b"retry: 3000\n\n" + full_stream().replace(b"event: ", b"id: 7\nevent: ")
    ),
}


def _with_extra_events() -> bytes:
    events = full_events()
    extra: list[EventPair] = [
        ping(),
        # An unknown event type (forward compatibility), even one carrying usage-like fields.
        ("future_event", {"type": "future_event", "usage": {"output_tokens": 999999}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    body = encode(events[:3] + extra[:2] + events[3:] + extra[2:])
    body += b"event: weird\ndata: not json at all\n\n"
    body += b"data: [1, 2, 3]\n\n"
    return body


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_transport_variants_equal_plain_stream(backend: ModuleType, variant: str) -> None:
    body = VARIANTS[variant]()
    record = parse(backend, body)
    if variant == "extra_ignored_events":
        # The non-JSON event is ignored, and the record says so.
        assert record.notes == ("ignored 1 event(s) whose data is not valid JSON",)
        record = dataclasses.replace(record, notes=())
    assert_full_record(record)
    assert record == parse(backend, full_stream())


def test_ping_and_message_stop_only(backend: ModuleType) -> None:
    record = parse(backend, encode([ping(), message_stop(), ping()]))
    assert tokens(record)["input_tokens"] is None
    assert record.status == "no_usage"
    assert record.no_usage_data is True
    assert record.requires_manual_review is True
    assert_sane(record)


# --------------------------------------------------------------------------------------------
# errors mid-stream


def _error_stream(**fmt: Any) -> bytes:
    events: list[EventPair] = [message_start({"input_tokens": 25, "output_tokens": 1})]
    events += text_block(0, ["Hello", " there"])[:-1]  # the block never stops
    events.append(error_event("overloaded_error", "Overloaded"))
    return encode(events, Format(**fmt))


@pytest.mark.parametrize("fmt", [{}, {"event_lines": False}, {"newline": "\r\n"}])
def test_error_event_mid_stream(backend: ModuleType, fmt: dict[str, Any]) -> None:
    record = parse(backend, _error_stream(**fmt))
    assert record.status == "error"
    assert record.error_type == "overloaded_error"
    assert record.error_message == "Overloaded"
    assert record.input_tokens == 25  # seen before the error: kept
    assert record.output_tokens is not None and record.output_tokens >= 1
    assert record.no_usage_data is False
    assert record.requires_manual_review is True
    assert record.model == MODEL
    assert record.message_id == MESSAGE_ID
    assert_sane(record)


def test_error_event_before_anything(backend: ModuleType) -> None:
    body = encode([error_event("api_error", "Internal server error")])
    record = parse(backend, body)
    assert record.status == "error"
    assert record.error_type == "api_error"
    assert record.error_message == "Internal server error"
    assert record.requires_manual_review is True
    assert_sane(record)


def test_error_after_final_usage_keeps_it(backend: ModuleType) -> None:
    events = full_events(stop=False) + [error_event()]
    record = parse(backend, encode(events))
    assert record.status == "error"
    assert record.error_type == "overloaded_error"
    assert record.input_tokens == 472
    assert record.output_tokens == 87
    assert record.requires_manual_review is True


# --------------------------------------------------------------------------------------------
# a cut last event: still read when its data is complete JSON


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("keep", [0, 1])  # line ends kept after the data line: none, or one
def test_last_event_cut_before_blank_line(backend: ModuleType, newline: str, keep: int) -> None:
    body = full_stream(Format(newline=newline), stop=False)
    cut = body[: len(body) - 2 * len(newline)] + newline.encode() * keep
    assert cut.endswith(b"}" + newline.encode() * keep)
    record = parse(backend, cut)
    assert_full_record(record)


def test_last_event_cut_padded_json(backend: ModuleType) -> None:
    body = full_stream(Format(pad=9, compact=True), stop=False).rstrip(b"\n")
    assert_full_record(parse(backend, body))


def test_last_event_cut_inside_json_is_not_read(backend: ModuleType) -> None:
    body = full_stream(stop=False)
    cut = body[: body.rindex(b'"output_tokens"') + 10]
    record = parse(backend, cut)
    assert record.status == "partial"
    assert record.input_tokens == 472
    assert "output_tokens" in record.estimated
    assert record.requires_manual_review is True


# --------------------------------------------------------------------------------------------
# usage stripped: estimated and flagged


def test_stripped_usage_no_request(backend: ModuleType) -> None:
    record = parse(backend, stripped_stream())
    assert record.status == "no_usage"
    assert record.no_usage_data is True
    assert record.requires_manual_review is True
    assert record.output_tokens is not None and record.output_tokens > 0
    assert record.estimated == ("output_tokens",)
    assert record.input_tokens is None
    for name in TOKEN_FIELDS:
        if name not in ("output_tokens",):
            assert getattr(record, name) is None, name
    assert record.model == MODEL
    assert record.message_id == MESSAGE_ID
    assert record.stop_reason == "end_turn"
    assert record.raw_usage is None
    assert_sane(record)


@pytest.mark.parametrize("kind", ["dict", "str", "bytes"])
def test_stripped_usage_with_request(backend: ModuleType, kind: str) -> None:
    request: Any = {
        "dict": REQUEST,
        "str": json.dumps(REQUEST),
        "bytes": json.dumps(REQUEST).encode(),
    }[kind]
    record = parse(backend, stripped_stream(), request=request)
    assert record.status == "no_usage"
    assert record.no_usage_data is True
    assert record.requires_manual_review is True
    assert set(record.estimated) == {"input_tokens", "output_tokens"}
    assert record.input_tokens is not None and record.input_tokens > 0
    assert record.output_tokens is not None and record.output_tokens > 0
    # Same estimate for every form of the same request.
    assert record.input_tokens == parse(backend, stripped_stream(), request=REQUEST).input_tokens
    assert_sane(record)


def test_request_estimate_grows_with_request(backend: ModuleType) -> None:
    small = parse(backend, stripped_stream(), request=REQUEST).input_tokens
    big_request = dict(REQUEST)
    big_request["messages"] = [
        {"role": "user", "content": "Write two short sentences about the sea at night. " * 40}
    ]
    big = parse(backend, stripped_stream(), request=big_request).input_tokens
    assert small is not None and big is not None
    assert big > 5 * small


def test_reported_input_not_estimated_from_request(backend: ModuleType) -> None:
    record = parse(backend, full_stream(), request=REQUEST)
    assert_full_record(record)


@pytest.mark.parametrize("ensure_ascii", [False, True])
def test_stripped_usage_chinese_estimate(backend: ModuleType, ensure_ascii: bool) -> None:
    pieces = [CHINESE_TEXT[i : i + 7] for i in range(0, len(CHINESE_TEXT), 7)]
    body = stripped_stream(pieces, Format(ensure_ascii=ensure_ascii))
    record = parse(backend, body)
    n = len(CHINESE_TEXT)
    assert record.status == "no_usage"
    assert record.estimated == ("output_tokens",)
    out = record.output_tokens
    assert out is not None
    # About one token per CJK character (generous band), far above characters/4.
    assert 0.6 * n <= out <= 1.6 * n, (out, n)
    assert out > 2 * (n / 4)
    assert out == parse(backend, stripped_stream(pieces)).output_tokens


def test_stripped_usage_estimate_counts_thinking_and_tool_input(backend: ModuleType) -> None:
    base: list[EventPair] = [message_start(None)]
    base += text_block(0, ["Short answer."])
    tail: list[EventPair] = [message_delta(None, "tool_use"), message_stop()]
    plain = parse(backend, encode(base + tail)).output_tokens
    thinking = parse(
        backend, encode(base + thinking_block(1, ["Let me reason about this. " * 20]) + tail)
    ).output_tokens
    tool = parse(
        backend,
        encode(
            base
            + tool_use_block(
                1, "get_weather", ['{"location": ', '"San Francisco, CA", ', '"unit": "celsius"}']
            )
            + tail
        ),
    ).output_tokens
    assert plain is not None and thinking is not None and tool is not None
    assert thinking > plain + 50
    assert tool > plain


def test_estimate_false_leaves_missing_none(backend: ModuleType) -> None:
    record = parse(backend, stripped_stream(), request=REQUEST, estimate=False)
    assert record.status == "no_usage"
    assert record.input_tokens is None
    assert record.output_tokens is None
    assert record.estimated == ()
    assert record.no_usage_data is True
    assert record.requires_manual_review is True


def test_estimate_false_partial(backend: ModuleType) -> None:
    body = encode(full_events()[:4])  # message_start + block start + ping + one delta
    record = parse(backend, body, estimate=False)
    assert record.status == "partial"
    assert record.input_tokens == 472
    assert record.estimated == ()
    assert record.requires_manual_review is True


# --------------------------------------------------------------------------------------------
# explicit zeros


def test_explicit_zero_output_is_kept(backend: ModuleType) -> None:
    record = parse(
        backend,
        full_stream(
            start_usage={"input_tokens": 0, "output_tokens": 0},
            delta_usage={"output_tokens": 0},
        ),
        request=REQUEST,
    )
    assert record.output_tokens == 0
    assert record.input_tokens == 0
    assert record.estimated == ()
    assert record.status == "complete"
    assert record.no_usage_data is False
    assert record.requires_manual_review is False


def test_explicit_zero_in_body_is_kept(backend: ModuleType) -> None:
    body = json.dumps(message_body({"input_tokens": 0, "output_tokens": 0}, "some text")).encode()
    record = parse(backend, body, request=REQUEST)
    assert record.input_tokens == 0
    assert record.output_tokens == 0
    assert record.estimated == ()
    assert record.status == "complete"


# --------------------------------------------------------------------------------------------
# cut streams


def test_cut_after_message_start(backend: ModuleType) -> None:
    body = encode(full_events()[:1])
    record = parse(backend, body)
    assert record.status == "partial"
    assert record.input_tokens == 472
    assert record.cache_read_input_tokens == 8192
    assert record.cache_creation_input_tokens == 2048
    assert record.output_tokens is not None and record.output_tokens >= 1
    assert "output_tokens" in record.estimated
    assert "input_tokens" not in record.estimated
    assert record.no_usage_data is False
    assert record.requires_manual_review is True
    assert_sane(record)


def test_cut_mid_text(backend: ModuleType) -> None:
    long_text = ["The quick brown fox jumps over the lazy dog. "] * 40
    events = full_events(text=long_text)
    body = encode(events[: len(events) - 4])
    record = parse(backend, body)
    assert record.status == "partial"
    assert record.input_tokens == 472
    # The placeholder is a floor; the streamed text is well above one token.
    assert record.output_tokens is not None and record.output_tokens > 100
    assert "output_tokens" in record.estimated


# --------------------------------------------------------------------------------------------
# not an event stream


HTML_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n"
)


def _garbage() -> bytes:
    rng = random.Random(20240601)
    data = bytes(rng.randrange(256) for _ in range(4096))
    # Deterministic, and not looking like text, JSON or markup at the start.
    return b"\x00\x9f\x92" + data


NOT_SSE: dict[str, Callable[[], bytes]] = {
    "html": lambda: HTML_PAGE,
    "html_leading_whitespace": lambda: b"\r\n  \n" + HTML_PAGE,
    "gzip": lambda: gzip.compress(full_stream()),
    "garbage": _garbage,
    "plain_text": lambda: b"Internal Server Error\n",
    "plain_text_lines": lambda: b"upstream request timeout\nplease retry later\n\n",
    "json_not_provider": lambda: b'{"hello": "world"}',
    "json_broken": lambda: b'{"type": "message", "usage": {"input_tokens": 3',
}


@pytest.mark.parametrize("kind", sorted(NOT_SSE))
def test_not_sse(backend: ModuleType, kind: str) -> None:
    record = parse(backend, NOT_SSE[kind]())
    assert record.status == "not_sse"
    assert record.requires_manual_review is True
    assert record.no_usage_data is True
    assert record.error_message
    assert record.input_tokens is None
    assert record.raw_usage is None
    assert_sane(record)
    if kind == "gzip":
        assert "gzip" in record.error_message.lower()


def test_empty_body(backend: ModuleType) -> None:
    # Zero bytes is a stream that ended before anything arrived (a disconnect), not a page of
    # something else: no_usage, flagged (the project's decision in 41db360).
    record = parse(backend, b"")
    assert record.status == "no_usage"
    assert record.error_message and "empty" in record.error_message
    assert record.no_usage_data is True
    assert record.requires_manual_review is True
    assert record.input_tokens is None
    assert record.output_tokens in (None, 0)  # nothing streamed: nothing to estimate
    assert_sane(record)
    assert parse_chunks(backend, [b"", b""]) == record
    assert parse(backend, b"", request=REQUEST).input_tokens


# --------------------------------------------------------------------------------------------
# non-streaming bodies


def test_json_body_matches_stream(backend: ModuleType) -> None:
    usage = {
        "input_tokens": 472,
        "cache_creation_input_tokens": 2048,
        "cache_read_input_tokens": 8192,
        "cache_creation": {
            "ephemeral_5m_input_tokens": 1536,
            "ephemeral_1h_input_tokens": 512,
        },
        "output_tokens": 87,
        "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 1},
        "service_tier": "standard",
    }
    body = json.dumps(message_body(usage)).encode()
    record = parse(backend, body)
    stream_record = parse(backend, full_stream())
    assert tokens(record) == tokens(stream_record) == FULL_TOKENS
    for name in ("model", "message_id", "stop_reason", "service_tier", "provider", "status"):
        assert getattr(record, name) == getattr(stream_record, name), name
    assert record.status == "complete"
    assert record.no_usage_data is False
    assert record.requires_manual_review is False
    assert record.estimated == ()
    assert record.raw_usage == usage
    # Pretty-printed with leading white space: the same.
    pretty = b"\n  " + json.dumps(message_body(usage), indent=2).encode() + b"\n"
    assert parse(backend, pretty) == record


@pytest.mark.parametrize(
    ("error_type", "message"),
    [("overloaded_error", "Overloaded"), ("rate_limit_error", "Number of requests exceeded")],
)
def test_json_error_body(backend: ModuleType, error_type: str, message: str) -> None:
    body = json.dumps({"type": "error", "error": {"type": error_type, "message": message}}).encode()
    record = parse(backend, body, request=REQUEST)
    assert record.status == "error"
    assert record.error_type == error_type
    assert record.error_message == message
    assert record.requires_manual_review is False
    assert record.estimated == ()
    assert record.input_tokens is None
    assert record.output_tokens is None
    assert_sane(record)


def test_json_error_body_with_request_id(backend: ModuleType) -> None:
    body = (
        b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},'
        b'"request_id":"req_011CSHoEeqs5C35K2UUqR7Fy"}'
    )
    record = parse(backend, body)
    assert record.status == "error"
    assert record.error_type == "overloaded_error"
    assert record.requires_manual_review is False


# --------------------------------------------------------------------------------------------
# Bedrock


BEDROCK_METRICS = {
    "inputTokenCount": 30,
    "outputTokenCount": 40,
    "invocationLatency": 1234,
    "firstByteLatency": 321,
    "cacheReadInputTokenCount": 5,
    "cacheWriteInputTokenCount": 7,
}


def test_bedrock_metrics_fill_missing_usage(backend: ModuleType) -> None:
    events = full_events(None, None, stop=False) + [message_stop(BEDROCK_METRICS)]
    record = parse(backend, encode(events))
    assert record.input_tokens == 30
    assert record.output_tokens == 40
    assert record.cache_read_input_tokens == 5
    assert record.cache_creation_input_tokens == 7
    assert record.status == "complete"
    assert record.estimated == ()
    assert record.no_usage_data is False
    assert record.requires_manual_review is False


def test_bedrock_metrics_do_not_override_anthropic_usage(backend: ModuleType) -> None:
    metrics = dict(BEDROCK_METRICS, inputTokenCount=999, outputTokenCount=888)
    events = full_events(stop=False) + [message_stop(metrics)]
    record = parse(backend, encode(events))
    assert tokens(record) == FULL_TOKENS
    assert record.status == "complete"


def test_bedrock_metrics_fill_output_after_start_usage(backend: ModuleType) -> None:
    events = full_events({"input_tokens": 25, "output_tokens": 1}, None, stop=False)
    events.append(message_stop({"inputTokenCount": 25, "outputTokenCount": 61}))
    record = parse(backend, encode(events))
    assert record.input_tokens == 25
    assert record.output_tokens == 61
    assert record.status == "complete"
    assert record.estimated == ()


# --------------------------------------------------------------------------------------------
# hostile numbers


HOSTILE = [
    "-5",
    "2.5",
    '"12"',
    "1000000000000000000000000000000",
    "true",
    "false",
    "18446744073709551617",
    "9223372036854775808",
    "-9223372036854775809",
    "[3]",
    "{}",
]


def fill(template: str, value: str) -> str:
    return template.replace("@", value)


def _raw_stream(start_usage: str, delta_usage: str) -> bytes:
    start = (
        '{"type":"message_start","message":{"id":"' + MESSAGE_ID + '","type":"message",'
        '"role":"assistant","model":"' + MODEL + '","content":[],"stop_reason":null,'
        '"stop_sequence":null,"usage":' + start_usage + "}}"
    )
    delta = (
        '{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},'
        '"usage":' + delta_usage + "}"
    )
    events = [("message_start", start)]
    events += [(k, json.dumps(p)) for k, p in text_block(0, ["Hi there."])]
    events += [("message_delta", delta), ("message_stop", '{"type":"message_stop"}')]
    return b"".join(sse_event(k, p) for k, p in events)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_counts_ignored(backend: ModuleType, value: str) -> None:
    body = _raw_stream(
        fill('{"input_tokens":@,"output_tokens":1,"cache_read_input_tokens":@}', value),
        fill(
            '{"output_tokens":20,"cache_creation_input_tokens":@,'
            '"server_tool_use":{"web_search_requests":@}}',
            value,
        ),
    )
    record = parse(backend, body, estimate=False)
    assert record.input_tokens is None
    assert record.cache_read_input_tokens is None
    assert record.cache_creation_input_tokens is None
    assert record.web_search_requests is None
    assert record.output_tokens == 20
    if value not in ("[3]", "{}"):
        assert record.notes, "a rejected count leaves a note"
    assert_sane(record)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_count_does_not_replace_good_one(backend: ModuleType, value: str) -> None:
    body = _raw_stream(
        '{"input_tokens":40,"output_tokens":1,"cache_read_input_tokens":6}',
        fill('{"output_tokens":20,"input_tokens":@,"cache_read_input_tokens":@}', value),
    )
    record = parse(backend, body)
    assert record.input_tokens == 40
    assert record.cache_read_input_tokens == 6
    assert record.output_tokens == 20
    assert record.estimated == ()
    assert_sane(record)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_output_is_estimated_not_trusted(backend: ModuleType, value: str) -> None:
    body = _raw_stream('{"input_tokens":40,"output_tokens":1}', fill('{"output_tokens":@}', value))
    record = parse(backend, body)
    assert record.input_tokens == 40
    assert record.output_tokens is not None and 1 <= record.output_tokens < 1000
    assert "output_tokens" in record.estimated
    assert record.requires_manual_review is True
    assert_sane(record)


def test_hostile_bedrock_metrics(backend: ModuleType) -> None:
    metrics = {"inputTokenCount": -1, "outputTokenCount": 1e30, "cacheReadInputTokenCount": "3"}
    events = full_events(None, None, stop=False) + [message_stop(metrics)]
    record = parse(backend, encode(events), estimate=False)
    assert record.input_tokens is None
    assert record.output_tokens is None
    assert record.cache_read_input_tokens is None
    assert record.notes
    assert_sane(record)


# --------------------------------------------------------------------------------------------
# size limit


def test_event_larger_than_max_event_bytes(backend: ModuleType) -> None:
    events: list[EventPair] = [message_start({"input_tokens": 25, "output_tokens": 1})]
    events += text_block(0, ["short", "x" * 5000, "tail"])
    events.append(message_delta({"output_tokens": 15}))
    events.append(message_stop())
    body = encode(events)
    record = parse(backend, body, max_event_bytes=1024)
    assert record.status == "error"
    assert record.error_type == "event_too_large"
    assert record.error_message
    assert record.input_tokens == 25
    assert record.model == MODEL
    assert record.requires_manual_review is True
    assert_sane(record)
    # The same body under the default limit is complete.
    assert parse(backend, body).status == "complete"
    # Fed in small chunks: the same record.
    chunks = [body[i : i + 100] for i in range(0, len(body), 100)]
    assert parse_chunks(backend, chunks, max_event_bytes=1024) == record


def test_json_body_larger_than_max_event_bytes(backend: ModuleType) -> None:
    body = json.dumps(message_body({"input_tokens": 3, "output_tokens": 9}, "y" * 5000)).encode()
    record = parse(backend, body, max_event_bytes=1024)
    assert record.status == "error"
    assert record.error_type == "event_too_large"
    assert record.requires_manual_review is True


@pytest.mark.parametrize("bad", [0, -1])
def test_bad_max_event_bytes(backend: ModuleType, bad: int) -> None:
    with pytest.raises(ValueError):
        backend.UsageParser(max_event_bytes=bad)


# --------------------------------------------------------------------------------------------
# parser API


def test_finish_twice_and_feed_after_finish(backend: ModuleType) -> None:
    parser = backend.UsageParser(estimator=Estimator())
    parser.feed(full_stream())
    first = parser.finish()
    assert parser.finish() == first
    assert_full_record(first)
    with pytest.raises(RuntimeError):
        parser.feed(b"data: {}\n\n")
    assert parser.finish() == first


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview"])
def test_feed_accepts_buffers(backend: ModuleType, kind: str) -> None:
    body = full_stream()
    wrap: Callable[[bytes], Chunk] = {
        "bytes": bytes,
        "bytearray": bytearray,
        "memoryview": memoryview,
    }[kind]
    chunks = [wrap(body[i : i + 37]) for i in range(0, len(body), 37)]
    assert_full_record(parse_chunks(backend, chunks))
    assert_full_record(backend.parse_usage(wrap(body), estimator=Estimator()))


def test_feed_memoryview_slice(backend: ModuleType) -> None:
    body = b"XXXX" + full_stream() + b"YYYY"
    view = memoryview(body)[4:-4]
    assert_full_record(parse_chunks(backend, [view]))


def test_feed_rejects_str(backend: ModuleType) -> None:
    parser = backend.UsageParser(estimator=Estimator())
    with pytest.raises(TypeError):
        parser.feed(full_stream().decode())


def test_unknown_provider(backend: ModuleType) -> None:
    with pytest.raises(ValueError):
        backend.UsageParser(provider="nonsense")
    with pytest.raises(ValueError):
        backend.parse_usage(full_stream(), provider="nonsense")


# --------------------------------------------------------------------------------------------
# chunking: any split gives the one-shot record


def _tool_stream() -> bytes:
    events: list[EventPair] = [message_start({"input_tokens": 300, "output_tokens": 3})]
    events += thinking_block(0, ["I should call ", "the weather tool."])
    events += tool_use_block(1, "get_weather", ['{"loc', 'ation": "Par', 'is \\u00e9"}'])
    events.append(message_delta({"output_tokens": 77}, "tool_use"))
    events.append(message_stop())
    return encode(events, Format(compact=True, pad=4))


CHUNK_STREAMS: dict[str, Callable[[], bytes]] = {
    "full": full_stream,
    "full_crlf": lambda: full_stream(Format(newline="\r\n")),
    "full_cr_no_events": lambda: full_stream(Format(newline="\r", event_lines=False)),
    "bom_comments": lambda: b"\xef\xbb\xbf" + _with_comments(full_stream(Format(space=False))),
    "stripped_cjk": lambda: stripped_stream(
        [CHINESE_TEXT[:20], CHINESE_TEXT[20:33], "\U0001f30a emoji \u00e9"]
    ),
    "error": _error_stream,
    "tool": _tool_stream,
    "cut_last": lambda: full_stream(stop=False).rstrip(b"\n"),
    "json_body": lambda: json.dumps(message_body({"input_tokens": 3, "output_tokens": 9})).encode(),
    "html": lambda: HTML_PAGE,
}


@pytest.mark.parametrize("name", sorted(CHUNK_STREAMS))
def test_every_split_point(backend: ModuleType, name: str) -> None:
    body = CHUNK_STREAMS[name]()
    expected = parse(backend, body)
    for i in range(len(body) + 1):
        got = parse_chunks(backend, [body[:i], body[i:]])
        assert got == expected, f"split at {i}: {body[:i][-20:]!r} | {body[i:][:20]!r}"


@pytest.mark.parametrize("name", sorted(CHUNK_STREAMS))
def test_one_byte_at_a_time(backend: ModuleType, name: str) -> None:
    body = CHUNK_STREAMS[name]()
    expected = parse(backend, body)
    chunks: list[bytes] = []
    for i in range(len(body)):
        chunks.append(body[i : i + 1])
        if i % 17 == 0:
            chunks.append(b"")  # empty reads are harmless
    assert parse_chunks(backend, chunks) == expected


def _chunked(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    out: list[bytes] = []
    prev = 0
    for p in points:
        out.append(body[prev:p])
        prev = p
    out.append(body[prev:])
    return out


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    name=st.sampled_from(sorted(CHUNK_STREAMS)),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=40),
)
def test_random_chunkings(backend: ModuleType, name: str, cuts: list[int]) -> None:
    body = CHUNK_STREAMS[name]()
    chunks = _chunked(body, cuts)
    assert parse_chunks(backend, chunks) == parse(backend, body)


# --------------------------------------------------------------------------------------------
# differential: native == pure == one-shot


def _all_fixtures() -> dict[str, bytes]:
    out = {f"chunk:{k}": f() for k, f in CHUNK_STREAMS.items()}
    out.update({f"variant:{k}": f() for k, f in VARIANTS.items()})
    out.update({f"not_sse:{k}": f() for k, f in NOT_SSE.items()})
    out["stripped"] = stripped_stream()
    out["start_only"] = encode(full_events()[:1])
    out["hostile"] = _raw_stream('{"input_tokens":-5,"output_tokens":2.5}', '{"output_tokens":"7"}')
    out["bedrock"] = encode(full_events(None, None, stop=False) + [message_stop(BEDROCK_METRICS)])
    out["empty"] = b""
    out["error_body"] = (
        b'{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
    )
    return out


FIXTURES = _all_fixtures()


@pytest.mark.parametrize("name", sorted(FIXTURES))
@pytest.mark.parametrize("with_request", [False, True])
def test_differential_fixtures(
    both: tuple[ModuleType, ModuleType], name: str, with_request: bool
) -> None:
    native, pure = both
    body = FIXTURES[name]
    kwargs: dict[str, Any] = {"request": REQUEST} if with_request else {}
    a = parse(native, body, **kwargs).to_dict()
    b = parse(pure, body, **kwargs).to_dict()
    assert a == b
    chunks = [body[i : i + 5] for i in range(0, len(body), 5)]
    assert parse_chunks(native, chunks, **kwargs).to_dict() == a
    assert parse_chunks(pure, chunks, **kwargs).to_dict() == a


def test_differential_small_max_event_bytes(both: tuple[ModuleType, ModuleType]) -> None:
    native, pure = both
    for name, body in FIXTURES.items():
        for limit in (64, 300, 1024):
            a = parse(native, body, max_event_bytes=limit).to_dict()
            b = parse(pure, body, max_event_bytes=limit).to_dict()
            assert a == b, (name, limit)


def test_differential_huge_integer_in_raw_usage(both: tuple[ModuleType, ModuleType]) -> None:
    native, pure = both
    body = _raw_stream(
        '{"input_tokens":12,"output_tokens":1}',
        '{"output_tokens":5,"input_tokens":1000000000000000000000000000000}',
    )
    a = parse(native, body).to_dict()
    b = parse(pure, body).to_dict()
    assert a["input_tokens"] == b["input_tokens"] == 12  # the huge value is ignored in both
    assert a == b


# Random Anthropic-shaped streams.

TEXT_ALPHABET = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(list("\u6d77\u9762\u6708\u5149\u3002\uff0c\u3042\ud55c") + ["\U0001f30a"]),
    st.sampled_from(['"', "\\", "\n", "\r", "\t", "\u00e9", "\u2028", "\x00", " ", "}", "{"]),
)
COUNT = st.integers(min_value=0, max_value=2_000_000)


@st.composite
def usage_objects(draw: st.DrawFn, *, start: bool) -> dict[str, Any] | None:
    if draw(st.integers(0, 9)) == 0:
        return None  # stripped
    usage: dict[str, Any] = {}
    keys = ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"]
    for key in keys:
        if draw(st.booleans()) if not start else draw(st.integers(0, 5)) > 0:
            usage[key] = draw(COUNT)
    if start or draw(st.integers(0, 9)) > 0:
        usage["output_tokens"] = draw(st.integers(0, 3)) if start else draw(COUNT)
    if draw(st.booleans()):
        usage["cache_creation"] = {
            "ephemeral_5m_input_tokens": draw(COUNT),
            "ephemeral_1h_input_tokens": draw(COUNT),
        }
    if draw(st.booleans()):
        usage["server_tool_use"] = {"web_search_requests": draw(st.integers(0, 20))}
    if draw(st.integers(0, 4)) == 0:
        usage[draw(st.sampled_from(keys + ["output_tokens"]))] = draw(
            st.sampled_from([-1, 2.5, "3", True, None, 2**63, 10**12 + 1])
        )
    if start and draw(st.booleans()):
        usage["service_tier"] = draw(st.sampled_from(["standard", "priority", "batch"]))
    return usage


@st.composite
def anthropic_streams(draw: st.DrawFn) -> bytes:
    events: list[EventPair] = [message_start(draw(usage_objects(start=True)))]
    n_blocks = draw(st.integers(0, 3))
    for index in range(n_blocks):
        pieces = draw(st.lists(st.text(TEXT_ALPHABET, max_size=12), max_size=5))
        kind = draw(st.sampled_from(["text", "thinking", "tool"]))
        if kind == "text":
            block = text_block(index, pieces)
        elif kind == "thinking":
            block = thinking_block(index, pieces)
        else:
            block = tool_use_block(index, "tool", [json.dumps(p) for p in pieces])
        if draw(st.booleans()):
            block.insert(draw(st.integers(0, len(block))), ping())
        events += block
    for _ in range(draw(st.integers(0, 3))):
        events.append(
            message_delta(
                draw(usage_objects(start=False)),
                draw(st.sampled_from([None, "end_turn", "max_tokens", "tool_use"])),
            )
        )
    ending = draw(st.sampled_from(["stop", "none", "error", "bedrock"]))
    if ending == "stop":
        events.append(message_stop())
    elif ending == "error":
        events.append(error_event(draw(st.sampled_from(["overloaded_error", "api_error"]))))
    elif ending == "bedrock":
        events.append(
            message_stop({"inputTokenCount": draw(COUNT), "outputTokenCount": draw(COUNT)})
        )
    fmt = Format(
        event_lines=draw(st.booleans()),
        space=draw(st.booleans()),
        newline=draw(st.sampled_from(["\n", "\r\n", "\r"])),
        pad=draw(st.sampled_from([0, 0, 1, 12])),
        ensure_ascii=draw(st.booleans()),
        compact=draw(st.booleans()),
    )
    body = encode(events, fmt)
    if draw(st.integers(0, 3)) == 0:
        body = body[: draw(st.integers(0, len(body)))]  # a random cut
    return body


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    body=anthropic_streams(),
    cuts=st.lists(st.integers(min_value=0, max_value=100_000), max_size=12),
    with_request=st.booleans(),
)
def test_differential_random_streams(
    both: tuple[ModuleType, ModuleType], body: bytes, cuts: list[int], with_request: bool
) -> None:
    native, pure = both
    note(repr(body))
    kwargs: dict[str, Any] = {"request": REQUEST} if with_request else {}
    a = parse(native, body, **kwargs)
    assert_sane(a)
    expected = a.to_dict()
    assert parse(pure, body, **kwargs).to_dict() == expected
    chunks = _chunked(body, cuts)
    assert parse_chunks(native, chunks, **kwargs).to_dict() == expected
    assert parse_chunks(pure, chunks, **kwargs).to_dict() == expected


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(body=anthropic_streams())
def test_random_streams_uncut_complete(backend: ModuleType, body: bytes) -> None:
    """Properties of every random stream: sane values, status consistent with the flags."""
    record = parse(backend, body)
    assert_sane(record)
    if record.status == "complete" and not record.estimated:
        assert record.requires_manual_review is (
            record.input_tokens is None or record.output_tokens is None
        )
    if record.status in ("no_usage", "not_sse", "partial"):
        assert record.requires_manual_review
