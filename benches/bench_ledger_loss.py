"""The ledger's loss window: how long after a client has its whole response is the request's
row durable (committed, or fsync'd to the spool)? Measured the hard way: a metering proxy
(`sseusage proxy`, a real process) under N concurrent streams is killed with SIGKILL at a
random moment, and the rows found afterwards are compared with the requests clients completed.

A request completed `age` ms before the kill and missing from the ledger took longer than `age`
to become durable. Over many kills, the share of requests of each age that were lost is the
share whose row took longer than that age: the loss window at p99 is the age beyond which
fewer than 1% of completed requests are missing.

`--ledger-only` measures the ledger alone, without the relay in front of it: a process hands
rows to the ledger at `--rate` rows/s (in bursts of 10, as the proxy's batches do) while a
second thread keeps its GIL busy the way the proxy's event loop does, tells this process each
row's id and time on a pipe, and is killed likewise.

The replay upstream (tests/replay_upstream.py, short paced Anthropic streams), the proxy, and
the clients in `--client-procs` processes (uvloop when installed), which speak plain HTTP/1.1
over asyncio streams (an HTTP client library's connection pool would cost more than the proxy
at 1,000 connections; one process reading them all notes completions late, which would make the
window look shorter). Completion times are taken on CLOCK_MONOTONIC, shared by all processes of
the machine. Before each kill the proxy's own view is read from its health endpoint
(`durable_ms`: request end to durable, the round's last 4,096 rows): stricter, as it counts from
the moment the proxy handed the last bytes over.

    PYTHONPATH=python python benches/bench_ledger_loss.py [--streams 1000] [--rounds 12]
        [--db sqlite|postgresql://...] [--client-procs 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUCKETS_MS = (0, 50, 100, 150, 200, 250, 300, 400, 500, 1000, 2000)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT / "tests")]),
    }


def serve_upstream(port: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import uvicorn
    from replay_upstream import create_replay_app

    # "critical": each kill of the proxy makes the upstream log a ClientDisconnect traceback.
    uvicorn.run(
        create_replay_app(), host="127.0.0.1", port=port, log_level="critical", backlog=4096
    )


async def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError(f"port {port} did not open")


def _request(n: int, port: int, model: str) -> bytes:
    body = json.dumps(
        {
            "model": model,
            "max_tokens": 64,
            "stream": True,
            "messages": [{"role": "user", "content": "Say hello to the world."}],
        }
    ).encode()
    head = (
        f"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"x-api-key: sk-ant-bench\r\nx-replay-id: {n}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


async def _client(
    port: int,
    model: str,
    ids: list[int],
    completed: dict[str, float],
    stop: asyncio.Event,
    stagger: float,
) -> None:
    # Staggered starts: streams end all the time, not in waves a kill would fall between.
    await asyncio.sleep(random.uniform(0, stagger))
    while not stop.is_set():
        n = ids.pop()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(_request(n, port, model))
            data = await reader.read(-1)  # connection: close, so EOF ends the response
            writer.close()
        except OSError:
            return  # the proxy is gone
        if data.startswith(b"HTTP/1.1 200") and b"message_stop" in data:
            completed[f"req_{n:06d}"] = time.monotonic()


def _start_proxy(upstream: str, db: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proxy = subprocess.Popen(
        [sys.executable, "-m", "sseusage_fast.cli", "proxy", "--upstream", upstream]
        + ["--port", str(port), "--db", db, "--log-level", "error"],
        env=_env(),
    )
    return proxy, port


async def _round(
    args: argparse.Namespace, proxy: subprocess.Popen[bytes], port: int, tmp: str
) -> tuple[float, dict[str, float]]:
    """Clients in `--client-procs` processes (one asyncio loop reading 1,000 connections is
    itself late by up to hundreds of ms, and its completion times with it: the window would
    look shorter than it is); each writes what it completed when the proxy is gone."""
    completed: dict[str, float] = {}
    procs: list[asyncio.subprocess.Process] = []
    outs = [f"{tmp}/completed.{k}.json" for k in range(args.client_procs)]
    try:
        await _wait_up(port)
        shares = [
            args.streams // len(outs) + (k < args.streams % len(outs)) for k in range(len(outs))
        ]
        for k, (share, out) in enumerate(zip(shares, outs, strict=True)):
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    "--client-proc",
                    str(port),
                    args.model,
                    str(share),
                    str(args.stagger),
                    out,
                    str(k),
                    env=_env(),
                )
            )
        await asyncio.sleep(random.uniform(args.warmup, args.warmup + args.spread))
        durable = await _durable_ms(port)
        killed = time.monotonic()
        proxy.send_signal(signal.SIGKILL)
        for proc in procs:
            await asyncio.wait_for(proc.wait(), 60)
        for out in outs:
            completed.update(json.loads(Path(out).read_text()))
        DURABLE.append(durable)
        return killed, {k: t for k, t in completed.items() if t <= killed}
    finally:
        if proxy.poll() is None:
            proxy.kill()
        for proc in procs:
            if proc.returncode is None:
                proc.kill()


def client_proc(port: int, model: str, streams: int, stagger: float, out: str, k: int) -> None:
    """One client process: `streams` connections in turn until the proxy is gone; the ids
    it completed, with when (CLOCK_MONOTONIC, shared by the machine's processes), to `out`."""
    try:
        import uvloop  # type: ignore[import-not-found, unused-ignore]

        uvloop.install()
    except ImportError:
        pass
    completed: dict[str, float] = {}
    ids = list(range((k + 1) * 1_000_000 - 1, k * 1_000_000, -1))

    async def run() -> None:
        stop = asyncio.Event()
        tasks = [_client(port, model, ids, completed, stop, stagger) for _ in range(streams)]
        await asyncio.gather(*tasks)

    asyncio.run(run())
    with open(out, "w") as f:
        json.dump(completed, f)


# Per kill: the proxy's own view just before it (health's `durable_ms`: the time from each of
# the last 4,096 requests' end, as the proxy saw it, to its row durable), or None.
DURABLE: list[dict[str, float] | None] = []


async def _durable_ms(port: int) -> dict[str, float] | None:
    """The proxy's `durable_ms` from its health endpoint (None if it does not answer in 5 s).
    The client's completion times come later than the proxy's ends (this client's own event
    loop, at 1,000 connections, reads late): the kills' figures are from the client's side."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 5)
        writer.write(b"GET /_sseusage/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        data = await asyncio.wait_for(reader.read(-1), 5)
        writer.close()
        found = json.loads(data.split(b"\r\n\r\n", 1)[1]).get("durable_ms")
        return found if isinstance(found, dict) else None
    except (OSError, ValueError, IndexError, asyncio.TimeoutError):
        return None


_RECORDER = """
import os, sys, threading, time
from sseusage_fast.ledger import LedgerRow, open_ledger

led = open_ledger(sys.argv[1])
interval = 10 / float(sys.argv[2])

def busy():  # the proxy's event loop: Python code holding the GIL most of the time
    x = 0
    while True:
        x += 1

threading.Thread(target=busy, daemon=True).start()
n = 0
out = os.fdopen(1, "w", buffering=1)
next_at = time.monotonic()
while True:
    for _ in range(10):
        led.record(LedgerRow(request_id=f"req_{n:06d}", status="complete"))
        n += 1
    out.write(f"{n} {time.monotonic()}\\n")
    next_at += interval
    time.sleep(max(0.0, next_at - time.monotonic()))
"""


async def _ledger_round(args: argparse.Namespace, db: str) -> tuple[float, dict[str, float]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _RECORDER, db, str(args.rate), env=_env(), stdout=subprocess.PIPE
    )
    assert proc.stdout is not None
    completed: dict[str, float] = {}
    kill_at = time.monotonic() + random.uniform(args.warmup, args.warmup + args.spread)
    previous = 0
    try:
        while time.monotonic() < kill_at:
            line = await asyncio.wait_for(proc.stdout.readline(), timeout=10)
            n_text, at_text = line.split()
            n = int(n_text)
            for i in range(previous, n):
                completed[f"req_{i:06d}"] = float(at_text)
            previous = n
        killed = time.monotonic()
        proc.kill()
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    return killed, completed


def _recorded(db: str) -> set[str]:
    from sseusage_fast.ledger import open_ledger

    led = open_ledger(db)  # adopts and replays what the dead proxy spooled (durable rows)
    try:
        deadline = time.monotonic() + 60
        while (not led.flush(5) or led.spooled()) and time.monotonic() < deadline:
            time.sleep(0.05)
        return {r.request_id for r in led.rows() if r.request_id}
    finally:
        led.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before a kill")
    parser.add_argument("--spread", type=float, default=3.0, help="kill within this after it")
    parser.add_argument("--stagger", type=float, default=2.0, help="client starts spread (s)")
    parser.add_argument("--model", default="claude-opus-4-6-slow", help="'slow': 50 ms/event")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a postgresql:// DSN")
    parser.add_argument("--ledger-only", action="store_true", help="no relay: rows at --rate")
    parser.add_argument("--rate", type=float, default=2000.0, help="rows/s with --ledger-only")
    parser.add_argument("--client-procs", type=int, default=4, help="client processes")
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--client-proc", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_proc:
        port, model, streams, stagger, out, k = args.client_proc
        client_proc(int(port), model, int(streams), float(stagger), out, int(k))
        return
    if args.serve_upstream:
        serve_upstream(args.serve_upstream)
        return
    sys.path.insert(0, str(ROOT / "python"))

    up_port = _free_port()
    upstream_proc = subprocess.Popen(
        [sys.executable, __file__, "--serve-upstream", str(up_port)], env=_env()
    )
    lost_by_bucket = [0] * len(BUCKETS_MS)
    done_by_bucket = [0] * len(BUCKETS_MS)
    oldest_lost: list[float] = []
    totals = {"completed": 0, "recorded": 0, "lost": 0}
    try:
        asyncio.run(_wait_up(up_port))
        with tempfile.TemporaryDirectory() as tmp:
            for k in range(args.rounds):
                if args.db == "sqlite":
                    db = str(Path(tmp) / f"round{k}.db")
                else:
                    db = _fresh_schema(args.db)
                if args.ledger_only:
                    killed, completed = asyncio.run(_ledger_round(args, db))
                else:
                    proxy, port = _start_proxy(f"http://127.0.0.1:{up_port}", db)
                    try:
                        killed, completed = asyncio.run(_round(args, proxy, port, tmp))
                    finally:
                        proxy.kill()
                        proxy.wait()
                recorded = _recorded(db)
                lost = {rid: killed - t for rid, t in completed.items() if rid not in recorded}
                for rid, t in completed.items():
                    at = _bucket((killed - t) * 1000)
                    done_by_bucket[at] += 1
                    lost_by_bucket[at] += rid in lost
                oldest = max(lost.values(), default=0.0) * 1000
                oldest_lost.append(oldest)
                totals["completed"] += len(completed)
                totals["recorded"] += len(set(completed) & recorded)
                totals["lost"] += len(lost)
                print(
                    f"round {k + 1}: {len(completed)} completed before the kill, "
                    f"{len(lost)} without a row, the oldest {oldest:.0f} ms before the kill",
                    flush=True,
                )
    finally:
        upstream_proc.send_signal(signal.SIGTERM)
        upstream_proc.wait(timeout=30)

    load = f"{args.rate:g} rows/s, ledger alone" if args.ledger_only else f"{args.streams} streams"
    print(f"\n{load}, {args.rounds} kills, ledger {args.db.split(':')[0]}")
    print(f"completed {totals['completed']}, recorded {totals['recorded']}, lost {totals['lost']}")
    print("age at the kill (ms)   completed   without a row   share lost")
    for i, low in enumerate(BUCKETS_MS):
        high = f"{BUCKETS_MS[i + 1]}" if i + 1 < len(BUCKETS_MS) else "..."
        share = lost_by_bucket[i] / done_by_bucket[i] if done_by_bucket[i] else 0.0
        print(f"{low:>6}-{high:<12} {done_by_bucket[i]:>11} {lost_by_bucket[i]:>15} {share:>11.1%}")
    window = _window_p99(lost_by_bucket, done_by_bucket)
    print(f"loss window at p99 (fewer than 1% lost beyond): {window} ms")
    print(f"oldest lost row per kill (ms): {sorted(round(x) for x in oldest_lost)}")
    seen = [d for d in DURABLE if d]
    if seen:
        print(
            "the proxy's own view before each kill (request end to durable, last 4,096 rows), "
            "p50/p99/max ms: "
            + ", ".join(f"{d['p50']:.0f}/{d['p99']:.0f}/{d['max']:.0f}" for d in seen)
        )


def _bucket(age_ms: float) -> int:
    at = 0
    for i, low in enumerate(BUCKETS_MS):
        if age_ms >= low:
            at = i
    return at


def _window_p99(lost: list[int], done: list[int]) -> int:
    """The lowest bucket edge beyond which every bucket lost under 1% of its requests."""
    window = BUCKETS_MS[-1]
    for i in range(len(BUCKETS_MS) - 1, -1, -1):
        if done[i] and lost[i] / done[i] >= 0.01:
            break
        window = BUCKETS_MS[i]
    return window


def _fresh_schema(dsn: str) -> str:
    import psycopg

    schema = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in dsn else "?"
    return f"{dsn}{sep}options=-csearch_path%3D{schema}"


if __name__ == "__main__":
    main()
