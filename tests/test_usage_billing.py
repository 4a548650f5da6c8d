"""What was billed, as each provider documents it: the contract's second-round fields and the
OpenAI-compatible variants (xAI, DeepSeek, Kimi, Groq, OpenRouter, Perplexity, Azure, Mistral),
Anthropic iterations and geo, Gemini and Vertex tiers. Both backends; whole, one byte at a time
and random chunkings give the same record."""

from __future__ import annotations

import base64
import json
import random
import struct
import zlib
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from sseusage_fast import pure
from sseusage_fast.record import UsageRecord


def sse(*events: dict[str, Any], done: bool = True) -> bytes:
    out = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return out + (b"data: [DONE]\n\n" if done else b"")


def read(module: ModuleType, body: bytes, provider: str = "auto") -> UsageRecord:
    """The record, checked to be the same whole, byte by byte, in random chunks and on the
    other backend."""
    whole = module.parse_usage(body, provider)
    splits = [[body[i : i + 1] for i in range(len(body))]]
    rng = random.Random(len(body))
    for _ in range(3):
        cuts = sorted(rng.sample(range(1, len(body)), min(5, len(body) - 1)))
        splits.append([body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])])
    for chunks in splits:
        parser = module.UsageParser(provider)
        for chunk in chunks:
            parser.feed(chunk)
        assert parser.finish().to_dict() == whole.to_dict()
    assert pure.parse_usage(body, provider).to_dict() == whole.to_dict()
    return whole


def chunk(usage: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}],
    }
    if usage is not None:
        out["usage"] = usage
    out.update(top)
    return out


def buckets(r: UsageRecord) -> tuple[Any, ...]:
    return (r.input_tokens, r.cache_read_input_tokens, r.output_tokens, r.reasoning_tokens)


# --- reasoning and cache reads inside or outside, decided from the total -------------------


@pytest.mark.parametrize(
    ("usage", "want"),
    [
        # xAI: total = prompt + completion + reasoning: reasoning is billed on top.
        (
            {
                "prompt_tokens": 12,
                "completion_tokens": 1,
                "total_tokens": 303,
                "prompt_tokens_details": {"cached_tokens": 11},
                "completion_tokens_details": {"reasoning_tokens": 290},
            },
            (1, 11, 291, 290),
        ),
        # OpenAI: total = prompt + completion, reasoning inside.
        (
            {
                "prompt_tokens": 12,
                "completion_tokens": 300,
                "total_tokens": 312,
                "completion_tokens_details": {"reasoning_tokens": 290},
            },
            (12, 0, 300, 290),
        ),
        # No total: OpenAI's documented rule (inside).
        (
            {
                "prompt_tokens": 12,
                "completion_tokens": 300,
                "completion_tokens_details": {"reasoning_tokens": 290},
            },
            (12, 0, 300, 290),
        ),
        # A total that matches neither: inside, as documented.
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "total_tokens": 99,
                "completion_tokens_details": {"reasoning_tokens": 3},
            },
            (10, 0, 5, 3),
        ),
        # Cache reads outside the prompt count (total = prompt + cached + completion).
        (
            {
                "prompt_tokens": 10,
                "completion_tokens": 5,
                "total_tokens": 115,
                "prompt_tokens_details": {"cached_tokens": 100},
            },
            (10, 100, 5, None),
        ),
        # DeepSeek: prompt = hit + miss, the hit count is the cache read.
        (
            {
                "prompt_tokens": 88,
                "completion_tokens": 4,
                "total_tokens": 92,
                "prompt_cache_hit_tokens": 64,
                "prompt_cache_miss_tokens": 24,
            },
            (24, 64, 4, None),
        ),
        # Kimi: cached_tokens at the top of usage, inside the prompt.
        (
            {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55, "cached_tokens": 40},
            (10, 40, 5, None),
        ),
    ],
)
def test_buckets_from_the_documented_totals(
    backend: ModuleType, usage: dict[str, Any], want: tuple[Any, ...]
) -> None:
    record = read(backend, sse(chunk(), chunk(usage, choices=[])))
    assert buckets(record) == want
    assert record.status == "complete" and record.framing == "sse"


