"""The Gemini usageMetadata object (twin of gemini/usage.rs): a cumulative snapshot, each one
filling what an earlier one lacked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...scan.tree import MAX_COUNT, count, note, string, sum_counts

if TYPE_CHECKING:
    from ..facts import Facts

# usageMetadata fields kept so each snapshot can fill what an earlier one lacked.
_COUNTS = (
    "promptTokenCount",
    "cachedContentTokenCount",
    "toolUsePromptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
)


def read_usage(ex: Facts, seen: dict[str, int], usage: dict[str, Any]) -> None:
    for key in _COUNTS:
        value = count(usage, key, ex.notes)
        if value is not None:
            seen[key] = value
    set_tokens(ex, seen)
    named = tier(string(usage, "trafficType"), string(usage, "serviceTier"))
    if named is not None:
        ex.service_tier = named
    # The audio shares, from the per-modality breakdowns.
    audio_in = _modality_count(usage, "promptTokensDetails", "AUDIO", ex.notes)
    if audio_in is not None:
        ex.audio_input = audio_in
    audio_out = _modality_count(usage, "candidatesTokensDetails", "AUDIO", ex.notes)
    if audio_out is not None:
        ex.audio_output = audio_out
    ex.last_usage = usage


def set_tokens(ex: Facts, seen: dict[str, int]) -> None:
    """The record's token buckets from the snapshots' counts so far (each field the last that
    gave it): input is the prompt less its cached part plus the tool-use prompt, output the
    candidates plus the thoughts."""
    tokens = ex.tokens
    prompt = seen.get("promptTokenCount")
    if prompt is not None:
        cached = min(seen.get("cachedContentTokenCount", 0), prompt)
        # Tool-use prompt tokens (e.g. search results fed back) are billed as input too.
        total_input = sum_counts(prompt - cached, seen.get("toolUsePromptTokenCount", 0))
        if total_input is None:
            note(ex.notes, "ignored input: prompt + tool-use prompt is not a token count")
        else:
            tokens["input_tokens"] = total_input
        tokens["cache_read_input_tokens"] = cached
    candidates = seen.get("candidatesTokenCount")
    thoughts = seen.get("thoughtsTokenCount")
    if candidates is not None or thoughts is not None:
        output = sum_counts(candidates or 0, thoughts or 0)
        if output is None:
            note(ex.notes, "ignored output: candidates + thoughts is not a token count")
        else:
            tokens["output_tokens"] = output
    if thoughts is not None:
        tokens["reasoning_tokens"] = thoughts


# Vertex `trafficType` (which quota was used, priced apart) in the record's names.
_TRAFFIC = {
    "TRAFFIC_TYPE_UNSPECIFIED": None,
    "": None,
    "ON_DEMAND": "on_demand",
    "ON_DEMAND_FLEX": "flex",
    "ON_DEMAND_PRIORITY": "priority",
    "PROVISIONED_THROUGHPUT": "provisioned",
}


def tier(traffic: str | None, service_tier: str | None) -> str | None:
    """Vertex `trafficType`, else the Gemini API's `serviceTier` (each where it is a string)."""
    if traffic is not None:
        mapped = _TRAFFIC.get(traffic, traffic)
        if mapped is not None:
            return mapped
    return service_tier or None


def _modality_count(usage: dict[str, Any], key: str, modality: str, notes: list[str]) -> int | None:
    """The `tokenCount` of one modality in a list of {modality, tokenCount} (summed if listed
    twice), None when the list does not name it."""
    items = usage.get(key)
    if not isinstance(items, list):
        return None
    total = None
    for item in items:
        if isinstance(item, dict) and item.get("modality") == modality:
            total = add_modality(total, count(item, "tokenCount", notes))
    return total


def add_modality(total: int | None, n: int | None) -> int:
    """A modality's total so far with one more listing's count added (a missing or null count
    adds 0; past MAX_COUNT, the total stops there)."""
    summed = sum_counts(total or 0, n or 0)
    return MAX_COUNT if summed is None else summed
