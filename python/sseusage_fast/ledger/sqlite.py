"""The embedded ledger: one SQLite file in WAL mode (readers never wait for the proxy)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from sseusage_fast.ledger.base import SQLLedger
from sseusage_fast.ledger.checkpoint import WRITER_AUTOCHECKPOINT_PAGES, Checkpointer
from sseusage_fast.ledger.estimates import JSON_COLUMNS
from sseusage_fast.ledger.row import COLUMNS

_BOOLS = {"no_usage_data", "requires_manual_review"}
_TIMES = {"ts", "backfilled_at"}
_DECIMALS = {"cost_usd", "cost_low_usd", "cost_high_usd"}


class DecimalSum:
    """SUM over decimal strings, exact (SQLite's own SUM would go through floats)."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: str | None) -> None:
        if value is not None:
            self.total = (self.total or Decimal(0)) + Decimal(value)

    def finalize(self) -> str | None:
        return None if self.total is None else str(self.total)


class SQLiteLedger(SQLLedger):
    dialect = "sqlite"
    placeholder = "?"
    day_expr = "substr(ts, 1, 10)"
    cost_sum_expr = "decimal_sum(cost_usd)"
    converted_columns = (
        *sorted(_TIMES),
        *sorted(_BOOLS),
        "estimated",
        *sorted(_DECIMALS),
        "estimate_ranges",
        "estimate_reasons",
    )
    # SQLite before 3.32 takes at most 999 parameters per statement (one per column and row).
    rows_per_insert = 100 if sqlite3.sqlite_version_info >= (3, 32) else 999 // len(COLUMNS)

    def __init__(self, path: str | Path, *, spool: str | Path | None = None) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(spool)
        # WAL checkpoints off the writer thread (see checkpoint.py).
        self._checkpointer = Checkpointer(self._connect) if self.path != ":memory:" else None

    def close(self, timeout: float | None = None) -> dict[str, Any]:
        report = super().close(timeout)
        if self._checkpointer is not None:
            self._checkpointer.close()
        return report

    def _writer_session(self, conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA wal_autocheckpoint = {WRITER_AUTOCHECKPOINT_PAGES}")

    def _connect(self) -> sqlite3.Connection:
        # Autocommit mode: transactions are explicit (BEGIN IMMEDIATE in _transaction).
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # Another process holding the write lock makes a batch wait this long, then fail and
        # go to the spool.
        conn.execute("PRAGMA busy_timeout = 3000")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode: a power cut can lose the last commits, never corrupt the file.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.create_aggregate("decimal_sum", 1, DecimalSum)  # type: ignore[arg-type]
        return conn

    @contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _interrupt(self, conn: sqlite3.Connection) -> None:
        conn.interrupt()  # thread safe: the statement in progress fails with "interrupted"

    def _lock_for_migration(self, conn: sqlite3.Connection) -> None:
        pass  # BEGIN IMMEDIATE already holds the write lock.

    def _to_db(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        if name in _TIMES:
            return value.astimezone(timezone.utc).isoformat()
        if name in _BOOLS:
            return int(value)
        if name in _DECIMALS:
            return str(value)
        codec = JSON_COLUMNS.get(name)
        return value if codec is None else codec[0](value)

    def _from_db(self, name: str, value: Any) -> Any:
        return from_db(name, value)


def from_db(name: str, value: Any) -> Any:
    """A stored value of column `name` as the `LedgerRow` field holds it (the ledger's reads
    and `LedgerReader.rows_between`)."""
    codec = JSON_COLUMNS.get(name)
    if codec is not None:
        return codec[1](value)
    if value is None:
        return None
    if name in _TIMES:
        return datetime.fromisoformat(value)
    if name in _BOOLS:
        return bool(value)
    if name in _DECIMALS:
        return Decimal(value)
    return value


# The columns `from_db` changes.
CONVERTED = SQLiteLedger.converted_columns
