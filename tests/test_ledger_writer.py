"""The ledger's writer thread against a database that fails on command: it never dies, never
loses a row, keeps memory bounded and always stops in time. (test_chaos.py does the same with
real databases, disks and processes.)"""

from __future__ import annotations

import io
import threading
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sseusage_fast.ledger import LedgerRow
from sseusage_fast.ledger.spool import Entry, Spool, row_from_json
from sseusage_fast.ledger.writer import RowWriter


class FakeDatabase:
    """Takes rows (once per uuid, in order) unless told to be down or to stall."""

    def __init__(self) -> None:
        self.rows: list[str | None] = []  # request ids only: rows are not kept
        self._uuids: set[str] = set()
        self.down = False
        self.stall = False
        self.stalled = threading.Event()
        self._wake = threading.Event()
        self.writes = 0

    def connect(self) -> Any:
        if self.down:
            raise ConnectionRefusedError("connection refused")
        return object()

    def write(self, conn: Any, entries: list[Entry]) -> None:
        if self.down:
            raise ConnectionResetError("connection reset")
        if self.stall:
            self._wake.clear()
            self.stalled.set()
            self._wake.wait(30)  # a server that never answers: only an interrupt ends it
            raise ConnectionAbortedError("interrupted")
        self.writes += 1
        for row, _ in entries:
            if row.uuid not in self._uuids:
                self._uuids.add(row.uuid)
                self.rows.append(row.request_id)

    def interrupt(self, conn: Any) -> None:
        self._wake.set()

    def disconnect(self, conn: Any) -> None:
        pass

    def ids(self) -> list[str | None]:
        return self.rows


def _row(i: int, **extra: Any) -> LedgerRow:
    return LedgerRow(request_id=f"req_{i:06d}", status="complete", **extra)


def _ids(n: int, start: int = 0) -> list[str]:
    return [f"req_{i:06d}" for i in range(start, start + n)]


