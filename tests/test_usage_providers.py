"""UsageParser / parse_usage on OpenAI Chat Completions, OpenAI Responses, Gemini and Anthropic on
Bedrock, from each provider's documented stream and body shapes (see provider_streams.py).

Every test runs on both backends (`backend`), or compares them (`both`). Records are compared
whole (`to_dict()`), so every field is pinned: the normalised token buckets (input = prompt minus
cached; output includes reasoning; Gemini output = candidates + thoughts), identity fields,
status and flags. Each parser gets its own `Estimator()` so calibration never leaks between
tests. Every fixture is also fed in random chunks, one byte at a time, and split inside CRLF
and inside multibyte UTF-8: native == pure == one-shot parse_usage.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from provider_streams import (
    BEDROCK_MESSAGE_ID,
    BEDROCK_MODEL,
    CHAT_ID,
    CHAT_MODEL,
    GEMINI_ERROR_BODY,
    GEMINI_MODEL,
    GEMINI_RESPONSE_ID,
    OPENAI_ERROR_BODY,
    RESP_ID,
    RESP_MODEL,
    UNICODE_TEXT,
    Payload,
    bedrock_metrics,
    bedrock_stream,
    chat_body,
    chat_stream,
    chat_usage,
    gemini_array_body,
    gemini_body,
    gemini_chunk,
    gemini_stream,
    gemini_usage,
    responses_body,
    responses_stream,
    responses_usage,
    sse,
)
from sseusage_fast.estimate import Estimator, text_stats
from sseusage_fast.estimate.bounds import TOOL_PROMPT_TOKENS, estimate_output
from sseusage_fast.record import ESTIMATE_REASONS, UsageRecord

Record = dict[str, Any]


# --------------------------------------------------------------------------------------------
# helpers


def expected(**fields: Any) -> Record:
    """A whole record dict: the UsageRecord defaults with `fields` set (framing: an event
    stream unless said otherwise)."""
    out = UsageRecord(framing="sse").to_dict()
    unknown = set(fields) - set(out)
    assert not unknown, f"not record fields: {unknown}"
    out.update(fields)
    out["estimated"] = list(out["estimated"])
    out["notes"] = list(out["notes"])
    return out


def framed(record: Record, framing: str) -> Record:
    """`record` as read from another framing (a whole JSON body, an array, ...)."""
    return {**record, "framing": framing}


def pieces(body: bytes, cuts: Sequence[int]) -> list[bytes]:
    """`body` cut at the given offsets (any order, duplicates and ends allowed)."""
    points = sorted({c for c in cuts if 0 < c < len(body)})
    out: list[bytes] = []
    start = 0
    for point in [*points, len(body)]:
        out.append(body[start:point])
        start = point
    return out


def feed(
    module: ModuleType,
    body: bytes,
    cuts: Sequence[int] = (),
    provider: str = "auto",
    **kwargs: Any,
) -> Record:
    """The record of `body` fed to a fresh UsageParser in pieces cut at `cuts`."""
    parser = module.UsageParser(provider, estimator=Estimator(), **kwargs)
    for i, chunk in enumerate(pieces(body, cuts)):
        # Alternate the accepted buffer types on the way.
        parser.feed(chunk if i % 3 == 0 else bytearray(chunk) if i % 3 == 1 else memoryview(chunk))
    record: Record = parser.finish().to_dict()
    return record


def one_shot(module: ModuleType, body: bytes, provider: str = "auto", **kwargs: Any) -> Record:
    record: Record = module.parse_usage(body, provider, estimator=Estimator(), **kwargs).to_dict()
    return record


def bytewise(module: ModuleType, body: bytes, provider: str = "auto") -> Record:
    return feed(module, body, range(1, len(body)), provider)


def estimate(text: str) -> int:
    """What an uncalibrated estimator makes of the streamed text (the parser counts the text
    incrementally, in stream order, which gives the same stats as the joined text)."""
    return Estimator().count(text)


def out_estimate(
    text: str,
    model: str | None,
    *,
    provider: str | None = None,
    thinking: bool = False,
    tools: bool = False,
    truncated: bool = False,
    floor: int = 0,
    no_request: bool = True,
) -> dict[str, Any]:
    """The record fields of an uncalibrated output estimate of the streamed text, as
    estimate/bounds makes it from what the parser saw (its own tests are in test_bounds.py):
    here they check that the parser hands it the right text and flags."""
    e = estimate_output(
        Estimator(),
        text_stats(text),
        Estimator.base_tokens,
        model=model,
        provider=provider,
        saw_thinking=thinking,
        saw_tool_use=tools,
        request=None,
        truncated=truncated,
        floor=floor,
    )
    reasons = {*e.reasons, "no_request"} if no_request else set(e.reasons)
    return {
        "output_tokens": e.value,
        "estimate_ranges": {"output_tokens": [e.low, e.high]},
        "estimate_reasons": [r for r in ESTIMATE_REASONS if r in reasons],
    }


def hard_cuts(body: bytes) -> list[int]:
    """Offsets inside a CRLF pair and inside every multibyte UTF-8 character."""
    cuts = [i + 1 for i in range(len(body) - 1) if body[i : i + 2] == b"\r\n"]
    cuts += [i for i, byte in enumerate(body) if 0x80 <= byte < 0xC0]  # continuation bytes
    return sorted(cuts)


# --------------------------------------------------------------------------------------------
# OpenAI Chat Completions

CHAT_TEXTS = ("Hello", "! ", *UNICODE_TEXT)
CHAT_TEXT = "".join(CHAT_TEXTS)
# o-series style: 1920 of the 2006 prompt tokens from the cache, 192 of 300 output reasoning.
CHAT_USAGE = chat_usage(2006, 300, cached=1920, reasoning=192)
CHAT_STREAM = chat_stream(CHAT_TEXTS, CHAT_USAGE)
CHAT_BODY = chat_body(CHAT_TEXT, CHAT_USAGE)
CHAT_RECORD = expected(
    input_tokens=86,
    cache_read_input_tokens=1920,
    output_tokens=300,
    reasoning_tokens=192,
    audio_input_tokens=0,  # prompt_tokens_details.audio_tokens
    audio_output_tokens=0,  # completion_tokens_details.audio_tokens
    service_tier="default",
    provider="openai",
    model=CHAT_MODEL,
    message_id=CHAT_ID,
    stop_reason="stop",
    status="complete",
    no_usage_data=False,
    requires_manual_review=False,
    raw_usage=CHAT_USAGE,
)

CHAT_TOOL_TEXTS = ("Let me check ", "the weather ", "für dich.")
CHAT_TOOL = ("get_weather", ('{"loca', 'tion": "Par', "is, Fran", 'ce", "unit": "°C"}'))
CHAT_TOOL_OUTPUT_TEXT = "".join(CHAT_TOOL_TEXTS) + CHAT_TOOL[0] + "".join(CHAT_TOOL[1])
# The caller did not set stream_options.include_usage: no usage anywhere.
CHAT_NO_USAGE_STREAM = chat_stream(
    CHAT_TOOL_TEXTS, None, include_usage=False, tool=CHAT_TOOL, finish_reason="tool_calls"
)
CHAT_REQUEST: Payload = {
    "model": "gpt-4o",
    "stream": True,
    "messages": [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the weather like in Paris today?"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Get the current weather in a given location",
                "parameters": {
                    "type": "object",
                    "properties": {"location": {"type": "string"}, "unit": {"type": "string"}},
                    "required": ["location"],
                },
            },
        }
    ],
}

CHAT_SERVER_ERROR: Payload = {
    "message": "The server had an error while processing your request. Sorry about that!",
    "type": "server_error",
    "param": None,
    "code": None,
}
CHAT_ERROR_STREAM = chat_stream(CHAT_TEXTS[:3], None, error=CHAT_SERVER_ERROR)

# Gemini's OpenAI-compatible endpoint: a cumulative usage on every chunk, no usage-only chunk.
COMPAT_TEXTS = ("The sky ", "is blue ", "because of ", "Rayleigh-", "Streuung 🌈.")
COMPAT_USAGES = [chat_usage(31, n) for n in (0, 3, 6, 9, 12, 14)] + [chat_usage(31, 40)]
COMPAT_STREAM = chat_stream(
    COMPAT_TEXTS,
    None,
    include_usage=False,
    repeat_usage=COMPAT_USAGES,
    model=GEMINI_MODEL,
    chunk_id="ZZjbZ6LKOuS-nvgPkqWv8Qo",
)


def test_chat_include_usage_stream(backend: ModuleType) -> None:
    # Sanity on the fixture itself: usage null on every chunk but the last, which has no choices.
    events = [json.loads(block[6:]) for block in CHAT_STREAM.split(b"\n\n")[:-2]]
    assert all(e["usage"] is None for e in events[:-1])
    assert events[-1]["choices"] == [] and events[-1]["usage"] == CHAT_USAGE
    assert events[-2]["choices"][0]["finish_reason"] == "stop"
    assert CHAT_STREAM.endswith(b"data: [DONE]\n\n")

    assert one_shot(backend, CHAT_STREAM) == CHAT_RECORD
    assert feed(backend, CHAT_STREAM, provider="openai") == CHAT_RECORD


def test_chat_without_cache_details_reads_all_input_as_uncached(backend: ModuleType) -> None:
    usage = chat_usage(57, 17)
    record = one_shot(backend, chat_stream(("Hi!",), usage))
    assert record == expected(
        input_tokens=57,
        cache_read_input_tokens=0,
        output_tokens=17,
        service_tier="default",
        provider="openai",
        model=CHAT_MODEL,
        message_id=CHAT_ID,
        stop_reason="stop",
        status="complete",
        no_usage_data=False,
        requires_manual_review=False,
        raw_usage=usage,
    )


def test_chat_usage_chunk_alone_is_enough(backend: ModuleType) -> None:
    """The usage chunk is read on its own; [DONE] is not needed to make the figures final."""
    stream = chat_stream(CHAT_TEXTS, CHAT_USAGE, done=False)
    assert one_shot(backend, stream) == CHAT_RECORD


def test_chat_no_usage_estimates_output_from_content_and_tool_arguments(
    backend: ModuleType,
) -> None:
    record = one_shot(backend, CHAT_NO_USAGE_STREAM)
    assert record == expected(
        **out_estimate(CHAT_TOOL_OUTPUT_TEXT, CHAT_MODEL, provider="openai", tools=True),
        service_tier="default",
        provider="openai",
        model=CHAT_MODEL,
        message_id=CHAT_ID,
        stop_reason="tool_calls",
        status="no_usage",
        no_usage_data=True,
        requires_manual_review=True,
        estimated=["output_tokens"],
    )
    assert record["output_tokens"] > estimate("".join(CHAT_TOOL_TEXTS))


def test_choice_text_beside_a_delta_is_counted_once(backend: ModuleType) -> None:
    """Together repeats each delta's text in the choice's legacy `text`: the estimate reads
    the reply once (the real capture, usage taken out), as for the same chunks without `text`;
    a choice without a delta is a legacy completion, its `text` the reply."""
    capture_index = pytest.importorskip("capture_index")
    cap = next(c for c in capture_index.load_captures() if c.name == "together/oi_chat_stream.sse")
    body = capture_index.strip_usage(cap)
    reply = ""
    for line in body.decode().splitlines():
        if line.startswith("data: {"):
            choices = json.loads(line[6:]).get("choices") or []
            reply += "".join(c.get("delta", {}).get("content") or "" for c in choices)
    assert reply.startswith("1, 2, 3")
    record = one_shot(backend, body)
    want = out_estimate(reply, cap.expected["model"], provider="openai")
    assert (record["output_tokens"], record["estimate_ranges"]) == (
        want["output_tokens"],
        want["estimate_ranges"],
    )

    def legacy(text: str) -> bytes:
        chunk = {"id": "c", "object": "text_completion", "model": "m"}
        return ("data: " + json.dumps({**chunk, "choices": [{"index": 0, "text": text}]})).encode()

    stream = b"\n\n".join(legacy(t) for t in ("One", ", two", " three.")) + b"\n\n"
    record = one_shot(backend, stream, "openai")
    assert record["output_tokens"] == out_estimate("One, two three.", "m")["output_tokens"]


def test_chat_no_usage_with_request_estimates_input_too(backend: ModuleType) -> None:
    record = one_shot(backend, CHAT_NO_USAGE_STREAM, request=json.dumps(CHAT_REQUEST))
    input_estimate = Estimator().estimate_request(CHAT_REQUEST, "openai", model=CHAT_MODEL)
    assert input_estimate is not None and input_estimate > 0
    assert record["input_tokens"] == input_estimate
    tool_output = out_estimate(CHAT_TOOL_OUTPUT_TEXT, CHAT_MODEL, provider="openai", tools=True)
    assert record["output_tokens"] == tool_output["output_tokens"]
    # The request gives the model tools: their prompt, unseen, may be billed (bounds.py).
    assert record["estimate_reasons"] == ["tool_calls", "tool_definitions"]
    low, high = record["estimate_ranges"]["input_tokens"]
    assert low < input_estimate and input_estimate + TOOL_PROMPT_TOKENS < high
    assert sorted(record["estimated"]) == ["input_tokens", "output_tokens"]
    assert record["status"] == "no_usage"
    assert record["no_usage_data"] is True
    assert record["requires_manual_review"] is True
    # A dict or bytes request gives the same.
    assert one_shot(backend, CHAT_NO_USAGE_STREAM, request=CHAT_REQUEST) == record
    assert one_shot(backend, CHAT_NO_USAGE_STREAM, request=json.dumps(CHAT_REQUEST).encode()) == (
        record
    )


def test_chat_cut_before_usage_chunk_is_no_usage(backend: ModuleType) -> None:
    """include_usage was set, but the stream ended after the finish_reason chunk."""
    cut = CHAT_STREAM[: CHAT_STREAM.rindex(b'data: {"id"')]  # drop the usage chunk and [DONE]
    assert b'"finish_reason":"stop"' in cut and b'"prompt_tokens"' not in cut
    assert one_shot(backend, cut) == expected(
        **out_estimate(CHAT_TEXT, CHAT_MODEL),
        service_tier="default",
        provider="openai",
        model=CHAT_MODEL,
        message_id=CHAT_ID,
        stop_reason="stop",
        status="no_usage",
        no_usage_data=True,
        requires_manual_review=True,
        estimated=["output_tokens"],
    )


def test_chat_error_object_mid_stream(backend: ModuleType) -> None:
    assert one_shot(backend, CHAT_ERROR_STREAM) == expected(
        **out_estimate("".join(CHAT_TEXTS[:3]), CHAT_MODEL, truncated=True),
        service_tier="default",
        provider="openai",
        model=CHAT_MODEL,
        message_id=CHAT_ID,
        status="error",
        error_type="server_error",
        error_message=CHAT_SERVER_ERROR["message"],
        no_usage_data=True,
        requires_manual_review=True,
        estimated=["output_tokens"],
    )


def test_chat_usage_on_every_chunk_last_wins(backend: ModuleType) -> None:
    record = one_shot(backend, COMPAT_STREAM)
    assert record == expected(
        input_tokens=31,
        cache_read_input_tokens=0,
        output_tokens=40,
        service_tier="default",
        provider="openai",
        model=GEMINI_MODEL,
        message_id="ZZjbZ6LKOuS-nvgPkqWv8Qo",
        stop_reason="stop",
        status="complete",
        no_usage_data=False,
        requires_manual_review=False,
        raw_usage=COMPAT_USAGES[-1],
    )
    summed = sum(u["completion_tokens"] for u in COMPAT_USAGES)
    assert record["output_tokens"] != summed


def test_chat_repeated_usage_followed_by_usage_chunk(backend: ModuleType) -> None:
    """include_usage on an endpoint that also repeats usage: the final usage chunk wins."""
    stream = chat_stream(CHAT_TEXTS, CHAT_USAGE, repeat_usage=[chat_usage(2006, 1)])
    assert one_shot(backend, stream) == CHAT_RECORD


def test_chat_body_gives_the_stream_record(backend: ModuleType) -> None:
    assert one_shot(backend, CHAT_BODY) == framed(CHAT_RECORD, "json")
    assert one_shot(backend, CHAT_BODY, provider="openai") == framed(CHAT_RECORD, "json")
    assert one_shot(backend, CHAT_BODY) == framed(one_shot(backend, CHAT_STREAM), "json")


def test_chat_body_tool_calls(backend: ModuleType) -> None:
    usage = chat_usage(82, 18)
    body = json.loads(chat_body("", usage, finish_reason="tool_calls"))
    body["choices"][0]["message"]["content"] = None
    body["choices"][0]["message"]["tool_calls"] = [
        {
            "id": "call_abc123",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
        }
    ]
    record = one_shot(backend, json.dumps(body).encode())
    assert (record["input_tokens"], record["output_tokens"]) == (82, 18)
    assert (record["stop_reason"], record["status"], record["estimated"]) == (
        "tool_calls",
        "complete",
        [],
    )


@pytest.mark.parametrize("provider", ["auto", "openai"])
def test_chat_error_body_is_error_not_flagged(backend: ModuleType, provider: str) -> None:
    record = one_shot(backend, OPENAI_ERROR_BODY, provider)
    assert record == expected(
        provider=None if provider == "auto" else "openai",
        framing="json",
        status="error",
        error_type="invalid_request_error",
        error_message="Incorrect API key provided: sk-abc***xyz.",
        no_usage_data=True,
        requires_manual_review=False,
    )


# --------------------------------------------------------------------------------------------
# OpenAI Responses

RESP_DELTAS = ("Héllo", " there", "! 你好 ", *UNICODE_TEXT)
RESP_TEXT = "".join(RESP_DELTAS)
RESP_USAGE = responses_usage(5432, 812, cached=4096, reasoning=640)
RESP_STREAM = responses_stream(RESP_DELTAS, "completed", RESP_USAGE)
RESP_BODY = responses_body(RESP_TEXT, RESP_USAGE)
RESP_RECORD = expected(
    input_tokens=1336,
    cache_read_input_tokens=4096,
    output_tokens=812,
    reasoning_tokens=640,
    provider="openai-responses",
    model=RESP_MODEL,
    message_id=RESP_ID,
    stop_reason="completed",
    status="complete",
    no_usage_data=False,
    requires_manual_review=False,
    raw_usage=RESP_USAGE,
)

RESP_INCOMPLETE_USAGE = responses_usage(5432, 1024, cached=4096, reasoning=1024)
RESP_INCOMPLETE_STREAM = responses_stream(
    RESP_DELTAS[:2], "incomplete", RESP_INCOMPLETE_USAGE, incomplete_reason="max_output_tokens"
)
RESP_FAILED_ERROR: Payload = {
    "code": "server_error",
    "message": "The model failed to generate a response.",
}
RESP_FAILED_USAGE = responses_usage(5432, 7)
RESP_FAILED_STREAM = responses_stream(
    RESP_DELTAS[:1], "failed", RESP_FAILED_USAGE, error=RESP_FAILED_ERROR
)
RESP_ERROR_EVENT: Payload = {
    "code": "ERR_SOMETHING",
    "message": "Something went wrong",
    "param": None,
}
RESP_ERROR_STREAM = responses_stream(RESP_DELTAS[:3], None, None, error_event=RESP_ERROR_EVENT)
RESP_CUT_STREAM = responses_stream(RESP_DELTAS, None, None)


def test_responses_completed_stream(backend: ModuleType) -> None:
    assert RESP_STREAM.startswith(b"event: response.created\ndata: ")
    assert b"[DONE]" not in RESP_STREAM
    assert one_shot(backend, RESP_STREAM) == RESP_RECORD
    assert feed(backend, RESP_STREAM, provider="openai-responses") == RESP_RECORD


def test_responses_incomplete_stop_reason_from_incomplete_details(backend: ModuleType) -> None:
    assert one_shot(backend, RESP_INCOMPLETE_STREAM) == expected(
        input_tokens=1336,
        cache_read_input_tokens=4096,
        output_tokens=1024,
        reasoning_tokens=1024,
        provider="openai-responses",
        model=RESP_MODEL,
        message_id=RESP_ID,
        stop_reason="max_output_tokens",
        status="complete",
        no_usage_data=False,
        requires_manual_review=False,
        raw_usage=RESP_INCOMPLETE_USAGE,
    )


def test_responses_failed_is_error_with_usage_kept(backend: ModuleType) -> None:
    assert one_shot(backend, RESP_FAILED_STREAM) == expected(
        input_tokens=5432,
        cache_read_input_tokens=0,
        output_tokens=7,
        reasoning_tokens=0,
        provider="openai-responses",
        model=RESP_MODEL,
        message_id=RESP_ID,
        stop_reason="failed",
        status="error",
        error_type="server_error",
        error_message=RESP_FAILED_ERROR["message"],
        no_usage_data=False,
        requires_manual_review=True,
        raw_usage=RESP_FAILED_USAGE,
    )


def _without_stop_reason(record: Record) -> Record:
    return {k: v for k, v in record.items() if k != "stop_reason"}


def test_responses_error_event(backend: ModuleType) -> None:
    record = one_shot(backend, RESP_ERROR_STREAM)
    want = expected(
        **out_estimate("".join(RESP_DELTAS[:3]), RESP_MODEL, truncated=True),
        provider="openai-responses",
        model=RESP_MODEL,
        message_id=RESP_ID,
        status="error",
        error_type="ERR_SOMETHING",
        error_message="Something went wrong",
        no_usage_data=True,
        requires_manual_review=True,
        estimated=["output_tokens"],
    )
    # stop_reason is checked on its own in test_responses_unfinished_has_no_stop_reason.
    assert _without_stop_reason(record) == _without_stop_reason(want)


def test_responses_cut_before_terminal_event_is_no_usage(backend: ModuleType) -> None:
    record = one_shot(backend, RESP_CUT_STREAM)
    want = expected(
        **out_estimate(RESP_TEXT, RESP_MODEL, truncated=True),
        provider="openai-responses",
        model=RESP_MODEL,
        message_id=RESP_ID,
        status="no_usage",
        no_usage_data=True,
        requires_manual_review=True,
        estimated=["output_tokens"],
    )
    assert _without_stop_reason(record) == _without_stop_reason(want)


RESP_LONE_ERROR_STREAM = sse(
    {
        "type": "error",
        "code": "rate_limit_exceeded",
        "message": "Rate limit reached for o4-mini.",
        "param": None,
        "sequence_number": 0,
    },
    event="error",
)


def test_responses_lone_error_event_when_forced(backend: ModuleType) -> None:
    assert one_shot(backend, RESP_LONE_ERROR_STREAM, "openai-responses") == expected(
        **out_estimate("", None, truncated=True),
        provider="openai-responses",
        status="error",
        error_type="rate_limit_exceeded",
        error_message="Rate limit reached for o4-mini.",
        no_usage_data=True,
        requires_manual_review=True,
        estimated=["output_tokens"],
    )


def test_responses_lone_error_event_auto(backend: ModuleType) -> None:
    record = one_shot(backend, RESP_LONE_ERROR_STREAM)
    assert (record["status"], record["error_type"]) == ("error", "rate_limit_exceeded")


@pytest.mark.parametrize("name", ["cut", "error-event"])
def test_responses_unfinished_has_no_stop_reason(backend: ModuleType, name: str) -> None:
    stream = RESP_CUT_STREAM if name == "cut" else RESP_ERROR_STREAM
    assert one_shot(backend, stream)["stop_reason"] is None


def test_responses_body_gives_the_stream_record(backend: ModuleType) -> None:
    assert one_shot(backend, RESP_BODY) == framed(RESP_RECORD, "json")
    assert one_shot(backend, RESP_BODY, provider="openai-responses") == framed(RESP_RECORD, "json")
    assert one_shot(backend, RESP_BODY) == framed(one_shot(backend, RESP_STREAM), "json")


# --------------------------------------------------------------------------------------------
# Gemini

GEMINI_THOUGHT = "**Considering the greeting** The user wants a friendly reply."
GEMINI_USAGES = [
    gemini_usage(1200, None, cached=1000, thoughts=40),
    gemini_usage(1200, 6, cached=1000, thoughts=40),
    gemini_usage(1200, 17, cached=1000, thoughts=40),
    gemini_usage(1200, 21, cached=1000, thoughts=40),
]
GEMINI_CHUNKS = [
    gemini_chunk(GEMINI_THOUGHT, GEMINI_USAGES[0], thought=True),
    gemini_chunk(UNICODE_TEXT[0], GEMINI_USAGES[1]),
    gemini_chunk(UNICODE_TEXT[1] + UNICODE_TEXT[2], GEMINI_USAGES[2]),
    gemini_chunk(UNICODE_TEXT[3], GEMINI_USAGES[3], finish_reason="STOP"),
]
GEMINI_TEXT = GEMINI_THOUGHT + "".join(UNICODE_TEXT)
GEMINI_STREAM = gemini_stream(GEMINI_CHUNKS)
GEMINI_ARRAY = gemini_array_body(GEMINI_CHUNKS)
GEMINI_BODY = gemini_body("".join(UNICODE_TEXT), GEMINI_USAGES[-1])
GEMINI_RECORD = expected(
    input_tokens=200,
    cache_read_input_tokens=1000,
    output_tokens=61,
    reasoning_tokens=40,
    provider="gemini",
    model=GEMINI_MODEL,
    message_id=GEMINI_RESPONSE_ID,
    stop_reason="STOP",
    status="complete",
    no_usage_data=False,
    requires_manual_review=False,
    raw_usage=GEMINI_USAGES[-1],
)

GEMINI_PLAIN_USAGE = gemini_usage(8, 12)
GEMINI_PLAIN_STREAM = gemini_stream(
    [
        gemini_chunk("The capital ", gemini_usage(8, None)),
        gemini_chunk("of France is Paris.", GEMINI_PLAIN_USAGE, finish_reason="STOP"),
    ]
)
GEMINI_CUT_STREAM = gemini_stream(GEMINI_CHUNKS[:3])
GEMINI_ERROR_STREAM = gemini_stream(GEMINI_CHUNKS[:2]) + sse(
    {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}},
    newline="\r\n",
)


def test_gemini_sse_stream_crlf(backend: ModuleType) -> None:
    assert GEMINI_STREAM.count(b"\r\n\r\n") == len(GEMINI_CHUNKS)
    assert b"\n" not in GEMINI_STREAM.replace(b"\r\n", b"")
    assert one_shot(backend, GEMINI_STREAM) == GEMINI_RECORD
    assert feed(backend, GEMINI_STREAM, provider="gemini") == GEMINI_RECORD


def test_gemini_usage_is_a_snapshot_never_summed(backend: ModuleType) -> None:
    record = one_shot(backend, GEMINI_STREAM)
    summed_prompt = sum(u["promptTokenCount"] for u in GEMINI_USAGES)
    assert record["input_tokens"] + record["cache_read_input_tokens"] == 1200 != summed_prompt
    assert record["output_tokens"] == 21 + 40
    assert record["reasoning_tokens"] == 40


def test_gemini_without_cache_or_thoughts(backend: ModuleType) -> None:
    assert one_shot(backend, GEMINI_PLAIN_STREAM) == expected(
        input_tokens=8,
        cache_read_input_tokens=0,
        output_tokens=12,
        provider="gemini",
        model=GEMINI_MODEL,
        message_id=GEMINI_RESPONSE_ID,
        stop_reason="STOP",
        status="complete",
        no_usage_data=False,
        requires_manual_review=False,
        raw_usage=GEMINI_PLAIN_USAGE,
    )


def test_gemini_cut_before_finish_reason_is_partial(backend: ModuleType) -> None:
    reported = 17 + 40
    assert one_shot(backend, GEMINI_CUT_STREAM) == expected(
        input_tokens=200,
        cache_read_input_tokens=1000,
        **out_estimate(
            GEMINI_THOUGHT + "".join(UNICODE_TEXT[:3]),
            GEMINI_MODEL,
            thinking=True,
            truncated=True,
            floor=reported,
            no_request=False,
        ),
        reasoning_tokens=40,
        provider="gemini",
        model=GEMINI_MODEL,
        message_id=GEMINI_RESPONSE_ID,
        status="partial",
        no_usage_data=False,
        requires_manual_review=True,
        estimated=["output_tokens"],
        raw_usage=GEMINI_USAGES[2],
    )


def test_gemini_error_mid_stream_keeps_usage(backend: ModuleType) -> None:
    record = one_shot(backend, GEMINI_ERROR_STREAM)
    assert record["status"] == "error"
    assert record["error_type"] == "UNAVAILABLE"
    assert record["error_message"] == "The model is overloaded."
    assert (record["input_tokens"], record["cache_read_input_tokens"]) == (200, 1000)
    assert record["reasoning_tokens"] == 40
    assert record["provider"] == "gemini"
    assert record["requires_manual_review"] is True


GEMINI_ARRAY_FRAMING = "json-array"


@pytest.mark.parametrize("body", ["array", "object"])
def test_gemini_body_gives_the_stream_record(backend: ModuleType, body: str) -> None:
    data = GEMINI_ARRAY if body == "array" else GEMINI_BODY
    assert data.lstrip()[:1] == (b"[" if body == "array" else b"{")
    framing = GEMINI_ARRAY_FRAMING if body == "array" else "json"
    assert one_shot(backend, data, provider="gemini") == framed(GEMINI_RECORD, framing)
    stream = one_shot(backend, GEMINI_STREAM)
    assert one_shot(backend, data, provider="gemini") == framed(stream, framing)


def test_gemini_object_body_auto_detected(backend: ModuleType) -> None:
    assert one_shot(backend, GEMINI_BODY) == framed(GEMINI_RECORD, "json")


def test_gemini_array_body_auto_detected(backend: ModuleType) -> None:
    assert one_shot(backend, GEMINI_ARRAY) == framed(GEMINI_RECORD, GEMINI_ARRAY_FRAMING)


@pytest.mark.parametrize("provider", ["auto", "gemini"])
def test_gemini_error_body_is_error_not_flagged(backend: ModuleType, provider: str) -> None:
    record = one_shot(backend, GEMINI_ERROR_BODY, provider)
    assert record == expected(
        provider=None if provider == "auto" else "gemini",
        framing="json",
        status="error",
        error_type="RESOURCE_EXHAUSTED",
        error_message="Resource has been exhausted (e.g. check quota).",
        no_usage_data=True,
        requires_manual_review=False,
    )


# --------------------------------------------------------------------------------------------
# Anthropic on Bedrock

BEDROCK_TEXTS = ("Bonjour", " — ", *UNICODE_TEXT)
BEDROCK_METRICS = bedrock_metrics(1523, 212, cache_read=1024, cache_write=0)
BEDROCK_METRICS_ONLY = bedrock_stream(BEDROCK_TEXTS, BEDROCK_METRICS)
BEDROCK_START_USAGE: Payload = {
    "input_tokens": 472,
    "cache_creation_input_tokens": 2048,
    "cache_read_input_tokens": 1024,
    "output_tokens": 1,
}
BEDROCK_DELTA_USAGE: Payload = {"output_tokens": 187}
BEDROCK_BOTH = bedrock_stream(
    BEDROCK_TEXTS,
    bedrock_metrics(9999, 8888, cache_read=7777, cache_write=6666),
    start_usage=BEDROCK_START_USAGE,
    delta_usage=BEDROCK_DELTA_USAGE,
)
BEDROCK_NO_DELTA_USAGE = bedrock_stream(
    BEDROCK_TEXTS, bedrock_metrics(472, 212), start_usage=BEDROCK_START_USAGE
)


def test_bedrock_metrics_used_when_usage_missing(backend: ModuleType) -> None:
    assert one_shot(backend, BEDROCK_METRICS_ONLY) == expected(
        input_tokens=1523,
        cache_creation_input_tokens=0,
        cache_read_input_tokens=1024,
        output_tokens=212,
        provider="anthropic",
        model=BEDROCK_MODEL,
        message_id=BEDROCK_MESSAGE_ID,
        stop_reason="end_turn",
        status="complete",
        no_usage_data=False,
        requires_manual_review=False,
    )


def test_bedrock_metrics_fill_the_missing_output_only(backend: ModuleType) -> None:
    """message_start has the input and cache counts, message_delta no usage: output from the
    metrics, everything else from Anthropic's fields."""
    assert one_shot(backend, BEDROCK_NO_DELTA_USAGE) == expected(
        input_tokens=472,
        cache_creation_input_tokens=2048,
        cache_read_input_tokens=1024,
        output_tokens=212,
        provider="anthropic",
        model=BEDROCK_MODEL,
        message_id=BEDROCK_MESSAGE_ID,
        stop_reason="end_turn",
        status="complete",
        no_usage_data=False,
        requires_manual_review=False,
        raw_usage=BEDROCK_START_USAGE,
    )


