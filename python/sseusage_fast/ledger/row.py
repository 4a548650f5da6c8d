"""One ledger row: what one proxied request cost, and how its numbers were obtained."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from decimal import Decimal
from random import getrandbits
from typing import Any

from sseusage_fast.ledger.estimates import cost_bounds
from sseusage_fast.record import TOKEN_FIELDS, UsageRecord
from sseusage_fast.redact import has_secret_shape, scrub_secrets

# How a row's token numbers were obtained.
SOURCES = ("provider", "estimate", "billing_csv")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_uuid() -> str:
    """A random version-4 UUID as 32 hex digits, like `uuid.uuid4().hex`. Drawn from `random`
    (seeded from the OS, reseeded in a forked child) rather than `os.urandom`: a system call
    per row measured 8 us on a VM, and this id only has to be unique, not secret."""
    n = getrandbits(128)
    n = (n & ~(0xC000 << 48)) | (0x8000 << 48)  # the RFC 4122 variant
    n = (n & ~(0xF000 << 64)) | (4 << 76)  # version 4
    return f"{n:032x}"


@dataclass(frozen=True, slots=True)
class Capture:
    """The bodies of one request, kept so that it can be re-estimated later."""

    request_body: bytes
    response_body: bytes


@dataclass(frozen=True, slots=True)
class LedgerRow:
    ts: datetime = field(default_factory=utcnow)
    latency_ms: float | None = None
    ttfb_ms: float | None = None
    http_status: int | None = None
    method: str | None = None
    path: str | None = None
    request_id: str | None = None
    message_id: str | None = None
    key_fingerprint: str | None = None
    provider: str | None = None
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
    status: str = "no_usage"
    stop_reason: str | None = None
    error_type: str | None = None
    no_usage_data: bool = True
    requires_manual_review: bool = True
    estimated: tuple[str, ...] = ()
    interrupted: str | None = None
    service_tier: str | None = None
    speed: str | None = None
    cost_usd: Decimal | None = None
    source: str = "provider"
    backfilled_at: datetime | None = None
    # The record's own error text, or the proxy's (an upstream timeout, a reset). Never holds
    # request headers or bodies.
    error_message: str | None = None
    # Attribution: tags from the request's x-sseusage-tags (`env=prod,team=search`, sorted),
    # and the end user the request body names.
    tags: str | None = None
    end_user: str | None = None
    # Set when the proxy answered the request itself instead of forwarding it: why (e.g.
    # `budget_exceeded`, `body_too_large`).
    refused: str | None = None
    # How sure its estimates are (ledger/estimates.py): the record's ranges and reasons, and
    # the cost's range: low set and high None means open above; both None, no range.
    estimate_ranges: dict[str, tuple[int, int | None]] = field(default_factory=dict, hash=False)
    estimate_reasons: tuple[str, ...] = ()
    cost_low_usd: Decimal | None = None
    cost_high_usd: Decimal | None = None
    # Names the row everywhere it goes (the spool, a replay): writing it twice keeps one row.
    uuid: str = field(default_factory=new_uuid)
    # Set by the ledger when read back; None for a row not yet written.
    id: int | None = None

    @classmethod
    def from_record(cls, record: UsageRecord, *, pricing: Any = None, **meta: Any) -> LedgerRow:
        """The record's usage fields plus request metadata (`ts`, `http_status`, ...). A row
        with a `cost_usd` and estimates gets its cost range too, from `pricing` (the default
        table when None), unless `cost_low_usd` / `cost_high_usd` are given."""
        values: dict[str, Any] = {
            name: getattr(record, name)
            for name in (
                *TOKEN_FIELDS,
                "provider",
                "model",
                "message_id",
                "status",
                "stop_reason",
                "error_type",
                "error_message",
                "no_usage_data",
                "requires_manual_review",
                "interrupted",
                "service_tier",
                "speed",
            )
        }
        values["estimated"] = tuple(record.estimated)
        values["source"] = "estimate" if record.estimated else "provider"
        if record.estimate_ranges:
            values["estimate_ranges"] = dict(record.estimate_ranges)
        values["estimate_reasons"] = tuple(record.estimate_reasons)
        values.update(meta)
        if (
            record.estimate_ranges
            and values.get("cost_usd") is not None
            and "cost_low_usd" not in meta
            and "cost_high_usd" not in meta
        ):
            values["cost_low_usd"], values["cost_high_usd"] = cost_bounds(
                record, values["cost_usd"], pricing
            )
        return cls(**values)

    def tokens(self) -> dict[str, Any]:
        """The token fields (`int | None` each), as `UsageRecord` keyword arguments."""
        return {name: getattr(self, name) for name in TOKEN_FIELDS}

    def with_changes(self, **changes: Any) -> LedgerRow:
        return replace(self, **changes)

    def scrubbed(self, known: Iterable[str] = ()) -> LedgerRow:
        """This row with `known` secrets and key-shaped tokens cut out of its text (an
        upstream may echo the caller's key in its error message, a client may put one in the
        path or the model name). The same row when there is nothing to cut."""
        known = tuple(secret for secret in known if len(secret) >= 4)
        values = [getattr(self, name) or "" for name in TEXT_COLUMNS]
        # One look at all the text at once: nearly every row has nothing to cut.
        joined = "\x00".join(values)
        if not any(secret in joined for secret in known) and not has_secret_shape(joined):
            return self
        changes: dict[str, Any] = {}
        for name, value in zip(TEXT_COLUMNS, values):
            if value:
                scrubbed = scrub_secrets(value, known)
                if scrubbed != value:
                    changes[name] = scrubbed
        return replace(self, **changes) if changes else self


# Column order shared by the schema, inserts and reads (`id` is assigned by the database).
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(LedgerRow) if f.name != "id")

# Columns whose text comes from a client or an upstream.
TEXT_COLUMNS = (
    "path",
    "model",
    "error_message",
    "error_type",
    "stop_reason",
    "message_id",
    "request_id",
    "service_tier",
    "speed",
    "method",
    "tags",
    "end_user",
)

# The row's values in COLUMNS order, as a tuple.
row_values = operator.attrgetter(*COLUMNS)
