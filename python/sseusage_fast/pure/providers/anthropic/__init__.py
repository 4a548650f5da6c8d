"""Anthropic Messages (twin of providers/anthropic/): streams (message_start ... message_delta ...
message_stop) and whole response bodies. Usage counts are cumulative: the last value wins."""

from __future__ import annotations

from typing import Any

EVENT_TYPES = frozenset(
    (
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "ping",
        "error",
        "message",
    )
)


def looks_like(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    kind = value.get("type")
    if not isinstance(kind, str) or kind not in EVENT_TYPES:
        return False
    # An error object alone is not enough: other providers use {"error": ...} too.
    if kind == "error":
        return isinstance(value.get("error"), dict)
    if kind == "message":
        return "role" in value
    return True
