"""The Converse usage object (twin of bedrock/usage.rs): `inputTokens` without the cache reads
and writes, which are their own counts (`totalTokens` = input + output + cache reads + cache
writes); when the total says the cache counts are inside `inputTokens`, they are taken out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import count, sum_counts

if TYPE_CHECKING:
    from ..facts import Facts


def read_usage(ex: Facts, usage: dict[str, Any]) -> None:
    notes = ex.notes
    input_tokens = count(usage, "inputTokens", notes)
    output = count(usage, "outputTokens", notes)
    total = count(usage, "totalTokens", notes)

    def cache(first: str, second: str) -> int | None:
        value = count(usage, first, notes)
        return value if value is not None else count(usage, second, notes)

    read = cache("cacheReadInputTokens", "cacheReadInputTokenCount")
    write = cache("cacheWriteInputTokens", "cacheWriteInputTokenCount")
    tokens = ex.tokens
    if input_tokens is not None:
        cached = (read or 0) + (write or 0)
        inside = cached > 0 and total is not None and total == sum_counts(input_tokens, output or 0)
        tokens["input_tokens"] = max(0, input_tokens - cached) if inside else input_tokens
    if read is not None:
        tokens["cache_read_input_tokens"] = read
    if write is not None:
        tokens["cache_creation_input_tokens"] = write
    if output is not None:
        tokens["output_tokens"] = output
        ex.output_final = True
    ex.final_usage = True
    ex.last_usage = usage
