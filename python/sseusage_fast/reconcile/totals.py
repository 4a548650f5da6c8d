"""What each side of a reconciliation line holds: token totals per (bucket, group)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sseusage_fast.reconcile.buckets import parse_rfc3339

# The billed token buckets compared, named as in the record. Disjoint on both sides once the
# provider's report is normalised, so a line's drift is a plain sum over them.
COMPARED: tuple[str, ...] = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
)
# Shown beside them, never in the verdict: the TTL split of cache writes (Anthropic) and
# server-tool requests, priced apart.
SHOWN: tuple[str, ...] = (
    "cache_creation_5m_input_tokens",
    "cache_creation_1h_input_tokens",
    "web_search_requests",
)
# The dimensions a line can be grouped by (`--by`), besides its time bucket.
DIMENSIONS: tuple[str, ...] = ("model", "key", "service_tier")


def decimal_text(value: Decimal | None) -> str | None:
    """A plain decimal string without trailing zeros (PostgreSQL's NUMERIC keeps them)."""
    return None if value is None else format(value.normalize(), "f")


class GroupKey(NamedTuple):
    bucket_start: datetime
    model: str | None
    key: str | None
    service_tier: str | None


@dataclass(slots=True)
class Side:
    """Totals of one side (ledger or provider) for one line."""

    tokens: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COMPARED + SHOWN, 0))
    # Requests: the ledger's rows; the provider's `num_model_requests` (OpenAI only, else None).
    requests: int | None = 0
    cost_usd: Decimal | None = None
    # Provider only: what its cost report says was billed (Anthropic, when asked for).
    billed_cost_usd: Decimal | None = None
    # Ledger only: rows whose numbers hold estimates, and the tokens in their estimated fields.
    estimated_requests: int = 0
    estimated_tokens: int = 0
    # Ledger only: rows whose start and end fall in different buckets (see `--count-at`).
    edge_requests: int = 0
    unpriced_requests: int = 0

    def add_tokens(self, values: Mapping[str, int | None]) -> None:
        for name in self.tokens:
            value = values.get(name)
            if value:
                self.tokens[name] += int(value)

    def add_cost(self, cost: Decimal | None) -> None:
        if cost is None:
            self.unpriced_requests += 1
        else:
            self.cost_usd = (self.cost_usd or Decimal(0)) + cost

    def billed(self) -> int:
        return sum(self.tokens[name] for name in COMPARED)

    def to_dict(self, *, ledger: bool) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.tokens)
        out["cost_usd"] = decimal_text(self.cost_usd)
        out["requests"] = self.requests
        if not ledger:
            out["billed_cost_usd"] = decimal_text(self.billed_cost_usd)
        if ledger:
            out["estimated_requests"] = self.estimated_requests
            out["estimated_tokens"] = self.estimated_tokens
            out["edge_requests"] = self.edge_requests
            out["unpriced_requests"] = self.unpriced_requests
        return out


@dataclass(frozen=True, slots=True)
class ProviderResult:
    """One result of one bucket of a provider's usage report, normalised to the record's
    disjoint token buckets."""

    bucket_start: datetime
    bucket_end: datetime | None
    model: str | None
    api_key_id: str | None
    service_tier: str | None
    tokens: dict[str, int]
    requests: int | None
    # Batch API usage: billed, but never through the metering proxy.
    batch: bool = False


class ReportFormatError(ValueError):
    """A usage report that is not in the documented shape."""


def count(obj: Any, name: str, *, where: str) -> int:
    """A non-negative integer field of a report object; absent or null is 0."""
    value = obj.get(name) if isinstance(obj, dict) else None
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ReportFormatError(f"{where}: {name} is not a token count: {value!r}")
    return value


def report_time(obj: Any, name: str, *, where: str) -> datetime:
    """The RFC 3339 time in `obj[name]`, or ReportFormatError naming the field (a number, a
    missing field or a time without an offset is a report we cannot read)."""
    value = obj.get(name) if isinstance(obj, dict) else None
    if isinstance(value, str):
        try:
            return parse_rfc3339(value)
        except ValueError:
            pass
    raise ReportFormatError(f"{where}.{name} is not an RFC 3339 time: {value!r}")


def text_or_none(obj: dict[str, Any], name: str) -> str | None:
    value = obj.get(name)
    return value if isinstance(value, str) and value else None


def page_buckets(page: Any, what: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, bucket) for each bucket of a usage report page's `data` list; a page or bucket
    that is not an object is a ReportFormatError naming `what` or the bucket."""
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise ReportFormatError(f"not {what} (no `data` list)")
    for at, bucket in enumerate(page["data"]):
        where = f"data[{at}]"
        if not isinstance(bucket, dict):
            raise ReportFormatError(f"{where} is not an object")
        yield where, bucket


def bucket_results(results: Any, where: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, result) for each result of the bucket at `where`, checked to be an object."""
    for n, result in enumerate(results or ()):
        here = f"{where}.results[{n}]"
        if not isinstance(result, dict):
            raise ReportFormatError(f"{here} is not an object")
        yield here, result
