"""The ledger's writer thread: rows from `record()` to the database, or to the spool, or (at the
very last) to stderr. It cannot die and it always stops.

- Rows wait in a bounded in-memory queue. The writer takes a batch, writes it in one
  transaction, or appends it to the spool (fsync'd) when the database cannot take it; when the
  spool cannot either (disk full, unwritable), the batch stays in memory and both are retried
  with backoff. A full queue sends further rows to stderr as JSON lines, counted.
- Every database call has a deadline: a watchdog thread interrupts a call that outlives it (a
  stalled server, a network partition), so a batch is never stuck longer than `db_timeout`.
  Once the database is down, a prober thread tries to reconnect (with backoff) and hands the
  writer a connection only when one is made: the writer itself never waits on a dead server
  again, so rows keep reaching the spool at once.
- Failures are caught, counted, and logged once per change of state (down, back up).
- While the spool holds rows, new rows are appended behind them and the spool is replayed a
  chunk at a time between batches, so replay runs while traffic continues, in order, and the
  database skips rows it already has (their uuid).
- `close()` ends within its timeout plus one database deadline: rows not written by then go to
  the spool, else to stderr as JSON lines, and `health()["stderr_rows"]` says how many.
"""

from __future__ import annotations

import logging
import math
import os
import random
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO, Any, Protocol

from sseusage_fast.ledger.spool import Entry, Spool, SpoolFile, row_to_json

log = logging.getLogger("sseusage_fast.ledger")


class Database(Protocol):
    """What the writer needs of a database."""

    def connect(self) -> Any:
        """A new connection, schema up to date, its own timeouts set."""

    def write(self, conn: Any, entries: list[Entry]) -> None:
        """The entries in one transaction, skipping uuids already present."""

    def interrupt(self, conn: Any) -> None:
        """Called from another thread: make a call blocked on `conn` fail now."""

    def disconnect(self, conn: Any) -> None:
        """Close `conn`, quietly."""


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}"


