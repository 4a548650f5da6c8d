"""What the proxy test files share, registered as a pytest plugin in conftest.py: a replay
upstream served on loopback, a SQLite ledger, and waiting for the rows of finished requests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from replay_upstream import create_replay_app, serve
from sseusage_fast.ledger import Ledger, LedgerRow, open_ledger
from starlette.applications import Starlette


@pytest.fixture(scope="module")
def upstream() -> Iterator[tuple[str, Starlette]]:
    app = create_replay_app()
    with serve(app) as url:
        yield url, app


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    led = open_ledger(tmp_path / "ledger.db")
    yield led
    led.close()


def wait_rows(ledger: Ledger, n: int, timeout: float = 10.0) -> list[LedgerRow]:
    """The rows of `n` requests: a row is written after its relay ends, which may be just
    after the client's end, and in the proxy's next batch."""
    deadline = time.monotonic() + timeout
    while True:
        ledger.flush()
        rows = list(ledger.rows())
        if len(rows) >= n or time.monotonic() > deadline:
            assert len(rows) == n, rows
            return rows
        time.sleep(0.02)
