"""What a request is, from its path and body: provider, model, and whether it is billed."""

from __future__ import annotations

import json
import re
from typing import Any

_GEMINI_MODEL = re.compile(r"/models/([^/:]+):(?:stream)?[gG]enerateContent")


def detect_provider(path: str) -> str:
    """The parser's `provider=` for a request path; `auto` when the path does not tell."""
    trimmed = path.rstrip("/")
    if trimmed.endswith("/messages"):
        return "anthropic"
    if trimmed.endswith("/chat/completions"):
        return "openai"
    if trimmed.endswith("/responses"):
        return "openai-responses"
    if trimmed.endswith((":streamGenerateContent", ":generateContent")):
        return "gemini"
    return "auto"


def is_generation(method: str, path: str) -> bool:
    """Requests that can be billed for tokens. Others (model lists, token counting, GETs)
    still get a row, but a missing usage figure there is expected, not a review case."""
    if method.upper() != "POST":
        return False
    trimmed = path.rstrip("/")
    return not trimmed.endswith(("/count_tokens", ":countTokens", "/models"))


def parse_body(body: bytes) -> dict[str, Any] | None:
    if not body or body.lstrip()[:1] != b"{":
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def request_model(path: str, body: dict[str, Any] | None) -> str | None:
    """The model the client asked for: the body's `model`, or Gemini's path segment."""
    if body is not None and isinstance(body.get("model"), str):
        return str(body["model"])
    match = _GEMINI_MODEL.search(path)
    return match.group(1) if match else None
