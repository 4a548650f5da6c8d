"""`sseusage reconcile`: the ledger's tokens beside the provider's usage report, per time
bucket and group, with a verdict per line; and the last result, for the dashboard."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sseusage_fast.reconcile.match import VERDICTS, Line

if TYPE_CHECKING:
    from sseusage_fast.reconcile.run import Options, Result, reconcile

__all__ = ["VERDICTS", "Line", "Options", "Result", "last_drift", "reconcile"]


def __getattr__(name: str) -> Any:
    # The run (report readers, HTTP client, ledger reader) is imported when first used, so
    # registering the `reconcile` command costs every other command nothing.
    if name in ("Options", "Result", "reconcile"):
        from sseusage_fast.reconcile import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
