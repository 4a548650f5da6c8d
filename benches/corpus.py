"""A deterministic corpus of realistic LLM event streams, and the three ways to cut it.

Everything is generated from a seed, so every run (and every machine) measures the same bytes.
The shapes follow the documented wire formats:

- Anthropic Messages streaming: `message_start` (usage with cache fields and the 5m/1h split),
  `content_block_start` / `content_block_delta` / `content_block_stop` for text, thinking
  (`thinking_delta`, then one `signature_delta`) and tool use (`input_json_delta` with
  `partial_json`), `ping`, `message_delta` with the final usage, `message_stop`. Some `data:`
  lines are padded with spaces before the closing brace, as real Anthropic streams sometimes are.
  LF and CRLF variants; a few streams have every usage object stripped.
- OpenAI Chat Completions with `stream_options.include_usage`: one `data:` chunk per delta, each
  with `"usage":null`, then a final chunk with `"choices":[]` and the usage, then `data: [DONE]`.
  A few streams come without `include_usage` (no usage anywhere).

Each `Stream` carries the usage the generator put in, normalised the way the contract's
`UsageRecord` reports it (disjoint buckets), so tests can check any parser against it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

KIB = 1024
MIB = 1024 * KIB

# Word lists: enough variety that no parser can win by caching, small enough to read.
WORD_TEXT = (
    "the of and to in is that for it as with was on be by this are or from at an which but not "
    "have has had were can all their there been if more when will would who so no one about up "
    "stream token usage parser buffer chunk event latency proxy meter billing cache request "
    "response model function value result error retry server client network throughput memory "
    "allocation benchmark decoder encoder contract field record estimate output input context"
)
_WORDS = tuple(WORD_TEXT.split())
_CJK = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说"
    "产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使"
    "点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明"
    "看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料"
    "。、,!?"
)
_ANTHROPIC_MODELS = ("claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-haiku-4-5")
_OPENAI_MODELS = ("gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "o4-mini-2025-04-16")
_TOOLS = ("get_weather", "search_documents", "run_sql", "read_file")

# The four figures every contender (ours and the peers) must agree on.
CORE_FIELDS = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
)


def core(usage: dict[str, int] | None) -> dict[str, int] | None:
    """The `CORE_FIELDS` part of a normalised usage dict (what peers and parser must agree on)."""
    if usage is None:
        return None
    return {f: usage[f] for f in CORE_FIELDS if f in usage}


@dataclass(frozen=True)
class Stream:
    """One generated response stream and what a correct parser must report for it."""

    name: str
    provider: str  # "anthropic" or "openai"
    body: bytes
    # Normalised usage (contract buckets; a bucket the provider does not report is absent),
    # or None for a stream without any usage.
    expected: dict[str, int] | None
    model: str
    newline: str = "\n"
    features: tuple[str, ...] = field(default=())


def compact_json(obj: Any) -> str:
    # Compact separators and raw UTF-8, as both providers send.
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def _english(rng: random.Random, n_words: int) -> str:
    words = [rng.choice(_WORDS) for _ in range(n_words)]
    text = " ".join(words)
    return text[:1].upper() + text[1:] + rng.choice((".", ".", ",", "?", ":\n\n", ".\n"))


def _cjk(rng: random.Random, n_chars: int) -> str:
    return "".join(rng.choice(_CJK) for _ in range(n_chars))


def reply_text(
    rng: random.Random, size_hint: int, cjk: bool, shortest: int
) -> tuple[str, Iterator[str]]:
    """A plain reply's text and the pieces it is streamed in (cut as they are drawn): CJK one
    to three characters at a time, English `shortest` to nine."""
    if cjk:
        text = _cjk(rng, size_hint // 160)
        return text, _pieces(text, rng, 1, 3)
    text = " ".join(_english(rng, rng.randint(5, 25)) for _ in range(size_hint // 5400 + 1))
    return text, _pieces(text, rng, shortest, 9)


def _pieces(text: str, rng: random.Random, lo: int, hi: int) -> Iterator[str]:
    """Cut text into delta-sized pieces, as a model emits them a few tokens at a time."""
    i = 0
    while i < len(text):
        j = min(len(text), i + rng.randint(lo, hi))
        yield text[i:j]
        i = j


class _AnthropicWriter:
    def __init__(self, rng: random.Random, newline: str, pad: bool) -> None:
        self.rng = rng
        self.nl = newline
        self.pad = pad
        self.parts: list[str] = []

    def event(self, name: str, payload: dict[str, Any], *, pad_ok: bool = False) -> None:
        data = compact_json(payload)
        if self.pad and pad_ok and self.rng.random() < 0.5:
            # Spaces before the closing brace: still valid JSON, and seen on the wire.
            data = data[:-1] + " " * self.rng.randint(1, 48) + "}"
        nl = self.nl
        self.parts.append(f"event: {name}{nl}data: {data}{nl}{nl}")

    def ping(self) -> None:
        # The API writes ping with a space after the colon, unlike the other events.
        nl = self.nl
        self.parts.append(f'event: ping{nl}data: {{"type": "ping"}}{nl}{nl}')


def anthropic_stream(
    rng: random.Random,
    name: str,
    *,
    blocks: list[str],
    size_hint: int,
    newline: str = "\n",
    strip_usage: bool = False,
    pad: bool = True,
) -> Stream:
    """One Messages stream with the given content blocks ("text", "cjk", "thinking", "tool_use")."""
    model = rng.choice(_ANTHROPIC_MODELS)
    w = _AnthropicWriter(rng, newline, pad)
    cache_5m = rng.choice((0, 0, rng.randint(1024, 40_000)))
    cache_1h = rng.choice((0, 0, 0, rng.randint(1024, 20_000)))
    usage_start: dict[str, Any] = {
        "input_tokens": rng.randint(3, 3000),
        "cache_creation_input_tokens": cache_5m + cache_1h,
        "cache_read_input_tokens": rng.choice((0, rng.randint(1024, 150_000))),
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache_5m,
            "ephemeral_1h_input_tokens": cache_1h,
        },
        "output_tokens": rng.randint(1, 4),
        "service_tier": "standard",
    }
    message: dict[str, Any] = {
        "model": model,
        "id": f"msg_01{rng.getrandbits(96):024x}",
        "type": "message",
        "role": "assistant",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
    }
    if not strip_usage:
        message["usage"] = usage_start
    w.event("message_start", {"type": "message_start", "message": message})

    chars = 0
    per_block = max(100, size_hint // (7 * max(1, len(blocks))))
    for index, kind in enumerate(blocks):
        if kind == "thinking":
            w.event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                },
            )
            text = " ".join(_english(rng, rng.randint(6, 30)) for _ in range(per_block // 90 + 1))
            for piece in _pieces(text, rng, 20, 120):
                delta = {"type": "thinking_delta", "thinking": piece}
                w.event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
                chars += len(piece)
            signature = "Eu" + "".join(
                rng.choice("ABCDEFGHabcdefgh0123456789+/") for _ in range(340)
            )
            delta = {"type": "signature_delta", "signature": signature}
            w.event(
                "content_block_delta",
                {"type": "content_block_delta", "index": index, "delta": delta},
            )
        elif kind == "tool_use":
            tool = rng.choice(_TOOLS)
            w.event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {
                        "type": "tool_use",
                        "id": f"toolu_01{rng.getrandbits(80):020x}",
                        "name": tool,
                        "input": {},
                    },
                },
            )
            args = {
                "query": _english(rng, rng.randint(4, 20)),
                "limit": rng.randint(1, 100),
                "filters": [_english(rng, 3) for _ in range(rng.randint(0, per_block // 60 + 1))],
            }
            # The first input_json_delta is empty on the wire.
            for piece in ["", *_pieces(compact_json(args), rng, 3, 30)]:
                delta = {"type": "input_json_delta", "partial_json": piece}
                w.event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                )
                chars += len(piece)
        else:
            w.event(
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            if index == 0:
                w.ping()
            if kind == "cjk":
                text = _cjk(rng, per_block // 3)
                lo, hi = 1, 12
            else:
                text = " ".join(
                    _english(rng, rng.randint(5, 25)) for _ in range(per_block // 80 + 1)
                )
                lo, hi = 2, 40
            for piece in _pieces(text, rng, lo, hi):
                delta = {"type": "text_delta", "text": piece}
                w.event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": index, "delta": delta},
                    pad_ok=True,
                )
                chars += len(piece)
                if rng.random() < 0.01:
                    w.ping()
        w.event("content_block_stop", {"type": "content_block_stop", "index": index}, pad_ok=True)

    output_tokens = max(1, chars // 4 + rng.randint(0, 20))
    usage_end: dict[str, Any] = {"output_tokens": output_tokens}
    if rng.random() < 0.5:
        # Newer API versions repeat the input side in message_delta (same values).
        usage_end = {
            "input_tokens": usage_start["input_tokens"],
            "cache_creation_input_tokens": usage_start["cache_creation_input_tokens"],
            "cache_read_input_tokens": usage_start["cache_read_input_tokens"],
            "output_tokens": output_tokens,
        }
    stop_reason = "tool_use" if blocks and blocks[-1] == "tool_use" else "end_turn"
    delta_event: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
    }
    if not strip_usage:
        delta_event["usage"] = usage_end
    w.event("message_delta", delta_event, pad_ok=True)
    w.event("message_stop", {"type": "message_stop"}, pad_ok=True)

    expected = None
    if not strip_usage:
        expected = {
            "input_tokens": usage_start["input_tokens"],
            "cache_creation_input_tokens": usage_start["cache_creation_input_tokens"],
            "cache_creation_5m_input_tokens": cache_5m,
            "cache_creation_1h_input_tokens": cache_1h,
            "cache_read_input_tokens": usage_start["cache_read_input_tokens"],
            "output_tokens": output_tokens,
        }
    features = tuple(sorted(set(blocks))) + (("crlf",) if newline == "\r\n" else ())
    if strip_usage:
        features += ("no_usage",)
    return Stream(
        name=name,
        provider="anthropic",
        body="".join(w.parts).encode(),
        expected=expected,
        model=model,
        newline=newline,
        features=features,
    )


def openai_stream(
    rng: random.Random,
    name: str,
    *,
    size_hint: int,
    include_usage: bool = True,
    tool_call: bool = False,
    cjk: bool = False,
) -> Stream:
    """One Chat Completions stream; with include_usage, the last chunk carries the usage."""
    model = rng.choice(_OPENAI_MODELS)
    head = {
        "id": f"chatcmpl-{rng.getrandbits(120):030x}",
        "object": "chat.completion.chunk",
        "created": 1_760_000_000 + rng.randint(0, 10_000_000),
        "model": model,
        "service_tier": "default",
        "system_fingerprint": f"fp_{rng.getrandbits(40):010x}",
    }
    parts: list[str] = []

    def chunk(choices: list[dict[str, Any]], usage: Any = None) -> None:
        obj = dict(head, choices=choices)
        if include_usage:
            obj["usage"] = usage  # null on every chunk but the last
        parts.append(f"data: {compact_json(obj)}\n\n")

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    chunk(choice({"role": "assistant", "content": "", "refusal": None}))
    chars = 0
    _, pieces = reply_text(rng, size_hint, cjk, 2)
    for piece in pieces:
        chunk(choice({"content": piece}))
        chars += len(piece)
    finish = "stop"
    if tool_call:
        args = compact_json(
            {"query": _english(rng, rng.randint(4, 20)), "limit": rng.randint(1, 50)}
        )
        call = {
            "index": 0,
            "id": f"call_{rng.getrandbits(96):024x}",
            "type": "function",
            "function": {"name": rng.choice(_TOOLS), "arguments": ""},
        }
        chunk(choice({"tool_calls": [call]}))
        for piece in _pieces(args, rng, 2, 8):
            chunk(choice({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
            chars += len(piece)
        finish = "tool_calls"
    chunk(choice({}, finish))

    prompt = rng.randint(10, 20_000)
    cached = rng.choice((0, 0, (prompt // 128) * 64))
    completion = max(1, chars // 4 + rng.randint(0, 10))
    reasoning = rng.choice((0, 0, rng.randint(0, completion)))
    expected = None
    if include_usage:
        usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        chunk([], usage)
        # Contract buckets: OpenAI's prompt count includes the cached part; ours are disjoint.
        # OpenAI reports no cache writes, so that bucket is absent (None), not 0.
        expected = {
            "input_tokens": prompt - cached,
            "cache_read_input_tokens": cached,
            "output_tokens": completion,
        }
    parts.append("data: [DONE]\n\n")
    features = ("text",) + (("cjk",) if cjk else ()) + (("tool_call",) if tool_call else ())
    if not include_usage:
        features += ("no_usage",)
    return Stream(
        name=name,
        provider="openai",
        body="".join(parts).encode(),
        expected=expected,
        model=model,
        features=features,
    )


def _stream_size(rng: random.Random) -> int:
    # Mostly medium replies, some short ones, a few long ones (long answers, big tool inputs).
    r = rng.random()
    if r < 0.2:
        return rng.randint(1_000, 5_000)
    if r < 0.9:
        return rng.randint(10_000, 80_000)
    return rng.randint(150_000, 400_000)


def build_corpus(
    seed: int = 20261128,
    target_bytes: int = 4 * MIB,
    providers: tuple[str, ...] = ("anthropic", "openai"),
) -> list[Stream]:
    """Streams until `target_bytes` (roughly 75% Anthropic, 25% OpenAI by count)."""
    rng = random.Random(seed)
    streams: list[Stream] = []
    total = 0
    i = 0
    while total < target_bytes:
        size = _stream_size(rng)
        use_openai = "openai" in providers and ("anthropic" not in providers or rng.random() < 0.25)
        if use_openai:
            s = openai_stream(
                rng,
                f"openai-{i}",
                size_hint=size,
                include_usage=rng.random() > 0.1,
                tool_call=rng.random() < 0.2,
                cjk=rng.random() < 0.15,
            )
        else:
            r = rng.random()
            if r < 0.35:
                blocks = ["text"]
            elif r < 0.55:
                blocks = ["thinking", "text"]
            elif r < 0.7:
                blocks = ["text", "tool_use"]
            elif r < 0.8:
                blocks = ["thinking", "text", "tool_use"]
            elif r < 0.9:
                blocks = ["cjk"]
            else:
                blocks = ["thinking", "cjk", "text"]
            s = anthropic_stream(
                rng,
                f"anthropic-{i}",
                blocks=blocks,
                size_hint=size,
                newline="\r\n" if rng.random() < 0.25 else "\n",
                strip_usage=rng.random() < 0.08,
            )
        streams.append(s)
        total += len(s.body)
        i += 1
    return streams


# --- the three ways to cut a stream -------------------------------------------------------------

_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")


def chunk_fixed(body: bytes, size: int) -> list[bytes]:
    """Fixed-size reads, cutting lines, CRLF pairs and UTF-8 sequences wherever they fall."""
    return [body[i : i + size] for i in range(0, len(body), size)]


def chunk_per_event(body: bytes) -> list[bytes]:
    """One chunk per event, blank line included: a server flushing after every event."""
    out: list[bytes] = []
    start = 0
    for m in _EVENT_END.finditer(body):
        out.append(body[start : m.end()])
        start = m.end()
    if start < len(body):
        out.append(body[start:])
    return out


CHUNKINGS: dict[str, str] = {
    "16k": "16 KiB",
    "event": "per event",
    "64": "64 B",
}


def cut(body: bytes, chunking: str) -> list[bytes]:
    """Cut one stream by a CHUNKINGS key."""
    if chunking == "16k":
        return chunk_fixed(body, 16 * KIB)
    if chunking == "event":
        return chunk_per_event(body)
    if chunking == "64":
        return chunk_fixed(body, 64)
    raise ValueError(f"unknown chunking {chunking!r}; expected one of {sorted(CHUNKINGS)}")


def cut_corpus(streams: list[Stream], chunking: str) -> list[list[bytes]]:
    """Every stream cut the same way; one inner list per stream (one parser per stream)."""
    return [cut(s.body, chunking) for s in streams]


# --- a long stream for the memory check ---------------------------------------------------------


def long_stream_chunks(total_bytes: int = 256 * MIB, chunk_size: int = 64 * KIB) -> Iterator[bytes]:
    """An Anthropic stream of about `total_bytes`, yielded in `chunk_size` reads, never held whole.

    A parser that keeps text or grows a buffer per event shows it as RSS growth here. The stream
    is complete: its usage is input 1234 / output 98765.
    """
    rng = random.Random(7)
    w = _AnthropicWriter(rng, "\n", pad=True)
    usage = {
        "input_tokens": 1234,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 1,
    }
    w.event(
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_long",
                "type": "message",
                "role": "assistant",
                "content": [],
                "model": _ANTHROPIC_MODELS[0],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage,
            },
        },
    )
    w.event(
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    )
    head = "".join(w.parts).encode()
    w.parts.clear()
    # About 1 MiB of mixed English/CJK deltas, repeated.
    while sum(map(len, w.parts)) < MIB:
        text = _english(rng, 8) if rng.random() < 0.8 else _cjk(rng, 10)
        w.event(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "text_delta", "text": text},
            },
            pad_ok=True,
        )
    block = "".join(w.parts).encode()
    w.parts.clear()
    w.event("content_block_stop", {"type": "content_block_stop", "index": 0})
    w.event(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 98765},
        },
    )
    w.event("message_stop", {"type": "message_stop"})
    tail = "".join(w.parts).encode()

    pending = bytearray(head)
    body_bytes = max(0, total_bytes - len(head) - len(tail))
    copies = body_bytes // len(block) + 1
    for i in range(copies + 1):
        pending += tail if i == copies else block
        while len(pending) >= chunk_size:
            yield bytes(pending[:chunk_size])
            del pending[:chunk_size]
    if pending:
        yield bytes(pending)
