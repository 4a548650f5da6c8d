"""`sseusage proxy --workers N`: several processes on one port, one row per request, a clean
shutdown with every row kept (real processes, loopback only, bounded in time)."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from replay_upstream import create_replay_app, free_port, serve
from sseusage_fast.proxy.config import ConfigError
from sseusage_fast.proxy.settings import load_settings

ROOT = Path(__file__).resolve().parent.parent
BODY = {
    "model": "claude-opus-4-6",
    "max_tokens": 64,
    "stream": True,
    "messages": [{"role": "user", "content": "Say hello to the world."}],
}


def _wait(predicate: Any, timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.05)


def _up(base: str) -> bool:
    try:
        return httpx.get(base + "/_sseusage/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def test_two_workers_serve_one_port_record_one_row_each_and_shut_down_cleanly(
    tmp_path: Path,
) -> None:
    db = tmp_path / "workers.db"
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT / "tests")]),
    }
    with serve(create_replay_app()) as up:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sseusage_fast.cli", "proxy", "--upstream", up, "--workers"]
            + ["2", "--port", str(port), "--db", str(db), "--spool", str(tmp_path / "spool")]
            + ["--log-level", "info"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(lambda: _up(base), what="proxy up")
            workers = _children(proc.pid)
            assert len(workers) == 2

            def one(i: int) -> bytes:
                # A new connection each time, so that the kernel hands them to either worker.
                r = httpx.post(
                    base + "/v1/messages",
                    json=BODY,
                    headers={"x-api-key": "sk-ant-workers", "x-replay-id": str(i)},
                    timeout=20,
                )
                assert r.status_code == 200
                return r.content

            sent = 60
            with ThreadPoolExecutor(8) as pool:
                bodies = list(pool.map(one, range(sent)))
            assert all(b"message_stop" in body for body in bodies)
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, stderr[-2000:]
    for pid in workers:  # no worker outlives the supervisor
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text()
    assert stderr.count("metering proxy on") == 2 and "ledger closed" in stderr
    with contextlib.closing(sqlite3.connect(db)) as conn:
        ids = [r[0] for r in conn.execute("SELECT request_id FROM requests WHERE method='POST'")]
    assert sorted(ids) == [f"req_{i:06d}" for i in range(sent)]
    # Each worker's spool (`spool.<pid>`) is empty or gone: nothing waits to be replayed.
    assert all(p.stat().st_size == 0 for p in tmp_path.glob("spool*"))


@pytest.mark.parametrize("workers", ["0", "65", "two"])
def test_workers_out_of_range_is_a_config_error(workers: str) -> None:
    with pytest.raises(ConfigError, match="workers"):
        load_settings({"upstream": "https://api.anthropic.com", "workers": workers})


def test_workers_default_to_one() -> None:
    _, serve_options = load_settings({"upstream": "https://api.anthropic.com"})
    assert serve_options.workers == 1


def test_workers_from_the_config_file_and_the_environment(tmp_path: Path, monkeypatch: Any) -> None:
    config = tmp_path / "proxy.toml"
    config.write_text('upstream = "https://api.anthropic.com"\nworkers = 3\n')
    _, from_file = load_settings({"config": str(config)})
    assert from_file.workers == 3
    monkeypatch.setenv("SSEUSAGE_WORKERS", "2")
    _, from_env = load_settings({"upstream": "https://api.anthropic.com"})
    assert from_env.workers == 2


def test_a_worker_that_dies_stops_the_others_and_the_proxy_exits_non_zero(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT / "tests")]),
    }
    with serve(create_replay_app()) as up:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sseusage_fast.cli", "proxy", "--upstream", up, "--workers"]
            + ["2", "--port", str(port), "--db", str(tmp_path / "w.db"), "--log-level", "info"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait(lambda: _up(f"http://127.0.0.1:{port}"), what="proxy up")
            first, second = _children(proc.pid)
            os.kill(first, signal.SIGKILL)
            _, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode != 0
    assert "ended with status -9: stopping the others" in stderr
    assert not Path(f"/proc/{second}").exists()  # reaped by the supervisor before it exited


# A worker's server, stopped by SIGTERM in the moment between the proxy's own handler and
# uvicorn's (as a supervisor stops a worker that is still starting).
_EARLY_SIGTERM = """
import os, signal, sys
import uvicorn
from sseusage_fast.cli import main

run = uvicorn.Server.run

def signalled_run(self, *args, **kwargs):
    os.kill(os.getpid(), signal.SIGTERM)
    return run(self, *args, **kwargs)

uvicorn.Server.run = signalled_run
sys.exit(main(sys.argv[1:]))
"""


def test_a_sigterm_before_the_server_takes_its_signals_is_not_lost(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT / "tests")]),
    }
    with serve(create_replay_app()) as up:
        proc = subprocess.run(
            [sys.executable, "-c", _EARLY_SIGTERM, "proxy", "--upstream", up]
            + ["--port", str(free_port()), "--db", str(tmp_path / "w.db")],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,  # before the fix: the signal was swallowed and the server ran on
        )
    assert proc.returncode == 0, proc.stderr
    assert "shut down on SIGTERM" in proc.stderr
    assert "ledger closed" in proc.stderr