def test_cache_writes_and_audio(backend: ModuleType) -> None:
    usage = {
        "prompt_tokens": 300,
        "completion_tokens": 40,
        "total_tokens": 340,
        "prompt_tokens_details": {
            "cached_tokens": 100,
            "cache_write_tokens": 150,
            "audio_tokens": 7,
        },
        "completion_tokens_details": {"audio_tokens": 30, "reasoning_tokens": 0},
    }
    r = read(backend, sse(chunk(usage)))
    assert (r.input_tokens, r.cache_read_input_tokens, r.cache_creation_input_tokens) == (
        50,
        100,
        150,
    )
    assert r.cache_creation_5m_input_tokens is None and r.cache_creation_1h_input_tokens is None
    assert (r.audio_input_tokens, r.audio_output_tokens, r.output_tokens) == (7, 30, 40)


# --- provider-reported cost ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "cost"),
    [
        ({"cost": 0.0133176}, "0.0133176"),  # OpenRouter
        ({"cost": 1e-05}, "0.00001"),
        ({"cost": 0}, "0"),
        ({"cost": {"total_cost": 0.00501, "request_cost": 0.005}}, "0.00501"),  # Perplexity
        ({"cost_in_usd_ticks": 1466250}, "0.000146625"),  # xAI, 1e-10 USD a tick
        ({"cost_in_usd_ticks": 25_000_000_000}, "2.5"),
        ({"cost": -1}, None),
        ({"cost": "0.1"}, None),
        ({}, None),
    ],
)
def test_provider_cost(backend: ModuleType, extra: dict[str, Any], cost: str | None) -> None:
    usage = {"prompt_tokens": 6, "completion_tokens": 1, "total_tokens": 7, **extra}
    r = read(backend, sse(chunk(usage)))
    assert r.provider_cost == (None if cost is None else Decimal(cost))
    assert r.to_dict()["provider_cost"] == (None if cost is None else str(Decimal(cost)))
    assert (r.input_tokens, r.output_tokens) == (6, 1)


def test_openrouter_server_tool_counts_and_mistral_tier_in_usage(backend: ModuleType) -> None:
    usage = {
        "prompt_tokens": 10,
        "completion_tokens": 2,
        "server_tool_use_details": {"web_search_requests": 2},
        "service_tier": "Standard",
    }
    r = read(backend, sse(chunk(usage)))
    assert (r.web_search_requests, r.service_tier) == (2, "standard")


# --- where compatible servers put usage ------------------------------------------------------


def test_groq_x_groq_usage(backend: ModuleType) -> None:
    usage = {"prompt_tokens": 18, "completion_tokens": 73, "total_tokens": 91, "queue_time": 0.2}
    body = sse(chunk(x_groq={"id": "req_1"}), chunk(x_groq={"id": "req_1", "usage": usage}))
    r = read(backend, body)
    assert (r.input_tokens, r.output_tokens, r.status) == (18, 73, "complete")


def test_kimi_usage_inside_the_choice(backend: ModuleType) -> None:
    last = chunk()
    last["choices"][0]["usage"] = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    r = read(backend, sse(chunk(), last))
    assert (r.input_tokens, r.output_tokens, r.status) == (12, 5, "complete")


def test_usage_in_an_error_chunk_is_usage(backend: ModuleType) -> None:
    usage = {"prompt_tokens": 43, "completion_tokens": 10, "total_tokens": 53, "cost": 0}
    body = sse(chunk(), chunk(usage, error={"code": 400, "message": "Token limit reached"}))
    r = read(backend, body)
    assert (r.status, r.error_message, r.input_tokens, r.output_tokens) == (
        "error",
        "Token limit reached",
        43,
        10,
    )
    assert r.provider_cost == 0 and not r.no_usage_data


def test_empty_model_or_id_never_replaces_a_named_one(backend: ModuleType) -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 1}
    body = sse(chunk(model="", id=""), chunk(model="gpt-5-nano"), chunk(usage, model="", id=""))
    r = read(backend, body)
    assert (r.model, r.message_id) == ("gpt-5-nano", "c1")


def test_openai_tier_is_lower_case(backend: ModuleType) -> None:
    r = read(backend, sse(chunk({"prompt_tokens": 1, "completion_tokens": 1}, service_tier="FLEX")))
    assert r.service_tier == "flex"


