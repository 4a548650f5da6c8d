"""Proxy throughput with metering against the same proxy without it.

Three processes, so that the client and the upstream do not share the proxy's interpreter:
the replay upstream (tests/replay_upstream.py), the proxy (metering on, or off via
`ProxyConfig(meter=False)`), and this client, which pulls long Anthropic streams (200 text
deltas, one network write per event: the worst case for per-chunk cost) with a fixed number
of concurrent requests. Runs alternate between the two proxies; the best of each is compared.

    PYTHONPATH=python python benches/bench_proxy.py [--requests 300] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx

ROOT = Path(__file__).resolve().parent.parent
BODY = {
    "model": "claude-opus-4-6-long",
    "max_tokens": 1024,
    "stream": True,
    "messages": [{"role": "user", "content": "Write a long answer."}],
}


def serve_upstream(port: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import uvicorn
    from replay_upstream import create_replay_app

    uvicorn.run(create_replay_app(), host="127.0.0.1", port=port, log_level="warning")


def serve_proxy(port: int, upstream: str, meter: bool, db: str) -> None:
    import uvicorn
    from sseusage_fast.ledger import open_ledger
    from sseusage_fast.proxy import ProxyConfig, create_app

    ledger = open_ledger(db) if meter else None
    app = create_app(ProxyConfig(upstream=upstream, meter=meter, trust_env=False), ledger)
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    finally:
        if ledger is not None:
            ledger.close()


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT / "tests")])}
    return subprocess.Popen([sys.executable, __file__, *args], env=env)


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


async def _load(url: str, requests: int, concurrency: int) -> tuple[float, int]:
    total = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        queue = list(range(requests))

        async def worker() -> None:
            nonlocal total
            while queue:
                queue.pop()
                async with client.stream("POST", url + "/v1/messages", json=BODY) as r:
                    async for chunk in r.aiter_raw():
                        total += len(chunk)

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
        return time.perf_counter() - started, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    ports = [_free_port() for _ in range(3)]
    upstream = f"http://127.0.0.1:{ports[0]}"
    with tempfile.TemporaryDirectory() as tmp:
        procs = [
            _spawn("--serve-upstream", str(ports[0])),
            _spawn("--serve-proxy", str(ports[1]), upstream, "meter", f"{tmp}/ledger.db"),
            _spawn("--serve-proxy", str(ports[2]), upstream, "plain", f"{tmp}/unused.db"),
        ]
        try:
            urls = {
                "metered": f"http://127.0.0.1:{ports[1]}",
                "plain": f"http://127.0.0.1:{ports[2]}",
            }
            for url in (upstream, *urls.values()):
                _wait_up(url)
            best: dict[str, float] = {}
            for name, url in urls.items():  # warm up connections and code paths
                anyio.run(_load, url, args.concurrency, args.concurrency)
            for _ in range(args.rounds):
                for name, url in urls.items():
                    seconds, nbytes = anyio.run(_load, url, args.requests, args.concurrency)
                    rate = nbytes / seconds / 1e6
                    best[name] = max(best.get(name, 0.0), rate)
                    print(
                        f"{name:8s} {args.requests} streams, {nbytes / 1e6:.1f} MB in "
                        f"{seconds:.2f} s: {rate:.2f} MB/s, {args.requests / seconds:.0f} streams/s"
                    )
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=10)
    from sseusage_fast import BACKEND

    ratio = best["metered"] / best["plain"]
    print(
        f"backend {BACKEND}: metered {best['metered']:.2f} MB/s, plain {best['plain']:.2f} MB/s,"
        f" ratio {ratio:.3f}x (target 0.97x)"
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--serve-upstream":
        serve_upstream(int(sys.argv[2]))
    elif len(sys.argv) > 2 and sys.argv[1] == "--serve-proxy":
        serve_proxy(int(sys.argv[2]), sys.argv[3], sys.argv[4] == "meter", sys.argv[5])
    else:
        main()
