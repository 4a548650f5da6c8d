"""The Responses usage object (twin of openai_responses/usage.rs): OpenAI's reader, Responses names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..openai_chat.usage import read_usage_with

if TYPE_CHECKING:
    from ..facts import Facts

RESPONSES_KEYS = ("input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details")


def read_usage(ex: Facts, usage: dict[str, Any]) -> None:
    read_usage_with(ex, usage, RESPONSES_KEYS)
