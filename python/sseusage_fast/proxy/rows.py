"""One request's ledger row: what the relay learned, the record, its cost, and its log line."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from sseusage_fast.ledger import LedgerRow
from sseusage_fast.proxy.attribution import tags_text
from sseusage_fast.record import TOKEN_FIELDS, UsageRecord

log = logging.getLogger("sseusage_fast.proxy")


@dataclass(slots=True)
class RequestInfo:
    """What is known about one request before and while it is relayed."""

    started: float
    ts: Any
    method: str
    path: str
    provider: str
    model: str | None
    billable: bool
    key_fingerprint: str | None
    # Key and auth header values of this request: scrubbed from any text that is logged.
    secrets: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    end_user: str | None = None
    # The request's hold on its budgets (budgets.py), settled when its row is written.
    hold: Any = None
    # ensure_usage asked the upstream for usage the client did not ask for: hide it.
    hide_usage: bool = False
    # Why the proxy answered instead of forwarding (`budget_exceeded`, `body_too_large`, ...).
    refused: str | None = None
    # The status is the proxy's own (502/504 for an upstream that failed), not the provider's.
    proxy_answered: bool = False
    ttfb_ms: float | None = None
    http_status: int | None = None
    request_id: str | None = None


def unbilled(record: UsageRecord) -> UsageRecord:
    """The record of a request the provider does not bill: no estimates, nothing to review."""
    cleared: dict[str, Any] = {name: None for name in record.estimated if name in TOKEN_FIELDS}
    return replace(
        record,
        requires_manual_review=False,
        estimated=(),
        estimate_ranges={},
        estimate_reasons=(),
        **cleared,
    )


def final_record(req: RequestInfo, record: UsageRecord) -> UsageRecord:
    """The record as the row keeps it: unbilled requests cleared, the request's own model and
    provider where the response named none."""
    status = req.http_status
    # A request the provider cannot bill (an error answer, a model list) has nothing to
    # review, and must not carry estimated tokens into the totals.
    provider_error = status is not None and not 200 <= status < 300 and not req.proxy_answered
    if not req.billable or provider_error or req.refused:
        record = unbilled(record)
    if record.model is None and req.model is not None:
        record = replace(record, model=req.model)
    if record.provider is None and req.provider != "auto":
        record = replace(record, provider=req.provider)
    return record


def build_row(
    req: RequestInfo, record: UsageRecord, *, ended: float, cost_usd: Any, pricing: Any = None
) -> LedgerRow:
    """The request's row; `pricing` (the table `cost_usd` came from) prices the cost range."""
    return LedgerRow.from_record(
        record,
        pricing=pricing,
        ts=req.ts,
        latency_ms=round((ended - req.started) * 1000, 3),
        ttfb_ms=None if req.ttfb_ms is None else round(req.ttfb_ms, 3),
        http_status=req.http_status,
        method=req.method,
        path=req.path,
        request_id=req.request_id,
        key_fingerprint=req.key_fingerprint,
        cost_usd=cost_usd,
        tags=tags_text(req.tags),
        end_user=req.end_user,
        refused=req.refused,
    )


class Coster:
    """Prices records with the default table, loaded on first use; `None` when it cannot."""

    def __init__(self, pricing: Any = None) -> None:
        self._pricing = pricing
        self._loaded = pricing is not None

    def load(self) -> None:
        """Load the default table now (the proxy's startup does, off the event loop: loading
        it takes about 0.15 s, 0.2 s under load, which on first use stalled every stream)."""
        if not self._loaded:
            self._loaded = True
            try:
                from sseusage_fast.pricing import Pricing

                self._pricing = Pricing.default()
            except Exception:
                log.warning("no pricing table available; cost_usd is left empty", exc_info=True)

    @property
    def pricing(self) -> Any:
        """The table the costs come from (None before it is loaded, or when it cannot be)."""
        return self._pricing

    def cost(self, record: UsageRecord) -> Any:
        if not self._loaded:
            self.load()
        if self._pricing is None or record.model is None:
            return None
        try:
            return self._pricing.cost(record)
        except Exception:
            log.exception("pricing failed for model %r", record.model)
            return None


def log_row(row: LedgerRow) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    flags = []
    if row.requires_manual_review:
        flags.append("REVIEW")
    if row.estimated:
        flags.append("estimated=" + ",".join(row.estimated))
    if row.interrupted:
        flags.append(row.interrupted)
    # The path only: a query string can hold an API key (?key=).
    log.info(
        "%s %s %s %s model=%s in=%s out=%s cache_write=%s cache_read=%s usage=%s%s "
        "%.0fms key=%s cost=%s",
        row.method,
        row.path,
        row.http_status,
        row.provider or "-",
        row.model or "-",
        row.input_tokens,
        row.output_tokens,
        row.cache_creation_input_tokens,
        row.cache_read_input_tokens,
        row.status,
        (" " + " ".join(flags)) if flags else "",
        row.latency_ms or 0,
        row.key_fingerprint or "-",
        row.cost_usd,
        extra={"row": row},
    )
