"""The ledger: SQLite always, PostgreSQL when SSEUSAGE_TEST_PG_DSN names a server."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_data import pg_dsn
from sseusage_fast.ledger import Capture, Ledger, LedgerRow, open_ledger
from sseusage_fast.ledger.schema import LATEST_VERSION
from sseusage_fast.record import TOKEN_FIELDS, UsageRecord


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    led = (
        open_ledger(tmp_path / "ledger.db") if request.param == "sqlite" else open_ledger(pg_dsn())
    )
    try:
        yield led
    finally:
        led.close()


# The columns of migration 5: how sure a row's estimates are.
RANGE_COLUMNS = ("estimate_ranges", "estimate_reasons", "cost_low_usd", "cost_high_usd")


def full_row(**changes: object) -> LedgerRow:
    record = UsageRecord(
        input_tokens=1000,
        cache_creation_input_tokens=2000,
        cache_creation_5m_input_tokens=1500,
        cache_creation_1h_input_tokens=500,
        cache_read_input_tokens=5000,
        output_tokens=500,
        reasoning_tokens=120,
        web_search_requests=2,
        web_fetch_requests=1,
        service_tier="priority",
        speed="fast",
        provider="anthropic",
        model="claude-sonnet-4-5",
        message_id="msg_01",
        stop_reason="end_turn",
        status="complete",
        no_usage_data=False,
        requires_manual_review=False,
    )
    row = LedgerRow.from_record(
        record,
        ts=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc),
        latency_ms=1234.5,
        ttfb_ms=210.25,
        http_status=200,
        method="POST",
        path="/v1/messages",
        request_id="req_abc",
        key_fingerprint="sha256:0123456789abcdef",
        cost_usd=Decimal("0.0195"),
    )
    return row.with_changes(**changes)


def test_row_round_trips_every_field(ledger: Ledger) -> None:
    row = full_row()
    flagged = full_row(
        request_id="req_flagged",
        status="no_usage",
        no_usage_data=True,
        requires_manual_review=True,
        estimated=("input_tokens", "output_tokens"),
        interrupted="client_disconnect",
        error_type=None,
        cost_usd=None,
        source="estimate",
        backfilled_at=datetime(2026, 1, 3, tzinfo=timezone.utc),
    )
    ledger.record(row)
    ledger.record(flagged)
    assert ledger.flush(timeout=10)
    got = list(ledger.rows())
    assert len(got) == 2
    assert got[0].id is not None and got[1].id is not None and got[0].id < got[1].id
    assert got[0].with_changes(id=None) == row
    assert got[1].with_changes(id=None) == flagged
    assert [r.request_id for r in ledger.rows(flagged_only=True)] == ["req_flagged"]
    assert [r.request_id for r in ledger.rows(request_ids=["req_abc", "nope"])] == ["req_abc"]


def estimated_row(request_id: str, **changes: object) -> LedgerRow:
    """A flagged row whose output is estimated, with its range and its cost's range."""
    record = UsageRecord(
        input_tokens=12,
        output_tokens=40,
        model="claude-haiku-4-5",
        provider="anthropic",
        status="no_usage",
        estimated=("input_tokens", "output_tokens"),
        estimate_ranges={"input_tokens": (10, 15), "output_tokens": (35, None)},
        estimate_reasons=("hidden_reasoning", "no_request"),
    )
    row = LedgerRow.from_record(
        record,
        ts=datetime(2026, 1, 2, tzinfo=timezone.utc),
        request_id=request_id,
        cost_usd=Decimal("0.000212"),
        cost_low_usd=Decimal("0.000185"),
    )
    return row.with_changes(**changes)


def test_estimate_ranges_and_cost_range_round_trip(ledger: Ledger) -> None:
    open_above = estimated_row("open")
    bounded = estimated_row(
        "bounded",
        estimate_ranges={"output_tokens": (30, 55)},
        estimate_reasons=("tool_calls",),
        cost_low_usd=Decimal("0.0001"),
        cost_high_usd=Decimal("0.0003"),
    )
    exact = full_row(request_id="exact")
    for row in (open_above, bounded, exact):
        ledger.record(row)
    assert ledger.flush(timeout=10)
    got = {r.request_id: r.with_changes(id=None) for r in ledger.rows()}
    assert got == {"open": open_above, "bounded": bounded, "exact": exact}
    assert got["open"].estimate_ranges == {"input_tokens": (10, 15), "output_tokens": (35, None)}
    assert got["open"].cost_low_usd == Decimal("0.000185") and got["open"].cost_high_usd is None
    assert got["exact"].estimate_ranges == {} and got["exact"].estimate_reasons == ()
    assert got["exact"].cost_low_usd is None and got["exact"].cost_high_usd is None


