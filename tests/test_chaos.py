"""Chaos on the ledger's bad days, with real disks, databases and processes, each test bounded
in time and on loopback only, each counting rows against what was sent: a disk that fills and
is freed, a spool that cannot be written, a PostgreSQL server that stops answering (SIGSTOP)
and restarts under load, two processes on one DSN (one of them killed), kill -9 of a proxy
under load, and an upstream that echoes the caller's key."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from replay_upstream import create_replay_app, free_port, serve
from sseusage_fast.ledger import LedgerRow, open_ledger
from sseusage_fast.ledger.base import SQLLedger
from sseusage_fast.ledger.spool import Spool, row_from_json
from sseusage_fast.proxy import ProxyConfig, create_app
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
BODY = {
    "model": "claude-opus-4-6",
    "max_tokens": 64,
    "stream": True,
    "messages": [{"role": "user", "content": "Say hello to the world."}],
}


def _row(prefix: str, i: int) -> LedgerRow:
    return LedgerRow(request_id=f"{prefix}_{i:06d}", model="claude-opus-4-6", status="complete")


def _wait(predicate: Any, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.02)


def _env(**extra: str) -> dict[str, str]:
    path = [str(ROOT / "python"), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in path if p), **extra}


def _sqlite_ids(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return [r[0] for r in conn.execute("SELECT request_id FROM requests ORDER BY id")]


# -- the disk fills up, then is freed ---------------------------------------------------------


@contextlib.contextmanager
def small_tmpfs(size: str) -> Iterator[Path]:
    where = Path(tempfile.mkdtemp(prefix="sseusage-full-"))
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
            check=False,
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        mounted = None
    if mounted is None or mounted.returncode != 0:
        where.rmdir()
        pytest.skip("cannot mount a tmpfs here (the injected-OSError test covers it)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False, capture_output=True, timeout=10)
        with contextlib.suppress(OSError):
            where.rmdir()


def _fill(path: Path) -> None:
    """Fill the filesystem: write until ENOSPC."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, block)
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 512)
    finally:
        os.close(fd)