def test_bedrock_anthropic_fields_win_over_metrics(backend: ModuleType) -> None:
    assert one_shot(backend, BEDROCK_BOTH) == expected(
        input_tokens=472,
        cache_creation_input_tokens=2048,
        cache_read_input_tokens=1024,
        output_tokens=187,
        provider="anthropic",
        model=BEDROCK_MODEL,
        message_id=BEDROCK_MESSAGE_ID,
        stop_reason="end_turn",
        status="complete",
        no_usage_data=False,
        requires_manual_review=False,
        raw_usage=BEDROCK_DELTA_USAGE,
    )


# --------------------------------------------------------------------------------------------
# detection and forcing

FIXTURES: dict[str, tuple[bytes, str]] = {
    "chat-stream": (CHAT_STREAM, "openai"),
    "chat-no-usage": (CHAT_NO_USAGE_STREAM, "openai"),
    "chat-error": (CHAT_ERROR_STREAM, "openai"),
    "chat-compat-repeat": (COMPAT_STREAM, "openai"),
    "chat-body": (CHAT_BODY, "openai"),
    "responses-stream": (RESP_STREAM, "openai-responses"),
    "responses-incomplete": (RESP_INCOMPLETE_STREAM, "openai-responses"),
    "responses-failed": (RESP_FAILED_STREAM, "openai-responses"),
    "responses-error": (RESP_ERROR_STREAM, "openai-responses"),
    "responses-cut": (RESP_CUT_STREAM, "openai-responses"),
    "responses-body": (RESP_BODY, "openai-responses"),
    "gemini-stream": (GEMINI_STREAM, "gemini"),
    "gemini-plain": (GEMINI_PLAIN_STREAM, "gemini"),
    "gemini-cut": (GEMINI_CUT_STREAM, "gemini"),
    "gemini-error": (GEMINI_ERROR_STREAM, "gemini"),
    "gemini-array": (GEMINI_ARRAY, "gemini"),
    "gemini-body": (GEMINI_BODY, "gemini"),
    "bedrock-metrics-only": (BEDROCK_METRICS_ONLY, "anthropic"),
    "bedrock-both": (BEDROCK_BOTH, "anthropic"),
    "bedrock-no-delta-usage": (BEDROCK_NO_DELTA_USAGE, "anthropic"),
}
NAMES = sorted(FIXTURES)


