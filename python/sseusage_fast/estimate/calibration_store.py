"""The Estimator's calibration kept with the ledger: one small table, `estimator_state`, beside
the ledger's own in the same database (SQLite file or PostgreSQL), so that what a proxy learned
survives restarts and is shared by every process that writes the same ledger.

Additive and separate from the ledger's schema (it has no migration of its own: the table is
created on the first save). Reading never creates a database or a table: a ledger without saved
calibration gives a fresh Estimator.
"""

from __future__ import annotations

import datetime
import os
import sqlite3
from pathlib import Path
from typing import Any

from .estimator import Estimator

TABLE = "estimator_state"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} "
    "(name TEXT PRIMARY KEY, state TEXT NOT NULL, updated_at TEXT NOT NULL)"
)


def _is_postgres(dsn: str) -> bool:
    return dsn.startswith(("postgresql://", "postgres://"))


def _sqlite_path(dsn: str) -> str:
    # As open_ledger: sqlite:///rel.db is relative, sqlite:////abs.db absolute.
    if dsn.startswith("sqlite://"):
        return dsn[len("sqlite://") :].removeprefix("/")
    return dsn


def load_calibration(
    dsn: str | os.PathLike[str], name: str = "default", *, window: int | None = None
) -> Estimator:
    """The Estimator saved under `name` in the ledger at `dsn`, or a fresh one when there is
    none (no database, no table, no row, or a state that does not read)."""
    text = str(dsn)
    state = _read_pg(text, name) if _is_postgres(text) else _read_sqlite(text, name)
    if state is None:
        return Estimator() if window is None else Estimator(window=window)
    try:
        return Estimator.from_json(state)
    except (ValueError, TypeError):
        return Estimator() if window is None else Estimator(window=window)


def save_calibration(
    dsn: str | os.PathLike[str], estimator: Estimator, name: str = "default"
) -> None:
    """Write the estimator's state under `name` (one row, replaced in one statement)."""
    text = str(dsn)
    state = estimator.to_json()
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    if _is_postgres(text):
        import psycopg

        with psycopg.connect(text, connect_timeout=10) as pg:
            pg.execute(_CREATE)
            pg.execute(
                f"INSERT INTO {TABLE} (name, state, updated_at) VALUES (%s, %s, %s) "
                "ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state, "
                "updated_at = EXCLUDED.updated_at",
                (name, state, now),
            )
        return
    with sqlite3.connect(_sqlite_path(text), timeout=10) as conn:
        conn.execute(_CREATE)
        conn.execute(
            f"INSERT INTO {TABLE} (name, state, updated_at) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET state = excluded.state, "
            "updated_at = excluded.updated_at",
            (name, state, now),
        )
    conn.close()


def _read_sqlite(dsn: str, name: str) -> str | None:
    path = _sqlite_path(dsn)
    if path != ":memory:" and not Path(path).is_file():
        return None
    # Read-only: reading never creates or changes the database.
    uri = Path(path).absolute().as_uri() + "?mode=ro" if path != ":memory:" else ":memory:"
    try:
        conn = sqlite3.connect(uri, uri=path != ":memory:", timeout=10)
    except sqlite3.Error:
        return None
    try:
        row = conn.execute(f"SELECT state FROM {TABLE} WHERE name = ?", (name,)).fetchone()
    except sqlite3.Error:  # no such table: nothing saved yet
        return None
    finally:
        conn.close()
    return _text(row)


def _read_pg(dsn: str, name: str) -> str | None:
    import psycopg

    with psycopg.connect(dsn, connect_timeout=10) as conn:
        exists = conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()
        if exists is None or exists[0] is None:
            return None
        row = conn.execute(f"SELECT state FROM {TABLE} WHERE name = %s", (name,)).fetchone()
    return _text(row)


def _text(row: Any) -> str | None:
    return row[0] if row is not None and isinstance(row[0], str) else None
