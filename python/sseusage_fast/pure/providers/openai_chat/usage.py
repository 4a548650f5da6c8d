"""The OpenAI usage object (twin of openai_chat/usage.rs): Chat names; Responses passes its own."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import count, note, object_

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
    """The input count includes cached_tokens: split into uncached input and cache read."""
    input_key, input_details_key, output_key, output_details_key = keys
    notes, tokens = ex.notes, ex.tokens
    total_input = count(usage, input_key, notes)
    details = object_(usage, input_details_key)
    cached = count(details, "cached_tokens", notes) if details is not None else None
    if total_input is not None:
        tokens["input_tokens"] = max(0, total_input - (cached or 0))
        tokens["cache_read_input_tokens"] = min(cached or 0, total_input)
        if (cached or 0) > total_input:
            # Inconsistent figures: the input count includes the cached ones.
            note(notes, f"cached_tokens above {input_key}: cache reads capped at {input_key}")
    output = count(usage, output_key, notes)
    if output is not None:
        tokens["output_tokens"] = output
        ex.output_final = True
    out_details = object_(usage, output_details_key)
    reasoning = count(out_details, "reasoning_tokens", notes) if out_details is not None else None
    if reasoning is not None:
        tokens["reasoning_tokens"] = reasoning
    ex.final_usage = True
    ex.last_usage = usage