@pytest.mark.parametrize("name", NAMES)
def test_auto_detects_the_provider(backend: ModuleType, name: str) -> None:
    body, provider = FIXTURES[name]
    auto = one_shot(backend, body)
    assert auto["provider"] == provider
    # Forcing the right provider changes nothing.
    assert one_shot(backend, body, provider) == auto


@pytest.mark.parametrize(
    ("name", "forced"),
    [
        ("chat-stream", "anthropic"),
        ("chat-stream", "gemini"),
        ("responses-stream", "openai"),
        ("gemini-stream", "openai-responses"),
        ("bedrock-metrics-only", "gemini"),
    ],
)
def test_forcing_a_provider_is_obeyed(backend: ModuleType, name: str, forced: str) -> None:
    """A forced provider is not second-guessed: another provider's stream yields no usage."""
    record = one_shot(backend, FIXTURES[name][0], forced)
    assert record["provider"] == forced
    assert record["no_usage_data"] is True
    assert record["status"] in ("no_usage", "partial")
    assert record["requires_manual_review"] is True


def test_gemini_openai_compat_stream_is_openai_chat(backend: ModuleType) -> None:
    record = one_shot(backend, COMPAT_STREAM)
    assert (record["provider"], record["model"]) == ("openai", GEMINI_MODEL)


