"""Gemini chunks and bodies read from a parsed tree (twin of gemini/tree.rs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import compact, object_, string
from ..error import read_error
from . import close_chunk, looks_like
from .usage import read_usage

if TYPE_CHECKING:
    from ..facts import Facts


def on_event(ex: Facts, counts: dict[str, int], value: Any) -> None:
    if not isinstance(value, dict):
        return
    if object_(value, "error") is not None:
        read_error(ex, value)
    else:
        _read_chunk(ex, counts, value)


def on_body(ex: Facts, counts: dict[str, int], value: Any) -> bool:
    """One response, or the JSON array a non-SSE streamGenerateContent returns."""
    if isinstance(value, list):
        known = False
        for item in value:
            if looks_like(item) or (isinstance(item, dict) and "error" in item):
                on_event(ex, counts, item)
                known = True
        return known
    if isinstance(value, dict) and object_(value, "error") is not None:
        read_error(ex, value)
        return True
    if looks_like(value):
        _read_chunk(ex, counts, value)
        return True
    return False


def _read_chunk(ex: Facts, counts: dict[str, int], obj: dict[str, Any]) -> None:
    response_id = string(obj, "responseId")
    if response_id is not None:
        ex.message_id = response_id
    model = string(obj, "modelVersion")
    if model is not None:
        ex.model = model
    candidates = obj.get("candidates")
    if isinstance(candidates, list):
        for candidate in candidates:
            if not isinstance(candidate, dict):
                continue
            content = object_(candidate, "content")
            parts = content.get("parts") if content is not None else None
            if isinstance(parts, list):
                for part in parts:
                    if isinstance(part, dict):
                        _count_part(ex, part)
            reason = string(candidate, "finishReason")
            if reason is not None:
                ex.stop_reason = reason
    usage = object_(obj, "usageMetadata")
    if usage is not None:
        read_usage(ex, counts, usage)
    feedback = object_(obj, "promptFeedback")
    blocked = feedback is not None and string(feedback, "blockReason") is not None
    close_chunk(ex, blocked)


def _count_part(ex: Facts, part: dict[str, Any]) -> None:
    text = part.get("text")
    if isinstance(text, str):
        if part.get("thought") is True:
            ex.saw_thinking = True
        ex.output_text.add(text)
    call = object_(part, "functionCall")
    if call is not None:
        ex.saw_tool_use = True
        name = call.get("name")
        if isinstance(name, str):
            ex.output_text.add(name)
        if "args" in call:
            ex.output_text.add(compact(call["args"]))
    # The thoughts' encrypted context (with function calls and thought summaries): its length
    # follows the thoughts billed, which are never streamed whole.
    signature = part.get("thoughtSignature")
    if isinstance(signature, str) and signature:
        ex.encrypted_reasoning[0] += len(signature)
        ex.encrypted_reasoning[1] += 1
