"""What OpenAI-compatible providers bill beyond the token counts (twin of
openai_chat/billing.rs): a cost they report (OpenRouter `cost`, Perplexity `cost.total_cost`,
xAI `cost_in_usd_ticks`), server-tool requests (OpenRouter `server_tool_use_details`) and a
tier inside usage (Mistral `service_tier`)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ...scan.tree import count, object_, string

if TYPE_CHECKING:
    from ..facts import Facts

TICK_DIGITS = 10  # xAI bills in ticks of 1e-10 USD


def read_extras(ex: Facts, usage: dict[str, Any]) -> None:
    cost = usage.get("cost")
    text = decimal_text(cost.get("total_cost")) if isinstance(cost, dict) else decimal_text(cost)
    ticks = usage.get("cost_in_usd_ticks")
    if text is None and type(ticks) is int and 0 <= ticks < 2**64:
        text = ticks_text(ticks)
    if text is not None:
        ex.provider_cost = text
    for key, name in (
        ("server_tool_use_details", "web_search_requests"),  # OpenRouter
        ("server_tool_use", "web_search_requests"),
        ("server_side_tool_usage_details", "web_search_calls"),  # xAI
    ):
        tools = object_(usage, key)
        if tools is not None:
            n = count(tools, name, ex.notes)
            if n is not None:
                ex.tokens["web_search_requests"] = n
    tier = string(usage, "service_tier")
    if tier:
        ex.service_tier = tier


def decimal_text(value: Any) -> str | None:
    """A non-negative JSON number as plain decimal text (the shortest digits that read back as
    the same double, no exponent): the text the Rust core writes."""
    if type(value) is int:
        return str(value) if 0 <= value < 2**64 else decimal_text(float(value))
    if type(value) is not float or not math.isfinite(value) or value < 0:
        return None
    if value == 0:
        return "0"
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def ticks_text(ticks: int) -> str:
    """A count of 1e-10 USD ticks as decimal text of USD."""
    text = str(ticks).rjust(TICK_DIGITS + 1, "0")
    units, fraction = text[:-TICK_DIGITS], text[-TICK_DIGITS:].rstrip("0")
    return f"{units}.{fraction}" if fraction else units
