"""Calibration from complete records (issue 17): what short texts are billed beyond their
text, learned as counts shrunk towards a prior (a short prompt's framing, `input:offset`, beside
a short reply's end-of-turn tokens, `output:offset`); structured replies' own ratio
(`output:structured`); calibration under the request's model when the response names none;
requests whose text statistics undercount them teach no input. Kept with the ledger (SQLite
and PostgreSQL). Both backends make the same record."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from anthropic_streams import encode, message_delta, message_start, message_stop, text_block
from sseusage_fast.estimate import Estimator, request_info, text_stats
from sseusage_fast.estimate.bounds import estimate_input, estimate_output
from sseusage_fast.estimate.families import SHORT_REPLY_TOKENS
from sseusage_fast.ledger import open_ledger
from sseusage_fast.ledger.estimator_store import load_estimator, save_estimator
from sseusage_fast.ledger.reader import open_reader
from sseusage_fast.record import UsageRecord

PROMPT = {
    "model": "gpt-4o",
    "messages": [{"role": "user", "content": "What is the capital of France?"}],
}


def _billed_input(est: Estimator, extra: int, request: dict[str, Any] = PROMPT) -> int:
    """Teach `est` one complete record of `request` billed `extra` tokens over its estimate;
    returns that billed count."""
    info = request_info(request, "openai")
    assert info is not None
    billed = round(Estimator.base_tokens(info.stats)) + info.overhead + extra
    est.observe(
        UsageRecord(status="complete", model="gpt-4o", input_tokens=billed, output_tokens=5),
        input_stats=info.stats,
        input_overhead=info.overhead,
    )
    return billed


def _input_guess(est: Estimator, request: dict[str, Any] = PROMPT) -> Any:
    info = request_info(request, "openai")
    assert info is not None
    return estimate_input(est, info, Estimator.base_tokens, model="gpt-4o")


def test_short_prompts_learn_the_models_framing_shrunk_towards_none() -> None:
    """A short prompt (its base under MIN_BASE_TOKENS) teaches no ratio but its framing count;
    the prior (no framing beyond the documented one) weighs two samples: one record does not
    move the estimate, three that agree move it most of the way, and the range holds it."""
    est = Estimator(min_samples=1)
    plain = _input_guess(Estimator())
    billed = _billed_input(est, 4)
    assert est.ratio("gpt-4o", "input") is None  # a short prompt teaches no ratio
    learned = est.ratio("gpt-4o", "input:offset")
    assert learned is not None and learned >= 3
    assert est.offset("gpt-4o", "input:offset", 0.0) == 0.0
    assert _input_guess(est).value == plain.value
    for _ in range(3):
        _billed_input(est, 4)
    guess = _input_guess(est)
    assert guess.value == billed != plain.value
    assert guess.low <= billed <= (guess.high or 0)
    # A long prompt keeps its ratio: the offset is a short prompt's.
    long = {**PROMPT, "messages": [{"role": "user", "content": "The tide comes in. " * 40}]}
    assert _input_guess(est, long).value == _input_guess(Estimator(), long).value
    # Kept with the rest of the state; an older reader (no such kind) drops it.
    again = Estimator.from_json(est.to_json())
    assert again.offset("gpt-4o", "input:offset", 0.0) == est.offset("gpt-4o", "input:offset", 0.0)


def test_a_learned_framing_below_the_text_never_takes_the_range_below_zero() -> None:
    """Short prompts billed under their text estimate teach a negative framing spread (down to
    its limit, -6); on a shorter prompt still, the low end goes down by it but never below no
    tokens at all (a calibrated Gemini 2.5 Flash range read [-2, 58] for a 4-token prompt)."""
    teach = {"contents": [{"role": "user", "parts": [{"text": "What is the capital of France?"}]}]}
    short = {"contents": [{"role": "user", "parts": [{"text": "Hi?"}]}]}
    taught, asked = request_info(teach, "gemini"), request_info(short, "gemini")
    assert taught is not None and asked is not None
    est = Estimator(min_samples=1)
    for i in range(12):
        billed = 2 if i % 2 else 9
        est.observe(
            UsageRecord(status="complete", model="gemini-2.5-flash", input_tokens=billed),
            input_stats=taught.stats,
            input_overhead=taught.overhead,
        )
    spread = est.spread("gemini-2.5-flash", "input:offset")
    assert spread is not None and spread[0] < 0
    guess = estimate_input(est, asked, Estimator.base_tokens, model="gemini-2.5-flash")
    assert 0 <= guess.low <= guess.value <= (guess.high or 0)


def test_a_short_reply_gets_its_end_of_turn_token_once_a_ratio_is_learned() -> None:
    """A model's learned ratio of long replies says nothing of its end-of-turn token: a short
    reply of such a model still gets the prior (Mistral's "OK" billed 2, its text about 1)."""
    est = Estimator(min_samples=1)
    long = "The tide comes in twice a day, pulled by the moon. " * 12
    stats = text_stats(long)
    est.observe(
        UsageRecord(
            status="complete",
            model="mistral-small-latest",
            output_tokens=round(Estimator.base_tokens(stats)),
        ),
        output_stats=stats,
    )
    assert est.ratio("mistral-small-latest") is not None
    assert est.ratio("mistral-small-latest", "output:offset") is None
    short = text_stats("OK, done.")
    guess = estimate_output(
        est,
        short,
        Estimator.base_tokens,
        model="mistral-small-latest",
        provider="mistral",
        saw_thinking=False,
        saw_tool_use=False,
        request=None,
        truncated=False,
    )
    base = Estimator.base_tokens(short)
    assert guess.value == round(base * est.ratio("mistral-small-latest") + SHORT_REPLY_TOKENS)


COHERE_STREAM = b"".join(
    b"data: " + json.dumps(event).encode() + b"\n\n"
    for event in (
        {"type": "message-start", "id": "m1", "delta": {"message": {"role": "assistant"}}},
        {
            "type": "content-delta",
            "index": 0,
            "delta": {"message": {"content": {"text": "The tide comes in twice a day. " * 9}}},
        },
        {
            "type": "message-end",
            "delta": {
                "finish_reason": "COMPLETE",
                "usage": {"billed_units": {"input_tokens": 9, "output_tokens": 120}},
            },
        },
    )
)


def test_a_response_without_a_model_calibrates_the_model_its_request_named(
    backend: ModuleType,
) -> None:
    """Cohere's stream names no model: its complete records teach the model the request named,
    and the estimate of the next such stream (usage removed) uses what they taught; the record
    itself keeps the model it reported (none)."""
    request = {"model": "command-a", "messages": [{"role": "user", "content": "Tell me."}]}
    est = Estimator(min_samples=1)
    whole = backend.parse_usage(COHERE_STREAM, "cohere", request=request, estimator=est)
    assert whole.status == "complete" and whole.output_tokens == 120 and not whole.model
    assert est.ratio("command-a") is not None
    assert est.ratio("command-a", "input:offset") is not None
    stripped = COHERE_STREAM.replace(
        b', "usage": {"billed_units": {"input_tokens": 9, "output_tokens": 120}}', b""
    )
    assert stripped != COHERE_STREAM
    calibrated = backend.parse_usage(stripped, "cohere", request=request, estimator=est)
    fresh = backend.parse_usage(stripped, "cohere", request=request, estimator=Estimator())
    assert calibrated.estimated == fresh.estimated == ("output_tokens", "input_tokens")
    # One record learned: the ratio is halfway between the prior and what it taught (the
    # prior counts as one sample), so the estimate is halfway to the billed 120.
    assert fresh.output_tokens < calibrated.output_tokens < 120
    assert abs(calibrated.output_tokens - (fresh.output_tokens + 120) / 2) <= 1
    # Without a request nothing names the model: nothing is learned.
    lone = Estimator(min_samples=1)
    backend.parse_usage(COHERE_STREAM, "cohere", estimator=lone)
    assert lone.learned == 0 and "Estimator(calibrated=[]" in repr(lone)


def test_hex_and_base64_runs_teach_no_input(backend: ModuleType) -> None:
    """A request holding a long opaque run (an encrypted reasoning item, a digest) is billed
    far more than its text statistics say: it teaches neither the input ratio nor the offset."""
    opaque = "gAAAAABp" + "Xy9kQ2" * 40
    request = {
        "model": "gpt-4o",
        "messages": [{"role": "user", "content": f"Keep this: {opaque}. " + "Hello there. " * 20}],
    }
    info = request_info(request, "openai")
    assert info is not None and info.opaque_chars >= 48
    est = Estimator(min_samples=1)
    body = (
        b'data: {"id":"c","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"}}]}\n\n'
        b'data: {"id":"c","model":"gpt-4o","choices":[{"index":0,"delta":{},'
        b'"finish_reason":"stop"}],"usage":{"prompt_tokens":400,"completion_tokens":2}}\n\n'
        b"data: [DONE]\n\n"
    )
    record = backend.parse_usage(body, "openai", request=request, estimator=est)
    assert record.status == "complete" and record.input_tokens == 400
    assert est.samples("gpt-4o", "input") == est.samples("gpt-4o", "input:offset") == 0
    assert est.samples("gpt-4o", "output:offset") == 1  # the reply still teaches


def test_the_learned_offsets_are_kept_in_the_ledger(dsn: str) -> None:
    """The proxy keeps its estimator in the ledger: the new kinds survive the round trip on
    SQLite and PostgreSQL, and estimate as before it was stored."""
    est = Estimator(min_samples=1)
    for extra in (3, 4, 4):
        _billed_input(est, extra)
    ledger = open_ledger(dsn, spool=False)
    try:
        save_estimator(ledger, est)  # type: ignore[arg-type]
    finally:
        ledger.close()
    with open_reader(dsn) as reader:
        kept = load_estimator(reader)
    assert kept is not None and kept.to_json() == est.to_json()
    assert _input_guess(kept) == _input_guess(est) != _input_guess(Estimator())


JSON_REPLY = '{"result": {"kind": "CityLocation", "data": {"city": "Mexico City"}}}'


def _chat(text: str, usage: bool, completion_tokens: int = 0) -> bytes:
    end: dict[str, Any] = {
        "id": "c",
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
    }
    if usage:
        end["usage"] = {"prompt_tokens": 20, "completion_tokens": completion_tokens}
    first = {"id": "c", "model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": text}}]}
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in (first, end)) + (
        b"data: [DONE]\n\n"
    )


