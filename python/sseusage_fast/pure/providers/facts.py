"""What the provider readers report, and the only thing they write (twin of providers/facts.rs): a leaf
that knows no reader and no meter."""

from __future__ import annotations

from typing import Any

from ...record import PROVIDERS, TOKEN_FIELDS
from ..textstats import TextStats

__all__ = ["PROVIDERS", "Facts"]


class Facts:
    """What the provider reported so far."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.tokens: dict[str, int | None] = dict.fromkeys(TOKEN_FIELDS)
        self.output_final = False
        self.final_usage = False  # final figures seen (message_delta, a whole body)
        self.model: str | None = None
        self.message_id: str | None = None
        self.stop_reason: str | None = None
        self.service_tier: str | None = None
        self.speed: str | None = None
        self.error_type: str | None = None
        self.error_message: str | None = None
        self.last_usage: dict[str, Any] | None = None
        self.output_text = TextStats()
        self.saw_thinking = False
        self.saw_tool_use = False
        # Encrypted reasoning items (Responses `encrypted_content`, Gemini `thoughtSignature`):
        # their characters and count.
        self.encrypted_reasoning = [0, 0]
        self.events = 0
        self.notes: list[str] = []
        self.invalid_events = 0  # events whose data is not valid JSON (their usage is lost)
        # The second round: what was billed beyond the buckets (see record.SECOND_ROUND).
        self.audio_input: int | None = None
        self.audio_output: int | None = None
        self.iterations: list[tuple[Any, ...]] = []  # in record.ITERATION_FIELDS order
        self.provider_cost: str | None = None  # the decimal text the provider sent
        self.inference_geo: str | None = None
        self.framing: str | None = None  # set by a framing other than SSE or one JSON body

    def set_error(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.error_message = message
