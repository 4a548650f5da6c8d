"""Opening an existing ledger for reading (report, export, dashboard) or repair (backfill).

Unlike `open_ledger`, this never creates a file, a table or a migration, starts no writer
thread and keeps no spool: a missing file, a file that is not a ledger or a server that cannot
be reached is a `LedgerUnavailable` with one line that says which.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import Generator, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sseusage_fast.ledger import reconcile_table
from sseusage_fast.ledger.reconcile_table import StoredLine
from sseusage_fast.ledger.row import COLUMNS, LedgerRow
from sseusage_fast.ledger.sqlite import DecimalSum

if TYPE_CHECKING:
    from typing_extensions import Self

# A read must not stall on a server that is down.
CONNECT_TIMEOUT = 5
# Row fields that have a default other than None: a NULL (a column older ledgers lack) keeps it.
_DEFAULTED = tuple(
    f.name
    for f in dataclasses.fields(LedgerRow)
    if f.name != "id" and (f.default is not None or f.default_factory is not dataclasses.MISSING)
)


class LedgerUnavailable(Exception):
    """The ledger cannot be read; the message is one line for the user."""


class LedgerReader:
    """One connection to an existing ledger, with the dialect's SQL spellings and the set of
    columns its `requests` table has (older ledgers lack the newer ones)."""

    dialect: str
    placeholder: str
    columns: frozenset[str]

    def __init__(
        self, conn: Any, dialect: str, columns: Sequence[str], *, dsn: str, writable: bool = False
    ) -> None:
        self.conn = conn
        self.writable = writable
        self.dialect = dialect
        self.placeholder = "?" if dialect == "sqlite" else "%s"
        self.columns = frozenset(columns)
        self.column_order = tuple(columns)
        self.dsn = dsn

    # -- SQL spellings --------------------------------------------------------------------

    def day_expr(self) -> str:
        if self.dialect == "sqlite":
            return "substr(ts, 1, 10)"
        return "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')"

    def hour_expr(self) -> str:
        if self.dialect == "sqlite":
            return "(substr(ts, 1, 13) || ':00')"
        return "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:00')"

    def cost_sum_expr(self) -> str:
        return "decimal_sum(cost_usd)" if self.dialect == "sqlite" else "SUM(cost_usd)"

    def true(self) -> Any:
        return 1 if self.dialect == "sqlite" else True

    def ts_param(self, value: datetime) -> Any:
        value = value.astimezone(timezone.utc)
        return value.isoformat() if self.dialect == "sqlite" else value

    def column(self, name: str) -> str:
        """The column, or NULL when this ledger predates it."""
        return name if name in self.columns else "NULL"

    # -- reading --------------------------------------------------------------------------

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self.conn.cursor()
        try:
            cur.execute(sql, params)
            return list(cur.fetchall())
        finally:
            cur.close()

    def stream(
        self, sql: str, params: Sequence[Any] = (), size: int = 2000
    ) -> Generator[Any, None, None]:
        """Rows one at a time, in constant memory: SQLite steps its cursor; PostgreSQL uses a
        server-side cursor fetched `size` rows at a time."""
        if self.dialect == "sqlite":
            cur = self.conn.cursor()
        else:
            cur = self.conn.cursor(name="sseusage_stream")
            cur.itersize = size
        try:
            cur.execute(sql, params)
            while True:
                batch = cur.fetchmany(size)
                if not batch:
                    break
                yield from batch
        finally:
            cur.close()
            if self.dialect != "sqlite":
                self.conn.rollback()  # ends the read transaction the named cursor needed

    def has_table(self, name: str) -> bool:
        if self.dialect == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        else:
            sql = (
                "SELECT 1 FROM information_schema.tables "
                "WHERE table_schema = current_schema() AND table_name = %s"
            )
        found = bool(self.fetchall(sql, [name]))
        if self.dialect != "sqlite":
            self.conn.rollback()
        return found

    def rows_between(
        self,
        start: datetime,
        end: datetime,
        *,
        providers: Sequence[str] = (),
        models: Sequence[str] = (),
    ) -> Iterator[LedgerRow]:
        """The rows with start <= ts < end (of these providers and models, when named), oldest
        first, as `LedgerRow`s, in constant memory. Columns this ledger predates read as None
        (or the field's default, where it has one)."""
        from sseusage_fast.ledger import postgres, sqlite

        p = self.placeholder
        columns = ", ".join(map(self.column, COLUMNS))
        sql = f"SELECT id, {columns} FROM requests WHERE ts >= {p} AND ts < {p}"
        params: list[Any] = [self.ts_param(start), self.ts_param(end)]
        for name, values in (("provider", providers), ("model", models)):
            if values:
                sql += f" AND {name} IN ({', '.join([p] * len(values))})"
                params.extend(values)
        module = sqlite if self.dialect == "sqlite" else postgres
        convert = module.from_db
        # Only the columns whose stored form differs are converted (most are plain values).
        converted = module.CONVERTED
        for values in self.stream(sql + " ORDER BY ts, id", params):
            fields = dict(zip(COLUMNS, values[1:]))
            for name in converted:
                fields[name] = convert(name, fields[name])
            for name in _DEFAULTED:
                if fields[name] is None:
                    del fields[name]
            yield LedgerRow(id=int(values[0]), **fields)

    # -- the last reconciliation (see `reconcile_table`) ----------------------------------

    def reconcile_lines(self) -> list[StoredLine]:
        """The stored reconciliation lines, by bucket and model; none when reconcile never
        stored a result here (the table is not created by reading)."""
        if not self.has_table(reconcile_table.TABLE):
            return []
        sql = (
            f"SELECT {reconcile_table.COLUMNS} FROM {reconcile_table.TABLE} "
            "ORDER BY bucket_start, model, group_key, service_tier"
        )
        found = self.fetchall(sql)
        if self.dialect != "sqlite":
            self.conn.rollback()
        return [StoredLine(*values) for values in found]

    def replace_reconcile_lines(self, provider: str, lines: Sequence[StoredLine]) -> None:
        """Replace `provider`'s stored lines with `lines`, in one transaction (the table is
        made on first use). Needs a reader opened with `write=True`."""
        if not self.writable:
            raise PermissionError("this ledger was opened for reading only")
        p = self.placeholder
        insert = (
            f"INSERT INTO {reconcile_table.TABLE} ({reconcile_table.COLUMNS}) "
            f"VALUES ({', '.join([p] * len(StoredLine._fields))})"
        )
        delete = f"DELETE FROM {reconcile_table.TABLE} WHERE provider = {p}"
        cur = self.conn.cursor()
        try:
            if self.dialect == "sqlite":
                cur.execute("BEGIN IMMEDIATE")
            cur.execute(reconcile_table.CREATE)
            cur.execute(delete, (provider,))
            cur.executemany(insert, [tuple(line) for line in lines])
        except BaseException:
            self.conn.rollback()
            raise
        finally:
            cur.close()
        self.conn.commit()

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sqlite_path(dsn: str) -> str | None:
    """The file path of a SQLite DSN, None for PostgreSQL (same rules as `open_ledger`)."""
    if dsn.startswith(("postgresql://", "postgres://")):
        return None
    if dsn.startswith("sqlite://"):
        return dsn[len("sqlite://") :].removeprefix("/")
    return dsn


def open_reader(dsn: str | Path, *, write: bool = False) -> LedgerReader:
    """An existing ledger; `write` allows updates (backfill). Raises `LedgerUnavailable`."""
    text = str(dsn)
    path = sqlite_path(text)
    if path is None:
        return _open_postgres(text, write=write)
    return _open_sqlite(path, write=write)


def _open_sqlite(path: str, *, write: bool) -> LedgerReader:
    if path == ":memory:" or not path:
        raise LedgerUnavailable("an in-memory database holds no ledger to read")
    file = Path(path)
    if not file.exists():
        raise LedgerUnavailable(f"no ledger at {path}: the file does not exist")
    if not file.is_file():
        raise LedgerUnavailable(f"no ledger at {path}: not a file")
    # mode=rw never creates the file (a typo stays an error); read-only commands open it
    # read-write too when they may, because a WAL database wants its -shm file writable.
    uri = file.resolve().as_uri()
    try:
        try:
            conn = sqlite3.connect(
                uri + "?mode=rw", uri=True, isolation_level=None, check_same_thread=False
            )
        except sqlite3.OperationalError:
            if write:
                raise
            conn = sqlite3.connect(
                uri + "?mode=ro", uri=True, isolation_level=None, check_same_thread=False
            )
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.create_aggregate("decimal_sum", 1, DecimalSum)  # type: ignore[arg-type]
        names = [r[1] for r in conn.execute("PRAGMA table_info(requests)").fetchall()]
    except sqlite3.Error as exc:
        raise LedgerUnavailable(f"{path} is not a ledger ({_one_line(exc)})") from None
    if not names:
        conn.close()
        raise LedgerUnavailable(f"{path} is not a ledger (it has no requests table)")
    if not write:
        conn.execute("PRAGMA query_only = ON")
    return LedgerReader(conn, "sqlite", names, dsn=path, writable=write)


def _open_postgres(dsn: str, *, write: bool) -> LedgerReader:
    try:
        import psycopg
    except ImportError:
        raise LedgerUnavailable(
            "reading a PostgreSQL ledger needs psycopg 3: pip install 'sseusage-fast[postgres]'"
        ) from None
    try:
        conn = psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.Error as exc:
        raise LedgerUnavailable(
            f"cannot reach the PostgreSQL ledger {redact(dsn)} ({_one_line(exc)})"
        ) from None
    try:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = 'requests' "
                "ORDER BY ordinal_position"
            ).fetchall()
        ]
        conn.rollback()
    except psycopg.Error as exc:
        conn.close()
        raise LedgerUnavailable(f"{redact(dsn)}: {_one_line(exc)}") from None
    if not names:
        conn.close()
        raise LedgerUnavailable(f"{redact(dsn)} holds no ledger (no requests table)")
    # As SQLite's query_only: a reader's transactions cannot write, whatever a caller runs.
    conn.read_only = not write
    return LedgerReader(conn, "postgres", names, dsn=dsn, writable=write)


def redact(dsn: str) -> str:
    """The DSN without its password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    if parts.password is None:
        return dsn
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