def test_structured_replies_learn_their_own_ratio(backend: ModuleType) -> None:
    """JSON replies are where tokenizers differ most from the base (gpt-4o billed 21-26 for
    replies the base puts at 32): a model learns their ratio apart from its prose, from
    replies of 10 base tokens on, and a prose reply keeps its own estimate."""
    stats = text_stats(JSON_REPLY)
    base = Estimator.base_tokens(stats)
    assert stats[3] >= stats[0] and 10 <= base < 50
    billed = round(0.7 * base)
    est = Estimator(min_samples=1)
    # Three records that agree: the prior, one sample more, no longer moves the median.
    for _ in range(3):
        whole = backend.parse_usage(_chat(JSON_REPLY, True, billed), "openai", estimator=est)
        assert whole.output_tokens == billed
    assert est.ratio("gpt-4o", "output:structured") is not None
    assert est.ratio("gpt-4o") is None and est.samples("gpt-4o", "output:offset") == 0
    stripped = _chat(JSON_REPLY, False)
    calibrated = backend.parse_usage(stripped, "openai", estimator=est)
    fresh = backend.parse_usage(stripped, "openai", estimator=Estimator())
    assert calibrated.output_tokens == billed < (fresh.output_tokens or 0)
    low, high = calibrated.estimate_ranges["output_tokens"]
    assert high is not None and low <= billed <= high
    prose = _chat("Paris is the capital of France, and Lyon is its third city.", False)
    assert (
        backend.parse_usage(prose, "openai", estimator=est).output_tokens
        == backend.parse_usage(prose, "openai", estimator=Estimator()).output_tokens
    )


