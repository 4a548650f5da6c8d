"""The Estimator's calibration kept in the ledger's database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from sseusage_fast.estimate import Estimator, text_stats
from sseusage_fast.estimate.calibration_store import TABLE, load_calibration, save_calibration
from sseusage_fast.ledger import open_ledger
from sseusage_fast.record import UsageRecord

TEXT = "The harbour master posts the tide tables each morning, and the sailors read them. " * 3


def taught() -> Estimator:
    est = Estimator()
    stats = text_stats(TEXT)
    for output, reasoning in ((120, 40), (130, 60), (125, 50)):
        record = UsageRecord(
            status="complete",
            model="o3",
            provider="openai",
            output_tokens=output,
            reasoning_tokens=reasoning,
        )
        est.observe(record, output_stats=stats)
    return est


def check_round_trip(dsn: str) -> None:
    est = taught()
    save_calibration(dsn, est)
    again = load_calibration(dsn)
    assert again.to_json() == est.to_json()
    assert again.ratio("o3", "reasoning") == 50
    # Saving again replaces the row; another name is kept apart.
    save_calibration(dsn, Estimator(), name="other")
    assert load_calibration(dsn).to_json() == est.to_json()
    assert load_calibration(dsn, "other").learned == 0


def test_sqlite_beside_the_ledger(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    ledger = open_ledger(db)
    try:
        check_round_trip(str(db))
        check_round_trip(f"sqlite:///{db}")  # sqlite:////abs/path (db is absolute)
        # The ledger's own tables are untouched: it still opens and counts.
        assert ledger.count() == 0
    finally:
        ledger.close()


def test_reading_never_creates(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    assert load_calibration(missing).learned == 0
    assert not missing.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert load_calibration(empty).learned == 0
    with sqlite3.connect(empty) as conn:
        tables = conn.execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == []


def test_a_bad_state_gives_a_fresh_estimator(tmp_path: Path) -> None:
    db = tmp_path / "usage.db"
    save_calibration(db, taught())
    with sqlite3.connect(db) as conn:
        conn.execute(f"UPDATE {TABLE} SET state = 'not json'")
    assert load_calibration(db).learned == 0


@pytest.mark.skipif(not os.environ.get("SSEUSAGE_TEST_PG_DSN"), reason="needs SSEUSAGE_TEST_PG_DSN")
def test_postgres() -> None:
    import psycopg

    dsn = os.environ["SSEUSAGE_TEST_PG_DSN"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
    assert load_calibration(dsn).learned == 0  # no table yet: nothing created
    with psycopg.connect(dsn) as conn:
        assert conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone() == (None,)
    check_round_trip(dsn)
