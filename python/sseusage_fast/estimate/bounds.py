"""Point estimates and honest ranges of what was billed, from what the stream showed.

Output is what the stream showed, at the ratio learned for its kind of response (plain text,
streamed thinking, tool calls), plus the hidden reasoning the model bills and never streams.
Each part has a range: the learned spread of the model's ratios once there is one, else a wide
prior; billed work the stream cannot bound (hidden reasoning, a summary of thinking, a stream
cut short) leaves the top open, unless the request capped output (`max_tokens` and the like),
which bounds everything. Input is the request body's text at the learned input ratio, plus the
framing and media tokens no text shows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

from . import families
from .estimator import Estimator
from .learned import MIN_BASE_TOKENS, MIN_SEALED_TOKENS, OUTPUT_KINDS, structured
from .model_names import calibration_key
from .requests import RequestInfo
from .textstats import has_chars

# The spread of a base estimate before a model's own is learned: the text estimate's error on
# real responses (tokenizer, markup, numbers) with room to spare.
TEXT_SPREAD = (0.75, 1.4)
INPUT_SPREAD = (0.8, 1.3)
# Images and files are flat guesses (estimate/requests): their share of input is this unsure.
MEDIA_SPREAD = (0.3, 3.0)
# A learned spread is widened by this much on each side: the next sample can fall outside the
# window's extremes.
MARGIN = 0.1
# Tokens the range gives on top of its proportional width: a short reply's count is mostly
# end-of-turn tokens and rounding (billed 2 to 5 where the text shows 1 to 3, on real replies).
SLACK = 3
# Tools given to the model cost input the request does not show: a provider's tool-use prompt
# and the definitions as the model sees them (Claude on Bedrock billed 236 for a ~60-token
# request with one tool; gpt-5 63 for ~24 with one custom tool). Anthropic's documented
# prompt (up to 395 tokens) is in the point estimate already; the top allows for it elsewhere.
TOOL_PROMPT_TOKENS = 400
# How much of a structured-output schema's estimate the range's low end may leave out.
SCHEMA_LOW = 0.5
# And of the tools' definitions (after the family's ratio): a model sees them in a form of
# its provider's own, often shorter than their JSON (gemini-2.5-flash billed a nested schema
# at 0.64 of its estimate, gemini-2.0-flash its tool sets at 0.83 to 1.13 of the scaled one:
# tests/captures/gemini).
DECLARATION_LOW = 0.5


class Estimate(NamedTuple):
    """An estimated count, the range expected to hold the billed value (`high` None when
    unbounded), and why it is uncertain (names from `record.ESTIMATE_REASONS`)."""

    value: int
    low: int
    high: int | None
    reasons: tuple[str, ...]


def _ratio_and_spread(
    estimator: Estimator, model: str | None, kind: str, prior: float, spread: tuple[float, float]
) -> tuple[float, float, float]:
    """(point, low, high) multipliers of a base: learned ones when the estimator has them (the
    point shrunk towards the prior while few samples are learned). A prior above 1 (billed
    work the stream shows only part of) does not raise the low end: what was streamed is the
    floor."""
    ratio = estimator.ratio(model, kind, family=True, prior=prior)
    if ratio is None:
        return prior, spread[0], prior * spread[1]
    learned = estimator.spread(model, kind, family=True)
    if learned is None:  # a middle learned, its spread not yet: the prior's width around it
        return ratio, min(ratio, 1.0) * spread[0], ratio * spread[1]
    return ratio, learned[0] * (1 - MARGIN), learned[1] * (1 + MARGIN)


def estimate_output(
    estimator: Estimator,
    stats: Sequence[int],
    base_of: Callable[[Sequence[int]], float],
    *,
    model: str | None,
    provider: str | None,
    saw_thinking: bool,
    saw_tool_use: bool,
    request: RequestInfo | None,
    truncated: bool,
    floor: int = 0,
    encrypted: tuple[int, int] | None = None,
) -> Estimate:
    """The billed output of a response whose final count is missing. `floor` is a count the
    stream reported that the billed output is at least (a message_start placeholder);
    `encrypted` the (characters, items) of encrypted reasoning the stream carried."""
    key = calibration_key(model)
    effort = request.effort if request is not None else None
    reasons: list[str] = []
    base = base_of(stats) if has_chars(stats) else 0.0

    text_prior = families.text_ratio(key)
    # Reasoning billed and never streamed in full: by family (unless the request turned it
    # off), or because this model was seen to do it.
    learned_hidden = estimator.ratio(model, "reasoning")
    # Encrypted reasoning items: the model reasoned, and their length says about how much.
    sealed = families.encrypted_reasoning_tokens(encrypted, provider)
    hidden = (
        sealed is not None or families.hidden_reasoning(key, effort) or (learned_hidden or 0) > 0
    )
    summarized = saw_thinking and (hidden or families.summarizes_thinking(key))
    if saw_tool_use:
        category = "tools"
        prior = families.TOOL_CALL_RATIO * text_prior
        reasons.append("tool_calls")
    elif saw_thinking:
        category = "thinking"
        # A reasoning model's summary is priced below with its hidden reasoning.
        ratio = families.SUMMARIZED_THINKING_RATIO if summarized and not hidden else 1.0
        prior = ratio * text_prior
    else:
        category = "text"
        prior = text_prior
    if summarized:
        reasons.append("summarized_thinking")
    kind = OUTPUT_KINDS[category]
    if (
        category == "text"
        and structured(stats)
        and estimator.ratio(model, "output:structured") is not None
    ):
        category, kind = "structured", "output:structured"
    calibrated = estimator.ratio(model, kind, family=True) is not None
    point, low, high = _ratio_and_spread(estimator, model, kind, prior, TEXT_SPREAD)
    value, lo, hi = base * point, base * low, base * high
    if category == "text" and 0 < base < MIN_BASE_TOKENS:
        # A short reply: the model's learned end-of-turn and framing tokens, added to what the
        # stream showed (a ratio of a few tokens is mostly rounding).
        short_reply = families.short_reply_tokens(provider)
        offset = estimator.offset(model, "output:offset", short_reply)
        if offset is not None:
            value = max(base + offset, 1.0)
            spread = estimator.spread(model, "output:offset")
            if spread is not None:
                lo, hi = min(lo, base + spread[0]), max(hi, base + spread[1])
            lo, hi = min(lo, value), max(hi, value)
        elif not hidden:
            # Before it is learned: the end-of-turn token (where hidden reasoning is added,
            # its estimate dwarfs it).
            value += short_reply
            hi = max(hi, value)
    if request is not None and request.output_schema is not None:
        # Structured outputs: tokens the schema's decoding adds (learned ratios and offsets are
        # of the text alone: `Estimator.observe` takes them off first).
        extra = families.schema_output_tokens(key)
        value, hi = value + extra, hi + extra
    if saw_tool_use and not calibrated:
        extra = families.TOOL_CALL_TOKENS.get(provider or "", families.TOOL_CALL_TOKENS_DEFAULT)
        value, hi = value + extra, hi + 2 * extra
    bounded = not summarized
    if request is not None and request.server_tools:
        reasons.append("server_tools")
        bounded = False
    # With thinking streamed, a calibrated ratio already holds the hidden part (it is learned
    # from the whole billed output); else the hidden reasoning is added as learned or assumed.
    if hidden and not (saw_thinking and calibrated):
        if not saw_thinking:
            reasons.append("hidden_reasoning")
        bounded = False
        # Learned per token of the visible reply where there is one (a long answer had
        # longer reasoning: on the real captures, held out per model, this put the median
        # error of hidden-reasoning replies at 62.7% against 91.3% for a flat learned count
        # and 72.1% for the prior), else as a flat count.
        per_token = estimator.ratio(model, "reasoning:per_token")
        if sealed is not None:
            # Read from the encrypted items, at the model's learned ratio to what they say:
            # bounded above, as the text is.
            point, low, high = _ratio_and_spread(
                estimator, model, "reasoning:encrypted", 1.0, families.ENCRYPTED_SPREAD
            )
            value, lo, hi = value + sealed * point, lo + sealed * low, hi + sealed * high
            # A reading too short to learn from bounds nothing either (a fixture's signature
            # cut to 100 characters read 7 tokens of 244 billed).
            bounded = (
                sealed >= MIN_SEALED_TOKENS
                and not summarized
                and not (request is not None and request.server_tools)
            )
        elif per_token is not None and base > 0:
            flat = estimator.spread(model, "reasoning")
            hidden_tokens = per_token * base
            if flat is not None:
                # No more than the most the model was seen to reason: a long visible reply
                # (JSON, a file) is not a long thought.
                hidden_tokens = min(hidden_tokens, flat[1] * (1 + MARGIN))
            value += hidden_tokens
            # The low end moves up by the least reasoning seen, per token or flat, whichever
            # is less (a per-token floor alone put two held-out replies below their range).
            spread = estimator.spread(model, "reasoning:per_token")
            if spread and flat:
                lo += min(spread[0] * base, flat[0]) * (1 - MARGIN)
        elif learned_hidden is not None:
            value += learned_hidden
            spread = estimator.spread(model, "reasoning")
            lo += spread[0] * (1 - MARGIN) if spread else 0
        else:
            budget = request.thinking_budget if request is not None else None
            value += families.reasoning_prior(effort, budget)

    if truncated:
        reasons.append("truncated")
        bounded = False
    cap = request.max_output if request is not None else None
    top: int | None = math.ceil(hi) + SLACK if bounded else None
    if cap is not None:
        top = cap if top is None else min(top, cap)
        value = min(value, cap)
    result = max(round(value), floor, 1 if base > 0 else 0)
    low_int = min(max(math.floor(lo) - (1 if lo < 10 * SLACK else 0), floor, 0), result)
    if top is not None:
        top = max(top, result)
    return Estimate(result, low_int, top, tuple(reasons))


def estimate_input(
    estimator: Estimator,
    request: RequestInfo,
    base_of: Callable[[Sequence[int]], float],
    *,
    model: str | None,
) -> Estimate:
    """The billed input (uncached, cache writes and reads together) of a request body."""
    base = base_of(request.stats) if has_chars(request.stats) else 0.0
    point, low, high = _ratio_and_spread(estimator, model, "input", 1.0, INPUT_SPREAD)
    text = round(base * point) if base else 0
    if base and text < 1:
        text = 1
    overhead = request.overhead
    lo, hi = base * low + overhead, base * high + overhead
    if 0 < base < MIN_BASE_TOKENS:
        offset = estimator.offset(model, "input:offset", 0.0)
        if offset is not None:
            text = max(1, round(base + offset))
            spread = estimator.spread(model, "input:offset")
            if spread is not None:
                lo, hi = min(lo, base + spread[0] + overhead), max(hi, base + spread[1] + overhead)
            lo, hi = min(lo, text + overhead), max(hi, text + overhead)
    reasons: tuple[str, ...] = ()
    if request.media:
        reasons = ("media",)
        lo = base * low + overhead * MEDIA_SPREAD[0]
        hi = base * high + overhead * MEDIA_SPREAD[1]
    value = text + overhead
    if request.tools:
        # The model's tool-use prompt beyond the documented one, once learned (Anthropic).
        extra = estimator.offset(model, "input:tools", 0.0)
        if extra is not None:
            value += round(extra)
            lo, hi = min(lo + min(extra, 0.0), value), max(hi + max(extra, 0.0), value)
        # Anthropic's documented tool-use prompt is in the point already; the definitions as
        # the model sees them and newer models' longer prompts are not (Claude Sonnet 4.6
        # billed 563 for a ~50-token request with one small tool, 166 over the point).
        reasons += ("tool_definitions",)
        hi += TOOL_PROMPT_TOKENS
        if request.declared is not None:
            lo -= base_of(request.declared) * low * DECLARATION_LOW
    if request.output_schema is not None:
        # The schema a reply must follow is billed in a form of the provider's own, shorter
        # than its JSON (gpt-4o billed about 0.7 of the fields' estimate for a 14-field schema,
        # about all of it for a 2-field one: real captures): the low end allows for half.
        lo -= base_of(request.output_schema) * low * SCHEMA_LOW
        if "tool_definitions" not in reasons:
            reasons += ("tool_definitions",)
        if request.provider == "anthropic":
            # Claude is given a prompt for structured outputs that the request does not show
            # (Opus 4.6 billed 231 for a four-word request and a three-field schema, about 50
            # counted): the top allows it, as it allows a tool-use prompt.
            hi += TOOL_PROMPT_TOKENS
    if request.opaque_chars:
        # A hex or base64 run splits into short pieces: up to a token per character.
        reasons += ("non_prose",)
        hi += request.opaque_chars
    hi += request.unshown
    top: int | None = max(math.ceil(hi) + SLACK, value)
    if request.hidden_tools:
        # A provider-defined tool's definition (Anthropic's memory tool: 1,679 billed for a
        # ~60-token request) is not in the request: no bound from it.
        top = None
    if request.stored_context:
        reasons += ("stored_context",)
        top = None  # earlier turns kept by the provider are billed as input
    if request.server_tools:
        reasons += ("server_tools",)
        top = None  # search results and the like are billed as input the request never shows
    # A learned negative framing spread can outweigh a very short prompt: no count is below 0.
    return Estimate(value, max(0, min(math.floor(lo), value)), top, reasons)
