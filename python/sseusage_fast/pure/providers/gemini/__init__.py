"""Gemini streamGenerateContent?alt=sse and generateContent (twin of providers/gemini/): usageMetadata
is a cumulative snapshot on each chunk (the last value of each field wins, never a sum);
promptTokenCount includes cachedContentTokenCount; thoughts are billed output."""

from __future__ import annotations

from typing import Any


def looks_like(value: Any) -> bool:
    return isinstance(value, dict) and ("candidates" in value or "usageMetadata" in value)
