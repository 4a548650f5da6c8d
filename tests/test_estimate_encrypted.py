"""Hidden reasoning read from what the stream carries of it (issue 17): a Responses reasoning
item's `encrypted_content` grows with the reasoning tokens, so where the stream carries it the
estimate of reasoning that is never streamed is read from its length (and bounded above),
and a model's complete records teach the ratio of its reported reasoning to that reading.
Both backends make the same record (the core counts the items, the shared finish step
estimates)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from capture_index import load_captures, strip_usage
from sseusage_fast.estimate import Estimator, text_stats
from sseusage_fast.estimate.families import (
    ENCRYPTED_CHARS_PER_TOKEN,
    ENCRYPTED_ITEM_CHARS,
    GEMINI_SIGNATURE_CHARS,
    GEMINI_SIGNATURE_CHARS_PER_TOKEN,
    encrypted_reasoning_tokens,
)

ANSWER = "The capital of France is Paris, on the Seine."
# An item that says 200 reasoning tokens.
SEALED = "g" * (ENCRYPTED_ITEM_CHARS + int(200 * ENCRYPTED_CHARS_PER_TOKEN))


def responses_stream(
    sealed: str | None, reasoning: int | None = None, *, whole_output: bool = False
) -> bytes:
    """A gpt-5 Responses stream: a reasoning item (its encrypted content where `sealed` is
    given), then the answer; usage only where `reasoning` is given; with `whole_output` the
    closing event repeats the output items, as the API's `response.completed` does."""
    item: dict[str, Any] = {"id": "rs_1", "type": "reasoning", "summary": []}
    if sealed is not None:
        item["encrypted_content"] = sealed
    response: dict[str, Any] = {"id": "resp_1", "object": "response", "model": "gpt-5"}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": {**response, "status": "in_progress"}},
        {"type": "response.output_item.added", "item": {**item, "encrypted_content": None}},
        {"type": "response.output_item.done", "item": item},
        {"type": "response.output_text.delta", "delta": ANSWER},
    ]
    done: dict[str, Any] = {**response, "status": "completed"}
    if whole_output:
        message = {"type": "message", "content": [{"type": "output_text", "text": ANSWER}]}
        done["output"] = [item, message]
    if reasoning is not None:
        done["usage"] = {
            "input_tokens": 20,
            "output_tokens": reasoning + 12,
            "output_tokens_details": {"reasoning_tokens": reasoning},
        }
    events.append({"type": "response.completed", "response": done})
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def test_reading_the_encrypted_length() -> None:
    assert encrypted_reasoning_tokens(None) is None
    assert encrypted_reasoning_tokens((0, 0)) is None
    assert encrypted_reasoning_tokens((len(SEALED), 1)) == pytest.approx(200, abs=0.2)
    # Two items: each has its fixed part; a short one says no reasoning, never less.
    assert encrypted_reasoning_tokens((2 * len(SEALED), 2)) == pytest.approx(400, abs=0.4)
    assert encrypted_reasoning_tokens((100, 1)) == 0.0


def test_hidden_reasoning_is_read_from_encrypted_items(backend: ModuleType) -> None:
    est = Estimator()
    sealed = backend.parse_usage(responses_stream(SEALED), "openai-responses", estimator=est)
    bare = backend.parse_usage(responses_stream(None), "openai-responses", estimator=est)
    assert sealed.estimated == bare.estimated == ("output_tokens",)
    assert "hidden_reasoning" in sealed.estimate_reasons
    answer = Estimator.base_tokens(text_stats(ANSWER))
    assert sealed.output_tokens == pytest.approx(answer + 200, abs=2)
    # Bounded above, unlike reasoning nothing in the stream measures.
    low, high = sealed.estimate_ranges["output_tokens"]
    assert high is not None and low <= sealed.output_tokens <= high
    assert low >= 0.6 * 200 and high <= 1.5 * 200 + 2 * answer + 10
    assert bare.estimate_ranges["output_tokens"][1] is None


def test_encrypted_content_is_counted_as_text_whatever_its_escapes(backend: ModuleType) -> None:
    """Base64 holds `/` and `+`: a relay's JSON encoder may write `\\/` (PHP's does) and
    `\\u002b`. The characters counted are the decoded text's on both backends (the native fast
    reader leaves an escaped value to the full parse), and the item carried in a whole
    `response.completed` output is not counted a second time."""
    sealed = ("ab/+" * len(SEALED))[: len(SEALED)]
    plain = responses_stream(sealed, whole_output=True)
    escaped = plain.replace(b"ab/+", b"ab\\/\\u002b")
    assert escaped != plain
    records = [
        backend.parse_usage(body, "openai-responses", estimator=Estimator())
        for body in (plain, escaped)
    ]
    assert records[0].output_tokens == records[1].output_tokens
    assert records[0].estimate_ranges == records[1].estimate_ranges
    assert "hidden_reasoning" in records[0].estimate_reasons
    answer = Estimator.base_tokens(text_stats(ANSWER))
    assert records[0].output_tokens == pytest.approx(answer + 200, abs=2)


