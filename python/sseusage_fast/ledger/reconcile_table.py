"""The `reconcile_lines` table: the last reconciliation per provider, kept in the ledger for
the dashboard. It is created by the first stored reconciliation (an additive side table that
no ledger migration touches), never by a read; each store replaces its provider's lines."""

from __future__ import annotations

from typing import NamedTuple

TABLE = "reconcile_lines"


class StoredLine(NamedTuple):
    """One stored line: times are RFC 3339 text; tokens are sums over the compared buckets,
    `diff_tokens` the sum of their absolute differences (the line's drift is
    `diff_tokens / provider_tokens`); costs are decimal text."""

    provider: str
    run_at: str
    bucket_start: str
    bucket_width: str
    model: str | None
    group_key: str | None
    service_tier: str | None
    verdict: str
    ledger_tokens: int
    provider_tokens: int
    diff_tokens: int
    ledger_cost_usd: str | None
    provider_cost_usd: str | None


COLUMNS = ", ".join(StoredLine._fields)
CREATE = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    provider TEXT NOT NULL,
    run_at TEXT NOT NULL,
    bucket_start TEXT NOT NULL,
    bucket_width TEXT NOT NULL,
    model TEXT,
    group_key TEXT,
    service_tier TEXT,
    verdict TEXT NOT NULL,
    ledger_tokens BIGINT NOT NULL,
    provider_tokens BIGINT NOT NULL,
    diff_tokens BIGINT NOT NULL,
    ledger_cost_usd TEXT,
    provider_cost_usd TEXT
)"""
