"""What a Claude request bills that its text does not show (issue 17, lead 2): the prompt of
extended thinking (`thinking: enabled`, on the Anthropic API and in Bedrock Converse's
`additionalModelRequestFields`), none in the point for adaptive thinking (the range allows
it), and the opening user turn the API supplies when a history starts with the assistant's.
Real captures (pydantic-ai's cassettes, tests/captures/anthropic/claude_*, bedrock/claude_*);
the estimate is made in the shared finish step, so both backends make the same record."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
from capture_index import estimated_on_both, load_captures, strip_usage
from sseusage_fast.estimate import Estimator, request_info
from sseusage_fast.estimate.bounds import SLACK, estimate_input
from sseusage_fast.estimate.requests import (
    ANTHROPIC_ASSISTANT_FIRST_TOKENS,
    ANTHROPIC_THINKING_TOKENS,
)

QUESTION = "How do I cross the street?"


def _anthropic(thinking: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": [{"type": "text", "text": QUESTION}]}],
    }
    if thinking is not None:
        body["thinking"] = thinking
    return body


def _converse(thinking: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messages": [{"role": "user", "content": [{"text": QUESTION}]}],
        "system": [],
        "inferenceConfig": {},
    }
    if thinking is not None:
        body["additionalModelRequestFields"] = {"thinking": thinking}
    return body


@pytest.mark.parametrize(
    "make, provider", [(_anthropic, "anthropic"), (_converse, "bedrock")], ids=["api", "converse"]
)
def test_enabled_thinking_bills_its_prompt_adaptive_thinking_only_may(
    make: Any, provider: str
) -> None:
    """`enabled` adds the thinking prompt to the point (Anthropic API and Converse alike:
    Claude Sonnet 4 and 4.5 on Bedrock billed 42 and 43 for a question of about 9 tokens, the
    API 43); `adaptive` adds nothing to it (Opus 4.8 and 5 billed 13 for "What is 2+2?", Sonnet
    4.6 on Bedrock 14 for this question) but the range's top allows it (Opus 4.6 billed 31)."""
    plain = request_info(make(None), provider)
    enabled = request_info(make({"type": "enabled", "budget_tokens": 1024}), provider)
    adaptive = request_info(make({"type": "adaptive"}), provider)
    assert plain is not None and enabled is not None and adaptive is not None
    assert enabled.overhead - plain.overhead == ANTHROPIC_THINKING_TOKENS
    assert adaptive.overhead == plain.overhead
    est = Estimator()
    low, high = (
        estimate_input(est, i, Estimator.base_tokens, model=None) for i in (plain, adaptive)
    )
    assert high.value == low.value and high.low == low.low
    assert low.high is not None and high.high is not None
    assert high.high - low.high == ANTHROPIC_THINKING_TOKENS
    off = request_info(make({"type": "disabled"}), provider)
    assert off is not None and off.overhead == plain.overhead


def _history(provider: str, roles: tuple[str, str]) -> dict[str, Any]:
    turns = list(zip(roles, ("Hello there!", "Now say goodbye."), strict=True))
    if provider == "bedrock":
        return {"messages": [{"role": r, "content": [{"text": t}]} for r, t in turns]}
    return {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": r, "content": t} for r, t in turns],
    }


@pytest.mark.parametrize("provider", ["anthropic", "bedrock"])
def test_a_history_that_starts_with_the_assistant_bills_an_opening_turn(provider: str) -> None:
    """The API bills a turn it supplies before a first assistant message: Sonnet 4.5 billed
    13 over the estimate for it on the Anthropic API (41 for 28) and on Bedrock (29 for 16).
    The same words with the user's turn first bill none."""
    opening = request_info(_history(provider, ("assistant", "user")), provider)
    usual = request_info(_history(provider, ("user", "assistant")), provider)
    assert opening is not None and usual is not None
    assert opening.stats == usual.stats
    assert opening.overhead - usual.overhead == ANTHROPIC_ASSISTANT_FIRST_TOKENS


def test_other_providers_keep_their_framing_for_an_assistant_first_history() -> None:
    body = {
        "model": "gpt-4.1",
        "messages": [
            {"role": "assistant", "content": "Hello there!"},
            {"role": "user", "content": "Now say goodbye."},
        ],
    }
    swapped = {**body, "messages": body["messages"][::-1]}
    a, b = request_info(body, "openai"), request_info(swapped, "openai")
    assert a is not None and b is not None and a.overhead == b.overhead


# Real recorded Claude requests (pydantic-ai): billed input within a token or 10%, uncalibrated,
# on both backends, and inside the range; before, 14 to 30 tokens off.
REAL = [
    "anthropic/claude_anthropic_opus_48_features.json",  # adaptive: 13
    "anthropic/claude_anthropic_opus_5_features.json",  # adaptive: 13
    "bedrock/claude_bedrock_model_thinking_part_anthropic.json",  # Converse, enabled: 42
    "bedrock/claude_bedrock_model_thinking_part_anthropic_legacy.json",  # enabled: 43
    "bedrock/claude_bedrock_model_thinking_part_anthropic_adaptive.json",  # adaptive: 14
    "bedrock/claude_bedrock_anthropic_message_history_starting_with_response.json",  # 29
    "anthropic/pai_anthropic_model_empty_message_on_history.json",  # assistant first: 41
]


@pytest.mark.parametrize("name", REAL)
def test_real_claude_requests_are_framed(both: tuple[ModuleType, ModuleType], name: str) -> None:
    cap = next(c for c in load_captures() if c.name == name)
    native = estimated_on_both(both, cap)
    billed = cap.expected["input_tokens"]
    got = native.input_tokens
    assert got is not None and abs(got - billed) <= max(1, 0.1 * billed), (name, got, billed)
    low, high = native.estimate_ranges["input_tokens"]
    assert low <= billed and (high is None or billed <= high), (name, low, high)


def test_adaptive_thinking_that_bills_its_prompt_is_in_the_range(
    both: tuple[ModuleType, ModuleType],
) -> None:
    """Opus 4.6 billed 31 for "What is 2+2?" with adaptive thinking (13 on Opus 4.8): the point
    leaves the prompt out, the top holds it."""
    cap = next(
        c
        for c in load_captures()
        if c.name == "anthropic/claude_anthropic_opus_46_features_adaptive_thinking.json"
    )
    records = [
        b.parse_usage(strip_usage(cap), "anthropic", request=cap.request, estimator=Estimator())
        for b in both
    ]
    assert records[0] == records[1]
    low, high = records[0].estimate_ranges["input_tokens"]
    billed = cap.expected["input_tokens"]
    assert high is not None and low <= billed <= high <= billed + ANTHROPIC_THINKING_TOKENS + SLACK
