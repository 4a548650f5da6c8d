"""`sseusage reconcile`: the ledger's tokens beside the provider's usage report, per time
bucket and group, with a verdict per line; and the last result, for the dashboard."""

from __future__ import annotations

from typing import Any

from sseusage_fast.reconcile.match import VERDICTS, Line
from sseusage_fast.reconcile.run import Options, Result, reconcile

__all__ = ["VERDICTS", "Line", "Options", "Result", "last_drift", "reconcile"]


def last_drift(db: Any) -> list[dict[str, Any]]:
    """The last stored reconciliation as drift per UTC day and model (see `store.last_drift`).
    `db` is an open `LedgerReader`, or the DSN of an existing ledger (opened read-only and
    closed here; `LedgerUnavailable` when there is none)."""
    from sseusage_fast.ledger.reader import open_reader
    from sseusage_fast.reconcile import store

    if not isinstance(db, str):
        return store.last_drift(db)
    with open_reader(db) as reader:
        return store.last_drift(reader)
