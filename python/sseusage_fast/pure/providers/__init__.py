"""One package per provider, the same module names in each (twin of providers/mod.rs): `tree`
reads an event or a body from a parsed tree, `usage` turns the usage object into token
buckets. They write into `facts.Facts`; the meter calls them and they never call the meter."""

from __future__ import annotations

from typing import Any

from . import anthropic, bedrock, cohere, gemini, ollama, openai_chat, openai_responses


def detect(value: Any) -> str:
    """Which provider wrote this event or body."""
    if isinstance(value, list):
        # Gemini's non-SSE streamGenerateContent answers with an array of chunks.
        return detect(value[0]) if value else "auto"
    if anthropic.looks_like(value):
        return "anthropic"
    if openai_responses.looks_like(value):
        return "openai-responses"
    if openai_chat.looks_like(value):
        return "openai"
    if gemini.looks_like(value):
        return "gemini"
    if cohere.looks_like(value):
        return "cohere"
    if ollama.looks_like(value):
        return "ollama"
    if bedrock.looks_like(value):
        return "bedrock"
    return "auto"
