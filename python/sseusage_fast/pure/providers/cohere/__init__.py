"""Cohere v2 chat (twin of providers/cohere/): a stream of typed events (`message-start`,
`content-delta`, ..., `message-end` with the usage) and whole chat bodies. `usage.billed_units`
holds the billed figures; `usage.tokens` what the model processed, not billed."""

from __future__ import annotations

from typing import Any

EVENT_TYPES = frozenset(
    (
        "message-start",
        "content-start",
        "content-delta",
        "content-end",
        "tool-plan-delta",
        "tool-call-start",
        "tool-call-delta",
        "tool-call-end",
        "citation-start",
        "citation-end",
        "message-end",
    )
)


def looks_like(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    event = value.get("type")
    if isinstance(event, str) and event in EVENT_TYPES:
        return True
    usage = value.get("usage")
    return isinstance(usage, dict) and "billed_units" in usage and "message" in value
