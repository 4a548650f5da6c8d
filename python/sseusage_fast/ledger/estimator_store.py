"""The estimator the proxy calibrated, kept in the ledger itself (table `estimator_state`), so
that `backfill` re-estimates with it and no file has to be carried around.

The table is created on first save (`IF NOT EXISTS`), outside the numbered migrations: it is
optional, and an older ledger without it simply has no saved estimator.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sseusage_fast.estimate import Estimator
    from sseusage_fast.ledger.base import SQLLedger
    from sseusage_fast.ledger.reader import LedgerReader

TABLE = (
    "CREATE TABLE IF NOT EXISTS estimator_state "
    "(name TEXT PRIMARY KEY, saved_at TEXT NOT NULL, state TEXT NOT NULL)"
)
NAME = "default"


def save_estimator(ledger: SQLLedger, estimator: Estimator) -> None:
    """Store the estimator's learned state, replacing the previous one."""
    p = ledger.placeholder
    state = estimator.to_json()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with ledger._lock:
        conn = ledger._reader()
        with ledger._transaction(conn):
            conn.execute(TABLE)
            conn.execute(
                f"INSERT INTO estimator_state (name, saved_at, state) VALUES ({p}, {p}, {p}) "
                "ON CONFLICT (name) DO UPDATE SET saved_at = excluded.saved_at, "
                "state = excluded.state",
                (NAME, stamp, state),
            )


def load_saved_estimator(ledger: SQLLedger) -> Estimator | None:
    """The stored estimator, read through the ledger's own connection (the proxy at start),
    or None when there is none or it is unreadable, or when the ledger opened without its
    database (down at start: no connect attempt here that would hold the start up)."""
    p = ledger.placeholder
    with ledger._lock:
        conn = ledger._conn
        if conn is None:
            return None
        with ledger._transaction(conn):
            conn.execute(TABLE)
            found = conn.execute(
                f"SELECT state FROM estimator_state WHERE name = {p}", (NAME,)
            ).fetchall()
    return _estimator(found)


def load_estimator(reader: LedgerReader) -> Estimator | None:
    """The stored estimator, or None when the ledger has none (or an unreadable one)."""
    if not reader.has_table("estimator_state"):
        return None
    p = reader.placeholder
    found = reader.fetchall(f"SELECT state FROM estimator_state WHERE name = {p}", [NAME])
    if reader.dialect != "sqlite":
        reader.conn.rollback()
    return _estimator(found)


def _estimator(found: list[Any]) -> Estimator | None:
    # The one row's state, or None when there is none or it is not an Estimator state.
    from sseusage_fast.estimate import Estimator

    if not found:
        return None
    try:
        return Estimator.from_json(found[0][0])
    except ValueError:
        return None