def _wait(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def make_writer(tmp_path: Path) -> Iterator[Any]:
    made: list[RowWriter] = []

    def make(db: FakeDatabase, spool: Path | None = tmp_path / "spool.jsonl", **attrs: Any) -> Any:
        stderr = io.StringIO()
        writer = RowWriter(db, Spool(spool) if spool else None, stderr=lambda: stderr)
        writer.max_retry_delay = 0.05
        for name, value in attrs.items():
            setattr(writer, name, value)
        writer.stderr_text = stderr  # type: ignore[attr-defined]
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.close(timeout=1)


def test_rows_are_written_in_order_and_health_says_ok(db: FakeDatabase, make_writer: Any) -> None:
    writer = make_writer(db)
    for i in range(1200):
        writer.record((_row(i), None))
    assert writer.flush(timeout=10)
    assert db.ids() == _ids(1200)
    health = writer.health()
    assert health["state"] == "ok" and health["db"] == "up" and health["spool"] == "ok"
    assert health["queued"] == 0 and health["spooled"] == 0 and health["accepting"]
    assert health["stderr_rows"] == 0 and health["last_error"] is None
    durable = health["durable_ms"]
    assert durable["rows"] == 1200 and 0 <= durable["p50"] <= durable["p99"] <= durable["max"]


def test_database_down_spools_then_replays_while_traffic_never_pauses(
    db: FakeDatabase, make_writer: Any
) -> None:
    writer = make_writer(db)
    db.down = True
    for i in range(300):
        writer.record((_row(i), None))
    assert writer.flush(timeout=10)
    health = writer.health()
    assert health["state"] == "degraded" and health["db"] == "down"
    assert health["spooled"] == 300 and health["db_errors"] >= 1
    assert "connection" in health["last_error"]

    # The database comes back while rows keep arriving every millisecond: the spool is
    # replayed anyway (it does not wait for a quiet moment), and new rows queue behind it.
    db.down = False
    sent = 300
    deadline = time.monotonic() + 10
    while writer.health()["spooled"] and time.monotonic() < deadline:
        writer.record((_row(sent), None))
        sent += 1
        time.sleep(0.001)
    assert writer.health()["spooled"] == 0
    assert writer.flush(timeout=10)
    assert db.ids() == _ids(sent)  # exactly once, in order
    assert writer.health()["state"] == "ok"


def test_database_and_spool_down_rows_wait_in_memory_then_all_arrive(
    db: FakeDatabase, make_writer: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the spool directory should be")
    writer = make_writer(db, spool=blocker / "spool.jsonl")
    db.down = True
    for i in range(50):
        writer.record((_row(i), None))
    assert not writer.flush(timeout=0.5)
    health = writer.health()
    assert health["state"] == "failing" and health["spool"] == "failing"
    assert health["queued"] == 50 and health["spool_errors"] >= 1
    assert health["lag_seconds"] >= 0.5  # the oldest row has waited since before the flush
    blocker.unlink()  # the spool location is usable again: rows go there
    _wait(lambda: writer.health()["spool"] == "ok")
    assert writer.flush(timeout=10) and writer.health()["spooled"] == 50
    db.down = False
    _wait(lambda: writer.health()["spooled"] == 0)
    assert writer.flush(timeout=10) and db.ids() == _ids(50)


def test_a_full_queue_sends_rows_to_stderr_not_to_nowhere(
    db: FakeDatabase, make_writer: Any
) -> None:
    writer = make_writer(db, spool=None, queue_limit=20)
    db.down = True
    for i in range(30):
        writer.record((_row(i), None))
    health = writer.health()
    assert health["queued"] == 20 and not health["accepting"] and health["stderr_rows"] == 10
    lines = writer.stderr_text.getvalue().splitlines()
    assert [row_from_json(line)[0].request_id for line in lines] == _ids(10, start=20)
    db.down = False
    assert writer.flush(timeout=10) and db.ids() == _ids(20)


def test_close_ends_in_time_with_everything_down_and_prints_what_is_left(
    db: FakeDatabase, make_writer: Any, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    writer = make_writer(db, spool=blocker / "spool.jsonl")
    db.down = True
    for i in range(40):
        writer.record((_row(i), None))
    started = time.monotonic()
    health = writer.close(timeout=0.5)
    assert time.monotonic() - started < 3
    assert health["stderr_rows"] == 40 and health["state"] == "closed"
    lines = writer.stderr_text.getvalue().splitlines()
    assert [row_from_json(line)[0].request_id for line in lines] == _ids(40)
    with pytest.raises(RuntimeError, match="closed"):
        writer.record((_row(99), None))


def test_close_spools_what_the_database_cannot_take(
    db: FakeDatabase, make_writer: Any, tmp_path: Path
) -> None:
    writer = make_writer(db)
    db.down = True
    for i in range(40):
        writer.record((_row(i), None))
    health = writer.close(timeout=2)
    assert health["stderr_rows"] == 0
    (left,) = tmp_path.glob("spool.jsonl.*")
    assert [row_from_json(line)[0].request_id for line in left.read_text().splitlines()] == _ids(40)


def test_a_stalled_database_call_is_interrupted_and_its_rows_spooled(
    db: FakeDatabase, make_writer: Any
) -> None:
    writer = make_writer(db, db_timeout=0.3)
    db.stall = True
    started = time.monotonic()
    for i in range(10):
        writer.record((_row(i), None))
    assert db.stalled.wait(5)
    assert writer.flush(timeout=10)  # spooled once the call was cut
    assert time.monotonic() - started < 5 and writer.health()["spooled"] == 10
    db.stall = False
    _wait(lambda: writer.health()["spooled"] == 0)
    assert db.ids() == _ids(10)


def test_the_writer_survives_its_own_faults(
    db: FakeDatabase, make_writer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = make_writer(db)
    real = writer._replay_chunk
    failures = iter([True, True, False])

    def flaky() -> None:
        if next(failures, False):
            raise ZeroDivisionError("a bug in the writer")
        real()

    monkeypatch.setattr(writer, "_replay_chunk", flaky)
    for i in range(5):
        writer.record((_row(i), None))
        time.sleep(0.02)
    assert writer.flush(timeout=10)
    _wait(lambda: writer.health()["writer"] == "ok")
    assert db.ids() == _ids(5) and writer.health()["writer_errors"] == 2
    assert writer.health()["last_error"] == "ZeroDivisionError: a bug in the writer"


def test_replay_of_a_large_spool_takes_bounded_memory(
    db: FakeDatabase, make_writer: Any, tmp_path: Path
) -> None:
    n, padding = 8000, "x" * 2000  # 22 MB of spool
    left = Spool(tmp_path / "spool.jsonl")
    for start in range(0, n, 1000):
        left.append([(_row(i, error_message=padding), None) for i in range(start, start + 1000)])
    path = left.path
    left.close()  # its process died
    assert path.stat().st_size > 20_000_000
    tracemalloc.start()
    try:
        writer = make_writer(db)
        _wait(lambda: len(db.rows) == n, timeout=60)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert db.ids() == _ids(n)
    _wait(lambda: not path.exists())  # replayed, then removed
    # A chunk of rows and a read block at a time (5.7 MB measured), not the file (a whole read
    # held 1.58 GiB for a 300,000-row spool).
    assert peak < 8_000_000, peak
    assert writer.health()["spooled"] == 0
