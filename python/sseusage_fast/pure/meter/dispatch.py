"""Each event of a stream to its provider's readers (twin of meter/dispatch.rs)."""

from __future__ import annotations

from typing import Any

from ..providers import detect
from ..providers.anthropic import reader as anthropic_reader
from ..providers.anthropic import tree as anthropic_tree
from ..providers.bedrock import tree as bedrock_tree
from ..providers.cohere import tree as cohere_tree
from ..providers.error import read_error
from ..providers.facts import Facts
from ..providers.gemini import tree as gemini_tree
from ..providers.ollama import tree as ollama_tree
from ..providers.openai_chat import tree as openai_chat_tree
from ..providers.openai_responses import tree as openai_responses_tree
from ..scan.tree import parse


class Dispatch:
    """The sink of the event builder: the facts, and what the readers keep between events."""

    def __init__(self, provider: str) -> None:
        self.facts = Facts(provider)
        self.gemini: dict[str, int] = {}
        self.saw_sse_line = False

    def handle(self, event_type: bytes, data: bytes) -> None:
        """Reads one event's data."""
        ex = self.facts
        ex.events += 1
        if ex.provider in ("auto", "anthropic") and anthropic_reader.fast_path(ex, data):
            return
        if data == b"[DONE]":
            return
        value = parse(data)
        if value is None:
            ex.invalid_events += 1
            return
        if ex.provider == "auto":
            ex.provider = detect(value)
        provider = ex.provider
        if provider == "anthropic":
            anthropic_tree.on_event(ex, event_type, value)
        elif provider == "openai":
            openai_chat_tree.on_event(ex, value)
        elif provider == "openai-responses":
            openai_responses_tree.on_event(ex, value)
        elif provider == "gemini":
            gemini_tree.on_event(ex, self.gemini, value)
        elif provider == "cohere":
            cohere_tree.on_event(ex, value)
        elif provider == "ollama":
            ollama_tree.on_event(ex, value)
        elif provider == "bedrock":
            # Bedrock's SSE-free streams are read by the AWS event-stream framing; a JSON
            # event here is a Converse body's shape.
            bedrock_tree.on_body(ex, value)
        elif isinstance(value, dict) and isinstance(value.get("error"), dict):
            read_error(ex, value)

    def on_body(self, value: Any) -> bool:
        """A whole body, by the provider's reader; `False` if it is not one of its bodies."""
        ex = self.facts
        if ex.provider == "anthropic":
            return anthropic_tree.on_body(ex, value)
        if ex.provider == "openai":
            return openai_chat_tree.on_body(ex, value)
        if ex.provider == "openai-responses":
            return openai_responses_tree.on_body(ex, value)
        if ex.provider == "gemini":
            return gemini_tree.on_body(ex, self.gemini, value)
        if ex.provider == "cohere":
            return cohere_tree.on_body(ex, value)
        if ex.provider == "ollama":
            return ollama_tree.on_body(ex, value)
        if ex.provider == "bedrock":
            return bedrock_tree.on_body(ex, value)
        return False

    # EventSink
    def event(self, event_type: bytes, data: bytes, last_event_id: bytes) -> None:
        self.handle(event_type, data)

    def oversized_event(self) -> None:
        self.facts.set_error("event_too_large", "an event exceeded max_event_bytes and was dropped")

    def sse_line(self) -> None:
        self.saw_sse_line = True
