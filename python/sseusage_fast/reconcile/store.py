"""The last reconciliation, kept in the ledger for the dashboard (the `reconcile_lines` table,
stored and read through `LedgerReader`): each run replaces the lines of its provider."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sseusage_fast.ledger.reader import LedgerReader
from sseusage_fast.ledger.reconcile_table import StoredLine
from sseusage_fast.reconcile.buckets import rfc3339
from sseusage_fast.reconcile.match import VERDICTS, WITHIN, Line
from sseusage_fast.reconcile.totals import decimal_text


def save(
    reader: LedgerReader, provider: str, width: str, lines: Sequence[Line], run_at: datetime
) -> None:
    """Replace `provider`'s stored lines with these (a reader opened with `write=True`)."""
    stored = [
        StoredLine(
            provider=provider,
            run_at=rfc3339(run_at),
            bucket_start=rfc3339(line.group.bucket_start),
            bucket_width=width,
            model=line.group.model,
            group_key=line.group.key,
            service_tier=line.group.service_tier,
            verdict=line.verdict,
            ledger_tokens=line.ledger.billed(),
            provider_tokens=line.provider.billed(),
            diff_tokens=sum(abs(value) for value in line.diff.values()),
            ledger_cost_usd=decimal_text(line.ledger.cost_usd),
            provider_cost_usd=decimal_text(line.provider.cost_usd),
        )
        for line in lines
    ]
    reader.replace_reconcile_lines(provider, stored)


def last_drift(reader: LedgerReader) -> list[dict[str, Any]]:
    """The last reconciliation per provider, as drift per UTC day and model: ledger and
    provider tokens and cost, the drift share (the lines' summed |ledger - provider| per token
    bucket over the provider's tokens, as each line's drift; None when the provider billed
    nothing), the worst verdict of the day's lines, and
    when it ran. Empty when reconcile never stored a result in this ledger."""
    days: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    for line in reader.reconcile_lines():
        day = days.setdefault(
            (line.provider, line.bucket_start[:10], line.model),
            {
                "provider": line.provider,
                "day": line.bucket_start[:10],
                "model": line.model,
                "ledger_tokens": 0,
                "provider_tokens": 0,
                "abs_diff": 0,
                "ledger_cost_usd": None,
                "provider_cost_usd": None,
                "verdict": WITHIN,
                "lines": 0,
                "run_at": line.run_at,
            },
        )
        ours, theirs = int(line.ledger_tokens), int(line.provider_tokens)
        day["ledger_tokens"] += ours
        day["provider_tokens"] += theirs
        day["abs_diff"] += int(line.diff_tokens)
        day["lines"] += 1
        for name in ("ledger_cost_usd", "provider_cost_usd"):
            value = getattr(line, name)
            if value is not None:
                day[name] = (day[name] or Decimal(0)) + Decimal(value)
        if VERDICTS.index(line.verdict) > VERDICTS.index(day["verdict"]):
            day["verdict"] = line.verdict
    out = []
    for day in days.values():
        theirs = day["provider_tokens"]
        share = Decimal(day.pop("abs_diff")) / theirs if theirs else None
        day["drift"] = None if share is None else str(share.quantize(Decimal("0.000001")))
        for name in ("ledger_cost_usd", "provider_cost_usd"):
            day[name] = decimal_text(day[name])
        out.append(day)
    return out
