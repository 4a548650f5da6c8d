"""The ledger interface, and the SQL machinery both databases share.

Writes never block the caller: `record()` queues the row and a worker thread writes queued rows
in batches, one transaction per batch, on its own connection. Reads (reports, backfill) use a
second connection in the caller's thread.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import operator
import os
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sseusage_fast.ledger.row import COLUMNS, LedgerRow
from sseusage_fast.ledger.schema import SCHEMA_VERSION_TABLE, migrations
from sseusage_fast.record import TOKEN_FIELDS

log = logging.getLogger("sseusage_fast.ledger")

_STOP = object()
_row_values = operator.attrgetter(*COLUMNS)
_COLUMN_AT = {name: at for at, name in enumerate(COLUMNS)}


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


@dataclass(frozen=True, slots=True)
class Capture:
    """The bodies of one request, kept so that it can be re-estimated later."""

    request_body: bytes
    response_body: bytes


@dataclass(slots=True)
class GroupTotals:
    """Sums over the rows of one (model, day)."""

    model: str | None
    day: str
    requests: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    requires_manual_review: int = 0
    estimated_requests: int = 0
    cost_usd: Decimal = Decimal(0)
    priced_requests: int = 0


class Ledger(ABC):
    """Where proxied requests are recorded. Thread safe; `record()` never blocks."""

    dialect: str

    @abstractmethod
    def record(self, row: LedgerRow, capture: Capture | None = None) -> None: ...

    @abstractmethod
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every row recorded so far is written; False on timeout."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def count(self, *, flagged_only: bool = False) -> int: ...

    @abstractmethod
    def rows(
        self, *, flagged_only: bool = False, request_ids: Sequence[str] | None = None
    ) -> Iterator[LedgerRow]: ...

    @abstractmethod
    def totals(self) -> list[GroupTotals]: ...

    @abstractmethod
    def update_rows(self, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Set the given columns of rows by id, in one transaction."""

    @abstractmethod
    def capture(self, row_id: int) -> Capture | None: ...

    @abstractmethod
    def schema_version(self) -> int: ...


