"""OpenAI Responses (twin of openai_responses.rs): response.created ... output_text.delta ... a
terminal response.completed / response.incomplete / response.failed (usage on the response),
error events, and whole response bodies."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .jsonread import count, object_, string

if TYPE_CHECKING:
    from .usage import Extract

_TEXT = ("response.output_text.delta", "response.refusal.delta")
_THINKING = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")
_TOOLS = ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta")


def looks_like(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    kind = value.get("type")
    return (
        (isinstance(kind, str) and kind.startswith("response."))
        or value.get("object") == "response"
        # A Responses error event: code and message at the top, no error object.
        or (kind == "error" and "error" not in value and "code" in value)
    )


def on_event(ex: Extract, value: Any) -> None:
    if not isinstance(value, dict):
        return
    kind = value.get("type")
    kind = kind if isinstance(kind, str) else ""
    delta = value.get("delta")
    delta = delta if isinstance(delta, str) else None
    if kind in _TEXT:
        if delta is not None:
            ex.output_text.add(delta)
    elif kind in _THINKING:
        ex.saw_thinking = True
        if delta is not None:
            ex.output_text.add(delta)
    elif kind in _TOOLS:
        ex.saw_tool_use = True
        if delta is not None:
            ex.output_text.add(delta)
    elif kind == "error":
        code = string(value, "code")
        if code is None:
            code = string(value, "type")
        message = string(value, "message")
        ex.set_error(code or "error", message or "the stream reported an error")
    else:
        response = object_(value, "response")
        if response is not None:
            _read_response(ex, response, kind)


def on_body(ex: Extract, value: Any) -> bool:
    """A whole response body; False if it is not one."""
    if isinstance(value, dict) and looks_like(value):
        _read_response(ex, value, "response.body")
        return True
    return False


def _read_response(ex: Extract, response: dict[str, Any], kind: str) -> None:
    for attr, key in (("message_id", "id"), ("model", "model"), ("service_tier", "service_tier")):
        value = string(response, key)
        if value is not None:
            setattr(ex, attr, value)
    details = object_(response, "incomplete_details")
    reason = string(details, "reason") if details is not None else None
    if reason is None:
        status = string(response, "status")
        # in_progress / queued on response.created are not a stop.
        reason = None if status in ("in_progress", "queued") else status
    if reason is not None:
        ex.stop_reason = reason
    error = object_(response, "error")
    if kind == "response.failed" or error is not None:
        code = string(error, "code") if error is not None else None
        message = string(error, "message") if error is not None else None
        ex.set_error(code or "response_failed", message or "the response failed")
    usage = object_(response, "usage")
    if usage is not None:
        _read_usage(ex, usage)


def _read_usage(ex: Extract, usage: dict[str, Any]) -> None:
    """input_tokens includes input_tokens_details.cached_tokens: split them."""
    notes, tokens = ex.notes, ex.tokens
    total_input = count(usage, "input_tokens", notes)
    details = object_(usage, "input_tokens_details")
    cached = count(details, "cached_tokens", notes) if details is not None else None
    if total_input is not None:
        tokens["input_tokens"] = max(0, total_input - (cached or 0))
        tokens["cache_read_input_tokens"] = min(cached or 0, total_input)
    output = count(usage, "output_tokens", notes)
    if output is not None:
        tokens["output_tokens"] = output
        ex.output_final = True
    out_details = object_(usage, "output_tokens_details")
    reasoning = count(out_details, "reasoning_tokens", notes) if out_details is not None else None
    if reasoning is not None:
        tokens["reasoning_tokens"] = reasoning
    ex.final_usage = True
    ex.last_usage = usage
