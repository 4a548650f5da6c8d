"""The Cohere usage object (twin of cohere/usage.rs): `billed_units` are what is billed
(`tokens` only when those are missing: the model's own counts, preamble included)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import count, object_

if TYPE_CHECKING:
    from ..facts import Facts


def read_usage(ex: Facts, usage: dict[str, Any]) -> None:
    counts = object_(usage, "billed_units")
    if counts is None:
        counts = object_(usage, "tokens")
    if counts is not None:
        input_tokens = count(counts, "input_tokens", ex.notes)
        output = count(counts, "output_tokens", ex.notes)
        if input_tokens is not None:
            ex.tokens["input_tokens"] = input_tokens
        if output is not None:
            ex.tokens["output_tokens"] = output
            ex.output_final = True
    ex.final_usage = True
    ex.last_usage = usage
