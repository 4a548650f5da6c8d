"""The last reconciliation, kept in the ledger for the dashboard: one small table of its own,
`reconcile_lines`, created on first use (additive: no ledger migration touches it). Each run
replaces the lines of its provider."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sseusage_fast.reconcile.match import VERDICTS, WITHIN, Line
from sseusage_fast.reconcile.totals import decimal_text
from sseusage_fast.reconcile.window import rfc3339

TABLE = "reconcile_lines"
_CREATE = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
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
    ledger_cost_usd TEXT,
    provider_cost_usd TEXT
)"""
_COLUMNS = (
    "provider, run_at, bucket_start, bucket_width, model, group_key, service_tier, verdict, "
    "ledger_tokens, provider_tokens, ledger_cost_usd, provider_cost_usd"
)


def _exists(ledger: Any, conn: Any) -> bool:
    if ledger.dialect == "sqlite":
        sql = f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{TABLE}'"
        return conn.execute(sql).fetchone() is not None
    found = conn.execute(f"SELECT to_regclass('{TABLE}')").fetchone()
    return found is not None and found[0] is not None


def save(ledger: Any, provider: str, width: str, lines: Sequence[Line], run_at: datetime) -> None:
    """Replace `provider`'s stored lines with these, in one transaction. Goes through the
    SQL ledger's reader connection (the ledger has no public hook for extra tables yet)."""
    p = ledger.placeholder
    insert = f"INSERT INTO {TABLE} ({_COLUMNS}) VALUES ({', '.join([p] * 12)})"
    values = [
        (
            provider,
            rfc3339(run_at),
            rfc3339(line.group.bucket_start),
            width,
            line.group.model,
            line.group.key,
            line.group.service_tier,
            line.verdict,
            line.ledger.billed(),
            line.provider.billed(),
            decimal_text(line.ledger.cost_usd),
            decimal_text(line.provider.cost_usd),
        )
        for line in lines
    ]
    with ledger._lock:
        conn = ledger._reader()
        with ledger._transaction(conn):
            conn.execute(_CREATE)
            conn.execute(f"DELETE FROM {TABLE} WHERE provider = {p}", (provider,))
            for row in values:
                conn.execute(insert, row)


def last_drift(ledger: Any) -> list[dict[str, Any]]:
    """The last reconciliation per provider, as drift per UTC day and model: ledger and
    provider tokens and cost, the drift share (|ledger - provider| / provider over the day's
    lines, None when the provider billed nothing), the worst verdict of the day's lines, and
    when it ran. Empty when reconcile never stored a result in this ledger."""
    with ledger._lock:
        conn = ledger._reader()
        with ledger._transaction(conn):
            if not _exists(ledger, conn):
                return []
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM {TABLE} ORDER BY bucket_start, model"
            ).fetchall()
    days: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for provider, run_at, start, _w, model, _k, _t, verdict, ours, theirs, lc, pc in rows:
        day = days.setdefault(
            (provider, start[:10], model),
            {
                "provider": provider,
                "day": start[:10],
                "model": model,
                "ledger_tokens": 0,
                "provider_tokens": 0,
                "abs_diff": 0,
                "ledger_cost_usd": None,
                "provider_cost_usd": None,
                "verdict": WITHIN,
                "lines": 0,
                "run_at": run_at,
            },
        )
        day["ledger_tokens"] += int(ours)
        day["provider_tokens"] += int(theirs)
        day["abs_diff"] += abs(int(ours) - int(theirs))
        day["lines"] += 1
        for name, value in (("ledger_cost_usd", lc), ("provider_cost_usd", pc)):
            if value is not None:
                day[name] = (day[name] or Decimal(0)) + Decimal(value)
        if VERDICTS.index(verdict) > VERDICTS.index(day["verdict"]):
            day["verdict"] = verdict
    out = []
    for day in days.values():
        theirs = day["provider_tokens"]
        share = Decimal(day.pop("abs_diff")) / theirs if theirs else None
        day["drift"] = None if share is None else str(share.quantize(Decimal("0.000001")))
        for name in ("ledger_cost_usd", "provider_cost_usd"):
            day[name] = decimal_text(day[name])
        out.append(day)
    return out
