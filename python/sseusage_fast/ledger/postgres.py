"""The shared ledger: PostgreSQL through psycopg 3, for several proxies writing to one place."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sseusage_fast.ledger.base import SQLLedger
from sseusage_fast.ledger.estimates import JSON_COLUMNS

# Any constant will do: it only has to be the same for every proxy sharing the database.
_MIGRATION_LOCK_KEY = 0x55E05A6E
CONNECT_TIMEOUT = 3
# Server-side limit of one statement (ms): a lock wait or an overloaded server fails the batch,
# which is then spooled, instead of holding it. The writer's watchdog covers a server that
# does not answer at all (stopped, partitioned), where no server-side timer can fire.
STATEMENT_TIMEOUT_MS = 3000
# A peer that vanished (host down, cable out) is noticed within about 20 s even when idle.
_KEEPALIVE: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 20000,
}


def default_spool_path(dsn: str) -> Path:
    """$XDG_STATE_HOME/sseusage (else ~/.local/state/sseusage)/spool-<hash of the DSN without
    its password>.jsonl: one file per database, in a directory of its own."""
    parts = urlsplit(dsn)
    if parts.password is not None:
        parts = parts._replace(netloc=parts.netloc.replace(":" + parts.password + "@", "@", 1))
    digest = hashlib.sha256(urlunsplit(parts).encode()).hexdigest()[:16]
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(state) / "sseusage" / f"spool-{digest}.jsonl"


class PostgresLedger(SQLLedger):
    dialect = "postgres"
    placeholder = "%s"
    day_expr = "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    cost_sum_expr = "SUM(cost_usd)"
    converted_columns = ("estimated", "estimate_ranges", "estimate_reasons")
    may_start_unavailable = True

    def __init__(self, dsn: str, *, spool: str | os.PathLike[str] | None = None) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise ImportError(
                "the PostgreSQL ledger needs psycopg 3: pip install 'sseusage-fast[postgres]'"
            ) from exc
        self.dsn = dsn
        super().__init__(spool)

    def _connect(self) -> Any:
        import psycopg

        # A bounded connect: an unreachable server must not stall the writer for minutes.
        return psycopg.connect(
            self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT, **_KEEPALIVE
        )

    def _writer_session(self, conn: Any) -> None:
        # The writer's connection only: a report's long aggregate must not be cut.
        conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")

    def _interrupt(self, conn: Any) -> None:
        # Shut the socket down under the blocked call: it fails at once with a connection
        # error (a cancel request would need the very server that does not answer).
        fd = conn.pgconn.socket
        with contextlib.suppress(OSError), socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)

    @contextmanager
    def _transaction(self, conn: Any) -> Iterator[Any]:
        with conn.transaction():
            yield conn

    def _lock_for_migration(self, conn: Any) -> None:
        # Proxies starting together must not run the same migration twice.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK_KEY,))

    def _to_db(self, name: str, value: Any) -> Any:
        codec = JSON_COLUMNS.get(name)
        return value if codec is None else codec[0](value)

    def _from_db(self, name: str, value: Any) -> Any:
        return from_db(name, value)


def from_db(name: str, value: Any) -> Any:
    """A stored value as the `LedgerRow` field holds it (psycopg already gives datetimes,
    booleans and Decimals)."""
    codec = JSON_COLUMNS.get(name)
    return value if codec is None else codec[1](value)


# The columns `from_db` changes.
CONVERTED = PostgresLedger.converted_columns
