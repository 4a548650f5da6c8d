"""The native reader learns the byte prefix that a stream's plain OpenAI content chunks share and
then reads only their content. Any chunk that deviates from that shape must still be read
exactly as the pure twin reads it."""

from __future__ import annotations

import json
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sseusage_fast.estimate import Estimator
from sseusage_fast.record import RAW_FIELDS

HEAD = {
    "id": "chatcmpl-1",
    "object": "chat.completion.chunk",
    "created": 1769279197,
    "model": "gpt-4.1-2025-04-14",
    "service_tier": "default",
    "system_fingerprint": "fp_a9",
}


def chunk(
    delta: dict[str, object], finish: str | None = None, usage_key: bool = True, **changes: object
) -> bytes:
    """A chunk as OpenAI writes it: with `"usage":null` when the request asked for usage."""
    body = {**HEAD, **changes}
    body["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]
    if usage_key:
        body["usage"] = None
    return (
        b"data: " + json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode() + b"\n\n"
    )


PLAIN = [chunk({"content": f"word{i} 你好 "}) for i in range(4)]
# The same chunks from a request without `stream_options.include_usage`.
BARE = [chunk({"content": f"bare{i} é "}, usage_key=False) for i in range(4)]
ODD = {
    "other_model": chunk({"content": "x"}, model="gpt-4o"),
    "other_id": chunk({"content": "x"}, id="chatcmpl-2"),
    "no_usage_key": BARE[0],
    "escapes": chunk({"content": 'say "hi"\n\u00e9\U0001f600'}),
    "finish": chunk({"content": "end"}, finish="stop"),
    "extra_key": chunk({"content": "x", "refusal": None}),
    "reasoning": chunk({"reasoning_content": "think"}),
    "trailing_space": PLAIN[0].replace(b"}\n\n", b"} \n\n"),
    "invalid_utf8": PLAIN[0].replace("你".encode(), b"\xe4\xbd"),
    "lone_surrogate": PLAIN[0].replace(b"word0", b"\\ud800"),
    "raw_control": PLAIN[0].replace(b"word0", b"a\x01b"),
    "duplicate_usage": PLAIN[0].replace(b'"usage":null}', b'"usage":null,"usage":null}'),
    # Tool calls: their function names and arguments count as output text.
    "tool_call_start": chunk(
        {
            "tool_calls": [
                {
                    "index": 0,
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": ""},
                }
            ]
        }
    ),
    "tool_call_arguments": chunk(
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Par\u00eds\n"}'}}]}
    ),
    "tool_calls_two": chunk(
        {
            "tool_calls": [
                {"index": 0, "function": {"arguments": "{}"}},
                {"index": 1, "function": {"name": "f", "arguments": '{"a":1}'}},
            ]
        }
    ),
    "tool_calls_odd_items": chunk(
        {"tool_calls": [1, None, {"index": 0, "function": None}, {"function": {"name": 5}}]}
    ),
    "tool_calls_empty": chunk({"tool_calls": []}),
    "tool_call_with_content": chunk(
        {"content": "see:", "tool_calls": [{"index": 0, "function": {"arguments": "x"}}]}
    ),
    "tool_call_duplicate_name": chunk(
        {"tool_calls": [{"index": 0, "function": {"name": "a"}}]}
    ).replace(b'"name":"a"', b'"name":"a","name":"b"'),
}
USAGE = (
    b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1769279197,'
    b'"model":"gpt-4.1-2025-04-14","choices":[],"usage":{"prompt_tokens":20,'
    b'"completion_tokens":30,"total_tokens":50}}\n\ndata: [DONE]\n\n'
)


def record(backend: ModuleType, body: bytes, cuts: list[int] | None = None) -> dict[str, object]:
    parser = backend.UsageParser("openai", estimator=Estimator())
    pieces = [body] if cuts is None else [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)])]
    for piece in pieces:
        parser.feed(piece)
    result: dict[str, object] = parser.finish().to_dict()
    # What the record does not show but the estimator learns from: text counts, tool use.
    result["raw"] = dict(zip(RAW_FIELDS, parser._finish_raw(), strict=True))
    return result