def test_from_record_prices_the_cost_range_of_estimates() -> None:
    from sseusage_fast.pricing import Pricing

    pricing = Pricing.default()
    record = UsageRecord(
        input_tokens=1000,
        output_tokens=400,
        model="claude-sonnet-4-5",
        provider="anthropic",
        estimated=("output_tokens",),
        estimate_ranges={"output_tokens": (300, 600)},
        estimate_reasons=("tool_calls",),
    )
    cost = pricing.cost(record)
    span = pricing.cost_range(record)
    assert cost is not None and span is not None and span[1] is not None
    row = LedgerRow.from_record(record, cost_usd=cost)
    assert (row.cost_low_usd, row.cost_high_usd) == span
    assert span[0] < cost < span[1]
    assert row.estimate_ranges == {"output_tokens": (300, 600)}
    assert row.estimate_reasons == ("tool_calls",)
    # Priced by another table: that table's point, the default table's spread around it.
    other = LedgerRow.from_record(record, cost_usd=cost * 2)
    assert other.cost_low_usd == cost * 2 - (cost - span[0])
    assert other.cost_high_usd == cost * 2 + (span[1] - cost)
    # Open above: a low end and no high end.
    unbounded = replace(record, estimate_ranges={"output_tokens": (300, None)})
    row = LedgerRow.from_record(unbounded, cost_usd=cost)
    assert row.cost_low_usd == span[0] and row.cost_high_usd is None
    # No cost (an unknown model), or nothing estimated: no range.
    assert LedgerRow.from_record(record, cost_usd=None).cost_low_usd is None
    plain = LedgerRow.from_record(UsageRecord(output_tokens=5, model="m"), cost_usd=cost)
    assert (plain.cost_low_usd, plain.cost_high_usd, plain.estimate_ranges) == (None, None, {})


def test_a_version_4_ledger_gains_the_range_columns(ledger: Ledger, tmp_path: Path) -> None:
    """An existing ledger from before ranges: opening it adds the columns, its rows read with
    no ranges, and new rows keep theirs."""
    ledger.record(full_row(request_id="before"))
    assert ledger.flush(timeout=10)
    ledger.close()
    if ledger.dialect == "sqlite":
        dsn: str = ledger.path  # type: ignore[attr-defined]
        conn: object = sqlite3.connect(dsn, isolation_level=None)
    else:
        import psycopg

        dsn = ledger.dsn  # type: ignore[attr-defined]
        conn = psycopg.connect(dsn, autocommit=True)
    for column in RANGE_COLUMNS:
        conn.execute(f"ALTER TABLE requests DROP COLUMN {column}")  # type: ignore[attr-defined]
    conn.execute("DELETE FROM schema_version WHERE version > 4")  # type: ignore[attr-defined]
    conn.close()  # type: ignore[attr-defined]
    again = open_ledger(dsn, spool=False)
    try:
        assert again.schema_version() == LATEST_VERSION
        again.record(estimated_row("after"))
        assert again.flush(timeout=10)
        got = {r.request_id: r for r in again.rows()}
        assert got["before"].estimate_ranges == {} and got["before"].cost_low_usd is None
        assert got["after"].with_changes(id=None) == estimated_row("after").with_changes(
            uuid=got["after"].uuid
        )
    finally:
        again.close()


def test_from_record_marks_estimates_as_their_source() -> None:
    record = UsageRecord(output_tokens=10, estimated=("output_tokens",), model="m")
    row = LedgerRow.from_record(record, http_status=200)
    assert row.source == "estimate" and row.estimated == ("output_tokens",)
    assert LedgerRow.from_record(UsageRecord(output_tokens=1)).source == "provider"
    assert set(TOKEN_FIELDS) <= set(row.tokens())