# --- Gemini and Vertex tiers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("meta", "tier"),
    [
        ({"trafficType": "ON_DEMAND"}, "on_demand"),
        ({"trafficType": "ON_DEMAND_FLEX"}, "flex"),
        ({"trafficType": "ON_DEMAND_PRIORITY"}, "priority"),
        ({"trafficType": "PROVISIONED_THROUGHPUT"}, "provisioned"),
        ({"trafficType": "TRAFFIC_TYPE_UNSPECIFIED", "serviceTier": "standard"}, "standard"),
        ({"serviceTier": "STANDARD"}, "standard"),
        ({}, None),
    ],
)
def test_vertex_traffic_type_and_gemini_tier(
    backend: ModuleType, meta: dict[str, Any], tier: str | None
) -> None:
    event = {
        "candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 2, **meta},
        "modelVersion": "gemini-2.5-flash",
    }
    r = read(backend, sse(event, done=False))
    assert (r.service_tier, r.input_tokens, r.output_tokens) == (tier, 5, 2)


# --- Anthropic: iterations and geo -----------------------------------------------------------


def anthropic_stream(delta_usage: dict[str, Any]) -> bytes:
    events = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "model": "claude-sonnet-4-6",
                "usage": {"input_tokens": 100, "output_tokens": 1, "inference_geo": "us"},
            },
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "ok"}},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": delta_usage},
        {"type": "message_stop"},
    ]
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def test_anthropic_iterations_are_billed_in_total(backend: ModuleType) -> None:
    usage = {
        "input_tokens": 181,
        "cache_read_input_tokens": 0,
        "output_tokens": 8,
        "output_tokens_details": {"thinking_tokens": 3},
        "iterations": [
            {
                "type": "compaction",
                "input_tokens": 100,
                "output_tokens": 83,
                "cache_read_input_tokens": 55096,
                "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            },
            {
                "type": "advisor_message",
                "model": "claude-opus-4-8",
                "input_tokens": 2543,
                "output_tokens": 18,
            },
            {
                "type": "message",
                "input_tokens": 181,
                "output_tokens": 8,
                "cache_read_input_tokens": 0,
            },
        ],
    }
    r = read(backend, anthropic_stream(usage))
    assert (r.input_tokens, r.cache_read_input_tokens, r.output_tokens) == (2824, 55096, 109)
    assert r.reasoning_tokens == 3  # no iteration reports it: the top-level share stays
    assert r.inference_geo == "us"
    kinds = [(i.kind, i.model, i.input_tokens, i.output_tokens) for i in r.iterations]
    assert kinds == [
        ("compaction", None, 100, 83),
        ("advisor_message", "claude-opus-4-8", 2543, 18),
        ("message", None, 181, 8),
    ]
    assert r.iterations[0].cache_creation_5m_input_tokens == 0
    assert r.to_dict()["iterations"][1]["model"] == "claude-opus-4-8"


def test_anthropic_without_iterations_keeps_the_top_level(backend: ModuleType) -> None:
    r = read(backend, anthropic_stream({"output_tokens": 9, "iterations": None}))
    assert (r.input_tokens, r.output_tokens, r.iterations, r.inference_geo) == (100, 9, (), "us")


def test_framing_of_a_json_body_and_of_garbage(backend: ModuleType) -> None:
    body = json.dumps(
        {
            "id": "c1",
            "object": "chat.completion",
            "model": "m",
            "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        }
    ).encode()
    assert read(backend, body).framing == "json"
    assert read(backend, b"<html>502 Bad Gateway</html>").framing is None


# --- Cohere v2 -------------------------------------------------------------------------------

COHERE_END = {
    "type": "message-end",
    "delta": {
        "finish_reason": "COMPLETE",
        "usage": {
            "billed_units": {"input_tokens": 7, "output_tokens": 109},
            "tokens": {"input_tokens": 69, "output_tokens": 110},
        },
    },
}


@pytest.mark.parametrize("provider", ["cohere", "auto"])
def test_cohere_message_end_billed_units(backend: ModuleType, provider: str) -> None:
    events = [
        {"id": "c-1", "type": "message-start", "delta": {"message": {"role": "assistant"}}},
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "Hi"}}}},
        COHERE_END,
    ]
    body = (
        b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
        + b"data: [DONE]\n\n"
    )
    r = read(backend, body, provider)
    assert (r.provider, r.input_tokens, r.output_tokens) == ("cohere", 7, 109)
    assert (r.message_id, r.stop_reason, r.status) == ("c-1", "COMPLETE", "complete")


