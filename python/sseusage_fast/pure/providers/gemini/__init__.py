"""Gemini streamGenerateContent?alt=sse and generateContent (twin of providers/gemini/): usageMetadata
is a cumulative snapshot on each chunk (the last value of each field wins, never a sum);
promptTokenCount includes cachedContentTokenCount; thoughts are billed output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..facts import Facts


def looks_like(value: Any) -> bool:
    return isinstance(value, dict) and ("candidates" in value or "usageMetadata" in value)


def close_chunk(ex: Facts, blocked: bool) -> None:
    """What a chunk's reading decides last, from what it and the chunks before said: a blocked
    prompt (`promptFeedback.blockReason`) ends the response with nothing generated (Google omits
    zero counts); the figures are final once a candidate has finished and usage was reported."""
    if blocked and ex.last_usage is not None:
        if ex.tokens["output_tokens"] is None:
            ex.tokens["output_tokens"] = 0
        ex.final_usage = True
        ex.output_final = True
    if ex.stop_reason is not None and ex.last_usage is not None:
        ex.final_usage = True
        ex.output_final = ex.tokens["output_tokens"] is not None
