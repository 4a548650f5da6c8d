"""Bedrock event-stream messages and Converse bodies read from a parsed tree (twin of
bedrock/tree.rs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...framing.aws_eventstream import Message
from ...scan.tree import object_, parse, string
from .. import anthropic
from ..anthropic import tree as anthropic_tree
from ..anthropic.usage import read_bedrock_metrics
from . import base64_decode, looks_like
from .usage import read_usage

if TYPE_CHECKING:
    from ..facts import Facts


def on_message(ex: Facts, msg: Message) -> None:
    """One message of the event stream."""
    ex.events += 1
    kind = msg.message_type or "event"
    if kind == "exception":
        payload = parse(msg.payload)
        message = payload.get("message") if isinstance(payload, dict) else None
        if not isinstance(message, str):
            message = "the provider reported an exception"
        ex.set_error(msg.exception_type or "exception", message)
    elif kind == "error":
        ex.set_error(
            msg.error_code or "error", msg.error_message or "the provider reported an error"
        )
    else:
        value = parse(msg.payload)
        if value is None:
            ex.invalid_events += 1
            return
        _on_event(ex, msg.event_type or "", value)


# The ConverseStream events a model's own invoke chunk can carry as its single key.
CONVERSE_EVENTS = ("contentBlockStart", "contentBlockDelta", "messageStop", "metadata")


def _on_event(ex: Facts, event_type: str, obj: Any) -> None:
    if not isinstance(obj, dict):
        return
    if event_type == "chunk":
        # InvokeModelWithResponseStream: the model's own event, base64 in `bytes`.
        encoded = obj.get("bytes")
        raw = base64_decode(encoded.encode()) if isinstance(encoded, str) else None
        inner = parse(raw) if raw is not None else None
        if inner is None:
            ex.invalid_events += 1
        elif anthropic.looks_like(inner):
            anthropic_tree.on_event(ex, b"", inner)
        elif isinstance(inner, dict):
            _on_model_chunk(ex, inner)
    elif event_type == "contentBlockStart":
        start = object_(obj, "start")
        tool = object_(start, "toolUse") if start is not None else None
        if tool is not None:
            ex.saw_tool_use = True
            name = tool.get("name")
            if isinstance(name, str):
                ex.output_text.add(name)
    elif event_type == "contentBlockDelta":
        delta = object_(obj, "delta")
        if delta is not None:
            _count_delta(ex, delta)
    elif event_type == "messageStop":
        reason = string(obj, "stopReason")
        if reason is not None:
            ex.stop_reason = reason
    elif event_type == "metadata":
        usage = object_(obj, "usage")
        if usage is not None:
            read_usage(ex, usage)


def _on_model_chunk(ex: Facts, inner: dict[str, Any]) -> None:
    """A chunk of a model other than Claude: its own event, read as far as its shape is known."""
    # Other models (Amazon Nova) wrap one Converse-shaped event per chunk.
    for name in CONVERSE_EVENTS:
        if name in inner:
            _on_event(ex, name, inner[name])
    # Amazon Titan Text streams `outputText`, and names its stop `completionReason`
    # (null until the end).
    text = inner.get("outputText")
    if isinstance(text, str):
        ex.output_text.add(text)
    reason = string(inner, "completionReason")
    if reason is not None:
        ex.stop_reason = reason
    metrics = object_(inner, "amazon-bedrock-invocationMetrics")
    if metrics is not None:
        read_bedrock_metrics(ex, metrics)


def _count_delta(ex: Facts, delta: dict[str, Any]) -> None:
    text = delta.get("text")
    if isinstance(text, str):
        ex.output_text.add(text)
    tool = object_(delta, "toolUse")
    if tool is not None and "input" in tool:
        ex.saw_tool_use = True
        if isinstance(tool["input"], str):
            ex.output_text.add(tool["input"])
    reasoning = object_(delta, "reasoningContent")
    if reasoning is not None:
        ex.saw_thinking = True
        text = reasoning.get("text")
        if isinstance(text, str):
            ex.output_text.add(text)


def on_body(ex: Facts, value: Any) -> bool:
    """A whole Converse body; False if it is not one."""
    if not looks_like(value):
        # An AWS error body: {"message"} (the type travels in the x-amzn-ErrorType header).
        if not isinstance(value, dict):
            return False
        message = value.get("message", value.get("Message"))
        if not isinstance(message, str):
            return False
        ex.set_error(string(value, "__type") or "error", message)
        return True
    output = object_(value, "output")
    message = object_(output, "message") if output is not None else None
    parts = message.get("content") if message is not None else None
    if isinstance(parts, list):
        for part in parts:
            if not isinstance(part, dict):
                continue
            text = part.get("text")
            if isinstance(text, str):
                ex.output_text.add(text)
            reasoning = object_(part, "reasoningContent")
            reasoning_text = object_(reasoning, "reasoningText") if reasoning is not None else None
            text = reasoning_text.get("text") if reasoning_text is not None else None
            if isinstance(text, str):
                ex.saw_thinking = True
                ex.output_text.add(text)
            tool = object_(part, "toolUse")
            if tool is not None:
                ex.saw_tool_use = True
                name = tool.get("name")
                if isinstance(name, str):
                    ex.output_text.add(name)
    reason = string(value, "stopReason")
    if reason is not None:
        ex.stop_reason = reason
    usage = object_(value, "usage")
    if usage is not None:
        read_usage(ex, usage)
    return True
