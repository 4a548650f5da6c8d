"""Cohere v2 chat events and bodies read from a parsed tree (twin of cohere/tree.rs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import object_, string
from .usage import read_usage

if TYPE_CHECKING:
    from ..facts import Facts


def _texts(ex: Facts, obj: dict[str, Any] | None, keys: tuple[str, ...]) -> None:
    if obj is None:
        return
    for key in keys:
        text = obj.get(key)
        if isinstance(text, str):
            ex.saw_thinking = ex.saw_thinking or key == "thinking"
            ex.output_text.add(text)


def on_event(ex: Facts, value: Any) -> None:
    if not isinstance(value, dict):
        return
    delta = object_(value, "delta")
    message = object_(delta, "message") if delta is not None else None
    kind = value.get("type")
    if kind == "message-start":
        message_id = string(value, "id")
        if message_id:
            ex.message_id = message_id
    elif kind == "content-delta":
        _texts(
            ex, object_(message, "content") if message is not None else None, ("text", "thinking")
        )
    elif kind == "tool-plan-delta":
        _texts(ex, message, ("tool_plan",))
    elif kind in ("tool-call-start", "tool-call-delta"):
        ex.saw_tool_use = True
        call = object_(message, "tool_calls") if message is not None else None
        _texts(ex, object_(call, "function") if call is not None else None, ("name", "arguments"))
    elif kind == "message-end" and delta is not None:
        reason = string(delta, "finish_reason")
        if reason is not None:
            ex.stop_reason = reason
        usage = object_(delta, "usage")
        if usage is not None:
            read_usage(ex, usage)


def on_body(ex: Facts, value: Any) -> bool:
    """A whole v2 chat body; False if it is not one."""
    if not isinstance(value, dict):
        return False
    message = object_(value, "message")
    if message is None:
        return False
    message_id = string(value, "id")
    if message_id:
        ex.message_id = message_id
    parts = message.get("content")
    if isinstance(parts, list):
        for part in parts:
            if isinstance(part, dict):
                _texts(ex, part, ("text", "thinking"))
    _texts(ex, message, ("tool_plan",))
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        for call in calls:
            if isinstance(call, dict):
                ex.saw_tool_use = True
                _texts(ex, object_(call, "function"), ("name", "arguments"))
    reason = string(value, "finish_reason")
    if reason is not None:
        ex.stop_reason = reason
    usage = object_(value, "usage")
    if usage is not None:
        read_usage(ex, usage)
    return True
