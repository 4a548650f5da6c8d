"""Where the proxy records each request: SQLite (default, a file) or PostgreSQL (shared)."""

from __future__ import annotations

from pathlib import Path

from sseusage_fast.ledger.base import Capture, GroupTotals, Ledger
from sseusage_fast.ledger.row import COLUMNS, SOURCES, LedgerRow

__all__ = [
    "COLUMNS",
    "SOURCES",
    "Capture",
    "GroupTotals",
    "Ledger",
    "LedgerRow",
    "open_ledger",
]


def open_ledger(dsn: str | Path) -> Ledger:
    """`postgresql://...` (or `postgres://`) opens PostgreSQL; `sqlite:///path` or a plain
    path opens a SQLite file. Applies any pending schema migrations."""
    text = str(dsn)
    if text.startswith(("postgresql://", "postgres://")):
        from sseusage_fast.ledger.postgres import PostgresLedger

        return PostgresLedger(text)
    if text.startswith("sqlite://"):
        text = text[len("sqlite://") :]
        # sqlite:///rel.db is relative, sqlite:////abs.db absolute (SQLAlchemy's convention).
        text = text.removeprefix("/")
    from sseusage_fast.ledger.sqlite import SQLiteLedger

    return SQLiteLedger(text)
