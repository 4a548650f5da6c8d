"""The ledger interface, and the SQL machinery both databases share.

Writes never block the caller: `record()` queues the row and the writer thread (writer.py)
writes queued rows in batches, one transaction per batch, on its own connection, or spools them.
Reads (reports, backfill) use a second connection in the caller's thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sseusage_fast.ledger.row import COLUMNS, Capture, LedgerRow, row_values
from sseusage_fast.ledger.schema import SCHEMA_VERSION_TABLE, migrations
from sseusage_fast.ledger.spool import Entry, Spool
from sseusage_fast.ledger.writer import RowWriter, one_line
from sseusage_fast.record import TOKEN_FIELDS

log = logging.getLogger("sseusage_fast.ledger")

_COLUMN_AT = {name: at for at, name in enumerate(COLUMNS)}
# Converted columns whose empty value is stored as NULL (ledger/estimates.py).
_NULL_WHEN_EMPTY = frozenset({"estimate_ranges", "estimate_reasons"})

__all__ = ["Capture", "GroupTotals", "Ledger", "SQLLedger"]


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
    def record(
        self, row: LedgerRow, capture: Capture | None = None, *, secrets: Iterable[str] = ()
    ) -> None:
        """Queue the row; never blocks. Its text is scrubbed first: `secrets` (the request's
        own key and auth values) and anything shaped like a key."""

    @abstractmethod
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every row recorded so far is durable (committed, or fsync'd to the
        spool); False on timeout."""

    @abstractmethod
    def close(self, timeout: float | None = None) -> dict[str, Any]:
        """Write what is queued (within `timeout`, else the writer's default), then stop.
        Returns `health()`: `stderr_rows` > 0 means rows that neither the database nor the
        spool took were written to stderr as JSON lines, and the process should exit non-zero."""

    def health(self) -> dict[str, Any]:
        """The writer's state: `state` ("ok", "degraded": rows in the spool, "failing": rows
        in memory only, "closed"), `db`, `spool`, `queued`, `lag_seconds` (age of the oldest row
        not yet durable), `spooled`, `stderr_rows`, error
        counts, `last_error`, `accepting` (False when a new row would overflow), and
        `durable_ms` (p50, p99, max over the last 4,096 rows of the time from the request's end
        to its row being committed or spooled)."""
        return {"state": "unknown", "accepting": True, "stderr_rows": 0}

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
    # The columns `_to_db` changes; None: all of them. Naming them spares the writer thread
    # (which holds the GIL meanwhile) a method call per column of every row.
    converted_columns: tuple[str, ...] | None = None
    # Rows per INSERT statement (`_insert_many`): 100 x 37 columns = 3,700 parameters, under
    # PostgreSQL's limit (65,535) and SQLite's since 3.32 (32,766; SQLiteLedger sets its own).
    rows_per_insert = 100
    # A database server that is down when the ledger opens (restarting, not reachable yet) need
    # not stop a proxy: with a spool, rows wait there until it is up. A file database that
    # cannot be opened is a setting to fix, and fails at once.
    may_start_unavailable = False

    def __init__(self, spool: str | os.PathLike[str] | None = None) -> None:
        self._lock = threading.Lock()
        self._insert_sqls: dict[int, str] = {}
        self._schema_ready = False
        self._conn: Any = None
        try:
            self._conn = self._connect_migrated()
        except Exception as exc:
            if spool is None or not self.may_start_unavailable:
                raise
            log.warning(
                "ledger database unavailable at start (rows are spooled until it is up): %s",
                one_line(exc),
            )
        self._closed = False
        self.spool = Spool(spool) if spool is not None else None
        self.writer = RowWriter(_WriterDatabase(self), self.spool)

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

    def _writer_session(self, conn: Any) -> None:
        """Settings of the writer's own connections (timeouts), not of the readers'."""

    def _interrupt(self, conn: Any) -> None:
        """Make a call blocked on `conn` in another thread fail now (a stalled server)."""

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

    def record(
        self, row: LedgerRow, capture: Capture | None = None, *, secrets: Iterable[str] = ()
    ) -> None:
        if self._closed:
            raise RuntimeError("the ledger is closed")
        self.writer.record((row.scrubbed(secrets), capture))

    def flush(self, timeout: float | None = None) -> bool:
        return self.writer.flush(timeout)

    def close(self, timeout: float | None = None) -> dict[str, Any]:
        if self._closed:
            return self.writer.health()
        self._closed = True
        report = self.writer.close(timeout)
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    self._conn.close()
        return report

    def health(self) -> dict[str, Any]:
        return self.writer.health()

    def spooled(self) -> int:
        """Rows waiting in spool files for the database to come back."""
        return int(self.writer.health()["spooled"])

    def _write(self, conn: Any, entries: list[Entry]) -> None:
        p = self.placeholder
        # A row already written (a replay after a crash between commit and spool clearing)
        # is skipped: its uuid is unique.
        insert = self._insert_sql(1)
        with self._transaction(conn):
            # Rows keep their order (ids follow arrival); runs without captures go in one call.
            run: list[list[Any]] = []
            for row, capture in entries:
                if capture is None:
                    run.append(self._params(row))
                    continue
                if run:
                    self._insert_many(conn, run)
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
                self._insert_many(conn, run)

    def _insert_many(self, conn: Any, rows: list[list[Any]]) -> None:
        """`rows` in multi-row INSERT statements, up to `rows_per_insert` each. Not one
        statement per row (`executemany`): each statement releases the GIL and takes it back,
        and while the proxy's event loop is busy taking it back waits up to the interpreter's
        switch interval (5 ms). One statement per row made a batch of 100 rows take 200-300 ms
        to commit beside a busy thread, 2 ms beside an idle one."""
        step = self.rows_per_insert
        for at in range(0, len(rows), step):
            part = rows[at : at + step]
            params = part[0] if len(part) == 1 else [v for values in part for v in values]
            conn.execute(self._insert_sql(len(part)), params)

    def _insert_sql(self, n: int) -> str:
        sql = self._insert_sqls.get(n)
        if sql is None:
            values = "(" + ", ".join([self.placeholder] * len(COLUMNS)) + ")"
            sql = (
                f"INSERT INTO requests ({', '.join(COLUMNS)}) VALUES {', '.join([values] * n)}"
                " ON CONFLICT (uuid) DO NOTHING"
            )
            self._insert_sqls[n] = sql
        return sql

    def _params(self, row: LedgerRow) -> list[Any]:
        to_db = self._to_db
        values = list(row_values(row))
        converted = self.converted_columns
        if converted is None:
            return [to_db(name, value) for name, value in zip(COLUMNS, values)]
        for name in converted:
            at = _COLUMN_AT[name]
            value = values[at]
            # Most rows have no estimate: their ranges, reasons and cost range are NULL, set
            # here without a call (the dialects store them so: `_to_db` gives None too).
            if value is None or (not value and name in _NULL_WHEN_EMPTY):
                values[at] = None
            else:
                values[at] = to_db(name, value)
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


class _WriterDatabase:
    """The writer's view of a SQL ledger (writer.Database)."""

    def __init__(self, ledger: SQLLedger) -> None:
        self._ledger = ledger

    def connect(self) -> Any:
        conn = self._ledger._connect_migrated()
        try:
            self._ledger._writer_session(conn)
        except BaseException:
            self.disconnect(conn)
            raise
        return conn

    def write(self, conn: Any, entries: list[Entry]) -> None:
        self._ledger._write(conn, entries)

    def interrupt(self, conn: Any) -> None:
        self._ledger._interrupt(conn)

    def disconnect(self, conn: Any) -> None:
        with contextlib.suppress(Exception):
            conn.close()