@pytest.mark.parametrize("odd", sorted(ODD))
@pytest.mark.parametrize("with_usage", [True, False])
@pytest.mark.parametrize("plain", [PLAIN, BARE], ids=["usage_null", "no_usage_key"])
def test_odd_chunk_after_the_template_is_learned(
    both: tuple[ModuleType, ModuleType], odd: str, with_usage: bool, plain: list[bytes]
) -> None:
    native, pure = both
    body = b"".join([*plain[:2], ODD[odd], *plain[2:]]) + (USAGE if with_usage else b"")
    got = record(native, body)
    assert got == record(pure, body)
    # Without the usage chunk the output is estimated from the counted text: every chunk's
    # text went into it, the odd one too when it is valid.
    assert got["output_tokens"] and int(got["output_tokens"]) > 0  # type: ignore[call-overload]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    order=st.lists(
        st.sampled_from([*range(len(PLAIN) + len(BARE)), *sorted(ODD)]), min_size=1, max_size=12
    ),
    cuts=st.lists(st.integers(0, 4000), max_size=8),
)
def test_any_mix_of_chunks_native_equals_pure(
    both: tuple[ModuleType, ModuleType], order: list[int | str], cuts: list[int]
) -> None:
    native, pure = both
    body = b"".join((PLAIN + BARE)[o] if isinstance(o, int) else ODD[o] for o in order)
    cuts = sorted(c for c in cuts if c < len(body))
    assert record(native, body, cuts) == record(pure, body) == record(native, body)


def test_identity_is_the_last_chunks_when_it_changes_between_template_hits(
    both: tuple[ModuleType, ModuleType],
) -> None:
    native, pure = both
    body = b"".join([*PLAIN[:2], ODD["other_id"], PLAIN[2], ODD["other_model"], PLAIN[3]])
    got = record(native, body)
    assert got == record(pure, body)
    assert (got["message_id"], got["model"]) == ("chatcmpl-1", "gpt-4.1-2025-04-14")
    ends_other = b"".join([*PLAIN[:3], ODD["other_id"]])
    assert (
        record(native, ends_other)["message_id"]
        == "chatcmpl-2"
        == record(pure, ends_other)["message_id"]
    )


def usage_chunk(usage: str, **top: str) -> bytes:
    fields = "".join(f',"{k}":{v}' for k, v in top.items())
    return (
        b'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1769279197,'
        b'"model":"gpt-4.1-2025-04-14","choices":[]'
        + fields.encode()
        + b',"usage":'
        + usage.encode()
        + b"}\n\n"
    )


FULL_USAGE = (
    '{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50,'
    '"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":4}}'
)
USAGE_SHAPES = {
    "full": usage_chunk(FULL_USAGE),
    "null": usage_chunk("null"),
    "number": usage_chunk("5"),
    "bad_count": usage_chunk('{"prompt_tokens":-1,"completion_tokens":"x"}'),
    "huge_count": usage_chunk('{"prompt_tokens":1e400,"completion_tokens":3}'),
    "cached_over_prompt": usage_chunk(
        '{"prompt_tokens":5,"completion_tokens":3,"prompt_tokens_details":{"cached_tokens":9}}'
    ),
    "duplicate_usage": usage_chunk(FULL_USAGE).replace(b',"usage":', b',"usage":{},"usage":'),
    "with_type": usage_chunk(FULL_USAGE, type='"message_start"'),
    "object_response": usage_chunk(FULL_USAGE).replace(b"chat.completion.chunk", b"response"),
    "object_completion": usage_chunk(FULL_USAGE).replace(
        b"chat.completion.chunk", b"chat.completion"
    ),
    "no_object": usage_chunk(FULL_USAGE).replace(b'"object":"chat.completion.chunk",', b""),
    "error_null": usage_chunk(FULL_USAGE, error="null"),
    "error_object": usage_chunk(FULL_USAGE, error='{"type":"server_error","message":"boom"}'),
    "escaped_model": usage_chunk(FULL_USAGE).replace(b"gpt-4.1", b"gpt-\\u0034.1"),
}


@pytest.mark.parametrize("shape", sorted(USAGE_SHAPES))
@pytest.mark.parametrize("provider", ["auto", "openai"])
@pytest.mark.parametrize("first", [True, False])
def test_usage_chunk_shapes_read_as_a_full_parse_reads_them(
    both: tuple[ModuleType, ModuleType], shape: str, provider: str, first: bool
) -> None:
    """The usage chunk is read without a tree for all but its usage object; as the first event
    of a stream (provider `auto`) it also decides the provider, as a full parse would."""
    native, pure = both
    body = USAGE_SHAPES[shape] if first else b"".join(PLAIN) + USAGE_SHAPES[shape]
    results = []
    for backend in (native, pure):
        parser = backend.UsageParser(provider, estimator=Estimator())
        parser.feed(body)
        got = parser.finish().to_dict()
        got["raw"] = dict(zip(RAW_FIELDS, parser._finish_raw(), strict=True))
        results.append(got)
    assert results[0] == results[1]
    if shape == "full":
        assert (results[0]["input_tokens"], results[0]["cache_read_input_tokens"]) == (12, 8)
        assert results[0]["provider"] == "openai"
