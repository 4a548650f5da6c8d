"""Structured outputs and the first records of a model (issue 17): the JSON schema a reply must
follow is billed input the messages do not show, and the reply under it bills a few tokens
over its text on OpenAI's models; a ratio learned from one or two records is shrunk towards
the prior. Both backends make the same record (the estimate is made in the shared finish
step)."""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

import pytest
from sseusage_fast.estimate import Estimator, request_info, text_stats
from sseusage_fast.estimate.bounds import SCHEMA_LOW, estimate_input
from sseusage_fast.estimate.families import schema_output_tokens
from sseusage_fast.record import UsageRecord

REPLY = '{"city":"Mexico City","country":"Mexico"}'
SCHEMA = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The largest city"},
        "country": {"type": "string"},
    },
    "required": ["city", "country"],
    "additionalProperties": False,
}
# The same schema without the keywords that only constrain the grammar.
FIELDS = {
    "type": "object",
    "properties": {
        "city": {"type": "string", "description": "The largest city"},
        "country": {"type": "string"},
    },
}
MESSAGES = [{"role": "user", "content": "What is the largest city in Mexico?"}]


def chat_body(response_format: dict[str, Any] | None, model: str = "gpt-4o") -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": MESSAGES}
    if response_format is not None:
        body["response_format"] = response_format
    return body


def chat_schema(schema: dict[str, Any], strict: bool = True) -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {"name": "city", "schema": schema, "strict": strict},
    }


def responses_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": "gpt-4o",
        "input": MESSAGES,
        "text": {"format": {"type": "json_schema", "name": "city", "schema": schema}},
    }


def chat_stream(text: str, model: str = "gpt-4o") -> bytes:
    """A Chat Completions stream of one reply, its usage removed."""
    events = [
        {"id": "c", "model": model, "choices": [{"index": 0, "delta": {"content": text}}]},
        {
            "id": "c",
            "model": model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        },
    ]
    body = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
    return body + b"data: [DONE]\n\n"


def test_a_json_schema_is_input_without_its_grammar_keywords() -> None:
    plain = request_info(chat_body(None), "openai")
    prompted = request_info(chat_body({"type": "json_object"}), "openai")
    schema = request_info(chat_body(chat_schema(SCHEMA)), "openai")
    fields = request_info(chat_body(chat_schema(FIELDS, strict=False)), "openai")
    assert plain is not None and prompted is not None and schema is not None
    assert fields is not None
    # JSON mode has no schema; a schema's name, description and fields are input.
    assert plain.output_schema is None and prompted.output_schema is None
    assert prompted.stats == plain.stats
    expected = text_stats("city\n" + json.dumps(FIELDS, separators=(",", ":")))
    assert schema.output_schema == fields.output_schema == expected
    assert schema.stats == fields.stats != plain.stats
    assert schema.overhead == plain.overhead
    # The Responses API spells it `text.format`, unnested; the same text is counted.
    responses = request_info(responses_body(SCHEMA), "openai-responses")
    assert responses is not None and responses.output_schema == expected
    # Servers of the same API for other models constrain decoding without a prompt (vLLM,
    # Ollama): their schema is not counted; nor do other providers' bodies have one.
    llama = request_info(chat_body(chat_schema(SCHEMA), "llama-3.3-70b"), "openai")
    bare_llama = request_info(chat_body(None, "llama-3.3-70b"), "openai")
    assert llama is not None and bare_llama is not None
    assert llama.output_schema is None and llama.stats == bare_llama.stats
    claude = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": MESSAGES}
    assert request_info({**claude, "response_format": chat_schema(SCHEMA)}, "anthropic") == (
        request_info(claude, "anthropic")
    )


def test_the_input_range_allows_a_schema_billed_shorter_than_its_json() -> None:
    info = request_info(chat_body(chat_schema(SCHEMA)), "openai")
    assert info is not None and info.output_schema is not None
    schema_base = Estimator.base_tokens(info.output_schema)
    guess = estimate_input(Estimator(), info, Estimator.base_tokens, model="gpt-4o")
    bare = estimate_input(
        Estimator(), info._replace(output_schema=None), Estimator.base_tokens, model="gpt-4o"
    )
    assert guess.value == bare.value and guess.high == bare.high
    assert guess.low < bare.low and bare.low - guess.low == pytest.approx(
        schema_base * 0.8 * SCHEMA_LOW, abs=1
    )
    assert guess.reasons == ("tool_definitions",) and bare.reasons == ()


