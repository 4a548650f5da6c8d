"""What a model family bills that its stream does not show, before anything is learned.

Keyed by the calibration key (`model_names.calibration_key`), so every spelling of a model
falls in its family. The figures are priors: `Estimator` replaces them per model with what
complete records of that model taught it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

# Models that reason before answering, bill the reasoning as output and never stream it
# (OpenAI o-series and GPT-5 in Chat Completions and Responses without a summary, xAI Grok
# reasoning models, Gemini 2.5 Pro/Flash and 3 without includeThoughts).
_HIDDEN_REASONING = re.compile(
    r"^(?:o[134](?:-|$)|gpt-5(?!-chat)|codex|grok-3-mini|grok-4(?!.*non-reasoning)|grok-code"
    r"|gemini-(?:2\.5-(?:pro|flash(?!-lite))|3))"
)
# Models whose streamed thinking is a summary of the billed thinking: Claude 4 and later
# (Claude 3.7 streams it whole), Gemini thought summaries, OpenAI reasoning summaries. These
# stream it whole: the open-weight models (whose raw thoughts are the output, Gemma's too when
# Google serves it) and Mistral's (its thinking chunks are the trace).
_FULL_THINKING = re.compile(
    r"^(?:claude-3-7|deepseek|qwen|qwq|kimi|glm|gpt-oss|magistral|mistral|gemma)"
)

# Hidden reasoning tokens by requested effort, before a model's own are learned: the middle of
# the reported reasoning of the real captures (4 to 1,058 tokens, median about 150: short
# tasks; longer work reasons more, which calibration learns per model). The range never trusts
# them (its top is the request's output cap, or unbounded).
HIDDEN_REASONING_PRIOR = {
    "none": 0,
    "minimal": 20,
    "low": 80,
    "medium": 150,
    "high": 600,
    "xhigh": 1200,
}
HIDDEN_REASONING_DEFAULT = 150
# Reasoning the Responses API returns encrypted (`include: ["reasoning.encrypted_content"]`)
# grows with the reasoning tokens: about 6.5 characters a token over a fixed ~980 an item
# (nine real captures, gpt-5 and gpt-5-mini, 64 to 704 reasoning tokens in 1 or 2 items; the
# line through the shortest and the longest, least squares over all nine gives 941 and 6.8:
# within 7% from 384 tokens up, 17-30% under at 128 to 192).
ENCRYPTED_ITEM_CHARS = 980
ENCRYPTED_CHARS_PER_TOKEN = 6.5
# The range of the reasoning read from it, before a model's own spread is learned.
ENCRYPTED_SPREAD = (0.6, 1.5)
# Gemini's `thoughtSignature` (the thoughts' encrypted context, on a function call's part or a
# thought summary's) grows with the thoughts billed: about 5.1 characters a token over a fixed
# ~66 (least squares over 21 real responses, gemini-2.5-flash/pro and 3-flash/pro, 30 to 395
# thought tokens in one signature each: r = 0.97, a median 6% off the line, 24% at the 90th
# percentile; pydantic-ai's and crewAI's cassettes, tests/captures/gemini).
GEMINI_SIGNATURE_CHARS = 66
GEMINI_SIGNATURE_CHARS_PER_TOKEN = 5.1
_SEALED_FORM = {"gemini": (GEMINI_SIGNATURE_CHARS, GEMINI_SIGNATURE_CHARS_PER_TOKEN)}
# Billed output over the streamed text when thinking is a summary, and when the response holds
# tool calls (the call's framing and ids are billed, not streamed), before learning. Claude's
# summary bills about what it shows at the lengths seen: seven responses that report their
# thinking apart billed 0.85 to 1.57 times the estimate of the thinking they showed (21 to 307
# tokens), median 1.04; 1.8 put real thinking responses 55-97% over. Longer thinking may be
# summarized more: the range's top stays open (`bounds`), and calibration learns per model.
SUMMARIZED_THINKING_RATIO = 1.0
TOOL_CALL_RATIO = 1.1
# Tokens a response's tool calls bill beyond their name and arguments (ids, framing). Gemini's
# calls carry no id: five replies of calls alone billed 1 to 21, at or under their text's
# estimate (tests/captures/gemini, pydantic-ai's and crewAI's cassettes).
TOOL_CALL_TOKENS = {"anthropic": 30, "gemini": 0}
TOOL_CALL_TOKENS_DEFAULT = 10
# Tokens a short plain reply bills beyond its text before a model's own offset is learned
# (`output:offset`): its end-of-turn token and the like.
SHORT_REPLY_TOKENS = 1
# Cohere bills neither the tokens it adds nor the special tokens a model outputs (its pricing
# page: `billed_units` against `tokens`; "The capital of France is Paris." billed 7 of 10):
# the text alone, as `requests.FRAMING` has it for input.
_SHORT_REPLY_TOKENS = {"cohere": 0}


# Tokens a reply under a JSON schema (structured outputs) bills beyond its text, on OpenAI's
# models: the same reply `{"city":"Mexico City","country":"Mexico"}` from gpt-4o billed 11 in
# JSON mode (`json_object`) and 15 and 16 under a schema (Chat, Responses), a longer one 21
# and 25, 26 (real captures, tests/captures/openai*; no published figure).
_SCHEMA_OUTPUT_TOKENS = ((re.compile(r"^(?:gpt-|chatgpt|o[134](?:-|$))"), 4),)


# Input framing (tokens a message, tokens a request) of model families whose provider's default
# (`requests.FRAMING`) does not hold. GPT-4-class models bill OpenAI's counting recipe, 3 a
# message plus its role (1 token) and 3 to prime the reply, in Chat Completions and Responses
# alike ("hello" 8; a system and a user message 11 over their text, four messages 19:
# tests/captures/openai*); GPT-5's default 3 holds ("Say hello" 8). Gemini 2.0 frames no turn:
# the same request was billed 13 on gemini-2.0-flash and 15 on 2.5 (two messages), and 2.0's
# one-message requests bill their text alone (tests/captures/gemini).
_MESSAGE_FRAMING = (
    (re.compile(r"^(?:gpt-4|gpt-3\.5|chatgpt-4o)"), (4, 3)),
    (re.compile(r"^gemini-2\.0"), (0, 0)),
)


# SentencePiece tokenizers that split every digit into a token of its own, the space before a
# number into another: Gemini's (Gemma's is a subset of it, with split digits: the Gemma
# report). "Count from 1 to 30, ..." billed 18 on gemini-2.5-flash, "... amount: 12.34" 13
# (tests/captures/gemini).
_SPLIT_DIGITS = re.compile(r"^(?:gemini|gemma)")


# Function declarations as a model family bills them, over the estimate of their JSON text.
# Gemini 2.0 bills about 0.3 of it: four tool sets on gemini-2.0-flash billed 0.25 to 0.34 of
# their estimate over the rest of the request ("run bar for me please" with two small tools
# 21, their JSON about 56; pydantic-ai's cassettes, tests/captures/gemini/decl_* and
# pai_google_model_iter_stream, _structured_output); crewAI's two, seen after, 0.33 and 0.47.
# Gemini 2.5 about 0.8: 16 first turns with declarations of 40+ estimated tokens billed 0.62 to
# 1.08 of them (one nested $defs schema 1.82), median 0.83 (pydantic-ai's 0.85, crewAI's
# 0.75). Gemini 3 bills about all of it (0.93 to 1.06 over 6 first turns).
_DECLARATION_RATIO = (
    (re.compile(r"^gemini-2\.0"), 0.3),
    (re.compile(r"^gemini-2\.5"), 0.8),
)


# Billed text tokens over the base estimate, before a model's own are learned. Claude 3 and
# later tokenize about a fifth longer than the mean of cl100k and the legacy Claude tokenizer
# that the base is fitted to (real Claude captures: 1.25 on prose).
_TEXT_RATIO = ((re.compile(r"^claude-(?!2|instant)"), 1.2),)


def _first_match(table: Sequence[tuple[re.Pattern[str], T]], key: str | None, default: T) -> T:
    """The value of the first pattern of a family table that matches the model key."""
    if key is not None:
        for pattern, value in table:
            if pattern.match(key):
                return value
    return default


def encrypted_reasoning_tokens(
    encrypted: tuple[int, int] | None, provider: str | None = None
) -> float | None:
    """Hidden reasoning tokens read from encrypted reasoning (characters, items) in the form
    its provider writes (Gemini's signatures; else OpenAI's items), or None where the stream
    carried none."""
    if not encrypted or not encrypted[1]:
        return None
    chars, items = encrypted
    fixed, per_token = _SEALED_FORM.get(
        provider or "", (ENCRYPTED_ITEM_CHARS, ENCRYPTED_CHARS_PER_TOKEN)
    )
    return max(0.0, (chars - fixed * items) / per_token)


def short_reply_tokens(provider: str | None) -> int:
    """The prior of what a provider bills for a short plain reply beyond its text."""
    return _SHORT_REPLY_TOKENS.get(provider or "", SHORT_REPLY_TOKENS)


def schema_output_tokens(key: str | None) -> int:
    """What a reply that follows the request's JSON schema bills beyond its text; not 0 for
    the models that bill the schema itself as input (`requests` counts it for them)."""
    return _first_match(_SCHEMA_OUTPUT_TOKENS, key, 0)


def splits_digits(key: str | None) -> bool:
    """Whether the model's tokenizer splits every digit apart (`_SPLIT_DIGITS`)."""
    return key is not None and _SPLIT_DIGITS.match(key) is not None


