"""The Anthropic usage object (twin of anthropic/usage.rs): its fields applied to the facts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ....record import TOKEN_FIELDS
from ...scan.tree import count, note, object_, string, sum_counts

if TYPE_CHECKING:
    from ..facts import Facts


# The buckets an Anthropic usage object reports, in the order they are read (and noted).
_BUCKETS = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
    "cache_creation_5m_input_tokens",
    "cache_creation_1h_input_tokens",
    "web_search_requests",
    "web_fetch_requests",
    "reasoning_tokens",
)


def _buckets(usage: dict[str, Any], notes: list[str]) -> dict[str, int | None]:
    """The buckets of a usage object (or of one of its iterations), None when absent."""
    out: dict[str, int | None] = dict.fromkeys(_BUCKETS)
    for key in _BUCKETS[:4]:
        out[key] = count(usage, key, notes)
    split = object_(usage, "cache_creation")
    if split is not None:
        out["cache_creation_5m_input_tokens"] = count(split, "ephemeral_5m_input_tokens", notes)
        out["cache_creation_1h_input_tokens"] = count(split, "ephemeral_1h_input_tokens", notes)
    tools = object_(usage, "server_tool_use")
    if tools is not None:
        out["web_search_requests"] = count(tools, "web_search_requests", notes)
        out["web_fetch_requests"] = count(tools, "web_fetch_requests", notes)
    details = object_(usage, "output_tokens_details")
    if details is not None:
        out["reasoning_tokens"] = count(details, "thinking_tokens", notes)
    return out


def _iteration(item: dict[str, Any], notes: list[str]) -> tuple[Any, ...]:
    """One item of usage.iterations, as a tuple in record.ITERATION_FIELDS order."""
    b = _buckets(item, notes)
    _iterations_of(item, notes)  # read as the Rust twin does (its notes, if any)
    return (
        string(item, "type"),
        string(item, "model") or None,
        *(b[name] for name in TOKEN_FIELDS),
        None,
        None,
    )


def _iterations_of(usage: dict[str, Any], notes: list[str]) -> list[tuple[Any, ...]] | None:
    items = usage.get("iterations")
    if not isinstance(items, list):
        return None
    return [_iteration(item, notes) for item in items if isinstance(item, dict)]


def _iteration_totals(ex: Facts, items: list[tuple[Any, ...]]) -> None:
    """The billed totals over all iterations: each bucket that some iteration reports is their
    sum (the top-level counts are the last `message` pass only); the others stay as reported."""
    for at, name in enumerate(TOKEN_FIELDS, start=2):
        values = [item[at] for item in items if item[at] is not None]
        if not values:
            continue
        total = 0
        for value in values:
            summed = sum_counts(total, value)
            if summed is None:
                note(ex.notes, "ignored iteration totals: a sum is not a token count")
                break
            total = summed
        else:
            ex.tokens[name] = total


def read_usage(ex: Facts, usage: dict[str, Any], *, is_final: bool) -> None:
    notes, tokens = ex.notes, ex.tokens

    def put(slot: str, obj: dict[str, Any], key: str) -> bool:
        value = count(obj, key, notes)
        if value is not None:
            tokens[slot] = value
        return value is not None

    put("input_tokens", usage, "input_tokens")
    put("cache_creation_input_tokens", usage, "cache_creation_input_tokens")
    put("cache_read_input_tokens", usage, "cache_read_input_tokens")
    got_output = put("output_tokens", usage, "output_tokens")
    split = object_(usage, "cache_creation")
    if split is not None:
        put("cache_creation_5m_input_tokens", split, "ephemeral_5m_input_tokens")
        put("cache_creation_1h_input_tokens", split, "ephemeral_1h_input_tokens")
    tools = object_(usage, "server_tool_use")
    if tools is not None:
        put("web_search_requests", tools, "web_search_requests")
        put("web_fetch_requests", tools, "web_fetch_requests")
    details = object_(usage, "output_tokens_details")
    if details is not None:
        put("reasoning_tokens", details, "thinking_tokens")
    tier = string(usage, "service_tier")
    if tier is not None:
        ex.service_tier = tier
    speed = string(usage, "speed")
    if speed is not None:
        ex.speed = speed
    geo = string(usage, "inference_geo")
    items = _iterations_of(usage, notes)
    if geo is not None:
        ex.inference_geo = geo
    if items:
        _iteration_totals(ex, items)
        ex.iterations = items
    if is_final:
        ex.final_usage = True
        ex.output_final = ex.output_final or got_output
    ex.last_usage = usage


def read_bedrock_metrics(ex: Facts, metrics: dict[str, Any]) -> None:
    """Bedrock's own counts on message_stop, used where the Anthropic fields are missing."""
    tokens = ex.tokens
    for slot, key in (
        ("input_tokens", "inputTokenCount"),
        ("cache_read_input_tokens", "cacheReadInputTokenCount"),
        ("cache_creation_input_tokens", "cacheWriteInputTokenCount"),
    ):
        if tokens[slot] is None:
            tokens[slot] = count(metrics, key, ex.notes)
    if not ex.output_final:
        output = count(metrics, "outputTokenCount", ex.notes)
        if output is not None:
            tokens["output_tokens"] = output
            ex.output_final = True
    ex.final_usage = ex.final_usage or ex.output_final
