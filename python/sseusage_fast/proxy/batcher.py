"""Rows of ended requests, written in batches rather than one by one between other streams."""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio

log = logging.getLogger("sseusage_fast.proxy")

# The end of a metered request (the parser's finish, the row, its cost, the ledger call) runs in
# the event loop's next turn, in a batch with the others that ended in the same turn: back to
# back, all but the first run with warm caches (run once per request between other streams'
# reads, that code starts cold, at 3-4 times its warm cost), and under load a turn ends many
# streams. The ledger's writer thread gathers batches into one transaction (its `linger`).
# It was a 50 ms wait: at 1,000 streams (uvloop, 2026-12-05 06:56-06:58 UTC, load 3.6-4.8) the
# rows lost by a `kill -9` were up to 52-83 ms old with it, 0-24 ms without it. Ending each
# request at once, in its own step (no batch), was tried too (07:26-07:31 UTC, load 2-6, 2 runs
# each, interleaved): the proxy's own time from a request's end to its row durable fell (p99 per
# kill 22-130 ms against 46-257), but the per-event delay rose (proxied p99 per round, 8 rounds
# each in 07:28-07:37 UTC, load 1.8-6.0: 78-287 ms, median 175, against 84-179 ms, median 127),
# and the loss window seen by clients was 50 ms either way.
ROW_BATCH_SECONDS = 0.0


class RowBatcher:
    """Calls each request's end (which writes its row) in the next batch. Without a running
    `run()` (before the lifespan starts, and after it ends) ends are called at once."""

    def __init__(self) -> None:
        # Ends of requests whose rows are due in the next batch, in the order they ended.
        self._due: list[Callable[[], None]] = []
        # Set when the first of a batch arrives; None when no batcher runs (rows written at once).
        self._batch_due: anyio.Event | None = None

    async def run(self) -> None:
        try:
            while True:
                self._batch_due = anyio.Event()
                await self._batch_due.wait()
                await anyio.sleep(ROW_BATCH_SECONDS)
                self.write_pending()
        finally:
            self._batch_due = None

    def later(self, end: Callable[[], None]) -> None:
        """Run `end` (which writes one request's row) in the next batch."""
        if self._batch_due is None:
            _run_end(end)
            return
        self._due.append(end)
        if len(self._due) == 1:
            self._batch_due.set()

    def write_pending(self) -> None:
        """Write the rows of requests that have ended, now (at shutdown, or by a batch)."""
        while self._due:
            due, self._due = self._due, []
            for end in due:
                _run_end(end)

    def stop(self) -> None:
        """From now on rows are written at once; those waiting are written now."""
        self._batch_due = None
        self.write_pending()

    @property
    def pending(self) -> int:
        return len(self._due)


def _run_end(end: Callable[[], None]) -> None:
    try:
        end()
    except Exception:  # one failed row must not take the rest of its batch with it
        log.exception("writing a request's row failed")