def _send_from_threads(led: Any, prefix: str, n: int, threads: int = 10) -> None:
    def send(k: int) -> None:
        for i in range(k, n, threads):
            led.record(_row(prefix, i))

    workers = [threading.Thread(target=send, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_disk_full_then_freed_loses_no_row(tmp_path: Path) -> None:
    """SQLite database and spool on a 4 MiB tmpfs, filled: both fail, rows wait in memory,
    the writer lives on; once space is freed every row is written, once."""
    with small_tmpfs("4m") as disk:
        led = open_ledger(disk / "usage.db")  # the spool sits next to it, on the same disk
        assert isinstance(led, SQLLedger)
        led.writer.max_retry_delay = 0.2
        try:
            led.record(_row("before", 0))
            assert led.flush(timeout=10)
            _fill(disk / "ballast")
            sent = 1500
            _send_from_threads(led, "full", sent)
            _wait(lambda: led.health()["state"] == "failing", what="health says failing")
            health = led.health()
            assert health["db"] == "down" and health["spool"] == "failing"
            assert health["queued"] > 0 and health["stderr_rows"] == 0
            assert not led.flush(timeout=0.5)
            (disk / "ballast").unlink()  # space is freed
            assert led.flush(timeout=30)
            _wait(lambda: led.spooled() == 0, what="spool replayed")
            ids = [r.request_id for r in led.rows()]
        finally:
            report = led.close(timeout=5)
        assert report["stderr_rows"] == 0
        print(f"disk full (tmpfs): sent {sent + 1}, recorded {len(set(ids))}")
        assert len(ids) == len(set(ids)) == sent + 1
        assert set(ids) == {"before_000000"} | {f"full_{i:06d}" for i in range(sent)}


def test_disk_full_injected_then_freed_loses_no_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same with the disk's errors injected (for machines where tmpfs cannot be mounted)."""
    full = threading.Event()
    full.set()
    real_write, real_append = SQLLedger._write, Spool.append

    def write(self: Any, conn: Any, entries: Any) -> None:
        if full.is_set():
            raise sqlite3.OperationalError("database or disk is full")
        real_write(self, conn, entries)

    def append(self: Any, entries: Any) -> None:
        if full.is_set():
            raise OSError(errno.ENOSPC, "No space left on device")
        real_append(self, entries)

    monkeypatch.setattr(SQLLedger, "_write", write)
    monkeypatch.setattr(Spool, "append", append)
    led = open_ledger(tmp_path / "usage.db")
    assert isinstance(led, SQLLedger)
    led.writer.max_retry_delay = 0.2
    sent = 1500
    try:
        _send_from_threads(led, "full", sent)
        _wait(lambda: led.health()["state"] == "failing")
        assert led.health()["queued"] == sent
        full.clear()
        assert led.flush(timeout=30)  # durable: committed, or spooled first and replayed next
        _wait(lambda: led.spooled() == 0, what="spool replayed")
        ids = [r.request_id for r in led.rows()]
    finally:
        led.close(timeout=5)
    print(f"disk full (injected): sent {sent}, recorded {len(set(ids))}")
    assert sorted(ids) == [f"full_{i:06d}" for i in range(sent)]


# -- the spool cannot be written and the database is down: SIGTERM still ends ------------------


def test_sigterm_with_database_down_and_spool_unwritable_prints_rows_and_exits_3(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # the spool's directory is a file: nothing can be created there
    upstream = create_replay_app()
    port = free_port()
    down = f"postgresql://user:pw@127.0.0.1:{free_port()}/ledger"  # nothing listens
    with serve(upstream) as up:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sseusage_fast.cli", "proxy", "--upstream", up]
            + ["--port", str(port), "--db", down, "--spool", str(blocker / "spool.jsonl")]
            + ["--log-level", "warning", "--drain-timeout", "2"],
            env=_env(SSEUSAGE_LEDGER_CLOSE_TIMEOUT="1"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(lambda: _up(base), what="proxy up")
            sent = 25
            for i in range(sent):
                r = httpx.post(
                    base + "/v1/messages",
                    json=BODY,
                    headers={"x-api-key": "sk-ant-chaos-0123456789abcdef", "x-replay-id": str(i)},
                    timeout=10,
                )
                assert r.status_code == 200 and b"message_stop" in r.content
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=30)
            elapsed = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 3, stderr[-2000:]
    assert elapsed < 15  # drain + the app's flush + the ledger's bounded close
    rows = [row_from_json(line)[0] for line in stderr.splitlines() if line.startswith("{")]
    streams = sorted(r.request_id for r in rows if r.method == "POST")
    print(f"spool unwritable, database down, SIGTERM: sent {sent}, on stderr {len(streams)}")
    assert streams == sorted(f"req_{i:06d}" for i in range(sent))
    assert "written to stderr" in stderr and "sk-ant-chaos" not in stderr


def _up(base: str) -> bool:
    try:
        httpx.get(base + "/health", timeout=1)
    except httpx.HTTPError:
        return False
    return True


# -- a private PostgreSQL server that the tests stop, freeze and restart ----------------------


@dataclass
class PrivatePostgres:
    bindir: Path
    data: Path
    port: int
    as_user: list[str]

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-w", *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.ctl("-o", options, "-l", str(self.data.parent / "log"), "start")

    def restart(self) -> None:
        self.ctl("stop", "-m", "fast")
        self.start()

    def processes(self) -> list[int]:
        """The postmaster and every process it started (backends included)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        pids = [postmaster]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError, IndexError, ValueError):
                    stat = (entry / "stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                        pids.append(int(entry.name))
        return pids

    def signal_all(self, sig: int) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def new_database(self) -> str:
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.dsn(name)

    def count(self, dsn: str) -> list[str]:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            return [r[0] for r in conn.execute("SELECT request_id FROM requests ORDER BY id")]


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    pytest.importorskip("psycopg")
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin)")
    bindir = found[-1].parent
    root = Path(tempfile.mkdtemp(prefix="sseusage-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run a server as")
        os.chown(root, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    pg = PrivatePostgres(bindir, root / "data", free_port(), as_user)
    try:
        subprocess.run(
            [*as_user, str(bindir / "initdb"), "-D", str(pg.data), "-A", "trust"]
            + ["-U", "postgres", "--no-sync", "--no-instructions"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        pg.start()
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"cannot start a private PostgreSQL server: {exc}")
    try:
        yield pg
    finally:
        with contextlib.suppress(Exception):
            pg.signal_all(signal.SIGCONT)
        with contextlib.suppress(Exception):
            pg.ctl("stop", "-m", "immediate")
        shutil.rmtree(root, ignore_errors=True)


class Load:
    """Rows recorded from a thread at a steady rate until stopped."""

    def __init__(self, led: Any, prefix: str, interval: float = 0.002) -> None:
        self.led, self.prefix, self.interval = led, prefix, interval
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.led.record(_row(self.prefix, self.sent))
            self.sent += 1

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.sent


def test_postgres_stalled_then_restarted_under_load(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    dsn = private_pg.new_database()
    led = open_ledger(dsn, spool=tmp_path / "spool.jsonl")
    assert isinstance(led, SQLLedger)
    led.writer.max_retry_delay = 0.5
    load = Load(led, "stall")
    try:
        time.sleep(0.5)
        assert led.health()["db"] == "up"
        private_pg.signal_all(signal.SIGSTOP)  # the server stops answering, sockets stay open
        try:
            stalled = time.monotonic()
            # The batch in flight is cut by the writer's deadline and spooled.
            _wait(lambda: led.health()["db"] == "down", timeout=15, what="stall noticed")
            assert time.monotonic() - stalled < led.writer.db_timeout + 3
            assert led.flush(timeout=15)  # durable while the server is frozen: spooled
            assert led.health()["spooled"] > 0
            # Only the first batch waited for the deadline: while the prober waits on the
            # frozen server, new rows reach the spool at once.
            for _ in range(5):
                time.sleep(0.3)
                assert led.flush(timeout=1.0)
        finally:
            private_pg.signal_all(signal.SIGCONT)
        _wait(lambda: led.health()["spooled"] == 0, timeout=30, what="replay after the stall")
        private_pg.restart()  # connections reset, under load
        time.sleep(1.0)
        sent = load.stop()
        assert led.flush(timeout=30)
        _wait(lambda: led.spooled() == 0, timeout=30, what="replay after the restart")
    finally:
        load.stop()
        report = led.close(timeout=10)
    assert report["stderr_rows"] == 0
    ids = private_pg.count(dsn)
    print(f"PostgreSQL stalled and restarted: sent {sent}, recorded {len(set(ids))}")
    assert len(ids) == len(set(ids)) == sent  # none lost, none twice
    assert set(ids) == {f"stall_{i:06d}" for i in range(sent)}


_SPOOLER = textwrap.dedent(
    """
    import sys, time
    from sseusage_fast.ledger import LedgerRow, open_ledger
    from sseusage_fast.ledger.writer import RowWriter

    RowWriter.max_retry_delay = 0.3
    RowWriter.orphan_scan_interval = 0.3  # the writer looks at once when it starts
    dsn, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    led = open_ledger(dsn)  # the default spool: one location for every process on this DSN
    for i in range(n):
        led.record(LedgerRow(request_id=f"{name}_{i:06d}", status="complete"))
        if i % 200 == 199:
            time.sleep(0.005)
    assert led.flush(timeout=60)
    print(led.health()["spooled"], flush=True)
    sys.stdin.readline()  # the database is back

    def others() -> list[str]:  # spool files of other processes, not yet adopted and replayed
        return [p.name for p in led.spool.base.parent.iterdir() if p != led.spool.path]

    deadline = time.monotonic() + 60
    while (led.health()["spooled"] or others()) and time.monotonic() < deadline:
        time.sleep(0.05)
    report = led.close()
    print(report["spooled"], report["stderr_rows"], flush=True)
    """
)


def test_two_processes_on_one_dsn_share_the_spool_location_and_lose_nothing(
    private_pg: PrivatePostgres, tmp_path: Path
) -> None:
    dsn = private_pg.new_database()
    n = 4000
    private_pg.ctl("stop", "-m", "fast")  # both start with the database down
    procs: list[subprocess.Popen[str]] = []
    try:
        for name in ("a", "b"):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", _SPOOLER, dsn, name, str(n)],
                    env=_env(XDG_STATE_HOME=str(tmp_path)),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        for proc in procs:
            assert proc.stdout is not None
            assert int(proc.stdout.readline()) == n  # every row spooled, in its own file
        files = sorted((tmp_path / "sseusage").iterdir())
        assert len(files) == 2 and {f.name.rsplit(".", 1)[1] for f in files} == {
            str(p.pid) for p in procs
        }
        procs[0].kill()  # kill -9: its spool file stays, unlocked
        procs[0].wait(timeout=10)
        private_pg.start()
        b = procs[1]
        assert b.stdin is not None and b.stdout is not None
        b.stdin.write("go\n")
        b.stdin.flush()
        # b replays its own file and adopts a's.
        assert b.stdout.readline().split() == ["0", "0"]
        assert b.wait(timeout=30) == 0
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        with contextlib.suppress(Exception):
            private_pg.start()
    ids = private_pg.count(dsn)
    print(f"two processes on one DSN, one killed: sent {2 * n}, recorded {len(set(ids))}")
    assert len(ids) == len(set(ids)) == 2 * n
    assert list((tmp_path / "sseusage").iterdir()) == []  # both files replayed and removed


# -- kill -9 of a proxy under load ------------------------------------------------------------


def test_kill_9_of_a_proxy_under_load_keeps_every_row_finished_before_the_window(
    tmp_path: Path,
) -> None:
    import anyio

    db = tmp_path / "kill.db"
    port = free_port()
    with serve(create_replay_app()) as up:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sseusage_fast.cli", "proxy", "--upstream", up]
            + ["--port", str(port), "--db", str(db), "--log-level", "warning"],
            env=_env(),
        )
        base = f"http://127.0.0.1:{port}"
        completed: dict[str, float] = {}
        sent = 0
        try:
            _wait(lambda: _up(base), what="proxy up")

            async def client(client: httpx.AsyncClient, stop_at: float) -> None:
                nonlocal sent
                while time.monotonic() < stop_at:
                    n = 100_000 + sent
                    sent += 1
                    try:
                        r = await client.post(
                            base + "/v1/messages",
                            json=BODY,
                            headers={"x-api-key": "sk-ant-kill", "x-replay-id": str(n)},
                        )
                    except httpx.HTTPError:
                        return  # the proxy is gone
                    if r.status_code == 200 and b"message_stop" in r.content:
                        completed[f"req_{n:06d}"] = time.monotonic()

            async def load() -> float:
                limits = httpx.Limits(max_connections=100)
                async with httpx.AsyncClient(timeout=10, limits=limits) as c:
                    stop_at = time.monotonic() + 40
                    async with anyio.create_task_group() as tg:
                        for _ in range(50):
                            tg.start_soon(client, c, stop_at)
                        # Enough finished requests to judge by, however slow the machine is;
                        # then a kill at a random moment.
                        with anyio.move_on_after(20):
                            while len(completed) < 30:
                                await anyio.sleep(0.05)
                        await anyio.sleep(random.uniform(1.2, 2.5))
                        killed = time.monotonic()
                        proc.send_signal(signal.SIGKILL)
                        tg.cancel_scope.cancel()
                return killed

            killed = anyio.run(load)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    led = open_ledger(db)  # also adopts any spool the dead proxy left
    try:
        _wait(lambda: led.flush() and led.spooled() == 0, what="left-over spool replayed")
        ids = [r.request_id for r in led.rows() if r.method == "POST"]
    finally:
        led.close()
    assert len(ids) == len(set(ids)) and set(ids) <= {f"req_{100_000 + i:06d}" for i in range(sent)}
    # The README promises 250 ms at p99 under load; this shared test machine gets a wider
    # margin (benches/bench_ledger_loss.py measures the real figure).
    settled = {rid for rid, at in completed.items() if killed - at > 1.0}
    print(
        f"kill -9 under load: sent {sent}, completed {len(completed)}, recorded {len(ids)}, "
        f"completed over 1 s before the kill without a row {len(settled - set(ids))}"
    )
    assert len(settled) > 20
    assert settled <= set(ids), f"lost: {len(settled - set(ids))} of {len(settled)}"


# -- an upstream that echoes the caller's key -------------------------------------------------


CUSTOM_KEY = "gateway-issued-key-7f3a9c"  # no known key shape: only `known` scrubbing finds it
ANTHROPIC_KEY = "sk-ant-api03-echoed0123456789abcdefABCDEF"


def _echoing_upstream() -> Starlette:
    async def handle(request: Request) -> Response:
        key = request.headers.get("x-api-key", "")
        if request.url.path.endswith("/stream"):
            # A stream whose error event quotes the key.
            error = {"type": "error", "error": {"type": "authentication_error"}}
            error["error"]["message"] = f"invalid x-api-key: {key}"  # type: ignore[index]
            # Raw escape sequences too, that a log line must not carry to a terminal.
            body = b"event: ping\x1b[2J\ndata: \x1b]0;owned\x07\n\n"
            body += f"event: error\ndata: {json.dumps(error)}\n\n".encode()
            return StreamingResponse(iter([body]), media_type="text/event-stream")
        payload = {
            "type": "error",
            "error": {"type": "authentication_error", "message": f"invalid x-api-key: {key}"},
        }
        return Response(json.dumps(payload), status_code=401, media_type="application/json")

    return Starlette(routes=[Route("/{path:path}", handle, methods=["POST"])])


def test_an_echoed_key_reaches_neither_the_ledger_nor_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    led = open_ledger(tmp_path / "echo.db")
    sent = 0
    try:
        with (
            serve(_echoing_upstream()) as up,
            serve(create_app(ProxyConfig(upstream=up, trust_env=False), led)) as url,
        ):
            for key in (CUSTOM_KEY, ANTHROPIC_KEY):
                for path in ("/v1/messages", "/v1/messages/stream"):
                    r = httpx.post(url + path, json=BODY, headers={"x-api-key": key}, timeout=10)
                    assert key in r.text  # the client gets the upstream's answer unchanged
                    sent += 1
        assert led.flush(timeout=10)
        rows = list(led.rows())
    finally:
        led.close()
    print(f"echoed key: sent {sent}, recorded {len(rows)}")
    assert len(rows) == sent == 4
    for row in rows:
        assert row.error_message is not None and row.error_message.startswith(
            "invalid x-api-key: ***"
        )
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert b"gateway-issued" not in stored and b"echoed0123" not in stored
    logged = caplog.text
    assert "event error" in logged  # DEBUG was really on
    assert CUSTOM_KEY not in logged and "echoed0123" not in logged
    assert "\x1b" not in logged and "\x07" not in logged  # escaped, not sent to a terminal
    assert "event ping\\x1b[2J: \\x1b]0;owned\\x07" in logged


# -- hostile clients beside real ones ---------------------------------------------------------


def _raw_socket(port: int, data: bytes) -> Any:
    import socket

    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(data)
    return sock


def _read_to_eof(sock: Any) -> bytes:
    got = b""
    with sock:
        while chunk := sock.recv(65536):
            got += chunk
    return got


def test_slow_and_oversized_clients_beside_real_streams_lose_no_row(tmp_path: Path) -> None:
    """Real streams keep flowing while slowloris connections dribble headers, uploads stall
    mid-body, and bodies over the limit arrive with and without a Content-Length: every
    request gets one row (its refusal's, for the hostile ones), a connection that never sent a
    whole request gets none, and every hostile connection is closed by its deadline."""
    from concurrent.futures import ThreadPoolExecutor

    from sseusage_fast.proxy.config import Limits
    from sseusage_fast.proxy.server import uvicorn_options

    led = open_ledger(tmp_path / "hostile.db")
    limits = Limits(max_body_bytes=4096, header_timeout=0.5, body_timeout=0.5)
    results: dict[str, list[Any]] = {"stream": [], "slowloris": [], "stalled": [], "big": []}
    try:
        with serve(create_replay_app()) as up:
            config = ProxyConfig(upstream=up, limits=limits, trust_env=False)
            with serve(create_app(config, led), **uvicorn_options(config)) as url:
                port = int(url.rsplit(":", 1)[1])

                def stream(i: int) -> None:
                    r = httpx.post(
                        url + "/v1/messages",
                        json=BODY,
                        headers={"x-api-key": "sk-ant-h", "x-replay-id": str(200_000 + i)},
                        timeout=30,
                    )
                    results["stream"].append((r.status_code, b"message_stop" in r.content))

                def slowloris(i: int) -> None:
                    sock = _raw_socket(port, b"POST /v1/messages HTTP/1.1\r\nHost: x\r\n")
                    started = time.monotonic()
                    results["slowloris"].append((_read_to_eof(sock), time.monotonic() - started))

                def stalled(i: int) -> None:
                    head = (
                        b"POST /v1/messages HTTP/1.1\r\nHost: x\r\ncontent-type: "
                        b'application/json\r\ncontent-length: 500\r\n\r\n{"model": '
                    )
                    results["stalled"].append(_read_to_eof(_raw_socket(port, head))[:12])

                def big(i: int) -> None:
                    if i % 2:
                        content: Any = json.dumps({**BODY, "pad": "x" * 10_000}).encode()
                    else:

                        def chunks() -> Iterator[bytes]:  # no Content-Length: found while read
                            yield b'{"model": "claude-opus-4-6", "pad": "'
                            for _ in range(10):
                                yield b"y" * 1000
                            yield b'"}'

                        content = chunks()
                    r = httpx.post(url + "/v1/messages", content=content, timeout=30)
                    results["big"].append(r.status_code)

                with ThreadPoolExecutor(max_workers=64) as pool:
                    jobs = [pool.submit(stream, i) for i in range(60)]
                    jobs += [pool.submit(slowloris, i) for i in range(40)]
                    jobs += [pool.submit(stalled, i) for i in range(10)]
                    jobs += [pool.submit(big, i) for i in range(10)]
                    for job in jobs:
                        job.result(timeout=60)
        assert led.flush(timeout=30)
        rows = list(led.rows())
    finally:
        led.close()
    sent = {k: len(v) for k, v in results.items()}
    print(f"hostile clients: sent {sent}, rows {len(rows)}")
    assert results["stream"] == [(200, True)] * 60
    # Slowloris: closed by the header deadline, nothing answered, no request, no row.
    assert all(got == b"" and 0.3 < took < 10 for got, took in results["slowloris"])
    assert results["stalled"] == [b"HTTP/1.1 408"] * 10
    assert results["big"] == [413] * 10
    by_kind: dict[str | None, int] = {}
    for row in rows:
        by_kind[row.refused] = by_kind.get(row.refused, 0) + 1
    assert by_kind == {None: 60, "body_timeout": 10, "body_too_large": 10}
    assert sorted(r.request_id for r in rows if r.refused is None) == [
        f"req_{200_000 + i:06d}" for i in range(60)
    ]