def message_framing(key: str | None) -> tuple[int, int] | None:
    """(tokens a message, tokens a request) of a model family's input framing, or None where
    the provider's default holds."""
    return _first_match(_MESSAGE_FRAMING, key, None)


def declaration_ratio(key: str | None) -> float:
    """What a model family bills for its tools' definitions over their text's estimate."""
    return _first_match(_DECLARATION_RATIO, key, 1.0)


def text_ratio(key: str | None) -> float:
    """The prior billed/base ratio of a model's plain text."""
    return _first_match(_TEXT_RATIO, key, 1.0)


def hidden_reasoning(key: str | None, effort: str | None) -> bool:
    """Whether the model bills reasoning it does not stream, unless the request turned it off."""
    if key is None or effort == "none":
        return False
    return _HIDDEN_REASONING.match(key) is not None


def summarizes_thinking(key: str | None) -> bool:
    """Whether streamed thinking of this model is a summary of what is billed."""
    return key is None or _FULL_THINKING.match(key) is None


def reasoning_prior(effort: str | None, budget: int | None) -> int:
    """Hidden reasoning tokens to expect for a requested effort and thinking budget."""
    prior = HIDDEN_REASONING_PRIOR.get(effort or "", HIDDEN_REASONING_DEFAULT)
    return min(prior, budget) if budget else prior


def stream_priors(key: str | None) -> tuple[float, bool, bool]:
    """What the output estimate of a stream without a request body reads of these tables for
    a calibration key: `text_ratio`, `hidden_reasoning` (no effort asked) and
    `summarizes_thinking`. The native core asks it once per key."""
    return text_ratio(key), hidden_reasoning(key, None), summarizes_thinking(key)
