"""Responses events and bodies read from a parsed tree (twin of openai_responses/tree.rs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import object_, string
from . import looks_like
from .usage import read_usage

if TYPE_CHECKING:
    from ..facts import Facts

_TEXT = ("response.output_text.delta", "response.refusal.delta")


_THINKING = ("response.reasoning_summary_text.delta", "response.reasoning_text.delta")


_TOOLS = ("response.function_call_arguments.delta", "response.custom_tool_call_input.delta")


def on_event(ex: Facts, value: Any) -> None:
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
        if kind == "response.output_item.done":
            item = object_(value, "item")
            if item is not None and item.get("type") == "reasoning":
                _read_encrypted(ex, item)


def on_body(ex: Facts, value: Any) -> bool:
    """A whole response body; False if it is not one."""
    if isinstance(value, dict) and looks_like(value):
        _read_response(ex, value, "response.body")
        _read_output(ex, value)
        return True
    return False


def _read_output(ex: Facts, response: dict[str, Any]) -> None:
    """The text of a whole body's `output` items, as a stream's deltas would give it: message
    text and refusals, reasoning summaries and text (thinking), function call arguments and
    custom tool input (tool calls). A stream's final `response` repeats what its deltas gave,
    so only a body is read this way."""
    output = response.get("output")
    if not isinstance(output, list):
        return
    for item in output:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            for part in _list(item.get("content")):
                text = string(part, "text") if part.get("type") == "output_text" else None
                if part.get("type") == "refusal":
                    text = string(part, "refusal")
                if text:
                    ex.output_text.add(text)
        elif kind == "reasoning":
            _read_encrypted(ex, item)
            for key in ("summary", "content"):
                for part in _list(item.get(key)):
                    text = string(part, "text")
                    if text:
                        ex.saw_thinking = True
                        ex.output_text.add(text)
        elif kind in ("function_call", "custom_tool_call"):
            ex.saw_tool_use = True
            text = string(item, "arguments" if kind == "function_call" else "input")
            if text:
                ex.output_text.add(text)


def _read_encrypted(ex: Facts, item: dict[str, Any]) -> None:
    # A reasoning item's `encrypted_content` (asked for with `include`): its length follows
    # the hidden reasoning tokens, which the estimate reads from it.
    sealed = string(item, "encrypted_content")
    if sealed:
        ex.encrypted_reasoning[0] += len(sealed)
        ex.encrypted_reasoning[1] += 1


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _read_response(ex: Facts, response: dict[str, Any], kind: str) -> None:
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
        read_usage(ex, usage)
