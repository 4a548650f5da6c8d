"""The ledger's side: its rows for one provider, summed per line.

A row counts in the bucket of its request start (`ts`) or of its end (`ts` + `latency_ms`),
as `count_at` says; rows whose two ends fall in different buckets are counted as
`edge_requests` of the line they land in, so a drift they could cause is visible.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sseusage_fast.ledger import Ledger, LedgerRow
from sseusage_fast.reconcile.totals import COMPARED, SHOWN, GroupKey, Side
from sseusage_fast.reconcile.window import floor

COUNT_AT = ("end", "start")
# Rows are read from this long before `since`, so that a long stream that started earlier
# but ended inside the window is found when counting at the end.
LOOKBEHIND = timedelta(days=1)
PAGE = 1000


class LedgerMissing(Exception):
    """The ledger named does not exist (reconcile never creates one)."""


def sqlite_path(dsn: str) -> str | None:
    """The file a SQLite DSN names (None for PostgreSQL), as `open_ledger` reads it."""
    if dsn.startswith(("postgresql://", "postgres://")):
        return None
    if dsn.startswith("sqlite://"):
        return dsn[len("sqlite://") :].removeprefix("/")
    return dsn


def open_existing(dsn: str) -> Ledger:
    """Open a ledger that exists, without a spool; LedgerMissing when the SQLite file or the
    PostgreSQL `requests` table is not there (opening would otherwise create them).

    Until the read-only opener of the reports work lands, this checks first, then opens
    through `open_ledger`."""
    from sseusage_fast.ledger import open_ledger

    path = sqlite_path(dsn)
    if path is not None:
        if path == ":memory:" or not Path(path).is_file():
            raise LedgerMissing(f"no ledger at {path}")
        return open_ledger(dsn, spool=False)
    import psycopg

    with psycopg.connect(dsn, autocommit=True, connect_timeout=5) as conn:
        found = conn.execute("SELECT to_regclass('requests')").fetchone()
    if found is None or found[0] is None:
        raise LedgerMissing("no ledger in that PostgreSQL database (no requests table)")
    return open_ledger(dsn, spool=False)


def rows_between(
    ledger: Any, start: datetime, end: datetime, providers: Sequence[str]
) -> Iterator[LedgerRow]:
    """Rows of `providers` with start <= ts < end, paged by id (bounded memory). Uses the SQL
    ledger's read helpers: the public `rows()` has no time filter yet."""
    from sseusage_fast.ledger.row import COLUMNS

    p = ledger.placeholder
    sql = (
        f"SELECT id, {', '.join(COLUMNS)} FROM requests "
        f"WHERE ts >= {p} AND ts < {p} AND provider IN ({', '.join([p] * len(providers))}) "
        f"AND id > {p} ORDER BY id LIMIT {PAGE}"
    )
    low, high = ledger._to_db("ts", start), ledger._to_db("ts", end)
    last_id = 0
    while True:
        page = ledger._fetchall(sql, [low, high, *providers, last_id])
        if not page:
            return
        for values in page:
            yield ledger._row(values)
        last_id = page[-1][0]


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
        if floor(start, width) != floor(end, width):
            side.edge_requests += 1
    return out
