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

With BENCH_GATEWAY=1 the metered proxy also has routes and a budget checked on every request
(metrics are always on); the run ends with the metered proxy's row count against the requests
sent, and the bytes each run passed.

`--latency`: the delay each event adds, at 1,000 concurrent streams of 10 events a second:
the upstream stamps each event with its send time (an SSE comment line), the client notes its
arrival; the same streams direct and through the metered proxy (`sseusage proxy`, the real
command), alternating in one run. One client process saturates long before the proxy does
(its own event loop delays what it reads), so the streams are spread over `--client-procs`
processes, and the upstream runs `--upstream-workers` processes; the direct figures are the
floor the load generator itself sets, and "added" is the proxied minus the direct.

    PYTHONPATH=python python benches/bench_proxy.py --latency [--streams 1000] [--rounds 3]
        [--client-procs 4] [--upstream-workers 2] [--proxy-workers 1]
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
from typing import Any

import anyio
import httpx

ROOT = Path(__file__).resolve().parent.parent
BODY = {
    "model": "claude-opus-4-6-long-compact",
    "max_tokens": 1024,
    "stream": True,
    "messages": [{"role": "user", "content": "Write a long answer."}],
}


def serve_upstream(port: int, workers: int = 1) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import uvicorn

    uvicorn.run(
        "replay_upstream:create_replay_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        workers=workers,
        backlog=4096,
    )


