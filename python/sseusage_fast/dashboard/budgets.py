"""Budgets shown on the dashboard: the proxy config's `[[budget]]` tables, and how much of
each the ledger says is spent in its current window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sseusage_fast.ledger.reader import LedgerReader
from sseusage_fast.query import Filters, parse_when


@dataclass(frozen=True)
class Budget:
    usd: Decimal
    window: str = "day"  # "day" or "month" (UTC), or a rolling "24h", "7d"
    tag: str | None = None
    key: str | None = None

    @property
    def label(self) -> str:
        who = f"tag {self.tag}" if self.tag else f"key {self.key}" if self.key else "all"
        return f"{who} ({self.window})"

    def window_start(self, now: datetime) -> datetime:
        if self.window == "day":
            return now.replace(hour=0, minute=0, second=0, microsecond=0)
        if self.window == "month":
            return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return parse_when(self.window, now=now)


def budgets_from_config(path: str | Path) -> list[Budget]:
    """The `[[budget]]` tables of a proxy config file (TOML). ValueError names a bad one."""
    import tomllib

    with open(path, "rb") as f:
        data = tomllib.load(f)
    return budgets_from_list(data.get("budget", []))


def budgets_from_list(items: Any) -> list[Budget]:
    out = []
    for n, item in enumerate(items if isinstance(items, list) else [], 1):
        if not isinstance(item, dict):
            raise ValueError(f"budget {n}: not a table")  # noqa: TRY004 - a bad config value
        try:
            usd = Decimal(str(item["usd"]))
        except (KeyError, InvalidOperation):
            raise ValueError(f"budget {n}: usd must be a decimal amount") from None
        window = str(item.get("window", "day"))
        budget = Budget(usd=usd, window=window, tag=item.get("tag"), key=item.get("key"))
        try:
            budget.window_start(datetime.now(timezone.utc))
        except ValueError:
            raise ValueError(f"budget {n}: window {window!r}: day, month or like 24h") from None
        out.append(budget)
    return out


def budget_use(
    reader: LedgerReader, budgets: list[Budget], now: datetime
) -> list[tuple[Budget, Decimal]]:
    """Each budget with the spend in its current window."""
    from sseusage_fast.reporting import build_report

    out = []
    for budget in budgets:
        filters = Filters(
            since=budget.window_start(now),
            tags=(budget.tag,) if budget.tag else (),
            keys=(budget.key,) if budget.key else (),
        )
        out.append((budget, Decimal(build_report(reader, filters)["cost_usd"])))
    return out