TOOL_REQUEST = {
    "model": "claude-sonnet-4-6",
    "max_tokens": 512,
    "tools": [
        {
            "name": "get_weather",
            "description": "The weather in a city.",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ],
    "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
}


def _claude_stream(usage: dict[str, int] | None) -> bytes:
    """A short Claude reply; `usage` None: a stream whose usage a proxy removed."""
    start = None if usage is None else {"input_tokens": usage["input_tokens"], "output_tokens": 1}
    end = None if usage is None else {"output_tokens": usage["output_tokens"]}
    return encode(
        [
            message_start(start, model="claude-sonnet-4-6"),
            *text_block(0, ["It is sunny ", "in Paris today."]),
            message_delta(end),
            message_stop(),
        ]
    )


def test_a_claude_models_tool_prompt_is_learned_beyond_the_documented_one(
    backend: ModuleType,
) -> None:
    """Anthropic's tool-use system prompt is a fixed count per model: the documented 346 is in
    the estimate, and what a model bills beyond it (Claude Sonnet 4.6: about 220 more) is
    learned from its complete records, shrunk towards none, and added to the next request with
    tools; the range holds it. A request without tools does not get it."""
    info = request_info(TOOL_REQUEST, "anthropic")
    assert info is not None and info.tools == 1
    fresh = estimate_input(Estimator(), info, Estimator.base_tokens, model="claude-sonnet-4-6")
    billed = fresh.value + 220
    est = Estimator(min_samples=1)
    whole = _claude_stream({"input_tokens": billed, "output_tokens": 9})
    for _ in range(3):
        record = backend.parse_usage(whole, "anthropic", request=TOOL_REQUEST, estimator=est)
        assert record.input_tokens == billed and not record.estimated
    assert est.samples("claude-sonnet-4-6", "input:tools") == 3
    assert est.samples("claude-sonnet-4-6", "input") == 0  # no ratio from a request with tools
    stripped = _claude_stream(None)
    guess = backend.parse_usage(stripped, "anthropic", request=TOOL_REQUEST, estimator=est)
    assert guess.input_tokens == billed
    low, high = guess.estimate_ranges["input_tokens"]
    assert high is not None and low <= billed <= high
    assert "tool_definitions" in guess.estimate_reasons
    plain = {k: v for k, v in TOOL_REQUEST.items() if k != "tools"}
    assert (
        backend.parse_usage(stripped, "anthropic", request=plain, estimator=est).input_tokens
        == backend.parse_usage(stripped, "anthropic", request=plain).input_tokens
    )
    # Other providers' tool framing depends on each schema: not learned as a count.
    openai_info = request_info(
        {
            **PROMPT,
            "tools": [
                {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
            ],
        },
        "openai",
    )
    assert openai_info is not None and openai_info.tools == 1
    other = Estimator(min_samples=1)
    other.observe_tool_prompt(
        UsageRecord(status="complete", model="gpt-4o", input_tokens=500), openai_info
    )
    assert other.samples("gpt-4o", "input:tools") == 0


def test_an_unlearned_count_is_none_and_any_kind_has_a_prior_weight() -> None:
    est = Estimator(min_samples=2)
    assert est.offset("gpt-4o", "input:offset", 0.0) is None
    assert est.offset(None, "output:offset", 1.0) is None
    _billed_input(est, 6)
    assert est.offset("gpt-4o", "input:offset", 0.0) is None  # one sample, two needed
    _billed_input(est, 6)
    learned = est.ratio("gpt-4o", "input:offset")
    assert learned is not None
    # Two samples and a prior worth two: the median of [0, 0, x, x] is halfway.
    assert est.offset("gpt-4o", "input:offset", 0.0) == learned / 2
    # A kind without a weight of its own gets one prior sample: two samples of a ratio of 2 and
    # a prior of 1 give the ratio (with two prior samples, as a short prompt's, halfway).
    long = {**PROMPT, "messages": [{"role": "user", "content": "The tide comes in. " * 40}]}
    info = request_info(long, "openai")
    assert info is not None
    base = Estimator.base_tokens(info.stats)
    record = UsageRecord(
        status="complete", model="gpt-4o", input_tokens=round(2 * base) + info.overhead
    )
    est.observe(record, input_stats=info.stats, input_overhead=info.overhead)
    est.observe(record, input_stats=info.stats, input_overhead=info.overhead)
    ratio = est.ratio("gpt-4o", "input")
    assert ratio is not None and abs(ratio - 2) < 0.01
    assert est.offset("gpt-4o", "input", 1.0) == ratio
