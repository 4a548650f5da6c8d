"""The usage record: one per request, immutable, normalised to disjoint token buckets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any

# Token buckets, in the order reports and the ledger list them. Disjoint, so that the cost
# of a request is a plain weighted sum of these fields.
TOKEN_FIELDS: tuple[str, ...] = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_creation_5m_input_tokens",
    "cache_creation_1h_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "web_search_requests",
    "web_fetch_requests",
)

# The token counts proper (server-tool request counts aside): a record with none of these
# reported has `no_usage_data`, and a stream with some but no final figures is `partial`.
TOKEN_COUNT_FIELDS: tuple[str, ...] = TOKEN_FIELDS[:7]

# The audio shares of input and output (subsets, like `reasoning_tokens` of output).
AUDIO_FIELDS: tuple[str, ...] = ("audio_input_tokens", "audio_output_tokens")

STATUSES = ("complete", "partial", "no_usage", "error", "not_sse")
FRAMINGS = ("sse", "json", "json-array", "ndjson", "aws-eventstream")
# Every `provider=` value the usage parser takes (`auto` tells them apart by the bytes): the
# one list for `inspect --provider` and the proxy's routes.
PROVIDERS = (
    "auto",
    "anthropic",
    "openai",
    "openai-responses",
    "gemini",
    "bedrock",
    "cohere",
    "ollama",
)


@dataclass(frozen=True, slots=True)
class Iteration:
    """One billed pass of several in one response (Anthropic `usage.iterations`: a compaction,
    an advisor model's turn), in the record's buckets. `model` None: the record's model."""

    kind: str | None = None
    model: str | None = None
    input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_creation_5m_input_tokens: int | None = None
    cache_creation_1h_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    web_search_requests: int | None = None
    web_fetch_requests: int | None = None
    audio_input_tokens: int | None = None
    audio_output_tokens: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# An iteration as a core reports it: a tuple in `Iteration`'s field order.
ITERATION_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Iteration))
INTERRUPTIONS = (None, "client_disconnect", "upstream_error", "cancelled")
# What `estimate_reasons` may name: billed reasoning the stream never shows, thinking streamed as
# a summary of what was billed, tool calls (framing the stream does not show), server-side tools
# (search results and the like billed as input the request never shows), no request body
# to estimate input from, a stream cut before its end, images or files in the request, tool
# definitions the request does not show in full, hex/base64 runs, earlier turns the provider
# keeps (Responses `previous_response_id`, `conversation`) and bills as input.
ESTIMATE_REASONS = (
    "hidden_reasoning",
    "summarized_thinking",
    "tool_calls",
    "server_tools",
    "no_request",
    "truncated",
    "media",
    "tool_definitions",
    "non_prose",
    "stored_context",
)


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """What one request used, as the provider reported it (or as estimated, and then said so)."""

    input_tokens: int | None = None
    cache_creation_input_tokens: int | None = None
    cache_creation_5m_input_tokens: int | None = None
    cache_creation_1h_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None
    web_search_requests: int | None = None
    web_fetch_requests: int | None = None
    service_tier: str | None = None
    speed: str | None = None
    provider: str | None = None
    model: str | None = None
    message_id: str | None = None
    stop_reason: str | None = None
    status: str = "no_usage"
    error_type: str | None = None
    error_message: str | None = None
    no_usage_data: bool = True
    requires_manual_review: bool = True
    estimated: tuple[str, ...] = ()
    # For each field in `estimated`: (low, high) expected to hold the billed value; `high` is
    # None when the stream cannot bound it (billed work that is never streamed).
    estimate_ranges: dict[str, tuple[int, int | None]] = field(default_factory=dict, hash=False)
    # Why the estimates are uncertain: short names (`ESTIMATE_REASONS`).
    estimate_reasons: tuple[str, ...] = ()
    interrupted: str | None = None
    raw_usage: dict[str, Any] | None = field(default=None, compare=True)
    # Why a value was rejected or a figure is doubtful (hostile numbers, dropped events).
    notes: tuple[str, ...] = ()
    # The second round: what was billed, beyond the buckets above.
    audio_input_tokens: int | None = None
    audio_output_tokens: int | None = None
    iterations: tuple[Iteration, ...] = ()
    provider_cost: Decimal | None = None
    inference_geo: str | None = None
    framing: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types only: tuples become lists, the provider's cost a decimal string."""
        out = asdict(self)
        out["estimated"] = list(self.estimated)
        out["estimate_ranges"] = {k: [low, high] for k, (low, high) in self.estimate_ranges.items()}
        out["estimate_reasons"] = list(self.estimate_reasons)
        out["notes"] = list(self.notes)
        out["iterations"] = [item.to_dict() for item in self.iterations]
        out["provider_cost"] = None if self.provider_cost is None else str(self.provider_cost)
        return out

    @property
    def total_tokens(self) -> int | None:
        """Every billed token bucket added up (reasoning is already inside output)."""
        parts = [
            getattr(self, name)
            for name in (
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
                "output_tokens",
            )
        ]
        if all(p is None for p in parts):
            return None
        return sum(p or 0 for p in parts)


FIELD_NAMES: tuple[str, ...] = tuple(f.name for f in fields(UsageRecord))
# What a core's `_finish_raw()` returns, as a tuple in this order (both backends): the record's
# first fields as the stream gave them, then what `finish` decides the rest from. A tuple,
# because building and reading it costs a fraction of a dict's (one per request).
RAW_SHARED = 18  # FIELD_NAMES[:18]: the token fields ... error_message
RAW_FIELDS: tuple[str, ...] = FIELD_NAMES[:RAW_SHARED] + (
    "raw_usage",
    "notes",
    "body_kind",
    "output_final",
    "output_stats",
    "saw_thinking",
    "saw_tool_use",
    # Encrypted reasoning the stream carried: (characters, items).
    "encrypted_reasoning",
    "events",
    # The second round's fields as the stream gave them: iterations as tuples in
    # `ITERATION_FIELDS` order, the provider's cost as the decimal text it sent.
    *AUDIO_FIELDS,
    "iterations",
    "provider_cost",
    "inference_geo",
    "framing",
)
# The record's fields after `notes`, filled by `finish` from the raw record's last slots.
SECOND_ROUND: tuple[str, ...] = RAW_FIELDS[RAW_FIELDS.index("events") + 1 :]
# Each slot's setter: a parser builds one record per request, and the frozen `__init__` pays an
# `object.__setattr__` lookup per field (twice the time of setting the slots directly).
_SLOT_SETTERS = tuple(UsageRecord.__dict__[name].__set__ for name in FIELD_NAMES)


def record_from_values(head: Sequence[Any], tail: Sequence[Any] = ()) -> UsageRecord:
    """`UsageRecord(*head[:n], *tail)` with `n` the fields before the tail, built faster: the
    values in `FIELD_NAMES` order, the first ones from `head` (which may hold more: a parser
    passes its core's raw record, whose first fields are the record's), the rest from `tail`."""
    n = len(_SLOT_SETTERS) - len(tail)
    if n < 0 or len(head) < n:
        raise ValueError(
            f"a UsageRecord has {len(_SLOT_SETTERS)} fields, got {len(head)} + {len(tail)}"
        )
    record: UsageRecord = object.__new__(UsageRecord)
    for set_slot, value in zip(_SLOT_SETTERS, head[:n]):
        set_slot(record, value)
    for set_slot, value in zip(_SLOT_SETTERS[n:], tail):
        set_slot(record, value)
    return record
