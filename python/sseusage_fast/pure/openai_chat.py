"""OpenAI Chat Completions (twin of openai_chat.rs): chat.completion.chunk streams (usage in a
final chunk with empty choices when stream_options.include_usage is set) and chat.completion
bodies. Endpoints that repeat usage on every chunk are read the same way: the last value wins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .jsonread import count, note, object_, string

if TYPE_CHECKING:
    from .usage import Extract


def looks_like(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    return value.get("object") in ("chat.completion.chunk", "chat.completion") or isinstance(
        value.get("choices"), list
    )


def on_event(ex: Extract, value: Any) -> None:
    if not isinstance(value, dict):
        return
    if object_(value, "error") is not None:
        ex.read_error(value)
        return
    _read_identity(ex, value)
    _read_choices(ex, value, "delta")
    usage = object_(value, "usage")
    if usage is not None:
        _read_usage(ex, usage)


def on_body(ex: Extract, value: Any) -> bool:
    """A whole chat.completion body; False if it is not one."""
    if not isinstance(value, dict):
        return False
    if object_(value, "error") is not None:
        ex.read_error(value)
        return True
    if not looks_like(value):
        return False
    _read_identity(ex, value)
    _read_choices(ex, value, "message")
    usage = object_(value, "usage")
    if usage is not None:
        _read_usage(ex, usage)
    return True


def _read_identity(ex: Extract, obj: dict[str, Any]) -> None:
    for attr, key in (("message_id", "id"), ("model", "model"), ("service_tier", "service_tier")):
        value = string(obj, key)
        if value is not None:
            setattr(ex, attr, value)


def _read_choices(ex: Extract, obj: dict[str, Any], key: str) -> None:
    choices = obj.get("choices")
    if not isinstance(choices, list):
        return
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        message = object_(choice, key)
        if message is not None:
            _count_message(ex, message)
        reason = string(choice, "finish_reason")
        if reason is not None:
            ex.stop_reason = reason


def _count_message(ex: Extract, message: dict[str, Any]) -> None:
    """A streamed delta or a body's message: content, reasoning text, tool-call arguments."""
    content = message.get("content")
    if isinstance(content, str):
        ex.output_text.add(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                ex.output_text.add(part["text"])
    for key in ("reasoning_content", "reasoning"):
        text = message.get(key)
        if isinstance(text, str):
            ex.saw_thinking = True
            ex.output_text.add(text)
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            if not isinstance(call, dict):
                continue
            ex.saw_tool_use = True
            function = object_(call, "function")
            if function is not None:
                for key in ("name", "arguments"):
                    text = function.get(key)
                    if isinstance(text, str):
                        ex.output_text.add(text)


# Where an OpenAI usage object keeps its counts (Chat and Responses name them apart):
# input, input details, output, output details.
CHAT_KEYS = (
    "prompt_tokens",
    "prompt_tokens_details",
    "completion_tokens",
    "completion_tokens_details",
)


def _read_usage(ex: Extract, usage: dict[str, Any]) -> None:
    read_usage_with(ex, usage, CHAT_KEYS)


def read_usage_with(ex: Extract, usage: dict[str, Any], keys: tuple[str, str, str, str]) -> None:
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
