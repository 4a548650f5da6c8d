"""Anthropic events and bodies read from a parsed tree (twin of anthropic/tree.rs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import compact, object_, string
from ..error import read_error
from .usage import read_bedrock_metrics, read_usage

if TYPE_CHECKING:
    from ..facts import Facts


def _str(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) else None


def _count_delta(ex: Facts, text: str | None, thinking: str | None, partial: str | None) -> None:
    if text is not None:
        ex.output_text.add(text)
    if thinking is not None:
        ex.saw_thinking = True
        ex.output_text.add(thinking)
    if partial is not None:
        ex.saw_tool_use = True
        ex.output_text.add(partial)


def on_event(ex: Facts, event_type: bytes, value: Any) -> None:
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
            # A compaction pass's summary (`compaction_delta`), billed as output.
            summary = _str(delta, "content")
            if summary is not None:
                ex.output_text.add(summary)
    elif kind == "message_delta":
        delta = object_(value, "delta")
        reason = string(delta, "stop_reason") if delta is not None else None
        if reason is not None:
            ex.stop_reason = reason
        usage = object_(value, "usage")
        if usage is not None:
            read_usage(ex, usage, is_final=True)
    elif kind == "message_stop":
        metrics = object_(value, "amazon-bedrock-invocationMetrics")
        if metrics is not None:
            read_bedrock_metrics(ex, metrics)
    elif kind == "error":
        read_error(ex, value)


def on_body(ex: Facts, value: Any) -> bool:
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
                    # A compaction pass's summary, billed as output.
                    summary = block.get("content")
                    if block.get("type") == "compaction" and isinstance(summary, str):
                        ex.output_text.add(summary)
        return True
    if kind == "error":
        read_error(ex, value)
        return True
    return False


def _read_message(ex: Facts, message: dict[str, Any], *, is_final: bool) -> None:
    ex.message_id = _or(string(message, "id"), ex.message_id)
    ex.model = _or(string(message, "model"), ex.model)
    reason = string(message, "stop_reason")
    if reason is not None:
        ex.stop_reason = reason
    usage = object_(message, "usage")
    if usage is not None:
        read_usage(ex, usage, is_final=is_final)


def _or(value: str | None, previous: str | None) -> str | None:
    return previous if value is None else value


def _count_block(ex: Facts, block: dict[str, Any]) -> None:
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
