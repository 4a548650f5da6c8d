"""SQLite's WAL copied into the database file from a thread of its own, not the writer's.

SQLite checkpoints on commit once the WAL passes 1,000 pages: the commit that crosses the line
copies the WAL into the database file and fsyncs both, and on a busy disk that took up to about
100 ms, during which the writer thread held every queued row (a `kill -9` then lost them). The
writer's connection checkpoints only as a safety net (`WRITER_AUTOCHECKPOINT_PAGES`); this
thread runs a PASSIVE checkpoint (it never waits for readers or the writer, who go on meanwhile)
every `interval` seconds on a connection of its own.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable

log = logging.getLogger("sseusage_fast.ledger")

# The writer's own connection checkpoints only past this many WAL pages (4 KiB each: 64 MiB),
# in case this thread cannot keep up (SQLite's default is 1,000).
WRITER_AUTOCHECKPOINT_PAGES = 16_384


class Checkpointer:
    interval = 1.0

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._stop = threading.Event()
        self.checkpoints = 0
        self.errors = 0
        self._thread = threading.Thread(
            target=self._run, name="sseusage-ledger-checkpoint", daemon=True
        )
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        failing = False
        while not self._stop.wait(self.interval):
            try:
                if conn is None:
                    conn = self._connect()
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.checkpoints += 1
                if failing:
                    failing = False
                    log.warning("ledger: WAL checkpoints work again")
            except Exception as exc:  # noqa: BLE001 - retried; the writer's net still holds
                self.errors += 1
                if not failing:
                    failing = True
                    log.warning("ledger: WAL checkpoint failed (retried): %s", exc)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
                    conn = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
