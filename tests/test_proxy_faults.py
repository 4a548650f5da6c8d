"""Faults around the proxy: a resetting or stalling upstream, a ledger database that goes away,
SIGTERM with streams in flight, and kill -9 of a process writing rows."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from proxy_harness import wait_rows
from replay_upstream import (
    INPUT_TOKENS,
    TEXT,
    anthropic_stream,
    free_port,
    serve,
)
from sseusage_fast.ledger import Ledger, LedgerRow, open_ledger
from sseusage_fast.ledger.base import SQLLedger
from sseusage_fast.proxy import ProxyConfig, create_app
from starlette.applications import Starlette

ROOT = Path(__file__).resolve().parent.parent
PG_DSN = os.environ.get("SSEUSAGE_TEST_PG_DSN")
KEY = "sk-ant-faults-0123456789"
BODY = {
    "model": "claude-opus-4-6",
    "max_tokens": 64,
    "stream": True,
    "messages": [{"role": "user", "content": "Say hello to the world."}],
}


def _stream(base: str, **headers: str) -> tuple[int, bytes]:
    with httpx.stream(
        "POST",
        base + "/v1/messages",
        json=BODY,
        headers={"x-api-key": KEY, **headers},
        timeout=30,
    ) as r:
        return r.status_code, b"".join(r.iter_raw())


# -- the upstream misbehaves ------------------------------------------------------------------


@contextlib.contextmanager
def resetting_upstream() -> Iterator[str]:
    """Answers 200 and half an Anthropic stream, then resets the connection (TCP RST)."""
    listener = socket.create_server(("127.0.0.1", 0))
    events = anthropic_stream("claude-opus-4-6", "msg_reset")
    half = b"".join(events[: len(events) // 2])

    def serve_one(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            length = int(
                next(
                    line.split(b":")[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
            )
            while len(rest) < length:
                rest += conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"request-id: req_reset\r\ntransfer-encoding: chunked\r\n\r\n"
                + f"{len(half):x}\r\n".encode()
                + half
                + b"\r\n"
            )
            time.sleep(0.2)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_upstream_reset_mid_stream_keeps_the_row(ledger: Ledger) -> None:
    with resetting_upstream() as up:
        app = create_app(ProxyConfig(upstream=up, trust_env=False), ledger)
        with serve(app) as url, pytest.raises(httpx.HTTPError):
            _stream(url)  # the client's response is cut too, never ended as if complete
    (row,) = wait_rows(ledger, 1)
    assert row.interrupted == "upstream_error" and row.http_status == 200
    assert row.request_id == "req_reset" and row.status == "partial"
    assert row.input_tokens == INPUT_TOKENS  # what arrived before the reset is kept
    assert row.requires_manual_review
    assert row.error_type in ("ReadError", "RemoteProtocolError")
    assert row.error_message and row.error_message.startswith("upstream failed")


def test_stalled_stream_hits_the_read_timeout(
    upstream: tuple[str, Starlette], ledger: Ledger
) -> None:
    config = ProxyConfig(upstream=upstream[0], read_timeout=0.5, trust_env=False)
    with serve(create_app(config, ledger)) as url:
        started = time.monotonic()
        with pytest.raises(httpx.HTTPError):  # cut, not a clean end
            _stream(url, **{"x-replay-stall-body": "5"})
        assert time.monotonic() - started < 4
    (row,) = wait_rows(ledger, 1)
    assert row.interrupted == "upstream_error" and row.error_type == "ReadTimeout"
    assert row.error_message == "upstream sent nothing for 0.5 s (read timeout)"
    assert row.input_tokens == INPUT_TOKENS and row.requires_manual_review


def test_upstream_silent_before_headers_is_a_504(
    upstream: tuple[str, Starlette], ledger: Ledger
) -> None:
    config = ProxyConfig(upstream=upstream[0], read_timeout=0.5, trust_env=False)
    with serve(create_app(config, ledger)) as url:
        status, body = _stream(url, **{"x-replay-stall-headers": "5"})
    assert status == 504
    assert json.loads(body)["error"]["type"] == "proxy_upstream_timeout"
    (row,) = wait_rows(ledger, 1)
    assert row.http_status == 504 and row.error_type == "ReadTimeout"
    assert row.interrupted == "upstream_error"
    # The request reached the provider, which may bill it: a human looks.
    assert row.requires_manual_review


def test_timeout_defaults_suit_long_generations() -> None:
    config = ProxyConfig(upstream="https://api.anthropic.com")
    # Per read, not per response: a stream may last an hour as long as it keeps talking.
    assert config.read_timeout >= 300 and config.connect_timeout <= 30
    assert config.write_timeout >= 30 and config.pool_timeout >= 10
    assert config.drain_timeout >= 60
    from sseusage_fast.cli import build_parser

    args = build_parser().parse_args(
        ["proxy", "--upstream", "http://x", "--read-timeout", "1", "--connect-timeout", "2"]
        + ["--write-timeout", "3", "--pool-timeout", "4", "--drain-timeout", "5"]
    )
    assert (args.read_timeout, args.connect_timeout, args.write_timeout) == (1, 2, 3)
    assert (args.pool_timeout, args.drain_timeout) == (4, 5)


# -- the ledger database goes away ------------------------------------------------------------


class TcpRelay:
    """A TCP relay to a real server that the test can take down (connections reset, port
    closed) and bring back on the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        assert self._listener is not None
        # shutdown() first: close() alone leaves the port listening while accept() blocks.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
        self._conns.clear()

    def _accept(self, listener: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                server = socket.create_connection(self.target)
                self._conns += [client, server]
                for a, b in ((client, server), (server, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)
        with contextlib.suppress(OSError):
            b.shutdown(socket.SHUT_WR)


def _row(i: int) -> LedgerRow:
    return LedgerRow(request_id=f"req_{i:04d}", model="claude-opus-4-6", status="complete")


def _wait(predicate: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.skipif(not PG_DSN, reason="needs SSEUSAGE_TEST_PG_DSN (a PostgreSQL server)")
def test_postgres_outage_rows_are_spooled_and_replayed_once(tmp_path: Path) -> None:
    import uuid
    from urllib.parse import urlsplit

    import psycopg

    assert PG_DSN is not None
    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(PG_DSN, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    real = urlsplit(PG_DSN)
    relay = TcpRelay((real.hostname or "127.0.0.1", real.port or 5432))
    netloc = real.netloc.rsplit("@", 1)[0] + f"@127.0.0.1:{relay.port}"
    sep = "&" if real.query else "?"
    dsn = real._replace(netloc=netloc).geturl() + f"{sep}options=-csearch_path%3D{schema}"
    spool = tmp_path / "spool.jsonl"

    def count() -> int:
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            return int(conn.execute(f"SELECT COUNT(*) FROM {schema}.requests").fetchone()[0])

    led = open_ledger(dsn, spool=spool)
    assert isinstance(led, SQLLedger)
    led.writer.max_retry_delay = 0.2
    try:
        for i in range(5):
            led.record(_row(i))
        assert led.flush(timeout=10) and count() == 5

        relay.down()  # the database goes away
        for i in range(5, 25):
            led.record(_row(i))
        assert led.flush(timeout=30)  # delivered: to the spool, fsync'd
        assert led.spooled() == 20 and count() == 5
        own = led.spool.path  # this process's file beside the configured path
        assert own.name == f"spool.jsonl.{os.getpid()}"
        lines = own.read_text().splitlines()
        assert len(lines) == 20 and oct(own.stat().st_mode & 0o777) == "0o600"
        assert KEY not in own.read_text()

        relay.up()  # it comes back: the spool is replayed, in order, and emptied
        _wait(lambda: led.spooled() == 0)
        assert count() == 25 and own.read_text() == ""
        led.record(_row(25))
        assert led.flush(timeout=10) and count() == 26

        # A crash between the replay's commit and the spool being emptied replays the same
        # lines again: no duplicate (rows are keyed by uuid). A file no process holds is
        # adopted by the next ledger that looks.
        led.close()
        assert not own.exists()  # empty at close: removed
        spool.write_text("\n".join(lines) + "\n")
        led = open_ledger(dsn, spool=spool)
        _wait(lambda: led.spooled() == 0 and not spool.exists())
        ids = [r.request_id for r in led.rows()]
        assert ids == [f"req_{i:04d}" for i in range(26)]
    finally:
        led.close()
        with psycopg.connect(PG_DSN, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def test_sqlite_spool_replay_is_idempotent(tmp_path: Path) -> None:
    from sseusage_fast.ledger.base import Capture
    from sseusage_fast.ledger.spool import Spool

    spool = Spool(tmp_path / "l.db.spool.jsonl")
    rows = [_row(i) for i in range(3)]
    entries: list[tuple[LedgerRow, Capture | None]] = [(r, None) for r in rows]
    entries[1] = (rows[1], Capture(b'{"q": 1}', b"data: x\n\n"))
    spool.append(entries)
    spool.append(entries)  # the same rows twice (a replay interrupted, then redone)
    left = spool.path
    spool.close()  # as if its process had died: the file is kept, unlocked
    led = open_ledger(tmp_path / "l.db")  # the default spool sits next to the file
    try:
        _wait(lambda: led.flush() and led.count() == 3)
        got = list(led.rows())
        assert [r.uuid for r in got] == [r.uuid for r in rows]
        assert got[1].id is not None and led.capture(got[1].id) == entries[1][1]
        _wait(lambda: not left.exists())  # adopted, replayed, removed
    finally:
        led.close()


# -- the process is stopped -------------------------------------------------------------------


def _env() -> dict[str, str]:
    path = [str(ROOT / "python"), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p)}


def test_sigterm_drains_in_flight_streams(upstream: tuple[str, Starlette], tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "drain.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sseusage_fast.cli", "proxy", "--upstream", upstream[0]]
        + ["--port", str(port), "--db", str(db), "--log-level", "warning"],
        env=_env(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _up(base), timeout=20)
        results: dict[int, tuple[int, bytes]] = {}
        first_bytes = threading.Barrier(4)

        def client(i: int) -> None:
            # Each stream pauses 1.5 s halfway: SIGTERM arrives while all are in flight.
            with httpx.stream(
                "POST",
                base + "/v1/messages",
                json=BODY,
                headers={"x-api-key": KEY, "x-replay-stall-body": "1.5"},
                timeout=30,
            ) as r:
                chunks = r.iter_raw()
                got = [next(chunks)]
                first_bytes.wait()
                got += list(chunks)
                results[i] = (r.status_code, b"".join(got))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        first_bytes.wait(timeout=10)
        proc.send_signal(signal.SIGTERM)
        for t in threads:
            t.join(timeout=30)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(results) == 3
    for status, body in results.values():
        assert status == 200 and body.count(b"event: message_stop") == 1
        texts = [
            json.loads(line[6:])["delta"].get("text", "")
            for line in body.decode().splitlines()
            if line.startswith("data: ") and "content_block_delta" in line
        ]
        assert "".join(texts) == TEXT
    led = open_ledger(db)
    try:
        rows = list(led.rows())
    finally:
        led.close()
    streams = [r for r in rows if r.method == "POST"]  # the others are the /health probes
    assert len(streams) == 3
    assert all(r.status == "complete" and r.interrupted is None for r in streams)


def _up(base: str) -> bool:
    try:
        httpx.get(base + "/health", timeout=1)
    except httpx.HTTPError:
        return False
    return True


_WRITER = textwrap.dedent(
    """
    import sys
    from sseusage_fast.ledger import LedgerRow, open_ledger

    led = open_ledger(sys.argv[1])
    i = 0
    while True:
        for _ in range(10):
            led.record(LedgerRow(request_id=f"req_{i:06d}", status="complete"))
            i += 1
        led.flush()  # committed: only now is it acknowledged
        print(i, flush=True)
    """
)


def test_kill_9_loses_no_committed_row(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db)], env=_env(), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acknowledged = 0
    try:
        while acknowledged < 300:
            acknowledged = int(proc.stdout.readline())
    finally:
        proc.send_signal(signal.SIGKILL)  # mid-write, most likely
        proc.wait(timeout=10)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    led = open_ledger(db)
    try:
        ids = {r.request_id for r in led.rows()}
    finally:
        led.close()
    assert {f"req_{i:06d}" for i in range(acknowledged)} <= ids