def test_migrations_are_versioned_and_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    first = open_ledger(path)
    first.record(full_row())
    first.flush()
    assert first.schema_version() == LATEST_VERSION
    first.close()
    # Reopening applies nothing twice and keeps the data.
    again = open_ledger(f"sqlite:///{path}")
    assert again.schema_version() == LATEST_VERSION and again.count() == 1
    again.close()
    with sqlite3.connect(path) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
        assert versions == list(range(1, LATEST_VERSION + 1))
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_old_schema_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    led = open_ledger(path)
    led.record(full_row())
    led.close()
    with sqlite3.connect(path) as conn:  # pretend the file predates migrations 2 to 5
        for column in (*RANGE_COLUMNS, "tags", "end_user", "refused"):
            conn.execute(f"ALTER TABLE requests DROP COLUMN {column}")
        conn.execute("DROP TABLE captures")
        conn.execute("DROP INDEX requests_uuid")
        conn.execute("ALTER TABLE requests DROP COLUMN uuid")
        conn.execute("ALTER TABLE requests DROP COLUMN error_message")
        conn.execute("DELETE FROM schema_version WHERE version > 1")
    led = open_ledger(path)
    try:
        assert led.schema_version() == LATEST_VERSION and led.count() == 1
        led.record(full_row(request_id="new"), Capture(b"{}", b"data: x\n\n"))
        led.flush()
        new = next(led.rows(request_ids=["new"]))
        assert new.id is not None and led.capture(new.id) == Capture(b"{}", b"data: x\n\n")
    finally:
        led.close()


def test_open_ledger_dsn_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for dsn, expected in [
        ("plain.db", tmp_path / "plain.db"),
        ("sqlite:///rel.db", tmp_path / "rel.db"),
        (f"sqlite:///{tmp_path}/abs.db", tmp_path / "abs.db"),
    ]:
        open_ledger(dsn).close()
        assert expected.exists(), dsn


