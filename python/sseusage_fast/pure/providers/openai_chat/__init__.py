"""OpenAI Chat Completions (twin of providers/openai_chat/): chat.completion.chunk streams (usage in a
final chunk with empty choices when stream_options.include_usage is set) and chat.completion
bodies. Endpoints that repeat usage on every chunk are read the same way: the last value wins."""

from __future__ import annotations

from typing import Any


def looks_like(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    kind = value.get("type")
    return (
        value.get("object") in ("chat.completion.chunk", "chat.completion")
        or isinstance(value.get("choices"), list)
        or (isinstance(kind, str) and is_audio_event(kind))
    )


def is_audio_event(kind: str) -> bool:
    """The events of OpenAI's speech and transcription streams (`stream_format: "sse"`)."""
    return kind.startswith(("speech.audio.", "transcript.text."))