def test_a_model_learns_its_reasoning_against_the_encrypted_length(backend: ModuleType) -> None:
    est = Estimator()
    for _ in range(3):
        whole = backend.parse_usage(
            responses_stream(SEALED, reasoning=260), "openai-responses", estimator=est
        )
        assert whole.reasoning_tokens == 260 and not whole.estimated
    assert est.ratio("gpt-5", "reasoning:encrypted") == pytest.approx(1.3, rel=0.01)
    guess = backend.parse_usage(responses_stream(SEALED), "openai-responses", estimator=est)
    answer = Estimator.base_tokens(text_stats(ANSWER))
    assert guess.output_tokens == pytest.approx(answer + 260, abs=3)


# Real gpt-5 responses whose reasoning items were returned encrypted, 384 to 704 reasoning
# tokens (tests/captures/openai-responses, pydantic-ai's cassettes).
LONG_REASONING = (
    "openai-responses/pai_openai_responses_history_with_combined_tool_call_id.json",
    "openai-responses/pai_openai_responses_image_generation_with_tools.json",
    "openai-responses/pai_openai_responses_model_web_search_tool.json",
    "openai-responses/pai_openai_responses_model_web_search_tool_stream.json",
    "openai-responses/pai_openai_responses_model_web_search_tool_with_user_location.json",
)


@pytest.mark.parametrize("name", LONG_REASONING)
def test_real_encrypted_reasoning_is_estimated_within_ten_percent(
    backend: ModuleType, name: str
) -> None:
    capture = next(c for c in load_captures() if c.name == name)
    record = backend.parse_usage(
        strip_usage(capture), capture.provider, request=capture.request, estimator=Estimator()
    )
    billed = capture.expected["output_tokens"]
    assert "output_tokens" in record.estimated
    assert abs(record.output_tokens - billed) <= 0.1 * billed
    low, high = record.estimate_ranges["output_tokens"]
    assert low <= billed and (high is None or billed <= high)


# Gemini's `thoughtSignature` (a part's encrypted thought context, returned with function
# calls and thought summaries) grows with the thoughts the model billed: 21 real responses
# (tests/captures/gemini, gemini-2.5 and 3, 30 to 395 thought tokens; pydantic-ai's and
# crewAI's cassettes) lie within a median 6% of one line.
def gemini_capture_with_signature() -> list[Any]:
    return [
        c
        for c in load_captures()
        if c.provider == "gemini"
        and b'"thoughtSignature"' in c.body
        and (c.expected.get("reasoning_tokens") or 0) > 0
    ]


def test_a_gemini_signature_reads_as_its_thoughts() -> None:
    assert encrypted_reasoning_tokens((0, 0), "gemini") is None
    per_token, fixed = GEMINI_SIGNATURE_CHARS_PER_TOKEN, GEMINI_SIGNATURE_CHARS
    assert encrypted_reasoning_tokens((int(fixed + 100 * per_token), 1), "gemini") == (
        pytest.approx(100, abs=0.5)
    )
    # OpenAI's items keep their own form: the same length reads otherwise.
    assert encrypted_reasoning_tokens((1500, 1), "gemini") != encrypted_reasoning_tokens(
        (1500, 1), "openai-responses"
    )


def test_gemini_signatures_are_counted_on_both_backends(backend: ModuleType) -> None:
    captures = gemini_capture_with_signature()
    assert len(captures) >= 20
    errors, misses = [], []
    for capture in captures:
        record = backend.parse_usage(
            strip_usage(capture), capture.provider, request=capture.request, estimator=Estimator()
        )
        billed = capture.expected["output_tokens"]
        assert "output_tokens" in record.estimated, capture.name
        reasons = set(record.estimate_reasons)
        assert reasons & {"hidden_reasoning", "summarized_thinking"}, capture.name
        errors.append(abs(record.output_tokens - billed) / billed)
        low, high = record.estimate_ranges["output_tokens"]
        if not (low <= billed and (high is None or billed <= high)):
            misses.append(capture.name)
    # Uncalibrated; read as hidden reasoning of no measure, the same replies were a median
    # 50% and more off.
    assert sorted(errors)[len(errors) // 2] <= 0.2
    # The two misses streamed a thought summary longer than the thoughts billed, which is
    # counted as text on top of the signature's reading: crewAI's (47 thoughts; 69 billed, 210
    # estimated; it missed before the signatures were read too, at 327) and llm-gemini's
    # (a summary of about 50 words for 42 thoughts, then a function call; 54 billed, 116
    # estimated).
    assert misses == [
        "gemini/decl_crewai_gemini_agent_kickoff_structured_output_with_tools.json",
        "gemini/llm_array_tools_25_flash.json",
    ]
