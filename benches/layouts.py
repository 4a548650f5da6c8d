"""The corpus's streams in other byte layouts, and the real recorded streams, for the layouts
table of `compare.py --layouts` and `tests/test_layouts_parity.py`.

Real traffic lays the same events out in many ways: relays drop `event:` lines or add `id:`
lines, re-serialise JSON with other spacing or key order, providers add fields (OpenAI's
`obfuscation`, Azure's `content_filter_results`). Each layout below re-serialises a corpus
stream (its events parsed back, then written again), so the content and the usage stay the
same and only the bytes change.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from corpus import WORD_TEXT, Stream, build_corpus, compact_json
from corpus_responses import responses_corpus


@dataclass(frozen=True)
class Layout:
    key: str
    label: str
    provider: str  # the streams it applies to
    # Whether it is a layout a provider's own API writes (higher floors apply).
    api: bool = False


LAYOUTS: tuple[Layout, ...] = (
    Layout("anthropic_api", "Anthropic, API layout", "anthropic", api=True),
    Layout("anthropic_no_event", "Anthropic, no `event:` lines", "anthropic"),
    Layout("anthropic_id", "Anthropic, `id:` lines", "anthropic"),
    Layout("anthropic_data_nospace", "Anthropic, `data:` without the space", "anthropic"),
    Layout("anthropic_key_order", "Anthropic, keys in another order", "anthropic"),
    Layout("anthropic_extra_field", "Anthropic, one extra field in each delta", "anthropic"),
    Layout(
        "anthropic_no_event_spaced",
        "Anthropic, no `event:` lines + `json.dumps` spacing",
        "anthropic",
    ),
    Layout("anthropic_crlf", "Anthropic, CRLF line ends", "anthropic"),
    Layout("anthropic_comments", "Anthropic, `:` comment lines between events", "anthropic"),
    Layout("anthropic_escaped", "Anthropic, `ensure_ascii` escapes (`\\uXXXX`)", "anthropic"),
    Layout("openai_api", "OpenAI, API layout without the pad", "openai", api=True),
    Layout("openai_obfuscation", "OpenAI, with the `obfuscation` field", "openai", api=True),
    Layout("openai_azure", "OpenAI on Azure, `content_filter_results`", "openai"),
    Layout("openai_spaced", "OpenAI, `json.dumps` spacing", "openai"),
    Layout("openai_key_order", "OpenAI, keys in another order", "openai"),
    Layout("openai_crlf_comments", "OpenAI, CRLF and `:` comment lines", "openai"),
    # As tests/captures/together/oi_chat_stream.sse: the role and a token id in every delta, the
    # delta's text again in the choice's legacy `text`.
    Layout("openai_together", "OpenAI-compatible (Together), `text` beside the delta", "openai"),
    # As the API writes a chunk with `logprobs: true, top_logprobs: 2`: the choice's value of
    # another shape in every chunk (the tokens' bytes, their alternatives).
    Layout("openai_logprobs", "OpenAI, `logprobs` on", "openai", api=True),
    Layout("responses_api", "OpenAI Responses, API layout", "openai-responses", api=True),
    # As some recorders write it (tests/captures/openai-responses/streaming_with_content.sse).
    Layout("responses_sorted", "OpenAI Responses, keys sorted after `type`", "openai-responses"),
)


def _events_of(body: bytes) -> list[tuple[str | None, str]]:
    """A corpus stream's events as (event type or None, data): the generator writes one `data:`
    line per event, LF or CRLF framed."""
    text = body.decode().replace("\r\n", "\n")
    out: list[tuple[str | None, str]] = []
    for block in text.split("\n\n"):
        if not block:
            continue
        event_type, data = None, ""
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event_type = value
            elif name == "data":
                data = value
        out.append((event_type, data))
    return out


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


_AZURE_FILTERS = {
    name: {"filtered": False, "severity": "safe"}
    for name in ("hate", "self_harm", "sexual", "violence")
}


def _together_choice(choice: Any, rng: random.Random) -> Any:
    """A chunk's choice as Together writes it (key order, `seed`, the text twice)."""
    delta = choice.get("delta") if isinstance(choice, dict) else None
    if not isinstance(delta, dict):
        return choice
    out = {"index": choice.get("index", 0), "text": delta.get("content") or ""}
    out.update(logprobs=None, finish_reason=choice.get("finish_reason"), seed=None)
    out["delta"] = {"token_id": rng.randrange(128_000), "role": "assistant", **delta}
    return out


def _logprobs_of(text: str, rng: random.Random) -> Any:
    """A content chunk's `logprobs` as the API writes it: one entry a token (the text cut at
    spaces here), each with its UTF-8 bytes and its two likeliest tokens, itself first."""
    content = []
    for token in [t for t in text.replace(" ", "\0 ").split("\0") if t] or [text]:
        logprob = -round(rng.expovariate(3.0), 8)
        chosen = {"token": token, "logprob": logprob, "bytes": list(token.encode())}
        other = token.strip() or "."
        runner_up = {
            "token": other,
            "logprob": round(logprob - rng.expovariate(1.0), 8),
            "bytes": list(other.encode()),
        }
        content.append({**chosen, "top_logprobs": [chosen, runner_up]})
    return {"content": content, "refusal": None}