def serve_proxy(port: int, upstream: str, meter: bool, db: str, profile: str = "") -> None:
    import cProfile

    import uvicorn
    from sseusage_fast.ledger import open_ledger
    from sseusage_fast.proxy import ProxyConfig, create_app
    from sseusage_fast.proxy.server import uvicorn_options

    ledger = open_ledger(db) if meter else None
    config = ProxyConfig(upstream=upstream, meter=meter, trust_env=False)
    if meter and os.environ.get("BENCH_GATEWAY"):
        # Routes, a budget every request is checked against (never reached) and metrics (on
        # for every metered proxy): the gateway's work on the request path.
        from decimal import Decimal

        from sseusage_fast.proxy.config import Budget, Route

        config = ProxyConfig(
            routes=(Route("/anthropic", upstream, "anthropic"), Route("", upstream)),
            budgets=(Budget(Decimal(10**9), "day", tag="team=bench"),),
            trust_env=False,
        )
    app = create_app(config, ledger)
    options = uvicorn_options(config)
    if os.environ.get("BENCH_HTTP"):  # h11 / httptools, to compare
        options["http"] = os.environ["BENCH_HTTP"]
    if os.environ.get("BENCH_LOOP"):  # asyncio / uvloop
        options["loop"] = os.environ["BENCH_LOOP"]
    if os.environ.get("BENCH_SHARD"):  # connections per upstream pool shard
        import sseusage_fast.proxy.upstream

        sseusage_fast.proxy.upstream.SHARD_CONNECTIONS = int(os.environ["BENCH_SHARD"])
    profiler = cProfile.Profile() if profile else None
    # uvicorn re-raises the SIGTERM it handled once it has shut down: make that a no-op, so
    # that the ledger is closed and the profile written.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        if profiler is not None:
            profiler.enable()
        options.update(host="127.0.0.1", port=port, log_level="warning", access_log=False)
        uvicorn.run(app, **options)
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
            httpx.get(url + "/_sseusage/health", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not start")


FAILURES: list[str] = []
# Tags on every request (a budget matches them when BENCH_GATEWAY is set).
TAGS = {"x-sseusage-tags": "team=bench,env=bench"}


async def _load(
    url: str, requests: int, concurrency: int, body: dict[str, object] = BODY
) -> tuple[float, int]:
    """Seconds and bytes for `requests` streams, `concurrency` at a time; failed requests
    are counted in FAILURES (and reported), not raised."""
    total = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        queue = list(range(requests))

        async def worker() -> None:
            nonlocal total
            while queue:
                queue.pop()
                try:
                    async with client.stream(
                        "POST", url + "/v1/messages", json=body, headers=TAGS
                    ) as r:
                        async for chunk in r.aiter_raw():
                            total += len(chunk)
                        if r.status_code != 200:
                            FAILURES.append(f"HTTP {r.status_code}")
                except httpx.HTTPError as exc:
                    FAILURES.append(type(exc).__name__)

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(concurrency):
                tg.start_soon(worker)
        return time.perf_counter() - started, total


async def _latencies(
    url: str, streams: int, interval: float, ramp: float, per_client: int = 50
) -> list[float]:
    """Open `streams` streams at once (spread over `ramp` seconds) whose events the upstream
    sends `interval` s apart with their send time; the delay of each event's arrival, in ms.
    Clients of `per_client` connections each (one big httpx pool would slow the client)."""
    delays: list[float] = []
    body = dict(BODY, model="claude-opus-4-6-compact")
    headers = {"x-replay-interval": str(interval), "x-replay-stamp": "1"}
    limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
    clients = [
        httpx.AsyncClient(timeout=120, limits=limits) for _ in range(-(-streams // per_client))
    ]

    async def one(i: int) -> None:
        await anyio.sleep(ramp * i / streams)
        client = clients[i // per_client]
        tail = b""
        try:
            async with client.stream("POST", url + "/v1/messages", json=body, headers=headers) as r:
                async for chunk in r.aiter_raw():
                    now = time.time()
                    tail += chunk
                    while (at := tail.find(b": t=")) >= 0 and (end := tail.find(b"\n", at)) > 0:
                        delays.append((now - float(tail[at + 4 : end])) * 1000)
                        tail = tail[end:]
        except httpx.HTTPError as exc:
            FAILURES.append(type(exc).__name__)

    try:
        async with anyio.create_task_group() as tg:
            for i in range(streams):
                tg.start_soon(one, i)
    finally:
        for client in clients:
            await client.aclose()
    return delays


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _client_proc(url: str, streams: int, interval: float, ramp: float, out: str) -> None:
    """One load-client process: its share of the streams, delays written to `out` (doubles)."""
    from array import array

    delays = anyio.run(_latencies, url, streams, interval, ramp)
    with open(out, "wb") as f:
        array("d", delays).tofile(f)
    if FAILURES:
        sys.stderr.write(f"client failures: {len(FAILURES)} ({', '.join(sorted(set(FAILURES)))})\n")


def _spread_latencies(url: str, streams: int, interval: float, procs: int, tmp: str) -> list[float]:
    """`streams` streams spread over `procs` client processes; every event's delay, in ms."""
    from array import array

    shares = [streams // procs + (1 if i < streams % procs else 0) for i in range(procs)]
    outs = [f"{tmp}/delays.{i}" for i in range(procs)]
    clients = [
        _spawn("--latency-client", url, str(n), str(interval), "1.0", out)
        for n, out in zip(shares, outs, strict=True)
    ]
    delays: list[float] = []
    for proc, out in zip(clients, outs, strict=True):
        if proc.wait(timeout=300) != 0:
            FAILURES.append(f"client exit {proc.returncode}")
            continue
        values = array("d")
        with open(out, "rb") as f:
            values.frombytes(f.read())
        delays.extend(values)
    return delays


def _spawn_proxy(port: int, upstream: str, db: str, workers: int) -> subprocess.Popen[bytes]:
    """The proxy as deployed: `sseusage proxy`, metering into a SQLite ledger."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    return subprocess.Popen(
        [sys.executable, __file__, "--run-proxy", "--upstream", upstream]
        + ["--port", str(port), "--db", db, "--log-level", "warning"]
        + ["--workers", str(workers), "--max-connections", "20000"],
        env=env,
    )


def run_proxy_command(argv: list[str]) -> int:
    """`sseusage proxy` itself; BENCH_LOOP (asyncio, uvloop) and BENCH_HTTP (h11, httptools)
    override what the server picks, to compare them (the upstream keeps its own)."""
    from sseusage_fast.cli import main as cli_main
    from sseusage_fast.proxy import server

    chosen = server.uvicorn_options

    def options(config: Any) -> dict[str, Any]:
        picked = chosen(config)
        if os.environ.get("BENCH_LOOP"):
            picked["loop"] = os.environ["BENCH_LOOP"]
        if os.environ.get("BENCH_HTTP") == "h11":
            picked["http"] = server._with_header_deadline(_h11(), config.limits.header_timeout)
        return picked

    server.uvicorn_options = options  # type: ignore[assignment]
    return cli_main(["proxy", *argv])


def _h11() -> type[Any]:
    from uvicorn.protocols.http.h11_impl import H11Protocol

    return H11Protocol


def latency_main(args: argparse.Namespace) -> None:
    """Per-event delay at `--streams` concurrent streams, direct and through the metered proxy,
    alternating; the proxy's added delay = through minus direct, at p50 and p99."""
    ports = [_free_port() for _ in range(2)]
    upstream = f"http://127.0.0.1:{ports[0]}"
    print(
        f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}, {os.cpu_count()} cores;"
        f" {args.client_procs} client processes, {args.upstream_workers} upstream processes,"
        f" {args.proxy_workers} proxy processes; proxy loop {os.environ.get('BENCH_LOOP', 'auto')},"
        f" http {os.environ.get('BENCH_HTTP', 'auto')}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        procs = [
            _spawn("--serve-upstream", str(ports[0]), str(args.upstream_workers)),
            _spawn_proxy(ports[1], upstream, f"{tmp}/ledger.db", args.proxy_workers),
        ]
        urls = {"direct": upstream, "proxy": f"http://127.0.0.1:{ports[1]}"}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in urls}
        try:
            _wait_up(upstream)
            _wait_up(urls["proxy"])
            for i in range(args.rounds):
                for name in urls if i % 2 == 0 else list(urls)[::-1]:
                    delays = _spread_latencies(
                        urls[name], args.streams, args.interval, args.client_procs, tmp
                    )
                    p50, p99 = _percentile(delays, 0.5), _percentile(delays, 0.99)
                    results[name].append((p50, p99))
                    print(
                        f"{name:6s} {args.streams} streams, {len(delays)} events: "
                        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, failures {len(FAILURES)}, "
                        f"load {os.getloadavg()[0]:.2f}",
                        flush=True,
                    )
                    FAILURES.clear()
                    time.sleep(1.0)
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=60)
    med = {
        name: (
            statistics.median(r[0] for r in rows),
            statistics.median(r[1] for r in rows),
        )
        for name, rows in results.items()
    }
    print(
        f"added per-event delay (median of rounds): p50 {med['proxy'][0] - med['direct'][0]:.1f} ms,"
        f" p99 {med['proxy'][1] - med['direct'][1]:.1f} ms (direct p50 {med['direct'][0]:.1f},"
        f" p99 {med['direct'][1]:.1f}; proxy p50 {med['proxy'][0]:.1f}, p99 {med['proxy'][1]:.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--layout", choices=("compact", "spaced"), default="compact")
    parser.add_argument(
        "--profile", metavar="FILE", default="", help="run the metered proxy under cProfile"
    )
    parser.add_argument(
        "--latency",
        action="store_true",
        help="per-event delay at --streams concurrent streams, direct and through the proxy",
    )
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.1, help="seconds between events")
    parser.add_argument("--client-procs", type=int, default=4, help="load-client processes")
    parser.add_argument("--upstream-workers", type=int, default=2, help="upstream processes")
    parser.add_argument("--proxy-workers", type=int, default=1, help="`sseusage proxy --workers`")
    args = parser.parse_args()
    if args.latency:
        latency_main(args)
        return
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
        byte_counts: dict[str, list[int]] = {name: [] for name in names}
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
                    byte_counts[name].append(nbytes)
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
        # Every metered request has its row (warm-up included), and both proxies passed the
        # same bytes.
        import sqlite3

        with sqlite3.connect(f"{tmp}/ledger.db") as conn:
            rows = conn.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        sent = 4 * args.concurrency + args.rounds * args.requests
        print(f"metered proxy rows: {rows} for {sent} requests ({sent - rows} missing)")
        sizes = {name: set(byte_counts[name]) for name in names}
        print(f"bytes per run: metered {sorted(sizes['metered'])}, plain {sorted(sizes['plain'])}")
    from sseusage_fast import BACKEND

    best = {name: max(rates[name]) for name in names}
    median = {name: statistics.median(rates[name]) for name in names}
    cpu = {name: statistics.median(cpu_us[name]) for name in names}
    print(
        f"backend {BACKEND}, {args.layout} JSON: metered {best['metered']:.2f} MB/s, plain {best['plain']:.2f} MB/s,"
        f" ratio {best['metered'] / best['plain']:.3f}x best,"
        f" {median['metered'] / median['plain']:.3f}x median (target 0.97x)"
    )
    if FAILURES:
        print(f"failed requests: {len(FAILURES)} ({', '.join(sorted(set(FAILURES)))})")
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
        serve_upstream(int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    elif len(sys.argv) > 2 and sys.argv[1] == "--run-proxy":
        sys.exit(run_proxy_command(sys.argv[2:]))
    elif len(sys.argv) > 2 and sys.argv[1] == "--latency-client":
        _client_proc(
            sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
        )
    elif len(sys.argv) > 2 and sys.argv[1] == "--serve-proxy":
        serve_proxy(int(sys.argv[2]), sys.argv[3], sys.argv[4] == "meter", sys.argv[5], sys.argv[6])
    else:
        main()