def test_cohere_body_and_cut_stream(backend: ModuleType) -> None:
    body = {
        "id": "c-2",
        "message": {"role": "assistant", "content": [{"type": "text", "text": "Paris."}]},
        "finish_reason": "COMPLETE",
        "usage": {"billed_units": {"input_tokens": 12, "output_tokens": 7}, "cached_tokens": 448},
    }
    r = read(backend, json.dumps(body).encode(), "cohere")
    assert (r.input_tokens, r.output_tokens, r.cache_read_input_tokens, r.framing) == (
        12,
        7,
        None,
        "json",
    )
    cut = sse({"id": "c-3", "type": "message-start"}, done=False)
    r = read(backend, cut, "cohere")
    assert (r.status, r.requires_manual_review) == ("no_usage", True)


# --- Ollama: newline-delimited JSON ----------------------------------------------------------

OLLAMA_LINES = [
    {
        "model": "llama3.2",
        "created_at": "2026-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": "Hel"},
        "done": False,
    },
    {
        "model": "llama3.2",
        "created_at": "2026-01-01T00:00:01Z",
        "message": {"role": "assistant", "content": "lo"},
        "done": False,
    },
    {
        "model": "llama3.2",
        "created_at": "2026-01-01T00:00:02Z",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "total_duration": 5000,
        "prompt_eval_count": 26,
        "eval_count": 290,
    },
]


def ndjson(*values: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(v).encode() + b"\n" for v in values)


@pytest.mark.parametrize("provider", ["ollama", "auto"])
def test_ollama_ndjson_done_counts(backend: ModuleType, provider: str) -> None:
    r = read(backend, ndjson(*OLLAMA_LINES), provider)
    assert (r.provider, r.framing, r.status) == ("ollama", "ndjson", "complete")
    assert (r.input_tokens, r.output_tokens, r.model, r.stop_reason) == (
        26,
        290,
        "llama3.2",
        "stop",
    )
    assert r.raw_usage == {"prompt_eval_count": 26, "eval_count": 290, "total_duration": 5000}
    # No final newline: the last line is still read.
    assert read(backend, ndjson(*OLLAMA_LINES).rstrip(b"\n"), provider).output_tokens == 290


def test_ollama_cut_before_done_and_error_line(backend: ModuleType) -> None:
    r = read(backend, ndjson(*OLLAMA_LINES[:2]), "ollama")
    assert (r.status, r.input_tokens, r.requires_manual_review) == ("no_usage", None, True)
    assert "output_tokens" in r.estimated
    r = read(backend, ndjson(OLLAMA_LINES[0], {"error": "model crashed"}), "ollama")
    assert (r.status, r.error_message) == ("error", "model crashed")


def test_ollama_whole_body_is_json(backend: ModuleType) -> None:
    for provider in ("ollama", "auto"):
        r = read(backend, json.dumps(OLLAMA_LINES[-1]).encode(), provider)
        assert (r.framing, r.provider, r.output_tokens) == ("json", "ollama", 290)