def _relayout_json(layout: str, obj: Any, rng: random.Random) -> str:
    if layout == "anthropic_extra_field" and isinstance(obj.get("delta"), dict):
        obj["delta"]["trace"] = f"t{rng.getrandbits(24):06x}"
    elif layout == "anthropic_extra_field":
        obj["trace"] = f"t{rng.getrandbits(24):06x}"
    if layout == "openai_obfuscation":
        # As the API does since 2025: random-length padding at the end of every chunk.
        obj["obfuscation"] = "".join(rng.choice(WORD_TEXT[:40]) for _ in range(rng.randint(1, 16)))
        obj["obfuscation"] = obj["obfuscation"].replace(" ", "x")
    if layout == "openai_azure":
        for choice in obj.get("choices") or []:
            if choice.get("delta"):
                choice["content_filter_results"] = _AZURE_FILTERS
        if obj.get("choices") and "role" in obj["choices"][0].get("delta", {}):
            obj["prompt_filter_results"] = [
                {"prompt_index": 0, "content_filter_results": _AZURE_FILTERS}
            ]
    if layout == "openai_logprobs":
        for choice in obj.get("choices") or []:
            text = (choice.get("delta") or {}).get("content")
            if text:
                choice["logprobs"] = _logprobs_of(text, rng)
    if layout == "openai_together":
        obj["choices"] = [_together_choice(c, rng) for c in obj.get("choices") or []]
    if layout == "responses_sorted":
        obj = {"type": obj.pop("type"), **{k: obj[k] for k in sorted(obj)}}
    if layout.endswith("key_order"):
        obj = _reversed_keys(obj)
    if layout in ("anthropic_no_event_spaced", "openai_spaced"):
        return json.dumps(obj, ensure_ascii=False)
    if layout == "anthropic_escaped":
        return json.dumps(obj, separators=(",", ":"))
    return compact_json(obj)


def relayout(stream: Stream, layout: str) -> bytes:
    """`stream` written again in `layout` (a `LAYOUTS` key): same events, other bytes."""
    if layout in ("anthropic_api", "openai_api", "responses_api"):
        return stream.body.replace(b"\r\n", b"\n") if layout == "openai_api" else stream.body
    rng = random.Random(len(stream.body))
    nl = "\r\n" if layout in ("anthropic_crlf", "openai_crlf_comments") else "\n"
    parts: list[str] = []
    for n, (event_type, data) in enumerate(_events_of(stream.body)):
        try:
            obj = json.loads(data)
        except ValueError:
            obj = None  # `[DONE]`
        if isinstance(obj, dict):
            data = _relayout_json(layout, obj, rng)
        lines = []
        if layout in ("anthropic_comments", "openai_crlf_comments") and n % 3 == 0:
            lines.append(": keep-alive")
        if event_type is not None and layout not in (
            "anthropic_no_event",
            "anthropic_no_event_spaced",
        ):
            lines.append(f"event: {event_type}")
        if layout == "anthropic_id":
            lines.append(f"id: {n}")
        field = "data:" if layout == "anthropic_data_nospace" else "data: "
        lines.append(field + data)
        parts.append(nl.join(lines) + nl + nl)
    return "".join(parts).encode()


def layout_corpus(layout: Layout, seed: int, target_bytes: int) -> list[Stream]:
    """The corpus of `layout.provider`'s streams, about `target_bytes`, re-serialised."""
    if layout.provider == "openai-responses":
        streams = responses_corpus(seed, target_bytes)
    else:
        streams = build_corpus(seed, target_bytes, (layout.provider,))
    return [
        Stream(
            name=s.name,
            provider=s.provider,
            body=relayout(s, layout.key),
            expected=s.expected,
            model=s.model,
            newline=s.newline,
            features=(*s.features, layout.key),
        )
        for s in streams
    ]


# --- real recorded streams ----------------------------------------------------------------------

# The SSE captures the tuned extractor can read (its `"usage"` line test): Anthropic Messages and
# OpenAI Chat Completions (OpenAI-compatible servers included) and Responses. Gemini's, whose
# usage is `"usageMetadata"`, are a row of their own against the Gemini variant.
CAPTURE_PROVIDERS = ("anthropic", "openai", "openai-responses")
GEMINI_CAPTURES = ("gemini",)


def capture_corpus(
    target_bytes: int, providers: tuple[str, ...] = CAPTURE_PROVIDERS
) -> list[Stream]:
    """The real recorded SSE responses of `tests/captures/` (public cassettes and SDK fixtures,
    bytes as the client received them), repeated in order until about `target_bytes`.

    Not generated here: the layouts are whatever each provider, SDK version and recorder wrote,
    which is the point of the row. `expected` is None: the conformance tests check the figures.
    """
    import sys
    from pathlib import Path

    tests_dir = str(Path(__file__).resolve().parent.parent / "tests")
    if tests_dir not in sys.path:
        sys.path.insert(0, tests_dir)
    from capture_index import load_captures

    caps = [c for c in load_captures() if c.framing == "sse" and c.provider in providers]
    if not caps:
        return []
    out: list[Stream] = []
    total = 0
    while total < target_bytes:
        for c in caps:
            out.append(
                Stream(name=c.name, provider=c.provider, body=c.body, expected=None, model="")
            )
            total += len(c.body)
    return out
