"""The Anthropic usage object (twin of anthropic/usage.rs): its fields applied to the facts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import count, object_, string

if TYPE_CHECKING:
    from ..facts import Facts


def read_usage(ex: Facts, usage: dict[str, Any], *, is_final: bool) -> None:
    notes, tokens = ex.notes, ex.tokens

    def put(slot: str, obj: dict[str, Any], key: str) -> bool:
        value = count(obj, key, notes)
        if value is not None:
            tokens[slot] = value
        return value is not None

    put("input_tokens", usage, "input_tokens")
    put("cache_creation_input_tokens", usage, "cache_creation_input_tokens")
    put("cache_read_input_tokens", usage, "cache_read_input_tokens")
    got_output = put("output_tokens", usage, "output_tokens")
    split = object_(usage, "cache_creation")
    if split is not None:
        put("cache_creation_5m_input_tokens", split, "ephemeral_5m_input_tokens")
        put("cache_creation_1h_input_tokens", split, "ephemeral_1h_input_tokens")
    tools = object_(usage, "server_tool_use")
    if tools is not None:
        put("web_search_requests", tools, "web_search_requests")
        put("web_fetch_requests", tools, "web_fetch_requests")
    details = object_(usage, "output_tokens_details")
    if details is not None:
        put("reasoning_tokens", details, "thinking_tokens")
    tier = string(usage, "service_tier")
    if tier is not None:
        ex.service_tier = tier
    speed = string(usage, "speed")
    if speed is not None:
        ex.speed = speed
    if is_final:
        ex.final_usage = True
        ex.output_final = ex.output_final or got_output
    ex.last_usage = usage


def read_bedrock_metrics(ex: Facts, metrics: dict[str, Any]) -> None:
    """Bedrock's own counts on message_stop, used where the Anthropic fields are missing."""
    tokens = ex.tokens
    for slot, key in (
        ("input_tokens", "inputTokenCount"),
        ("cache_read_input_tokens", "cacheReadInputTokenCount"),
        ("cache_creation_input_tokens", "cacheWriteInputTokenCount"),
    ):
        if tokens[slot] is None:
            tokens[slot] = count(metrics, key, ex.notes)
    if not ex.output_final:
        output = count(metrics, "outputTokenCount", ex.notes)
        if output is not None:
            tokens["output_tokens"] = output
            ex.output_final = True
    ex.final_usage = ex.final_usage or ex.output_final
