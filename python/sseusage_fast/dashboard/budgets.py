"""Budgets shown on the dashboard: the proxy's own `Budget`s (its config file's `[[budget]]`
tables, checked as the proxy checks them), and how much of each the ledger says is spent in
its current window."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from sseusage_fast.ledger.reader import LedgerReader
from sseusage_fast.proxy.config import Budget, window_start
from sseusage_fast.query import Filters


def budget_label(budget: Budget) -> str:
    who = f"tag {budget.tag}" if budget.tag else f"key {budget.key}"
    return f"{who} ({budget.window})"


def budget_use(
    reader: LedgerReader, budgets: Iterable[Budget], now: datetime
) -> list[tuple[Budget, Decimal]]:
    """Each budget with the spend in its current window."""
    from sseusage_fast.reporting import build_report

    out = []
    for budget in budgets:
        filters = Filters(
            since=window_start(budget, now),
            tags=(budget.tag,) if budget.tag else (),
            keys=(budget.key,) if budget.key else (),
        )
        out.append((budget, Decimal(build_report(reader, filters)["cost_usd"])))
    return out