def test_unknown_provider_is_rejected(backend: ModuleType) -> None:
    with pytest.raises(ValueError):
        backend.UsageParser("openai-chat", estimator=Estimator())
    with pytest.raises(ValueError):
        backend.parse_usage(CHAT_STREAM, "vertex", estimator=Estimator())


# --------------------------------------------------------------------------------------------
# chunking: native == pure == one-shot


def _all_equal(both: tuple[ModuleType, ModuleType], body: bytes, cuts: Sequence[int]) -> Record:
    native, pure = both
    reference = one_shot(native, body)
    assert one_shot(pure, body) == reference, "one-shot native != pure"
    assert feed(native, body, cuts) == reference, "native chunked != one-shot"
    assert feed(pure, body, cuts) == reference, "pure chunked != one-shot"
    return reference


@pytest.mark.parametrize("name", NAMES)
def test_one_byte_at_a_time(both: tuple[ModuleType, ModuleType], name: str) -> None:
    body = FIXTURES[name][0]
    native, pure = both
    reference = one_shot(native, body)
    assert bytewise(native, body) == reference
    assert bytewise(pure, body) == reference
    assert one_shot(pure, body) == reference


@pytest.mark.parametrize("name", NAMES)
def test_splits_inside_crlf_and_utf8(both: tuple[ModuleType, ModuleType], name: str) -> None:
    body = FIXTURES[name][0]
    cuts = hard_cuts(body)
    assert cuts, "every fixture has multibyte text"
    _all_equal(both, body, cuts)
    # Each hard offset alone too (a single split is a different buffering path).
    for cut in cuts[:: max(1, len(cuts) // 40)]:
        _all_equal(both, body, [cut])


def test_gemini_fixture_has_crlf_splits() -> None:
    cuts = hard_cuts(GEMINI_STREAM)
    assert any(GEMINI_STREAM[c - 1 : c + 1] == b"\r\n" for c in cuts)


@st.composite
def fixture_and_cuts(draw: st.DrawFn) -> tuple[str, list[int]]:
    name = draw(st.sampled_from(NAMES))
    body = FIXTURES[name][0]
    n = len(body)
    hard = hard_cuts(body)
    anywhere = st.integers(min_value=0, max_value=n)
    position = st.one_of(anywhere, st.sampled_from(hard)) if hard else anywhere
    cuts = draw(st.lists(position, max_size=60))
    # Sometimes a run of 1-byte chunks somewhere in the body.
    if draw(st.booleans()):
        start = draw(st.integers(min_value=0, max_value=n))
        length = draw(st.integers(min_value=1, max_value=64))
        cuts += list(range(start, min(n, start + length)))
    return name, cuts


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=fixture_and_cuts())
def test_random_chunk_splits(
    both: tuple[ModuleType, ModuleType], case: tuple[str, list[int]]
) -> None:
    name, cuts = case
    note(f"fixture={name} chunks={[len(p) for p in pieces(FIXTURES[name][0], cuts)]}")
    _all_equal(both, FIXTURES[name][0], cuts)
