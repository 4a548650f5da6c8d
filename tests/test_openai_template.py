"""The native reader learns the byte prefix that a stream's plain OpenAI content chunks share and
then reads only their content. Any chunk that deviates from that shape must still be read
exactly as the pure twin reads it."""

from __future__ import annotations

import json
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sseusage_fast.estimator import Estimator
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
