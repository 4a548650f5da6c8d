"""The ledger's side: its rows for one provider (read by `LedgerReader.rows_between`), summed
per line.

A row counts in the bucket of its request start (`ts`) or of its end (`ts` + `latency_ms`),
as `count_at` says; rows whose two ends fall in different buckets are counted as
`edge_requests` of the line they land in, so a drift they could cause is visible.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sseusage_fast.ledger import LedgerRow
from sseusage_fast.reconcile.buckets import floor
from sseusage_fast.reconcile.totals import COMPARED, SHOWN, GroupKey, Side

COUNT_AT = ("end", "start")
# Rows are read from this long before `since`, so that a long stream that started earlier
# but ended inside the window is found when counting at the end.
LOOKBEHIND = timedelta(days=1)


def _row_end(row: LedgerRow) -> datetime:
    return row.ts + timedelta(milliseconds=row.latency_ms or 0)


def group_rows(
    rows: Iterable[LedgerRow],
    *,
    providers: Iterable[str],
    by: Iterable[str],
    width: str,
    since: datetime,
    until: datetime,
    count_at: str,
) -> dict[GroupKey, Side]:
    """Ledger rows of `providers` summed per line. Rows that hold estimates count at their
    estimated values (the best figure the ledger has) and are tallied apart: how many, and
    how many tokens sit in their estimated fields."""
    wanted = set(providers)
    by = set(by)
    out: dict[GroupKey, Side] = {}
    for row in rows:
        if row.provider not in wanted:
            continue
        start, end = row.ts, _row_end(row)
        when = end if count_at == "end" else start
        if not since <= when < until:
            continue
        bucket = floor(when, width)
        other = floor(start if count_at == "end" else end, width)
        group = GroupKey(
            bucket,
            row.model if "model" in by else None,
            row.key_fingerprint if "key" in by else None,
            row.service_tier if "service_tier" in by else None,
        )
        side = out.get(group)
        if side is None:
            side = out[group] = Side()
        side.requests = (side.requests or 0) + 1
        tokens = {name: getattr(row, name) for name in COMPARED + SHOWN}
        side.add_tokens(tokens)
        if row.cost_usd is not None or any(tokens[name] for name in COMPARED):
            side.add_cost(row.cost_usd)  # a row that billed nothing is not "unpriced"
        if row.estimated:
            side.estimated_requests += 1
            side.estimated_tokens += sum(
                getattr(row, name) or 0 for name in row.estimated if name in COMPARED
            )
        if other != bucket:
            side.edge_requests += 1
    return out
