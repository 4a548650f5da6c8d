"""Proxy throughput with metering against the same proxy without it.

Three processes, so that the client and the upstream do not share the proxy's interpreter:
the replay upstream (tests/replay_upstream.py), the proxy (metering on, or off via
`ProxyConfig(meter=False)`), and this client, which pulls long Anthropic streams (200 text
deltas, one network write per event: the worst case for per-chunk cost) with a fixed number
of concurrent requests. Runs alternate between the two proxies (the order flips every round);
best and median of each are compared.

The events' JSON is compact, as the Anthropic API sends it (`--layout spaced`: with a space
after every separator, as the documentation prints it and a re-serialising proxy sends it;
the parser reads both layouts on its fast paths). Each proxy is warmed up first, and after each run
the client waits until the proxy is idle before reading its CPU time, so that rows written
just after a run (batched, see proxy/app.py) are counted in that run and in no other.

On a shared two-core machine the throughput ratio of identical code moves by a few percent
from run to run (client, upstream and proxy compete for the cores): repeat runs, and read it
with the proxy CPU per stream, the steadier figure.

    PYTHONPATH=python python benches/bench_proxy.py [--requests 300] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import anyio
import httpx

ROOT = Path(__file__).resolve().parent.parent
BODY = {
    "model": "claude-opus-4-6-long-compact",
    "max_tokens": 1024,
    "stream": True,
    "messages": [{"role": "user", "content": "Write a long answer."}],
}


def serve_upstream(port: int) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import uvicorn
    from replay_upstream import create_replay_app

    uvicorn.run(create_replay_app(), host="127.0.0.1", port=port, log_level="warning")


def serve_proxy(port: int, upstream: str, meter: bool, db: str, profile: str = "") -> None:
    import cProfile

    import uvicorn
    from sseusage_fast.ledger import open_ledger
    from sseusage_fast.proxy import ProxyConfig, create_app

    ledger = open_ledger(db) if meter else None
    app = create_app(ProxyConfig(upstream=upstream, meter=meter, trust_env=False), ledger)
    profiler = cProfile.Profile() if profile else None
    # uvicorn re-raises the SIGTERM it handled once it has shut down: make that a no-op, so
    # that the ledger is closed and the profile written.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        if profiler is not None:
            profiler.enable()
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        if ledger is not None:
            ledger.close()


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "python"), str(ROOT / "tests")])}
    return subprocess.Popen([sys.executable, __file__, *args], env=env)


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, all threads (the ledger writer included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_up(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


async def _load(
    url: str, requests: int, concurrency: int, body: dict[str, object] = BODY
) -> tuple[float, int]:
    total = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        queue = list(range(requests))

        async def worker() -> None:
            nonlocal total
            while queue:
                queue.pop()
                async with client.stream("POST", url + "/v1/messages", json=body) as r:
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
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--layout", choices=("compact", "spaced"), default="compact")
    parser.add_argument(
        "--profile", metavar="FILE", default="", help="run the metered proxy under cProfile"
    )
    args = parser.parse_args()
    body = dict(BODY)
    if args.layout == "spaced":
        body["model"] = str(BODY["model"]).removesuffix("-compact")

    ports = [_free_port() for _ in range(3)]
    upstream = f"http://127.0.0.1:{ports[0]}"
    names = ("metered", "plain")
    with tempfile.TemporaryDirectory() as tmp:
        procs = [
            _spawn("--serve-upstream", str(ports[0])),
            _spawn(
                "--serve-proxy", str(ports[1]), upstream, "meter", f"{tmp}/ledger.db", args.profile
            ),
            _spawn("--serve-proxy", str(ports[2]), upstream, "plain", f"{tmp}/unused.db", ""),
        ]
        pids = {"metered": procs[1].pid, "plain": procs[2].pid}
        rates: dict[str, list[float]] = {name: [] for name in names}
        cpu_us: dict[str, list[float]] = {name: [] for name in names}
        try:
            urls = {
                "metered": f"http://127.0.0.1:{ports[1]}",
                "plain": f"http://127.0.0.1:{ports[2]}",
            }
            for url in (upstream, *urls.values()):
                _wait_up(url)
            for name, url in urls.items():  # warm up connections and code paths
                anyio.run(_load, url, 4 * args.concurrency, args.concurrency, body)
            for i in range(args.rounds):
                # Alternate which goes first, so a slow spell on the machine hits both alike.
                for name in names if i % 2 == 0 else names[::-1]:
                    cpu_before = _cpu_seconds(pids[name])
                    seconds, nbytes = anyio.run(
                        _load, urls[name], args.requests, args.concurrency, body
                    )
                    # Let the proxy finish what the run left it (row batches, the ledger).
                    time.sleep(0.5)
                    cpu = _cpu_seconds(pids[name]) - cpu_before
                    rate = nbytes / seconds / 1e6
                    rates[name].append(rate)
                    cpu_us[name].append(cpu / args.requests * 1e6)
                    print(
                        f"{name:8s} {args.requests} streams, {nbytes / 1e6:.1f} MB in "
                        f"{seconds:.2f} s: {rate:.2f} MB/s, {args.requests / seconds:.0f} "
                        f"streams/s, proxy CPU {cpu / args.requests * 1e6:.0f} us/stream"
                    )
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
    from sseusage_fast import BACKEND

    best = {name: max(rates[name]) for name in names}
    median = {name: statistics.median(rates[name]) for name in names}
    cpu = {name: statistics.median(cpu_us[name]) for name in names}
    print(
        f"backend {BACKEND}, {args.layout} JSON: metered {best['metered']:.2f} MB/s, plain {best['plain']:.2f} MB/s,"
        f" ratio {best['metered'] / best['plain']:.3f}x best,"
        f" {median['metered'] / median['plain']:.3f}x median (target 0.97x)"
    )
    print(
        f"proxy CPU per stream (median): metered {cpu['metered']:.0f} us, plain "
        f"{cpu['plain']:.0f} us, plain/metered {cpu['plain'] / cpu['metered']:.3f}x"
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
        serve_proxy(int(sys.argv[2]), sys.argv[3], sys.argv[4] == "meter", sys.argv[5], sys.argv[6])
    else:
        main()
