"""Where the proxy records each request: SQLite (default, a file) or PostgreSQL (shared)."""

from __future__ import annotations

from pathlib import Path

from sseusage_fast.ledger.base import GroupTotals, Ledger
from sseusage_fast.ledger.row import COLUMNS, SOURCES, Capture, LedgerRow

__all__ = [
    "COLUMNS",
    "SOURCES",
    "Capture",
    "GroupTotals",
    "Ledger",
    "LedgerRow",
    "open_ledger",
]


def open_ledger(dsn: str | Path, *, spool: str | Path | bool = True) -> Ledger:
    """`postgresql://...` (or `postgres://`) opens PostgreSQL; `sqlite:///path` or a plain
    path opens a SQLite file. Applies any pending schema migrations.

    `spool`: where rows go while the database cannot take them (JSON lines, replayed when it
    is back; each process writes `<spool>.<pid>` beside it, see spool.py). True: the default
    place (next to a SQLite file; for PostgreSQL a file under $XDG_STATE_HOME/sseusage, named
    after the DSN without its password); False: none (rows wait in memory, retried, and go to
    stderr at close if the database never comes back); or a path."""
    text = str(dsn)
    if text.startswith(("postgresql://", "postgres://")):
        from sseusage_fast.ledger.postgres import PostgresLedger, default_spool_path

        path = default_spool_path(text) if spool is True else spool or None
        return PostgresLedger(text, spool=path)
    if text.startswith("sqlite://"):
        text = text[len("sqlite://") :]
        # sqlite:///rel.db is relative, sqlite:////abs.db absolute (SQLAlchemy's convention).
        text = text.removeprefix("/")
    from sseusage_fast.ledger.sqlite import SQLiteLedger

    if spool is True:
        path = None if text == ":memory:" else Path(text + ".spool.jsonl")
    else:
        path = spool or None
    return SQLiteLedger(text, spool=path)