def _percentiles(values: list[float]) -> dict[str, float] | None:
    """p50, p99 and max of the recent rows' time to durable, in ms; None before any row."""
    if not values:
        return None
    values.sort()
    at = len(values) - 1
    return {
        "p50": round(values[at // 2], 1),
        "p99": round(values[at * 99 // 100], 1),
        "max": round(values[at], 1),
        "rows": len(values),
    }


class _Backoff:
    """When to try a failing thing again: 0.1 s, doubling to `cap`, with jitter (several
    proxies on one database must not retry in step)."""

    def __init__(self, first: float) -> None:
        self.first = first
        self.delay = 0.0
        self.due = 0.0

    def ready(self, now: float) -> bool:
        return now >= self.due

    def failed(self, now: float, cap: float) -> None:
        self.delay = min(cap, self.delay * 2 if self.delay else self.first)
        self.due = now + self.delay * random.uniform(0.8, 1.2)

    def succeeded(self) -> None:
        self.delay = 0.0
        self.due = 0.0


class RowWriter:
    # Rows per transaction (and per spool append, per replay chunk).
    batch_size = 500
    # After the first row of a batch, wait this long for more: the proxy hands rows over in
    # bursts, and one transaction per burst beats one per row. `flush()` cuts it short.
    linger = 0.01
    # The longest a database call may take before it is interrupted.
    db_timeout = 3.0
    # Rows in memory (queued, or held while both the database and the spool fail).
    queue_limit = 50_000
    # `close()` waits this long for rows to be written (database or spool) by default;
    # SSEUSAGE_LEDGER_CLOSE_TIMEOUT sets it.
    close_timeout = 10.0
    # The longest wait between two tries of a failing database or spool (seconds).
    max_retry_delay = 5.0
    # How often to look for spool files that dead processes left behind.
    orphan_scan_interval = 30.0

    def __init__(
        self,
        db: Database,
        spool: Spool | None,
        *,
        stderr: Callable[[], IO[str]] | None = None,
    ) -> None:
        self._db = db
        self._spool = spool
        if os.environ.get("SSEUSAGE_LEDGER_CLOSE_TIMEOUT"):
            self.close_timeout = float(os.environ["SSEUSAGE_LEDGER_CLOSE_TIMEOUT"])
        self._stderr = stderr or (lambda: sys.stderr)
        self._cond = threading.Condition()
        self._queue: deque[Entry] = deque()
        self._undelivered = 0  # queued + held
        self._held: list[Entry] = []  # taken from the queue, not yet durable anywhere
        self._hurry = threading.Event()
        self._stopping = False
        self._stop_deadline = math.inf
        self._conn: Any = None
        self._db_retry = _Backoff(0.1)
        self._spool_retry = _Backoff(0.1)
        self._fault_retry = _Backoff(0.05)
        self._orphan: SpoolFile | None = None
        self._next_orphan_scan = 0.0
        # The watchdog's view of the call in progress: (connection, deadline) or None.
        self._call: tuple[Any, float] | None = None
        self._done = threading.Event()
        # Health.
        self.db_state = "unknown"
        self.spool_state = "ok" if spool is not None else "none"
        self.writer_state = "ok"
        self.db_errors = 0
        self.spool_errors = 0
        self.writer_errors = 0
        self.stderr_rows = 0
        self.orphan_rows = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        # How long recent rows took from their request's end (`ts` + `latency_ms`) to durable.
        self._durable_ms: deque[float] = deque(maxlen=4096)
        # A connection the prober made while the database was down, for the writer to take.
        self._probed: Any = None
        self._probe_wanted = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sseusage-ledger", daemon=True)
        self._prober = threading.Thread(
            target=self._probe, name="sseusage-ledger-prober", daemon=True
        )
        self._watchdog = threading.Thread(
            target=self._watch, name="sseusage-ledger-watchdog", daemon=True
        )
        self._thread.start()
        self._watchdog.start()
        self._prober.start()

    # -- the caller's side -----------------------------------------------------------------

    def record(self, entry: Entry) -> None:
        with self._cond:
            if self._stopping:
                raise RuntimeError("the ledger is closed")
            if self._undelivered >= self.queue_limit:
                overflow = True
            else:
                overflow = False
                self._queue.append(entry)
                self._undelivered += 1
                if len(self._queue) == 1:
                    self._cond.notify()
        if overflow:
            self._last_resort([entry], "the in-memory queue is full")

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every row recorded so far is durable (committed or spooled)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._undelivered:
                self._hurry.set()
                self._cond.notify()
                wait = 0.05 if deadline is None else min(0.05, deadline - time.monotonic())
                if wait <= 0:
                    return False
                self._cond.wait(wait)
        return True

    def close(self, timeout: float | None = None) -> dict[str, Any]:
        """Stop: write what is queued within `timeout` (database, else spool), then send what
        is left to stderr. Returns `health()`; `stderr_rows` > 0 means rows left that way."""
        wait = self.close_timeout if timeout is None else timeout
        with self._cond:
            if not self._stopping:
                self._stopping = True
                self._stop_deadline = time.monotonic() + wait
            self._cond.notify_all()
        self._hurry.set()
        self._thread.join(wait + self.db_timeout + 2.0)
        if self._thread.is_alive():
            # Stuck where no deadline reaches (it should not happen): what it holds is
            # written out here; the thread is a daemon and dies with the process.
            with self._cond:
                left = [*self._held, *self._queue]
                self._queue.clear()
                self._held = []
                self._undelivered = 0
            self._last_resort(left, "the ledger writer did not stop in time")
        else:
            if self._spool is not None:
                self._spool.close()
            if self._orphan is not None:
                self._orphan.close()
        self._done.set()
        return self.health()

    def health(self) -> dict[str, Any]:
        with self._cond:
            queued = self._undelivered
            stopping = self._stopping
            oldest = self._held[0] if self._held else self._queue[0] if self._queue else None
            durable = list(self._durable_ms)
        lag = 0.0
        if oldest is not None:
            row = oldest[0]
            lag = max(0.0, time.time() - row.ts.timestamp() - (row.latency_ms or 0.0) / 1000)
        spooled = self.orphan_rows + (self._spool.count() if self._spool is not None else 0)
        if stopping:
            state = "closed"
        elif self.db_state == "down" and self.spool_state != "ok":
            state = "failing"  # rows wait in memory only
        elif self.db_state == "down" or spooled:
            state = "degraded"  # rows wait in the spool
        else:
            state = "ok"
        return {
            "state": state,
            "db": self.db_state,
            "spool": self.spool_state,
            "writer": self.writer_state,
            "queued": queued,
            "lag_seconds": round(lag, 3),
            "queue_limit": self.queue_limit,
            "spooled": spooled,
            "spool_path": None if self._spool is None else str(self._spool.path),
            "stderr_rows": self.stderr_rows,
            "db_errors": self.db_errors,
            "spool_errors": self.spool_errors,
            "writer_errors": self.writer_errors,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at,
            "accepting": not stopping and queued < self.queue_limit,
            "durable_ms": _percentiles(durable),
        }

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                if self._cycle():
                    break
                if self.writer_state != "ok":
                    self.writer_state = "ok"
                    log.warning("ledger writer recovered")
                self._fault_retry.succeeded()
            except Exception as exc:  # the writer must not die, whatever happens
                self.writer_errors += 1
                self._error(exc)
                if self.writer_state == "ok":
                    self.writer_state = "faulted"
                    log.exception("ledger writer fault (rows are kept and retried)")
                self._fault_retry.failed(time.monotonic(), 2.0)
                if self._give_up_if_late():
                    break
                time.sleep(self._fault_retry.delay)
        for conn in (self._conn, self._take_probed()):
            if conn is not None:
                self._db.disconnect(conn)
        self._conn = None

    def _cycle(self) -> bool:
        """One step: take a batch, deliver it, replay a chunk of the spool. True: stop."""
        if self.db_state == "down" and self._probed is not None:
            self._conn = self._take_probed()
            self.db_state = "up"
            log.warning("ledger database is back")
        if not self._held:
            self._take()
        else:
            self._wait_for_retry()
        if self._held:
            self._deliver()
        self._replay_chunk()
        with self._cond:
            finished = self._stopping and not self._queue and not self._held
        return finished or self._give_up_if_late()

    def _take(self) -> None:
        with self._cond:
            if not self._queue and not self._stopping:
                self._cond.wait(self._idle_wait())
            if not self._queue:
                return
            lingering = self.linger > 0 and not self._stopping
        if lingering and len(self._queue) < self.batch_size:
            self._hurry.wait(self.linger)
        self._hurry.clear()
        with self._cond:
            n = min(self.batch_size, len(self._queue))
            self._held = [self._queue.popleft() for _ in range(n)]

    def _idle_wait(self) -> float:
        if self._replay_pending() and self._db_ready():
            return 0.0
        return 0.5

    def _db_ready(self) -> bool:
        """Whether to try the database now: unless it is down, or the prober has a connection."""
        return self.db_state != "down" or self._probed is not None

    def _take_probed(self) -> Any:
        with self._cond:
            conn, self._probed = self._probed, None
        return conn

    def _wait_for_retry(self) -> None:
        """Held rows wait for the spool to be due again, or the prober to reconnect."""
        if self._db_ready():
            return
        now = time.monotonic()
        due = now + 1.0
        if self._spool is not None:
            due = min(due, self._spool_retry.due)
        if due > now:
            with self._cond:
                if not self._stopping or now < self._stop_deadline:
                    self._cond.wait(min(due - now, max(0.0, self._stop_deadline - now), 1.0))

    def _deliver(self) -> None:
        held = self._held
        now = time.monotonic()
        backlog = self._spool is not None and self._spool.own_backlog() is not None
        if not backlog and self._db_ready() and self._write_db(held):
            return self._delivered()
        if self._spool is not None and self._spool_retry.ready(now) and self._append_spool(held):
            return self._delivered()
        if backlog and self._db_ready() and self._write_db(held):
            # The spool is failing but the database is up: these rows go in ahead of the
            # spooled ones rather than wait.
            return self._delivered()
        return None  # held: retried when one of them is due

    def _delivered(self) -> None:
        now = time.time()
        took = [
            (now - row.ts.timestamp()) * 1000 - (row.latency_ms or 0.0) for row, _ in self._held
        ]
        with self._cond:
            self._durable_ms.extend(took)
            self._undelivered -= len(self._held)
            self._held = []
            self._cond.notify_all()

    def _write_db(self, entries: list[Entry]) -> bool:
        try:
            if self._conn is None:
                self._conn = self._take_probed() or self._db.connect()
            self._call = (self._conn, time.monotonic() + self.db_timeout)
            try:
                self._db.write(self._conn, entries)
            finally:
                self._call = None
        except Exception as exc:  # noqa: BLE001 - any failure: the database is down for now
            self.db_errors += 1
            self._error(exc)
            if self._conn is not None:
                self._db.disconnect(self._conn)
                self._conn = None
            if self.db_state != "down":
                self.db_state = "down"
                where = "spooled" if self._spool is not None else "kept in memory"
                log.warning("ledger database unavailable (rows are %s): %s", where, one_line(exc))
            self._probe_wanted.set()
            return False
        if self.db_state != "up":
            if self.db_state == "down":
                log.warning("ledger database is back")
            self.db_state = "up"
        return True

    def _append_spool(self, entries: list[Entry]) -> bool:
        assert self._spool is not None
        try:
            self._spool.append(entries)
        except Exception as exc:  # noqa: BLE001 - disk full, unwritable, gone: retry later
            self.spool_errors += 1
            self._error(exc)
            self._spool_retry.failed(time.monotonic(), self.max_retry_delay)
            if self.spool_state != "failing":
                self.spool_state = "failing"
                log.error(
                    "ledger spool %s cannot be written (rows wait in memory): %s",
                    self._spool.base,
                    one_line(exc),
                )
            return False
        self._spool_retry.succeeded()
        if self.spool_state != "ok":
            self.spool_state = "ok"
            log.warning("ledger spool writable again: %s", self._spool.path)
        return True

    # -- replay --------------------------------------------------------------------------

    def _replay_pending(self) -> bool:
        if self._spool is None:
            return False
        if self._orphan is not None or self._spool.own_backlog() is not None:
            return True
        return time.monotonic() >= self._next_orphan_scan

    def _replay_chunk(self) -> None:
        """Write one chunk of spooled rows, if the database may be tried now."""
        spool = self._spool
        if spool is None or not self._db_ready():
            return
        source = spool.own_backlog()
        if source is None:
            source = self._orphan or self._adopt()
            if source is None:
                return
        entries, consumed, offset = source.read_chunk(self.batch_size)
        if entries and not self._write_db(entries):
            return
        source.advance(offset, consumed)
        if source is self._orphan:
            self.orphan_rows = max(0, self.orphan_rows - consumed)
        if not source.at_end():
            return
        if source is self._orphan:
            self._orphan = None
            spool.remove(source)
            log.warning("ledger: spool %s left by an earlier process replayed", source.path)
        else:
            spool.reset_own()
            log.warning("ledger: spooled rows replayed, writing directly again")

    def _adopt(self) -> SpoolFile | None:
        now = time.monotonic()
        if self._spool is None or now < self._next_orphan_scan:
            return None
        self._next_orphan_scan = now + self.orphan_scan_interval
        try:
            for orphan in self._spool.orphans():
                if self._orphan is None:
                    self._orphan = orphan
                    self.orphan_rows = orphan.rows
                else:
                    orphan.close()  # the next scan takes it
                    self._next_orphan_scan = now
        except OSError as exc:
            self._error(exc)
        return self._orphan

    # -- giving up, errors, the watchdog -------------------------------------------------

    def _give_up_if_late(self) -> bool:
        """At close, past the deadline: what is still in memory goes to stderr. True: stop."""
        with self._cond:
            if not self._stopping or time.monotonic() < self._stop_deadline:
                return False
            left = [*self._held, *self._queue]
            self._held = []
            self._queue.clear()
            self._undelivered = 0
            self._cond.notify_all()
        if left:
            self._last_resort(left, "neither the database nor the spool took them in time")
        return True

    def _last_resort(self, entries: list[Entry], why: str) -> None:
        """Rows that nothing else could keep: JSON lines on stderr, the same form as the
        spool's (`sseusage` can load them back), counted."""
        try:
            out = self._stderr()
            out.write("".join(row_to_json(row, capture) + "\n" for row, capture in entries))
            out.flush()
        except Exception as exc:  # noqa: BLE001 - nowhere left to write them
            log.critical("ledger: %d rows lost (%s; stderr failed: %s)", len(entries), why, exc)
            return
        self.stderr_rows += len(entries)
        log.error(
            "ledger: %d rows written to stderr as JSON lines (%s); %d in all",
            len(entries),
            why,
            self.stderr_rows,
        )

    def _error(self, exc: BaseException) -> None:
        self.last_error = one_line(exc)
        self.last_error_at = time.time()

    def _probe(self) -> None:
        """While the database is down: connect, with backoff, until a connection is made; the
        writer takes it. A stalled server holds this thread, never the writer."""
        while not self._done.is_set():
            if not self._probe_wanted.wait(0.5):
                continue
            self._db_retry.failed(time.monotonic(), self.max_retry_delay)
            if self._done.wait(self._db_retry.delay):
                return
            try:
                conn = self._db.connect()
            except Exception as exc:  # noqa: BLE001 - still down
                self.db_errors += 1
                self._error(exc)
                continue
            self._db_retry.succeeded()
            with self._cond:
                if self._done.is_set():
                    self._db.disconnect(conn)
                    return
                self._probe_wanted.clear()
                self._probed = conn
                self._cond.notify_all()

    def _watch(self) -> None:
        """Interrupt a database call that outlives its deadline."""
        interrupted: Any = None
        while not self._done.wait(0.1):
            call = self._call
            if call is None:
                interrupted = None
                continue
            conn, deadline = call
            if conn is not interrupted and time.monotonic() > deadline:
                interrupted = conn
                try:
                    self._db.interrupt(conn)
                except Exception as exc:  # noqa: BLE001
                    log.warning("ledger: could not interrupt a stalled call: %s", one_line(exc))
