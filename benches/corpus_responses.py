"""OpenAI Responses API streams for the corpus, with the same text source as the other streams.

The byte layout is the API's own, as recorded in
`tests/captures/openai-responses/lf_responses_stream.sse` (a cassette of `POST /v1/responses`):
`event:` lines, compact JSON, every event numbered by `sequence_number`; `response.created` and
`response.in_progress` (the response with `"usage":null`), `response.output_item.added`,
`response.content_part.added`, one `response.output_text.delta` per token or two (keys `type`,
`sequence_number`, `item_id`, `output_index`, `content_index`, `delta`, `logprobs`,
`obfuscation`), then `response.output_text.done`, `response.content_part.done`,
`response.output_item.done` (each with the whole text) and `response.completed`, whose
`response.usage` is the usage (`input_tokens` including `input_tokens_details.cached_tokens`).
"""

from __future__ import annotations

import random
import string
from typing import Any

from corpus import _OPENAI_MODELS, Stream, _stream_size, compact_json, reply_text

_OBFUSCATION = string.ascii_letters + string.digits


def _obfuscation(rng: random.Random, delta: str) -> str:
    # Recorded deltas are padded to 16 characters with it; longer ones (not seen in the
    # recordings) get a short random one.
    n = 16 - len(delta) if len(delta) < 16 else rng.randint(2, 15)
    return "".join(rng.choice(_OBFUSCATION) for _ in range(n))


def _response(rid: str, created: int, model: str, status: str, tier: str) -> dict[str, Any]:
    return {
        "id": rid,
        "object": "response",
        "created_at": created,
        "status": status,
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "model": model,
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "prompt_cache_key": None,
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None,
        "service_tier": tier,
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": {},
    }


def responses_stream(rng: random.Random, name: str, *, size_hint: int, cjk: bool = False) -> Stream:
    """One Responses stream of one text message; `response.completed` carries the usage."""
    model = rng.choice(_OPENAI_MODELS)
    rid = f"resp_{rng.getrandbits(200):050x}"
    mid = f"msg_{rng.getrandbits(200):050x}"
    created = 1_760_000_000 + rng.randint(0, 10_000_000)
    parts: list[str] = []

    def event(kind: str, **fields: Any) -> None:
        obj = {"type": kind, "sequence_number": len(parts), **fields}
        parts.append(f"event: {kind}\ndata: {compact_json(obj)}\n\n")

    head = _response(rid, created, model, "in_progress", "auto")
    event("response.created", response=head)
    event("response.in_progress", response=head)
    item = {
        "id": mid,
        "type": "message",
        "status": "in_progress",
        "content": [],
        "role": "assistant",
    }
    event("response.output_item.added", output_index=0, item=item)
    at = {"item_id": mid, "output_index": 0, "content_index": 0}
    part = {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
    event("response.content_part.added", **at, part=part)
    text, pieces = reply_text(rng, size_hint, cjk, 1)
    for piece in pieces:
        obf = _obfuscation(rng, piece)
        event("response.output_text.delta", **at, delta=piece, logprobs=[], obfuscation=obf)
    event("response.output_text.done", **at, text=text, logprobs=[])
    part = dict(part, text=text)
    event("response.content_part.done", **at, part=part)
    item = dict(item, status="completed", content=[part])
    event("response.output_item.done", output_index=0, item=item)

    prompt = rng.randint(10, 20_000)
    cached = rng.choice((0, 0, (prompt // 128) * 64))
    output = max(1, len(text) // 4 + rng.randint(0, 10))
    reasoning = rng.choice((0, 0, rng.randint(0, output)))
    usage = {
        "input_tokens": prompt,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": prompt + output,
    }
    done = _response(rid, created, model, "completed", "default")
    done.update(output=[item], usage=usage)
    event("response.completed", response=done)
    return Stream(
        name=name,
        provider="openai-responses",
        body="".join(parts).encode(),
        # Contract buckets: the input count includes the cached part; no cache writes reported.
        expected={
            "input_tokens": prompt - cached,
            "cache_read_input_tokens": cached,
            "output_tokens": output,
        },
        model=model,
        features=("text",) + (("cjk",) if cjk else ()),
    )


def responses_corpus(seed: int, target_bytes: int) -> list[Stream]:
    """Responses streams until `target_bytes`, sized as the corpus sizes its streams."""
    rng = random.Random(seed)
    streams: list[Stream] = []
    total = 0
    while total < target_bytes:
        s = responses_stream(
            rng, f"responses-{len(streams)}", size_hint=_stream_size(rng), cjk=rng.random() < 0.15
        )
        streams.append(s)
        total += len(s.body)
    return streams
