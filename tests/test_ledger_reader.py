"""`LedgerReader`'s public reads and its one small write, on SQLite and PostgreSQL: rows in a
time window by provider and model, and the stored reconciliation lines (read without ever
creating the table; written only through a reader opened for writing)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_data import DAY, NEXT_DAY, ROWS, fill
from sseusage_fast.ledger import COLUMNS, open_ledger, reconcile_table
from sseusage_fast.ledger.reader import open_reader
from sseusage_fast.ledger.reconcile_table import TABLE, StoredLine
from sseusage_fast.ledger.schema import migrations


def _line(provider: str, day: str, model: str, ours: int, theirs: int) -> StoredLine:
    return StoredLine(
        provider=provider,
        run_at="2026-11-05T00:00:00Z",
        bucket_start=f"{day}T00:00:00Z",
        bucket_width="1d",
        model=model,
        group_key=None,
        service_tier=None,
        verdict="within_tolerance" if ours == theirs else "under_metered",
        ledger_tokens=ours,
        provider_tokens=theirs,
        diff_tokens=abs(ours - theirs),
        ledger_cost_usd="0.015",
        provider_cost_usd=None,
    )


def test_rows_between_by_window_provider_and_model(dsn: str) -> None:
    fill(dsn, attribution=False)
    with open_reader(dsn) as reader:
        everything = list(reader.rows_between(DAY - timedelta(days=1), NEXT_DAY + timedelta(1)))
        first_day = list(reader.rows_between(DAY, DAY + timedelta(hours=1)))
        openai = list(reader.rows_between(DAY, NEXT_DAY + timedelta(1), providers=["openai"]))
        sonnet = list(
            reader.rows_between(
                DAY, NEXT_DAY, providers=["anthropic"], models=["claude-sonnet-4-5", "x"]
            )
        )
        # The end is exclusive.
        assert list(reader.rows_between(DAY - timedelta(hours=1), DAY)) == []
    assert [r.request_id for r in everything] == ["r1", "r2", "r3", "r4", "r5"]
    assert [r.request_id for r in first_day] == ["r1", "r2", "r3"]
    assert [r.request_id for r in openai] == ["r5"]
    assert [r.request_id for r in sonnet] == ["r1", "r2"]
    # Every field reads back as the ledger wrote it, whichever database.
    for got, wrote in zip(everything, ROWS):
        assert got.id is not None
        for name in COLUMNS:
            assert getattr(got, name) == getattr(wrote, name), name
    r3 = everything[2]
    assert r3.estimated == ("input_tokens", "output_tokens") and r3.requires_manual_review
    assert isinstance(everything[0].cost_usd, Decimal) and everything[0].ts.tzinfo is not None


def test_rows_between_on_a_ledger_older_than_its_columns(tmp_path: Path) -> None:
    """A version-1 ledger (no error_message, no uuid) is read as it is: never migrated."""
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        for statement in migrations("sqlite")[0][1]:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO requests (ts, provider, model, input_tokens, status, no_usage_data, "
            "requires_manual_review, estimated, source) VALUES "
            "('2026-05-04T12:00:00+00:00', 'anthropic', 'm', 7, 'complete', 0, 0, '[]', "
            "'provider')"
        )
    conn.close()
    before = db.read_bytes()
    with open_reader(db) as reader:
        (row,) = reader.rows_between(DAY - timedelta(hours=1), DAY + timedelta(hours=1))
    assert (row.model, row.input_tokens, row.error_message) == ("m", 7, None)
    assert row.ts == DAY and row.status == "complete" and row.no_usage_data is False
    assert db.read_bytes() == before


def test_reconcile_lines_are_read_without_creating_the_table(dsn: str) -> None:
    with open_reader(dsn) as reader:
        assert reader.reconcile_lines() == []
        assert not reader.has_table(TABLE)
        with pytest.raises(PermissionError, match="reading only"):
            reader.replace_reconcile_lines(
                "anthropic", [_line("anthropic", "2026-11-01", "m", 1, 1)]
            )
        assert not reader.has_table(TABLE)
        # Nor can a caller write through it directly: the connection itself is read-only.
        with pytest.raises(Exception, match="(?i)read.only|readonly"):
            reader.fetchall(reconcile_table.CREATE)
        reader.conn.rollback()
        assert not reader.has_table(TABLE)


def test_reconcile_lines_replace_their_providers_lines(dsn: str) -> None:
    with open_reader(dsn, write=True) as writer:
        writer.replace_reconcile_lines(
            "anthropic",
            [
                _line("anthropic", "2026-11-02", "b", 10, 12),
                _line("anthropic", "2026-11-01", "a", 5, 5),
            ],
        )
        writer.replace_reconcile_lines("openai", [_line("openai", "2026-11-01", "g", 3, 4)])
    with open_reader(dsn) as reader:
        found = reader.reconcile_lines()
    assert [(s.provider, s.bucket_start[:10], s.model) for s in found] == [
        ("anthropic", "2026-11-01", "a"),
        ("openai", "2026-11-01", "g"),
        ("anthropic", "2026-11-02", "b"),
    ]
    assert found[2] == _line("anthropic", "2026-11-02", "b", 10, 12)
    # A later run of one provider replaces its lines only; an empty run leaves none of its own.
    with open_reader(dsn, write=True) as writer:
        writer.replace_reconcile_lines("anthropic", [_line("anthropic", "2026-11-03", "c", 1, 1)])
    with open_reader(dsn) as reader:
        assert [(s.provider, s.model) for s in reader.reconcile_lines()] == [
            ("openai", "g"),
            ("anthropic", "c"),
        ]
    with open_reader(dsn, write=True) as writer:
        writer.replace_reconcile_lines("anthropic", [])
    with open_reader(dsn) as reader:
        assert [s.provider for s in reader.reconcile_lines()] == ["openai"]


def test_a_failed_store_keeps_the_previous_lines(dsn: str) -> None:
    with open_reader(dsn, write=True) as writer:
        writer.replace_reconcile_lines("anthropic", [_line("anthropic", "2026-11-01", "a", 5, 5)])
        bad = _line("anthropic", "2026-11-02", "b", 1, 1)._replace(verdict=None)  # NOT NULL
        with pytest.raises(Exception, match="(?i)null"):
            writer.replace_reconcile_lines("anthropic", [bad])
        # The connection is usable after the rollback.
        assert [s.model for s in writer.reconcile_lines()] == ["a"]
    with open_reader(dsn) as reader:
        assert [s.model for s in reader.reconcile_lines()] == ["a"]


def test_the_proxy_keeps_writing_beside_a_stored_reconciliation(tmp_path: Path) -> None:
    """The side table does not disturb the ledger: it opens, migrates and records as before."""
    db = str(tmp_path / "l.db")
    fill(db, attribution=False)
    with open_reader(db, write=True) as writer:
        writer.replace_reconcile_lines("anthropic", [_line("anthropic", "2026-11-01", "a", 5, 5)])
    ledger = open_ledger(db, spool=False)
    try:
        ledger.record(ROWS[0].with_changes(uuid="another", ts=datetime.now(timezone.utc)))
        assert ledger.flush(timeout=30)
        assert ledger.count() == len(ROWS) + 1
    finally:
        ledger.close()