class SQLLedger(Ledger):
    """DB-API ledger; subclasses give the connection, placeholder and value conversions."""

    placeholder = "?"
    day_expr = "substr(ts, 1, 10)"
    cost_sum_expr = "SUM(cost_usd)"
    batch_size = 500
    # After the first row of a batch, the writer waits this long for more before writing: one
    # transaction (and one wake-up of the writer thread, which competes with the proxy's event
    # loop for the GIL) per batch instead of per row. `flush()` and `close()` cut it short.
    linger = 0.05

    # While rows are spooled, the writer tries the database again this often (seconds).
    retry_interval = 2.0
    # The columns `_to_db` changes; None: all of them. Naming them spares the writer thread
    # (which holds the GIL meanwhile) a method call per column of every row.
    converted_columns: tuple[str, ...] | None = None
    # A database server that is down when the ledger opens (restarting, not reachable yet) need
    # not stop a proxy: with a spool, rows wait there until it is up. A file database that
    # cannot be opened is a setting to fix, and fails at once.
    may_start_unavailable = False

    def __init__(self, spool: str | os.PathLike[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._schema_ready = False
        self._conn: Any = None
        try:
            self._conn = self._connect_migrated()
        except Exception as exc:
            if spool is None or not self.may_start_unavailable:
                raise
            log.warning(
                "ledger database unavailable at start (rows are spooled until it is up): %s",
                _one_line(exc),
            )
        self._queue: queue.Queue[Any] = queue.Queue()
        self._hurry = threading.Event()
        self._closed = False
        self.spool = Spool(spool) if spool is not None else None
        self._thread = threading.Thread(target=self._run, name="sseusage-ledger", daemon=True)
        self._thread.start()

    # -- dialect hooks -------------------------------------------------------------------

    @abstractmethod
    def _connect(self) -> Any: ...

    @abstractmethod
    def _transaction(self, conn: Any) -> AbstractContextManager[Any]: ...

    @abstractmethod
    def _lock_for_migration(self, conn: Any) -> None: ...

    def _to_db(self, name: str, value: Any) -> Any:
        return value

    def _from_db(self, name: str, value: Any) -> Any:
        return value

    def _executemany(self, conn: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        conn.executemany(sql, rows)

    def _insert_returning_id(self, conn: Any, sql: str, params: Sequence[Any]) -> int | None:
        found = conn.execute(sql + " RETURNING id", params).fetchone()
        return None if found is None else int(found[0])

    # -- schema --------------------------------------------------------------------------

    def _migrate(self, conn: Any) -> None:
        p = self.placeholder
        with self._transaction(conn):
            self._lock_for_migration(conn)
            conn.execute(SCHEMA_VERSION_TABLE)
            current = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
            for version, statements in migrations(self.dialect):
                if version <= current:
                    continue
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    f"INSERT INTO schema_version (version, applied_at) VALUES ({p}, {p})",
                    (version, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
                )
                log.info("ledger schema migrated to version %d", version)

    def _connect_migrated(self) -> Any:
        """A new connection, the schema brought up to date first if this ledger has not yet."""
        conn = self._connect()
        if not self._schema_ready:
            try:
                self._migrate(conn)  # idempotent: a second run finds nothing to do
            except BaseException:
                with contextlib.suppress(Exception):
                    conn.close()
                raise
            self._schema_ready = True
        return conn

    def _reader(self) -> Any:
        """The connection for reads and updates (callers hold `_lock`), opened on first use
        when the database was down at start."""
        if self._conn is None:
            self._conn = self._connect_migrated()
        return self._conn

    def schema_version(self) -> int:
        with self._lock:
            found = self._reader().execute("SELECT MAX(version) FROM schema_version").fetchone()
            return int(found[0])

    # -- writes --------------------------------------------------------------------------

    def record(self, row: LedgerRow, capture: Capture | None = None) -> None:
        if self._closed:
            raise RuntimeError("the ledger is closed")
        self._queue.put((row, capture))

    def flush(self, timeout: float | None = None) -> bool:
        # queue.join() has no timeout; poll the unfinished count instead.
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            self._hurry.set()
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._hurry.set()
        self._thread.join()
        with self._lock:
            if self._conn is not None:
                self._conn.close()

    def spooled(self) -> int:
        """Rows waiting in the spool file for the database to come back."""
        return self.spool.count() if self.spool is not None else 0

    def _run(self) -> None:
        conn: Any = None
        next_retry = 0.0
        try:
            conn = self._reconnect(conn)
            if conn is not None and self.spooled():
                conn = self._replay(conn)  # left by an earlier run
            while True:
                timeout = None
                if self.spool is not None and self.spool.count():
                    timeout = next_retry - time.monotonic()
                    if timeout <= 0:
                        conn = self._replay(self._reconnect(conn))
                        next_retry = time.monotonic() + self.retry_interval
                        continue
                try:
                    item = self._queue.get(timeout=timeout)
                except queue.Empty:
                    continue
                if item is not _STOP and self.linger > 0:
                    self._hurry.wait(self.linger)
                self._hurry.clear()
                batch = [item]
                while len(batch) < self.batch_size:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stop = any(entry is _STOP for entry in batch)
                entries = [entry for entry in batch if entry is not _STOP]
                try:
                    if entries:
                        conn = self._deliver(conn, entries)
                        if conn is None:
                            next_retry = time.monotonic() + self.retry_interval
                finally:
                    for _ in batch:
                        self._queue.task_done()
                if stop:
                    break
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.close()

    def _reconnect(self, conn: Any) -> Any:
        if conn is not None:
            return conn
        try:
            return self._connect_migrated()
        except Exception as exc:  # noqa: BLE001 - the database is down: spool and retry later
            log.warning("ledger database unavailable: %s", _one_line(exc))
            return None

    def _deliver(self, conn: Any, entries: list[tuple[LedgerRow, Capture | None]]) -> Any:
        """Write the rows, or spool them when the database cannot take them. The connection to
        use next (None after a failure)."""
        if self.spool is not None and self.spool.count():
            # Rows already wait in the spool: the database is (or was just) down. Queue behind
            # them; the replay writes them in order.
            self.spool.append(entries)
            return conn
        attempts = 2 if self.spool is not None else 8
        for attempt in range(attempts):
            conn = self._reconnect(conn)
            if conn is not None:
                try:
                    self._write(conn, entries)
                    return conn
                except Exception as exc:  # noqa: BLE001
                    log.warning("ledger write failed: %s", _one_line(exc))
                    with contextlib.suppress(Exception):
                        conn.close()
                    conn = None
            if attempt < attempts - 1:
                time.sleep(min(2.0, 0.05 * 2**attempt))
        if self.spool is None:
            log.error("ledger write failed; %d rows lost (no spool file)", len(entries))
            return None
        self.spool.append(entries)
        log.warning(
            "ledger unavailable: %d rows spooled to %s, replayed when it is back",
            len(entries),
            self.spool.path,
        )
        return None

    def _replay(self, conn: Any) -> Any:
        """Write the spooled rows (idempotent by uuid), then empty the spool."""
        if conn is None or self.spool is None:
            return conn
        entries = self.spool.read()
        try:
            for i in range(0, len(entries), self.batch_size):
                self._write(conn, entries[i : i + self.batch_size])
        except Exception as exc:  # noqa: BLE001 - still down: keep the spool, retry later
            log.warning("ledger replay failed, rows stay spooled: %s", _one_line(exc))
            with contextlib.suppress(Exception):
                conn.close()
            return None
        self.spool.clear()
        log.info("ledger back: %d spooled rows written", len(entries))
        return conn

    def _write(self, conn: Any, entries: list[tuple[LedgerRow, Capture | None]]) -> None:
        p = self.placeholder
        # A row already written (a replay after a crash between commit and spool clearing)
        # is skipped: its uuid is unique.
        insert = (
            f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES ({', '.join([p] * len(COLUMNS))})"
            " ON CONFLICT (uuid) DO NOTHING"
        )
        with self._transaction(conn):
            # Rows keep their order (ids follow arrival); runs without captures go in one call.
            run: list[list[Any]] = []
            for row, capture in entries:
                if capture is None:
                    run.append(self._params(row))
                    continue
                if run:
                    self._executemany(conn, insert, run)
                    run = []
                row_id = self._insert_returning_id(conn, insert, self._params(row))
                if row_id is None:
                    continue  # written before, capture included
                conn.execute(
                    "INSERT INTO captures (request_row_id, request_body, response_body) "
                    f"VALUES ({p}, {p}, {p})",
                    (row_id, capture.request_body, capture.response_body),
                )
            if run:
                self._executemany(conn, insert, run)

    def _params(self, row: LedgerRow) -> list[Any]:
        to_db = self._to_db
        values = list(_row_values(row))
        converted = self.converted_columns
        if converted is None:
            return [to_db(name, value) for name, value in zip(COLUMNS, values)]
        for name in converted:
            at = _COLUMN_AT[name]
            values[at] = to_db(name, values[at])
        return values

    # -- reads ---------------------------------------------------------------------------

    def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            conn = self._reader()
            with self._transaction(conn):
                return list(conn.execute(sql, params).fetchall())

    def count(self, *, flagged_only: bool = False) -> int:
        if not flagged_only:
            return int(self._fetchall("SELECT COUNT(*) FROM requests")[0][0])
        sql = f"SELECT COUNT(*) FROM requests WHERE requires_manual_review = {self.placeholder}"
        return int(self._fetchall(sql, [self._to_db("requires_manual_review", True)])[0][0])

    def rows(
        self, *, flagged_only: bool = False, request_ids: Sequence[str] | None = None
    ) -> Iterator[LedgerRow]:
        p = self.placeholder
        where: list[str] = []
        params: list[Any] = []
        if flagged_only:
            where.append(f"requires_manual_review = {p}")
            params.append(self._to_db("requires_manual_review", True))
        if request_ids is not None:
            if not request_ids:
                return
            where.append(f"request_id IN ({', '.join([p] * len(request_ids))})")
            params.extend(request_ids)
        sql = f"SELECT id, {', '.join(COLUMNS)} FROM requests"
        if where:
            sql += " WHERE " + " AND ".join(where)
        # Pages by id, so a long backfill never holds one huge result in memory.
        last_id = 0
        while True:
            page = self._fetchall(
                sql + (" AND " if where else " WHERE ") + f"id > {p} ORDER BY id LIMIT 1000",
                [*params, last_id],
            )
            if not page:
                return
            for values in page:
                yield self._row(values)
            last_id = page[-1][0]

    def _row(self, values: Sequence[Any]) -> LedgerRow:
        data = {name: self._from_db(name, value) for name, value in zip(COLUMNS, values[1:])}
        return LedgerRow(id=int(values[0]), **data)

    def totals(self) -> list[GroupTotals]:
        token_sums = ", ".join(f"SUM(COALESCE({name}, 0))" for name in TOKEN_FIELDS)
        sql = (
            f"SELECT model, {self.day_expr} AS day, COUNT(*), {token_sums}, "
            "SUM(CASE WHEN requires_manual_review THEN 1 ELSE 0 END), "
            "SUM(CASE WHEN estimated <> '[]' THEN 1 ELSE 0 END), "
            f"{self.cost_sum_expr}, COUNT(cost_usd) "
            "FROM requests GROUP BY model, day ORDER BY day, model"
        )
        out = []
        n = len(TOKEN_FIELDS)
        for values in self._fetchall(sql):
            out.append(
                GroupTotals(
                    model=values[0],
                    day=str(values[1]),
                    requests=int(values[2]),
                    tokens={name: int(v) for name, v in zip(TOKEN_FIELDS, values[3 : 3 + n])},
                    requires_manual_review=int(values[3 + n]),
                    estimated_requests=int(values[4 + n]),
                    cost_usd=Decimal(values[5 + n]) if values[5 + n] is not None else Decimal(0),
                    priced_requests=int(values[6 + n]),
                )
            )
        return out

    def update_rows(self, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        with self._lock:
            conn = self._reader()
            with self._transaction(conn):
                self._update(conn, changes)

    def _update(self, conn: Any, changes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        p = self.placeholder
        for row_id, values in changes:
            unknown = set(values) - set(COLUMNS)
            if unknown:
                raise ValueError(f"unknown ledger columns: {sorted(unknown)}")
            assignments = ", ".join(f"{name} = {p}" for name in values)
            params = [self._to_db(name, value) for name, value in values.items()]
            conn.execute(f"UPDATE requests SET {assignments} WHERE id = {p}", [*params, row_id])

    def capture(self, row_id: int) -> Capture | None:
        p = self.placeholder
        found = self._fetchall(
            f"SELECT request_body, response_body FROM captures WHERE request_row_id = {p}",
            [row_id],
        )
        if not found:
            return None
        request_body, response_body = found[0]
        return Capture(bytes(request_body or b""), bytes(response_body or b""))


def estimated_to_db(value: Sequence[str]) -> str:
    return json.dumps(list(value)) if value else "[]"  # most rows: nothing estimated


def estimated_from_db(value: str | None) -> tuple[str, ...]:
    if not value or value == "[]":  # most rows: nothing estimated, no JSON to parse
        return ()
    return tuple(json.loads(value))


# -- the spool: rows the database could not take, kept on disk until it can ----------------------

_TIME_FIELDS = ("ts", "backfilled_at")


def row_to_json(row: LedgerRow, capture: Capture | None = None) -> str:
    data: dict[str, Any] = {}
    for name, value in zip(COLUMNS, _row_values(row)):
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, tuple):
            value = list(value)
        data[name] = value
    if capture is not None:
        data["_capture"] = [
            base64.b64encode(capture.request_body).decode("ascii"),
            base64.b64encode(capture.response_body).decode("ascii"),
        ]
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True)


def row_from_json(line: str) -> tuple[LedgerRow, Capture | None]:
    data = json.loads(line)
    coded = data.pop("_capture", None)
    for name in _TIME_FIELDS:
        if data.get(name) is not None:
            data[name] = datetime.fromisoformat(data[name])
    if data.get("cost_usd") is not None:
        data["cost_usd"] = Decimal(data["cost_usd"])
    data["estimated"] = tuple(data.get("estimated") or ())
    known = {name: data[name] for name in COLUMNS if name in data}
    capture = None
    if coded is not None:
        capture = Capture(base64.b64decode(coded[0]), base64.b64decode(coded[1]))
    return LedgerRow(**known), capture


class Spool:
    """An append-only JSON-lines file, one row a line, fsync'd before `record()`'s rows count
    as delivered. Only the ledger's writer thread touches it. Created on first use, mode 0600:
    it holds what the ledger would (key fingerprints, never keys; bodies only when asked)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            self._count = len(self.read()) if self.path.exists() else 0
        return self._count

    def append(self, entries: Sequence[tuple[LedgerRow, Capture | None]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(row_to_json(row, capture) + "\n" for row, capture in entries).encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        self._count = self.count() + len(entries)

    def read(self) -> list[tuple[LedgerRow, Capture | None]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        entries = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                entries.append(row_from_json(line))
            except (ValueError, TypeError, KeyError) as exc:
                # Only a line cut by a crash mid-append can be bad; its rows were never
                # reported as delivered.
                log.error("spool %s line %d unreadable, skipped: %s", self.path, number, exc)
        return entries

    def clear(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o600)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._count = 0
