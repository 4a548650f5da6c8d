"""Ollama chunks read from a parsed tree (twin of ollama/tree.rs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import count, object_, string
from ..error import read_error
from . import looks_like

if TYPE_CHECKING:
    from ..facts import Facts

# The counts and timings of a final chunk, kept as its raw usage.
USAGE_KEYS = (
    "prompt_eval_count",
    "eval_count",
    "total_duration",
    "load_duration",
    "prompt_eval_duration",
    "eval_duration",
)


def on_event(ex: Facts, value: Any) -> None:
    if not isinstance(value, dict):
        return
    error = value.get("error")
    if isinstance(error, str):
        ex.set_error("error", error)
        return
    if isinstance(error, dict):
        read_error(ex, value)
        return
    model = string(value, "model")
    if model:
        ex.model = model
    _count_text(ex, value)
    message = object_(value, "message")
    if message is not None:
        _count_text(ex, message)
        calls = message.get("tool_calls")
        if isinstance(calls, list):
            ex.saw_tool_use = ex.saw_tool_use or bool(calls)
            for call in calls:
                if not isinstance(call, dict):
                    continue
                function = object_(call, "function")
                name = function.get("name") if function is not None else None
                if isinstance(name, str):
                    ex.output_text.add(name)
    if value.get("done") is True:
        _read_done(ex, value)


def on_body(ex: Facts, value: Any) -> bool:
    """A whole body: one final chunk."""
    if not looks_like(value) and not (isinstance(value, dict) and "error" in value):
        return False
    on_event(ex, value)
    return True


def _count_text(ex: Facts, obj: dict[str, Any]) -> None:
    """Chat message.content / message.thinking, generate response / thinking."""
    for key in ("content", "response", "thinking"):
        text = obj.get(key)
        if isinstance(text, str):
            ex.saw_thinking = ex.saw_thinking or (key == "thinking" and text != "")
            ex.output_text.add(text)


def _read_done(ex: Facts, obj: dict[str, Any]) -> None:
    reason = string(obj, "done_reason")
    if reason is not None:
        ex.stop_reason = reason
    input_tokens = count(obj, "prompt_eval_count", ex.notes)
    output = count(obj, "eval_count", ex.notes)
    if input_tokens is not None:
        ex.tokens["input_tokens"] = input_tokens
    if output is not None:
        ex.tokens["output_tokens"] = output
        ex.output_final = True
    ex.final_usage = True
    ex.last_usage = {key: obj[key] for key in USAGE_KEYS if key in obj}
