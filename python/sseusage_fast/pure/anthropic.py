"""Anthropic Messages (twin of anthropic.rs): streams (message_start ... message_delta ...
message_stop) and whole response bodies. Usage counts are cumulative: the last value wins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .jsonread import compact, count, object_, string

if TYPE_CHECKING:
    from .usage import Extract

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


def fast_path(ex: Extract, data: bytes) -> bool:
    """Pings are skipped unread; everything else goes to on_event. (The native twin also reads
    canonical text deltas and stop events without a tree, with the same result.)"""
    return data.startswith((b'{"type":"ping"}', b'{"type": "ping"}'))


def _str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _count_delta(ex: Extract, text: str | None, thinking: str | None, partial: str | None) -> None:
    if text is not None:
        ex.output_text.add(text)
    if thinking is not None:
        ex.saw_thinking = True
        ex.output_text.add(thinking)
    if partial is not None:
        ex.saw_tool_use = True
        ex.output_text.add(partial)


def on_event(ex: Extract, event_type: bytes, value: Any) -> None:
    if not isinstance(value, dict):
        return
    kind_value = value.get("type")
    kind = kind_value if isinstance(kind_value, str) else event_type.decode("utf-8", "replace")
    if kind == "message_start":
        message = object_(value, "message")
        if message is not None:
            _read_message(ex, message, is_final=False)
    elif kind == "content_block_start":
        block = object_(value, "content_block")
        if block is not None:
            _count_block(ex, block)
    elif kind == "content_block_delta":
        delta = object_(value, "delta")
        if delta is not None:
            _count_delta(
                ex, _str(delta, "text"), _str(delta, "thinking"), _str(delta, "partial_json")
            )
    elif kind == "message_delta":
        delta = object_(value, "delta")
        reason = string(delta, "stop_reason") if delta is not None else None
        if reason is not None:
            ex.stop_reason = reason
        usage = object_(value, "usage")
        if usage is not None:
            _read_usage(ex, usage, is_final=True)
    elif kind == "message_stop":
        metrics = object_(value, "amazon-bedrock-invocationMetrics")
        if metrics is not None:
            _read_bedrock_metrics(ex, metrics)
    elif kind == "error":
        ex.read_error(value)


def on_body(ex: Extract, value: Any) -> bool:
    """A whole (non-streaming) response body; False if it is not an Anthropic body."""
    if not isinstance(value, dict):
        return False
    kind = value.get("type")
    if kind == "message":
        _read_message(ex, value, is_final=True)
        blocks = value.get("content")
        if isinstance(blocks, list):
            for block in blocks:
                if isinstance(block, dict):
                    _count_block(ex, block)
        return True
    if kind == "error":
        ex.read_error(value)
        return True
    return False


def _read_message(ex: Extract, message: dict[str, Any], *, is_final: bool) -> None:
    ex.message_id = _or(string(message, "id"), ex.message_id)
    ex.model = _or(string(message, "model"), ex.model)
    reason = string(message, "stop_reason")
    if reason is not None:
        ex.stop_reason = reason
    usage = object_(message, "usage")
    if usage is not None:
        _read_usage(ex, usage, is_final=is_final)


def _or(value: str | None, previous: str | None) -> str | None:
    return previous if value is None else value


def _count_block(ex: Extract, block: dict[str, Any]) -> None:
    kind = block.get("type")
    if kind in ("tool_use", "server_tool_use"):
        ex.saw_tool_use = True
        name = _str(block, "name")
        if name is not None:
            ex.output_text.add(name)
        # A streamed block starts with an empty input; a body's block holds it whole.
        tool_input = block.get("input")
        if isinstance(tool_input, dict) and tool_input:
            ex.output_text.add(compact(tool_input))
    elif kind == "thinking":
        _count_delta(ex, None, _str(block, "thinking"), None)
    elif kind == "redacted_thinking":
        ex.saw_thinking = True
    else:
        _count_delta(ex, _str(block, "text"), None, None)


def _read_usage(ex: Extract, usage: dict[str, Any], *, is_final: bool) -> None:
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


def _read_bedrock_metrics(ex: Extract, metrics: dict[str, Any]) -> None:
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
