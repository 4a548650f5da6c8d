"""Gemini streamGenerateContent?alt=sse and generateContent (twin of gemini.rs): usageMetadata
is a cumulative snapshot on each chunk (the last value of each field wins, never a sum);
promptTokenCount includes cachedContentTokenCount; thoughts are billed output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .jsonread import compact, count, note, object_, string, sum_counts

if TYPE_CHECKING:
    from .usage import Extract

# usageMetadata fields kept so each snapshot can fill what an earlier one lacked.
_COUNTS = (
    "promptTokenCount",
    "cachedContentTokenCount",
    "toolUsePromptTokenCount",
    "candidatesTokenCount",
    "thoughtsTokenCount",
)


def looks_like(value: Any) -> bool:
    return isinstance(value, dict) and ("candidates" in value or "usageMetadata" in value)


def on_event(ex: Extract, value: Any) -> None:
    if not isinstance(value, dict):
        return
    if object_(value, "error") is not None:
        ex.read_error(value)
    else:
        _read_chunk(ex, value)


def on_body(ex: Extract, value: Any) -> bool:
    """One response, or the JSON array a non-SSE streamGenerateContent returns."""
    if isinstance(value, list):
        known = False
        for item in value:
            if looks_like(item) or (isinstance(item, dict) and "error" in item):
                on_event(ex, item)
                known = True
        return known
    if isinstance(value, dict) and object_(value, "error") is not None:
        ex.read_error(value)
        return True
    if looks_like(value):
        _read_chunk(ex, value)
        return True
    return False


def _read_chunk(ex: Extract, obj: dict[str, Any]) -> None:
    response_id = string(obj, "responseId")
    if response_id is not None:
        ex.message_id = response_id
    model = string(obj, "modelVersion")
    if model is not None:
        ex.model = model
    candidates = obj.get("candidates")
    if isinstance(candidates, list):
        for candidate in candidates:
            if not isinstance(candidate, dict):
                continue
            content = object_(candidate, "content")
            parts = content.get("parts") if content is not None else None
            if isinstance(parts, list):
                for part in parts:
                    if isinstance(part, dict):
                        _count_part(ex, part)
            reason = string(candidate, "finishReason")
            if reason is not None:
                ex.stop_reason = reason
    usage = object_(obj, "usageMetadata")
    if usage is not None:
        _read_usage(ex, usage)
    # The figures are final once a candidate has finished and usage was reported.
    if ex.stop_reason is not None and ex.last_usage is not None:
        ex.final_usage = True
        ex.output_final = ex.tokens["output_tokens"] is not None


def _count_part(ex: Extract, part: dict[str, Any]) -> None:
    text = part.get("text")
    if isinstance(text, str):
        if part.get("thought") is True:
            ex.saw_thinking = True
        ex.output_text.add(text)
    call = object_(part, "functionCall")
    if call is not None:
        ex.saw_tool_use = True
        name = call.get("name")
        if isinstance(name, str):
            ex.output_text.add(name)
        if "args" in call:
            ex.output_text.add(compact(call["args"]))


def _read_usage(ex: Extract, usage: dict[str, Any]) -> None:
    seen = ex.gemini
    for key in _COUNTS:
        value = count(usage, key, ex.notes)
        if value is not None:
            seen[key] = value
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
    ex.last_usage = usage
