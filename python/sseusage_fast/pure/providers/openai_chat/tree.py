"""Chat chunks and bodies read from a parsed tree (twin of openai_chat/tree.rs)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import object_, string
from ..error import read_error
from . import is_audio_event, looks_like
from .usage import read_audio_usage, read_usage

if TYPE_CHECKING:
    from ..facts import Facts


def on_event(ex: Facts, value: Any) -> None:
    if not isinstance(value, dict):
        return
    kind = string(value, "type")
    if kind is not None and is_audio_event(kind):
        _on_audio_event(ex, value, kind)
        return
    if object_(value, "error") is not None:
        # Usage in an error chunk is usage (OpenRouter sends both in one chunk).
        read_error(ex, value)
        _read_chunk_usage(ex, value)
        return
    _read_identity(ex, value)
    _read_choices(ex, value, "delta")
    _read_chunk_usage(ex, value)


def _on_audio_event(ex: Facts, obj: dict[str, Any], kind: str) -> None:
    """Speech (`speech.audio.delta` / `.done`) and transcription (`transcript.text.delta` /
    `.done`) streams: the usage on the `done` event."""
    if kind == "transcript.text.delta":
        text = obj.get("delta")
        if isinstance(text, str):
            ex.output_text.add(text)
    speech = kind == "speech.audio.done"
    if speech or kind == "transcript.text.done":
        usage = object_(obj, "usage")
        if usage is not None:
            read_audio_usage(ex, usage, speech=speech)


def _read_chunk_usage(ex: Facts, obj: dict[str, Any]) -> None:
    """A chunk's usage: at the top level, else where compatible servers put it (Groq
    `x_groq.usage`, Moonshot `choices[i].usage`)."""
    usage = object_(obj, "usage")
    if usage is None:
        x_groq = object_(obj, "x_groq")
        usage = object_(x_groq, "usage") if x_groq is not None else None
    if usage is None:
        choices = obj.get("choices")
        if isinstance(choices, list):
            usage = next(
                (
                    object_(c, "usage")
                    for c in choices
                    if isinstance(c, dict) and object_(c, "usage") is not None
                ),
                None,
            )
    if usage is not None:
        read_usage(ex, usage)


def on_body(ex: Facts, value: Any) -> bool:
    """A whole chat.completion body; False if it is not one."""
    if not isinstance(value, dict):
        return False
    if object_(value, "error") is not None:
        read_error(ex, value)
        return True
    if not looks_like(value):
        return False
    _read_identity(ex, value)
    _read_choices(ex, value, "message")
    usage = object_(value, "usage")
    if usage is not None:
        read_usage(ex, usage)
    return True


def _read_identity(ex: Facts, obj: dict[str, Any]) -> None:
    """The id, model and tier; an empty one never replaces a named one (Azure's filter chunks
    say `"model":""`)."""
    for attr, key in (("message_id", "id"), ("model", "model"), ("service_tier", "service_tier")):
        value = string(obj, key)
        if value:
            setattr(ex, attr, value)


def _read_choices(ex: Facts, obj: dict[str, Any], key: str) -> None:
    choices = obj.get("choices")
    if not isinstance(choices, list):
        return
    for choice in choices:
        if not isinstance(choice, dict):
            continue
        message = object_(choice, key)
        if message is not None:
            _count_message(ex, message)
        else:
            # A legacy completion's text (vLLM, OpenAI's /v1/completions); beside a message
            # or delta it repeats its text (Together sends both): not counted twice.
            text = choice.get("text")
            if isinstance(text, str):
                ex.output_text.add(text)
        reason = string(choice, "finish_reason")
        if reason is not None:
            ex.stop_reason = reason


def _count_message(ex: Facts, message: dict[str, Any]) -> None:
    """A streamed delta or a body's message: content (a string, or an array of text and
    Mistral thinking parts), reasoning text, tool-call arguments, an audio reply's
    transcript."""
    content = message.get("content")
    if isinstance(content, str):
        ex.output_text.add(content)
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict):
                _count_part(ex, part)
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
    audio = object_(message, "audio")
    transcript = audio.get("transcript") if audio is not None else None
    if isinstance(transcript, str):
        ex.output_text.add(transcript)


def _count_part(ex: Facts, part: dict[str, Any]) -> None:
    """One part of a content array: its `text`, or a Mistral thinking part's text (`{"type":
    "thinking", "thinking": [{"type": "text", "text": ...}]}`, or the thinking as a string)."""
    text = part.get("text")
    if isinstance(text, str):
        ex.output_text.add(text)
    if part.get("type") != "thinking":
        return
    thinking = part.get("thinking")
    if isinstance(thinking, str):
        ex.saw_thinking = True
        ex.output_text.add(thinking)
    elif isinstance(thinking, list):
        ex.saw_thinking = True
        for inner in thinking:
            if isinstance(inner, dict) and isinstance(inner.get("text"), str):
                ex.output_text.add(inner["text"])