@pytest.mark.parametrize(
    ("model", "extra"), [("gpt-4o", 4), ("gpt-4.1-mini", 4), ("o3", 4), ("llama-3.3-70b", 0)]
)
def test_a_reply_under_a_schema_bills_a_few_tokens_more(
    backend: ModuleType, model: str, extra: int
) -> None:
    assert schema_output_tokens(model) == extra
    body = chat_stream(REPLY, model)
    schema = backend.parse_usage(
        body, "openai", request=chat_body(chat_schema(SCHEMA), model), estimator=Estimator()
    )
    prompted = backend.parse_usage(
        body, "openai", request=chat_body({"type": "json_object"}, model), estimator=Estimator()
    )
    assert "output_tokens" in schema.estimated and "output_tokens" in prompted.estimated
    assert schema.output_tokens == prompted.output_tokens + extra
    low, high = schema.estimate_ranges["output_tokens"]
    assert low <= schema.output_tokens and (high is None or schema.output_tokens <= high)


def test_learning_takes_the_schema_tokens_off_first() -> None:
    stats = text_stats(REPLY)
    billed = round(Estimator.base_tokens(stats) * 0.8)
    with_schema, without = Estimator(min_samples=1), Estimator(min_samples=1)
    record = UsageRecord(status="complete", model="gpt-4o", output_tokens=billed + 4)
    with_schema.observe(record, output_stats=stats, output_schema=True)
    without.observe(
        UsageRecord(status="complete", model="gpt-4o", output_tokens=billed), output_stats=stats
    )
    assert with_schema.to_json() == without.to_json()
    assert with_schema.ratio("gpt-4o", "output:structured") is not None


def test_a_ratio_learned_from_few_records_is_shrunk_towards_the_prior() -> None:
    est = Estimator(min_samples=1)
    stats = text_stats(" ".join(["A plain sentence of prose, long enough to learn from."] * 8))
    base = Estimator.base_tokens(stats)
    assert base >= 50

    def learn(ratio: float) -> None:
        record = UsageRecord(status="complete", model="m-1", output_tokens=round(base * ratio))
        est.observe(record, output_stats=stats)

    learn(2.0)
    learned = est.ratio("m-1")
    assert learned == pytest.approx(2.0, rel=0.01)
    # One record: halfway from the prior; the prior is one sample among the window's.
    assert est.ratio("m-1", prior=1.0) == pytest.approx((1.0 + learned) / 2)
    for _ in range(2):
        learn(2.0)
    assert est.ratio("m-1", prior=1.0) == pytest.approx(learned)
    assert est.ratio("unknown-model", prior=1.0) is None


def test_claude_structured_output_reads_its_schema_and_allows_its_prompt(
    backend: ModuleType,
) -> None:
    """Anthropic's `output_config.format` (Responses' shape): the schema is counted as input,
    and the top allows the prompt Claude is given for it, which the request does not show (a
    real Opus 4.6 stream: 231 billed for "Invent a good dog" and a three-field schema; the
    schema unread, it was estimated at 10 within [9, 15]). Such a record teaches no input."""
    from capture_index import load_captures, strip_usage

    capture = next(
        c for c in load_captures() if c.name == "anthropic/llm_opus_46_schema_stream.sse"
    )
    body = json.loads(capture.request) if isinstance(capture.request, str) else capture.request
    info = request_info(body, "anthropic")
    bare = request_info({k: v for k, v in body.items() if k != "output_config"}, "anthropic")
    assert info is not None and bare is not None and bare.output_schema is None
    assert info.output_schema is not None and info.stats != bare.stats
    est = Estimator()
    record = backend.parse_usage(
        strip_usage(capture), capture.provider, request=capture.request, estimator=est
    )
    low, high = record.estimate_ranges["input_tokens"]
    assert "tool_definitions" in record.estimate_reasons
    assert low <= capture.expected["input_tokens"] <= high
    whole = backend.parse_usage(
        capture.body, capture.provider, request=capture.request, estimator=est
    )
    assert not whole.estimated
    assert (
        est.samples("claude-opus-4-6", "input")
        == est.samples("claude-opus-4-6", "input:offset")
        == 0
    )
    # The same stream with the schema left out of the request teaches its framing.
    bare_body = json.dumps({k: v for k, v in body.items() if k != "output_config"})
    backend.parse_usage(capture.body, capture.provider, request=bare_body, estimator=est)
    assert est.samples("claude-opus-4-6", "input:offset") == 1