def test_pretty_json_body_is_not_ndjson(backend: ModuleType) -> None:
    body = {
        "id": "c1",
        "object": "chat.completion",
        "model": "m",
        "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
    r = read(backend, json.dumps(body, indent=2).encode() + b"\n")
    assert (r.framing, r.input_tokens) == ("json", 3)
    r = read(backend, json.dumps(body).encode() + b"\n\n")
    assert (r.framing, r.input_tokens) == ("json", 3)


def test_ndjson_line_over_the_limit_is_dropped(backend: ModuleType) -> None:
    big = dict(OLLAMA_LINES[0], message={"role": "assistant", "content": "x" * 5000})
    body = ndjson(big, OLLAMA_LINES[-1])
    for chunks in ([body], [body[i : i + 7] for i in range(0, len(body), 7)]):
        parser = backend.UsageParser("ollama", max_event_bytes=1000)
        for chunk in chunks:
            parser.feed(chunk)
        r = parser.finish()
        assert (r.error_type, r.output_tokens) == ("event_too_large", 290)


# --- Bedrock: the AWS event stream -----------------------------------------------------------


def aws_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One AWS event-stream message with string headers, its CRCs computed."""
    block = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
        for k, v in headers.items()
    )
    total = 16 + len(block) + len(payload)
    prelude = struct.pack(">II", total, len(block))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + block + payload
    return body + struct.pack(">I", zlib.crc32(body))


def aws_event(event_type: str, payload: dict[str, Any]) -> bytes:
    headers = {
        ":event-type": event_type,
        ":content-type": "application/json",
        ":message-type": "event",
    }
    return aws_message(headers, json.dumps(payload).encode())


def invoke_chunk(event: dict[str, Any]) -> bytes:
    encoded = base64.b64encode(json.dumps(event).encode()).decode()
    return aws_event("chunk", {"bytes": encoded, "p": "abcdef"})


INVOKE_STREAM = b"".join(
    invoke_chunk(e)
    for e in [
        {
            "type": "message_start",
            "message": {
                "id": "msg_bdrk_1",
                "model": "claude-sonnet-4-5",
                "usage": {"input_tokens": 16, "cache_read_input_tokens": 4, "output_tokens": 1},
            },
        },
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 21},
        },
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {"inputTokenCount": 16, "outputTokenCount": 21},
        },
    ]
)

CONVERSE_STREAM = b"".join(
    [
        aws_event("messageStart", {"role": "assistant"}),
        aws_event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Hello"}}),
        aws_event("messageStop", {"stopReason": "end_turn"}),
        aws_event(
            "metadata",
            {
                "usage": {
                    "inputTokens": 20,
                    "outputTokens": 5,
                    "cacheReadInputTokens": 100,
                    "cacheWriteInputTokens": 7,
                    "totalTokens": 132,
                },
                "metrics": {"latencyMs": 100},
            },
        ),
    ]
)


@pytest.mark.parametrize("provider", ["bedrock", "auto"])
def test_bedrock_invoke_stream_reads_anthropic_events(backend: ModuleType, provider: str) -> None:
    r = read(backend, INVOKE_STREAM, provider)
    assert (r.provider, r.framing, r.status) == ("bedrock", "aws-eventstream", "complete")
    assert (r.input_tokens, r.cache_read_input_tokens, r.output_tokens) == (16, 4, 21)
    assert (r.model, r.message_id, r.stop_reason) == ("claude-sonnet-4-5", "msg_bdrk_1", "end_turn")


def test_bedrock_invocation_metrics_fill_what_anthropic_lacks(backend: ModuleType) -> None:
    body = invoke_chunk({"type": "message_start", "message": {"id": "m", "usage": {}}})
    body += invoke_chunk(
        {
            "type": "message_stop",
            "amazon-bedrock-invocationMetrics": {"inputTokenCount": 9, "outputTokenCount": 3},
        }
    )
    r = read(backend, body, "bedrock")
    assert (r.input_tokens, r.output_tokens, r.status) == (9, 3, "complete")


# Amazon Nova's InvokeModelWithResponseStream: each chunk holds one Converse-shaped event.
NOVA_EVENTS = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Red, blue"}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "max_tokens"}},
    {"metadata": {"usage": {"inputTokens": 12, "outputTokens": 13}, "metrics": {}}},
]


@pytest.mark.parametrize("provider", ["bedrock", "auto"])
def test_bedrock_invoke_stream_of_converse_shaped_chunks(
    backend: ModuleType, provider: str
) -> None:
    r = read(backend, b"".join(invoke_chunk(e) for e in NOVA_EVENTS), provider)
    assert (r.provider, r.framing, r.status) == ("bedrock", "aws-eventstream", "complete")
    assert (r.input_tokens, r.output_tokens, r.stop_reason) == (12, 13, "max_tokens")
    cut = read(backend, b"".join(invoke_chunk(e) for e in NOVA_EVENTS[:-1]), provider)
    assert (cut.stop_reason, cut.status) == ("max_tokens", "no_usage")
    assert "output_tokens" in cut.estimated and cut.output_tokens > 0


def test_bedrock_titan_invoke_stream_completion_reason(backend: ModuleType) -> None:
    # Amazon Titan Text: {"outputText", "completionReason"}; the last chunk has the metrics.
    body = invoke_chunk({"outputText": "Once", "index": 0, "completionReason": None})
    body += invoke_chunk(
        {
            "outputText": " upon a time.",
            "index": 0,
            "totalOutputTextTokenCount": 5,
            "completionReason": "LENGTH",
            "inputTextTokenCount": 9,
            "amazon-bedrock-invocationMetrics": {"inputTokenCount": 9, "outputTokenCount": 5},
        }
    )
    r = read(backend, body, "bedrock")
    assert (r.input_tokens, r.output_tokens, r.stop_reason, r.status) == (
        9,
        5,
        "LENGTH",
        "complete",
    )


def test_bedrock_titan_invoke_stream_text_is_estimated_without_metrics(
    backend: ModuleType,
) -> None:
    # Cut before the last chunk (no metrics): the streamed outputText is what is estimated.
    text = "Once upon a time, a little girl named Emily went on an adventure. " * 4
    r = read(backend, invoke_chunk({"outputText": text, "index": 0}), "bedrock")
    assert (r.status, r.input_tokens) == ("no_usage", None)
    assert "output_tokens" in r.estimated and r.output_tokens >= 40


@pytest.mark.parametrize("provider", ["bedrock", "auto"])
def test_bedrock_converse_stream_metadata_usage(backend: ModuleType, provider: str) -> None:
    r = read(backend, CONVERSE_STREAM, provider)
    assert (r.input_tokens, r.cache_read_input_tokens, r.cache_creation_input_tokens) == (
        20,
        100,
        7,
    )
    assert (r.output_tokens, r.stop_reason, r.status) == (5, "end_turn", "complete")


def test_bedrock_converse_cache_inside_input_by_the_total(backend: ModuleType) -> None:
    usage = {"inputTokens": 120, "outputTokens": 5, "cacheReadInputTokens": 100, "totalTokens": 125}
    r = read(backend, aws_event("metadata", {"usage": usage}), "bedrock")
    assert (r.input_tokens, r.cache_read_input_tokens) == (20, 100)


def test_bedrock_exception_and_error_messages(backend: ModuleType) -> None:
    exception = aws_message(
        {":message-type": "exception", ":exception-type": "throttlingException"},
        b'{"message":"Too many requests"}',
    )
    r = read(backend, exception, "bedrock")
    assert (r.status, r.error_type, r.error_message) == (
        "error",
        "throttlingException",
        "Too many requests",
    )
    error = aws_message(
        {":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, b""
    )
    r = read(backend, error, "bedrock")
    assert (r.status, r.error_type, r.error_message) == ("error", "InternalFailure", "boom")


def test_bedrock_bad_crc_and_truncation_are_clear(backend: ModuleType) -> None:
    first = aws_event("messageStart", {"role": "assistant"})
    bad_prelude = bytearray(CONVERSE_STREAM)
    bad_prelude[len(first) + 9] ^= 0xFF
    r = read(backend, bytes(bad_prelude), "bedrock")
    assert (r.status, r.error_type) == ("error", "invalid_event_stream")
    assert "prelude CRC" in (r.error_message or "")
    bad_payload = bytearray(CONVERSE_STREAM)
    bad_payload[len(first) + 30] ^= 0x01
    r = read(backend, bytes(bad_payload), "bedrock")
    assert r.error_type == "invalid_event_stream" and "message CRC" in (r.error_message or "")
    # Cut inside the metadata message: no final usage, a clear status.
    r = read(backend, CONVERSE_STREAM[:-10], "bedrock")
    assert (r.status, r.error_type) == ("error", "truncated_event_stream")
    # Cut after the usage: the figures stand, with a note.
    r = read(backend, CONVERSE_STREAM + CONVERSE_STREAM[:20], "bedrock")
    assert (r.status, r.output_tokens) == ("complete", 5)
    assert any("ended inside a message" in n for n in r.notes)


def test_bedrock_message_over_the_limit_is_refused(backend: ModuleType) -> None:
    big = aws_event("contentBlockDelta", {"delta": {"text": "x" * 5000}}) + CONVERSE_STREAM
    for size in (len(big), 5):
        parser = backend.UsageParser("bedrock", max_event_bytes=1000)
        for at in range(0, len(big), size):
            parser.feed(big[at : at + size])
        r = parser.finish()
        assert (r.status, r.error_type) == ("error", "event_too_large")


def test_bedrock_converse_body(backend: ModuleType) -> None:
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": "Paris."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 22, "outputTokens": 57, "totalTokens": 79},
    }
    for provider in ("bedrock", "auto"):
        r = read(backend, json.dumps(body).encode(), provider)
        assert (r.provider, r.framing, r.input_tokens, r.output_tokens) == (
            "bedrock",
            "json",
            22,
            57,
        )


# --- OpenAI speech and transcription streams -------------------------------------------------


@pytest.mark.parametrize("provider", ["openai", "auto"])
def test_speech_stream_usage_on_audio_done(backend: ModuleType, provider: str) -> None:
    body = sse(
        {"type": "speech.audio.delta", "audio": "UklGRg=="},
        {
            "type": "speech.audio.done",
            "usage": {"input_tokens": 14, "output_tokens": 101, "total_tokens": 115},
        },
        done=False,
    )
    r = read(backend, body, provider)
    assert (r.provider, r.status, r.input_tokens, r.output_tokens) == (
        "openai",
        "complete",
        14,
        101,
    )
    assert (r.audio_output_tokens, r.audio_input_tokens) == (101, None)


@pytest.mark.parametrize("provider", ["openai", "auto"])
def test_transcription_stream_usage_on_text_done(backend: ModuleType, provider: str) -> None:
    usage = {
        "type": "tokens",
        "input_tokens": 14,
        "input_token_details": {"text_tokens": 0, "audio_tokens": 14},
        "output_tokens": 45,
        "total_tokens": 59,
    }
    body = sse(
        {"type": "transcript.text.delta", "delta": "I see skies"},
        {"type": "transcript.text.done", "text": "I see skies of blue.", "usage": usage},
        done=False,
    )
    r = read(backend, body, provider)
    assert (r.status, r.input_tokens, r.output_tokens) == ("complete", 14, 45)
    assert (r.audio_input_tokens, r.audio_output_tokens) == (14, None)
    # Cut before the done event: the streamed text is the floor of an estimate, alike.
    r = read(backend, body[: body.index(b"transcript.text.done") - 20], provider)
    assert r.status == "no_usage" and "output_tokens" in r.estimated


# --- Gemini: a JSON array read element by element --------------------------------------------


def gemini_chunk(text: str, usage: dict[str, Any] | None = None, finish: bool = False) -> Any:
    candidate: dict[str, Any] = {"content": {"parts": [{"text": text}], "role": "model"}}
    if finish:
        candidate["finishReason"] = "STOP"
    out: dict[str, Any] = {"candidates": [candidate], "modelVersion": "gemini-2.5-flash"}
    if usage is not None:
        out["usageMetadata"] = usage
    return out


GEMINI_ARRAY_BODY = json.dumps(
    [
        gemini_chunk('Hel"lo, ]'),
        gemini_chunk("world", {"promptTokenCount": 8, "candidatesTokenCount": 2}),
        gemini_chunk("", {"promptTokenCount": 8, "candidatesTokenCount": 3}, finish=True),
    ],
    indent=1,
).encode()


@pytest.mark.parametrize("provider", ["gemini", "auto"])
def test_gemini_json_array_element_by_element(backend: ModuleType, provider: str) -> None:
    r = read(backend, GEMINI_ARRAY_BODY, provider)
    assert (r.framing, r.provider, r.status) == ("json-array", "gemini", "complete")
    assert (r.input_tokens, r.output_tokens, r.stop_reason) == (8, 3, "STOP")
    # Cut before the last element ends: what arrived is read (the earlier usage stands).
    cut = GEMINI_ARRAY_BODY[: GEMINI_ARRAY_BODY.rindex(b"finishReason")]
    r = read(backend, cut, provider)
    assert (r.status, r.input_tokens, r.framing) == ("partial", 8, "json-array")
    assert r.raw_usage == {"promptTokenCount": 8, "candidatesTokenCount": 2}


def test_gemini_json_array_is_bounded_per_element(backend: ModuleType) -> None:
    """Memory holds one element: a long array of small elements passes a small limit, and an
    element over it is dropped with a clear error."""
    small = [gemini_chunk("x" * 50) for _ in range(200)]
    small.append(gemini_chunk("", {"promptTokenCount": 1, "candidatesTokenCount": 9}, True))
    body = json.dumps(small).encode()
    assert len(body) > 10 * 1000
    for module_limit in (1000,):
        parser = backend.UsageParser("gemini", max_event_bytes=module_limit)
        for at in range(0, len(body), 333):
            parser.feed(body[at : at + 333])
        r = parser.finish()
        assert (r.status, r.output_tokens, r.error_type) == ("complete", 9, None)
    big = json.dumps([gemini_chunk("y" * 5000), small[-1]]).encode()
    parser = backend.UsageParser("gemini", max_event_bytes=1000)
    parser.feed(big)
    r = parser.finish()
    assert (r.error_type, r.output_tokens) == ("event_too_large", 9)


def test_json_array_that_is_no_provider_response(backend: ModuleType) -> None:
    for body in (b"[]", b"[1, 2]", b"[{}]"):
        r = read(backend, body)
        assert (r.status, r.framing) == ("not_sse", "json-array")


# --- later captures: gateways, xAI Responses, blocked prompts, AWS error bodies ----------------


def test_gateway_cache_writes_at_the_top_of_usage(backend: ModuleType) -> None:
    usage = {
        "prompt_tokens": 675,
        "completion_tokens": 1,
        "total_tokens": 676,
        "prompt_tokens_details": {"cached_tokens": 674},
        "cache_creation_input_tokens": 3,
        "cost": 0.0000344,
    }
    r = read(backend, sse(chunk(usage)))
    assert (r.input_tokens, r.cache_read_input_tokens, r.cache_creation_input_tokens) == (0, 674, 3)
    assert r.provider_cost == Decimal("0.0000344")


def test_xai_responses_usage(backend: ModuleType) -> None:
    usage = {
        "input_tokens": 5467,
        "input_tokens_details": {"cached_tokens": 1152},
        "output_tokens": 593,
        "output_tokens_details": {"reasoning_tokens": 575},
        "total_tokens": 6060,
        "cost_in_usd_ticks": 177640000,
        "server_side_tool_usage_details": {"web_search_calls": 1},
    }
    event = {
        "type": "response.completed",
        "response": {"id": "r1", "object": "response", "model": "grok-4", "usage": usage},
    }
    r = read(backend, sse(event, done=False))
    assert (r.input_tokens, r.cache_read_input_tokens, r.output_tokens) == (4315, 1152, 593)
    assert (r.web_search_requests, r.provider_cost) == (1, Decimal("0.017764"))


def test_gemini_blocked_prompt_is_final(backend: ModuleType) -> None:
    event = {
        "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
        "usageMetadata": {"promptTokenCount": 9, "totalTokenCount": 9},
        "modelVersion": "gemini-2.5-flash",
    }
    r = read(backend, sse(event, done=False))
    assert (r.status, r.input_tokens, r.output_tokens, r.requires_manual_review) == (
        "complete",
        9,
        0,
        False,
    )


def test_bedrock_error_body(backend: ModuleType) -> None:
    body = b'{"message":"The security token included in the request is invalid."}'
    r = read(backend, body, "bedrock")
    assert (r.status, r.error_type, r.framing, r.requires_manual_review) == (
        "error",
        "error",
        "json",
        False,
    )
    assert r.error_message == "The security token included in the request is invalid."


def test_zero_first_byte_that_is_no_aws_message(backend: ModuleType) -> None:
    """`auto` takes a zero first byte for an AWS event stream only if its first message checks;
    asked for Bedrock, the same bytes are a broken event stream."""
    garbage = b"\x00\x9f\x92" + bytes(range(256)) * 4
    r = read(backend, garbage)
    assert (r.status, r.provider, r.framing) == ("not_sse", None, None)
    assert "prelude CRC" in (r.error_message or "")
    r = read(backend, garbage, "bedrock")
    assert (r.status, r.error_type) == ("error", "invalid_event_stream")
    # A real stream after a valid first message stays an event stream, its fault an error.
    first = aws_event("messageStart", {"role": "assistant"})
    r = read(backend, first + b"\x00" * 100)
    assert r.status == "error" and r.framing == "aws-eventstream"


def test_gemini_audio_shares_from_modality_details(backend: ModuleType) -> None:
    event = {
        "candidates": [{"content": {"parts": [{"text": "hi"}]}, "finishReason": "STOP"}],
        "usageMetadata": {
            "promptTokenCount": 120,
            "candidatesTokenCount": 30,
            "promptTokensDetails": [
                {"modality": "TEXT", "tokenCount": 20},
                {"modality": "AUDIO", "tokenCount": 100},
            ],
            "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 30}],
        },
    }
    r = read(backend, sse(event, done=False))
    assert (r.audio_input_tokens, r.audio_output_tokens, r.input_tokens) == (100, 30, 120)
    event["usageMetadata"]["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": 120}]
    del event["usageMetadata"]["candidatesTokensDetails"]
    r = read(backend, sse(event, done=False))
    assert (r.audio_input_tokens, r.audio_output_tokens) == (None, None)
