"""The OpenAI usage object (twin of openai_chat/usage.rs): Chat names; Responses passes its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import count, note, object_, sum_counts
from .billing import read_extras

if TYPE_CHECKING:
    from ..facts import Facts

# Where an OpenAI usage object keeps its counts (Chat and Responses name them apart):
# input, input details, output, output details.
CHAT_KEYS = (
    "prompt_tokens",
    "prompt_tokens_details",
    "completion_tokens",
    "completion_tokens_details",
)


def read_usage(ex: Facts, usage: dict[str, Any]) -> None:
    read_usage_with(ex, usage, CHAT_KEYS)


def read_usage_with(ex: Facts, usage: dict[str, Any], keys: tuple[str, str, str, str]) -> None:
    """The counts of a usage object, with a note for each value that is not a count, and what a
    provider bills beyond them."""
    input_key, input_details_key, output_key, output_details_key = keys
    notes = ex.notes
    details = object_(usage, input_details_key)
    out_details = object_(usage, output_details_key)

    def detail(obj: dict[str, Any] | None, key: str) -> int | None:
        return count(obj, key, notes) if obj is not None else None

    cached = detail(details, "cached_tokens")
    cache_write = detail(details, "cache_write_tokens")
    audio_input = detail(details, "audio_tokens")
    reasoning = detail(out_details, "reasoning_tokens")
    audio_output = detail(out_details, "audio_tokens")
    total_input = count(usage, input_key, notes)
    output = count(usage, output_key, notes)
    total = count(usage, "total_tokens", notes)
    # DeepSeek: prompt_tokens = prompt_cache_hit_tokens + prompt_cache_miss_tokens; Kimi: a
    # top-level cached_tokens. Both inside the prompt count, as OpenAI's.
    for key in ("prompt_cache_hit_tokens", "cached_tokens"):
        if cached is None:
            cached = count(usage, key, notes)
    # Gateways in OpenRouter's shape (Vercel AI Gateway): cache writes at the top level.
    if cache_write is None:
        cache_write = count(usage, "cache_creation_input_tokens", notes)
    reasoning_outside, cached_outside = _outside(total, total_input, output, reasoning, cached)
    _set_input(ex, total_input, cached, cache_write, cached_outside, input_key)
    tokens = ex.tokens
    if output is not None:
        extra = (reasoning or 0) if reasoning_outside else 0
        summed = sum_counts(output, extra)
        tokens["output_tokens"] = output if summed is None else summed
        ex.output_final = True
    if reasoning is not None:
        tokens["reasoning_tokens"] = reasoning
    if audio_input is not None:
        ex.audio_input = audio_input
    if audio_output is not None:
        ex.audio_output = audio_output
    ex.final_usage = True
    read_extras(ex, usage)
    ex.last_usage = usage


def _outside(
    total: int | None,
    prompt: int | None,
    output: int | None,
    reasoning: int | None,
    cached: int | None,
) -> tuple[bool, bool]:
    """Whether reasoning lies outside the output count, and cache reads outside the input count,
    decided from the reported total (OpenAI's documented rule, both inside, when the total says
    nothing else): xAI reports total = prompt + completion + reasoning."""
    if total is None or prompt is None or output is None:
        return False, False
    r, k = reasoning or 0, cached or 0
    for r_out, k_out in ((False, False), (True, False), (False, True), (True, True)):
        if prompt + output + r_out * r + k_out * k == total:
            return r_out, k_out
    return False, False


def _set_input(
    ex: Facts,
    prompt: int | None,
    cached: int | None,
    cache_write: int | None,
    cached_outside: bool,
    input_key: str,
) -> None:
    """The input count includes cached_tokens and cache writes (unless the total says the cache
    reads are outside it): split into uncached input, cache reads and cache writes."""
    if prompt is None:
        return
    tokens = ex.tokens
    if cache_write is not None:
        tokens["cache_creation_input_tokens"] = cache_write
    if cached_outside:
        tokens["input_tokens"] = max(0, prompt - (cache_write or 0))
        tokens["cache_read_input_tokens"] = cached or 0
        return
    inside = (cached or 0) + (cache_write or 0)
    tokens["input_tokens"] = max(0, prompt - inside)
    tokens["cache_read_input_tokens"] = min(cached or 0, prompt)
    if inside > prompt:
        # Inconsistent figures: the input count includes the cached ones.
        note(ex.notes, f"cached_tokens above {input_key}: cache reads capped at {input_key}")


def read_audio_usage(ex: Facts, usage: dict[str, Any], *, speech: bool) -> None:
    """The usage of a speech or transcription stream (`input_tokens`, `output_tokens`, and for
    transcription `input_token_details.audio_tokens`): a speech's output is audio."""
    notes = ex.notes
    input_tokens = count(usage, "input_tokens", notes)
    details = object_(usage, "input_token_details")
    audio_in = count(details, "audio_tokens", notes) if details is not None else None
    output = count(usage, "output_tokens", notes)
    if input_tokens is not None:
        ex.tokens["input_tokens"] = input_tokens
    if output is not None:
        ex.tokens["output_tokens"] = output
        ex.output_final = True
        if speech:
            ex.audio_output = output
    if audio_in is not None:
        ex.audio_input = audio_in
    ex.final_usage = True
    ex.last_usage = usage
