"""OpenAI Responses (twin of providers/openai_responses/): response.created ... output_text.delta ... a
terminal response.completed / response.incomplete / response.failed (usage on the response),
error events, and whole response bodies."""

from __future__ import annotations

from typing import Any


def looks_like(value: Any) -> bool:
    if not isinstance(value, dict):
        return False
    kind = value.get("type")
    return (
        (isinstance(kind, str) and kind.startswith("response."))
        or value.get("object") == "response"
        # A Responses error event: code and message at the top, no error object.
        or (kind == "error" and "error" not in value and "code" in value)
    )