def test_many_threads_lose_no_row(ledger: Ledger) -> None:
    def write(t: int) -> None:
        for i in range(100):
            ledger.record(full_row(request_id=f"{t}-{i}"))

    threads = [threading.Thread(target=write, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert ledger.flush(timeout=30)
    ids = [r.request_id for r in ledger.rows()]
    assert len(ids) == 800 and len(set(ids)) == 800


def test_rows_keep_arrival_order_with_captures(ledger: Ledger) -> None:
    for i in range(5):
        capture = Capture(f"req{i}".encode(), f"resp{i}".encode()) if i % 2 else None
        ledger.record(full_row(request_id=str(i)), capture)
    ledger.flush()
    rows = list(ledger.rows())
    assert [r.request_id for r in rows] == ["0", "1", "2", "3", "4"]
    assert rows[1].id is not None and ledger.capture(rows[1].id) == Capture(b"req1", b"resp1")
    assert rows[2].id is not None and ledger.capture(rows[2].id) is None


def test_totals_are_exact_decimals_by_model_and_day(ledger: Ledger) -> None:
    day1 = datetime(2026, 3, 1, 23, 59, tzinfo=timezone.utc)
    for _ in range(10):
        ledger.record(full_row(ts=day1, cost_usd=Decimal("0.1")))
    ledger.record(full_row(ts=day1 + timedelta(minutes=2), model="gpt-4o", cost_usd=None))
    ledger.record(
        full_row(
            ts=day1 + timedelta(minutes=3),
            model="gpt-4o",
            requires_manual_review=True,
            estimated=("output_tokens",),
            cost_usd=Decimal("0.000000000001"),
        )
    )
    ledger.flush()
    groups = {(g.model, g.day): g for g in ledger.totals()}
    claude = groups[("claude-sonnet-4-5", "2026-03-01")]
    assert claude.requests == 10 and claude.cost_usd == Decimal("1.0")  # not 0.9999999999
    assert claude.tokens["input_tokens"] == 10_000 and claude.tokens["web_search_requests"] == 20
    gpt = groups[("gpt-4o", "2026-03-02")]
    assert gpt.requests == 2 and gpt.priced_requests == 1
    assert gpt.requires_manual_review == 1 and gpt.estimated_requests == 1
    assert gpt.cost_usd == Decimal("0.000000000001")


def test_update_rows_sets_columns(ledger: Ledger) -> None:
    ledger.record(full_row(requires_manual_review=True))
    ledger.flush()
    (row,) = ledger.rows()
    assert row.id is not None
    ledger.update_rows([(row.id, {"output_tokens": 7, "source": "billing_csv"})])
    (after,) = ledger.rows()
    assert after.output_tokens == 7 and after.source == "billing_csv"
    assert ledger.count(flagged_only=True) == 1
    with pytest.raises(ValueError, match="unknown ledger columns"):
        ledger.update_rows([(row.id, {"id; DROP TABLE requests": 1})])


def test_record_after_close_is_refused(tmp_path: Path) -> None:
    led = open_ledger(tmp_path / "x.db")
    led.close()
    led.close()  # idempotent
    with pytest.raises(RuntimeError):
        led.record(full_row())


def test_postgres_dsn_without_psycopg_message() -> None:
    # The DSN form alone picks PostgreSQL; a server is not needed to see that.
    from sseusage_fast.ledger.postgres import PostgresLedger

    assert PostgresLedger.dialect == "postgres"


def test_row_uuids_are_version_4_hex_unique_and_differ_after_fork() -> None:
    ids = [LedgerRow().uuid for _ in range(20000)]
    assert len(set(ids)) == len(ids)
    for text in ids[:100]:
        assert uuid.UUID(hex=text).version == 4 and uuid.UUID(hex=text).hex == text
        assert uuid.UUID(hex=text).variant == uuid.RFC_4122
    # A forked worker must not repeat its parent's ids.
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.write(write, "".join(LedgerRow().uuid for _ in range(10)).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 320).decode()
    os.close(read)
    parent = "".join(LedgerRow().uuid for _ in range(10))
    assert len(child) == 320 and child != parent


@pytest.mark.parametrize("dialect", ["sqlite", "postgres"])
def test_row_params_convert_exactly_what_to_db_converts(dialect: str) -> None:
    from sseusage_fast.ledger.base import SQLLedger
    from sseusage_fast.ledger.postgres import PostgresLedger
    from sseusage_fast.ledger.row import COLUMNS
    from sseusage_fast.ledger.sqlite import SQLiteLedger

    cls: type[SQLLedger] = SQLiteLedger if dialect == "sqlite" else PostgresLedger
    ledger = object.__new__(cls)  # no database: only the conversions are exercised
    row = LedgerRow(
        ts=datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        backfilled_at=datetime(2026, 1, 3, tzinfo=timezone.utc),
        input_tokens=3,
        estimated=("input_tokens",),
        estimate_ranges={"input_tokens": (2, None)},
        estimate_reasons=("no_request",),
        cost_usd=Decimal("0.25"),
        cost_low_usd=Decimal("0.2"),
        cost_high_usd=Decimal("0.3"),
        no_usage_data=False,
        requires_manual_review=True,
        model="m",
    )
    full = [ledger._to_db(name, getattr(row, name)) for name in COLUMNS]
    assert ledger._params(row) == full
    empty = LedgerRow()
    assert ledger._params(empty) == [ledger._to_db(n, getattr(empty, n)) for n in COLUMNS]


# ---------------------------------------------------------------------------------------------
# a PostgreSQL server that is down when the proxy starts


DOWN_DSN = "postgresql://user:secret@127.0.0.1:1/ledger"  # nothing listens on port 1


def test_postgres_ledger_opens_with_the_server_down_and_spools(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    spool = tmp_path / "spool.jsonl"
    led = open_ledger(DOWN_DSN, spool=spool)
    try:
        led.record(full_row(request_id="req_down"))
        assert led.flush(timeout=30)
        assert led.spooled() == 1
        with pytest.raises(Exception, match="connect|refused"):
            led.count()  # reads need the server: they say so
    finally:
        led.close()
    assert [p.name for p in tmp_path.iterdir()] == [f"spool.jsonl.{os.getpid()}"]
    assert "secret" not in (tmp_path / f"spool.jsonl.{os.getpid()}").read_text()
    with pytest.raises(Exception, match="connect|refused"):
        open_ledger(DOWN_DSN, spool=False)  # without a spool, rows would be lost: refuse


def test_sqlite_ledger_that_cannot_open_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.Error):
        open_ledger(tmp_path)  # a directory, not a database file


def test_postgres_rows_spooled_at_start_reach_the_server_when_it_is_up(tmp_path: Path) -> None:
    up = open_ledger(pg_dsn())  # creates a fresh schema; its DSN is the one the server answers on
    up_dsn = up.dsn  # type: ignore[attr-defined]
    up.close()
    led = open_ledger(DOWN_DSN, spool=tmp_path / "spool.jsonl")
    try:
        led.writer.max_retry_delay = 0.05  # type: ignore[attr-defined]
        led.record(full_row(request_id="req_early"))
        assert led.flush(timeout=30)
        assert led.spooled() == 1
        led.dsn = up_dsn  # type: ignore[attr-defined]  # the server is up now
        deadline = time.monotonic() + 30
        while led.spooled() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert led.spooled() == 0
        assert [row.request_id for row in led.rows()] == ["req_early"]
        assert led.schema_version() == LATEST_VERSION
    finally:
        led.close()


def test_postgres_writer_connections_have_deadlines_and_readers_do_not() -> None:
    led = open_ledger(pg_dsn())
    try:
        conn = led.writer._db.connect()  # type: ignore[attr-defined]
        try:
            assert conn.execute("SHOW statement_timeout").fetchone()[0] == "3s"
            params = conn.info.get_parameters()
            assert params["keepalives"] == "1" and params["connect_timeout"] == "3"
        finally:
            conn.close()
        # A report's long aggregate must not be cut by the writer's deadline.
        with led._lock:  # type: ignore[attr-defined]
            reader = led._reader()  # type: ignore[attr-defined]
            assert reader.execute("SHOW statement_timeout").fetchone()[0] == "0"
    finally:
        led.close()


def test_sqlite_busy_timeout_bounds_the_writer() -> None:
    from sseusage_fast.ledger.sqlite import SQLiteLedger

    led = open_ledger(":memory:")
    try:
        assert isinstance(led, SQLiteLedger)
        conn = led.writer._db.connect()  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 3000
        conn.close()
    finally:
        led.close()


@pytest.mark.parametrize("per_insert", [100, 7])
def test_batches_across_multi_row_inserts_keep_order_and_skip_known_uuids(
    ledger: Ledger, per_insert: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rows go in as multi-row INSERTs of `rows_per_insert` (7: SQLite before 3.32 takes 27),
    # cut by rows with captures; a row whose uuid is stored already is skipped, not an error.
    monkeypatch.setattr(ledger, "rows_per_insert", per_insert)
    rows = [full_row(request_id=f"r{i:03d}") for i in range(250)]
    with_capture = {37, 150, 151}
    for i, row in enumerate(rows):
        ledger.record(row, Capture(b"q", f"a{i}".encode()) if i in with_capture else None)
    assert ledger.flush(timeout=30)
    for row in rows[100:130]:  # a replay of rows already written
        ledger.record(row)
    ledger.record(full_row(request_id="last"))
    assert ledger.flush(timeout=30)
    stored = list(ledger.rows())
    assert [r.request_id for r in stored] == [f"r{i:03d}" for i in range(250)] + ["last"]
    assert [r.uuid for r in stored[:250]] == [r.uuid for r in rows]
    assert stored[0] == rows[0].with_changes(id=stored[0].id)
    for i in with_capture:
        found = stored[i].id
        assert found is not None and ledger.capture(found) == Capture(b"q", f"a{i}".encode())


def test_sqlite_wal_is_checkpointed_off_the_writer_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sseusage_fast.ledger import checkpoint

    monkeypatch.setattr(checkpoint.Checkpointer, "interval", 0.05)
    path = tmp_path / "ledger.db"
    led = open_ledger(path)
    try:
        led.record(full_row(request_id="first"))
        assert led.flush(timeout=10)
        writer_conn = led.writer._conn  # type: ignore[attr-defined]
        autocheckpoint = writer_conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        assert autocheckpoint == checkpoint.WRITER_AUTOCHECKPOINT_PAGES
        size_before = path.stat().st_size
        for i in range(400):  # far under the writer's own threshold of WAL pages
            led.record(full_row(request_id=f"r{i}", error_message="x" * 500))
        assert led.flush(timeout=30)
        checkpointer = led._checkpointer  # type: ignore[attr-defined]
        deadline = time.monotonic() + 10

        def copied() -> bool:
            # Counted once the checkpoint returns, after the file grew: both are waited for.
            return path.stat().st_size > size_before + 100_000 and checkpointer.checkpoints > 0

        # The rows reach the database file itself (not only the WAL): the checkpointer copied them.
        while not copied() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert path.stat().st_size > size_before + 100_000
        assert checkpointer.checkpoints > 0 and checkpointer.errors == 0
    finally:
        led.close()
    assert not checkpointer._thread.is_alive()
