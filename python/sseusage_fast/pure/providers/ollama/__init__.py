"""Ollama's native API (twin of providers/ollama/): newline-delimited JSON chunks; the last has
`done: true` with `prompt_eval_count` (input) and `eval_count` (output). A whole body is that
last chunk alone."""

from __future__ import annotations

from typing import Any


def looks_like(value: Any) -> bool:
    return isinstance(value, dict) and "created_at" in value and isinstance(value.get("done"), bool)
