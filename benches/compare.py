"""One table: our parsers and the peers, on the same corpus, measured in the same run.

    PYTHONPATH=python python benches/compare.py            # full run (about a minute)
    PYTHONPATH=python python benches/compare.py --quick    # smaller corpus, fewer repeats
    PYTHONPATH=python python benches/compare.py --json results.json
    PYTHONPATH=python python benches/compare.py --memory   # RSS check: 256 MiB in 64 KiB reads
    PYTHONPATH=python python benches/compare.py --providers anthropic   # one provider only
    PYTHONPATH=python python benches/compare.py --layouts  # only the layouts table

The layouts table: the same streams re-serialised in the byte layouts real traffic has
(`layouts.LAYOUTS`), and a last row of the real recorded SSE responses in `tests/captures/`
(Anthropic, OpenAI Chat and Responses, as the client received them), native `UsageParser` against
the tuned pure-Python extractor on the same bytes in the same run, at 16 KiB reads and one read
per event, with the floors each must meet.

The corpus mix matters for the tuned peer: it JSON-parses every line containing `"usage"`, which
on OpenAI streams is every chunk (`"usage":null`), while on Anthropic streams it parses two lines
per stream and otherwise runs at `bytes.find` speed. The default is the mixed corpus.

Method, for a noisy shared machine: each contender processes the whole corpus (a fresh parser per
stream, every chunk fed, then finish/flush) `loops` times per measurement, with `loops` calibrated
so one measurement lasts about `--target` seconds. Repetitions are interleaved (round robin over
the contenders, starting one further each round), the garbage collector is off while timing (as
`timeit` does), and the table reports the best of the repetitions; the JSON keeps the median too.
MB/s is 10^6 bytes per second of stream; ns/chunk is the time per `feed` call (or per chunk the
peer consumes), finish included.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import importlib
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

# benches/ is not a package: import its modules by path.
import corpus
import layouts
import peers

Run = Callable[[list[list[bytes]]], None]


@dataclass
class Contender:
    key: str
    label: str
    run: Run | None  # None: not available, `missing` says why
    missing: str = ""
    times: dict[str, list[float]] = field(default_factory=dict)  # chunking -> seconds per pass
    loops: dict[str, int] = field(default_factory=dict)


def load_backend(name: str) -> tuple[ModuleType | None, str]:
    """`sseusage_fast.<name>`, or None and the reason it is not usable."""
    try:
        mod = importlib.import_module(f"sseusage_fast.{name}")
    except ImportError as exc:
        return None, "not built" if name == "native" else f"not importable ({exc})"
    for attr in ("SSEDecoder", "UsageParser"):
        if not hasattr(mod, attr):
            return None, f"no {attr} yet"
    return mod, ""


def parser_run(mod: ModuleType, *, finish: bool = True) -> Run:
    usage_parser = mod.UsageParser

    # Without `finish`, the same loop without the record: what `finish()` costs a stream is
    # the difference (one test a stream, not a read).
    def run(streams: list[list[bytes]]) -> None:
        for chunks in streams:
            p = usage_parser()
            feed = p.feed
            for chunk in chunks:
                feed(chunk)
            if finish:
                p.finish()

    return run


def decoder_run(mod: ModuleType) -> Run:
    sse_decoder = mod.SSEDecoder

    def run(streams: list[list[bytes]]) -> None:
        for chunks in streams:
            d = sse_decoder()
            feed = d.feed
            for chunk in chunks:
                feed(chunk)
            d.flush()

    return run


def peer_run(fn: Callable[[Iterable[bytes]], Any]) -> Run:
    def run(streams: list[list[bytes]]) -> None:
        for chunks in streams:
            fn(chunks)

    return run


def count_run(streams: list[list[bytes]]) -> None:
    # One C-level pass (CPython's byte count) per chunk from a Python loop: a reference for the
    # per-call overhead any `feed` pays, not a hard limit (a SIMD memchr scans faster).
    for chunks in streams:
        for chunk in chunks:
            chunk.count(b"\n")


def contenders() -> list[Contender]:
    out: list[Contender] = []
    for name in ("native", "pure"):
        mod, why = load_backend(name)
        if mod is None:
            out.append(Contender(f"{name}_parser", f"{name} UsageParser", None, why))
        else:
            out.append(Contender(f"{name}_parser", f"{name} UsageParser", parser_run(mod)))
    for name in ("native", "pure"):
        mod, why = load_backend(name)
        if mod is None:
            out.append(Contender(f"{name}_decoder", f"{name} SSEDecoder", None, why))
        else:
            out.append(Contender(f"{name}_decoder", f"{name} SSEDecoder", decoder_run(mod)))
    available = {key for key, _, _ in peers.available_peers()}
    for key, label, fn, module in (*peers.USAGE_PEERS, *peers.EVENT_PEERS):
        if key in available:
            out.append(Contender(key, label, peer_run(fn)))
        else:
            out.append(Contender(key, label, None, f"pip install {module}"))
    out.append(Contender("ref_count", "ref: bytes.count(b'\\n') per chunk", count_run))
    return out


def _time_once(run: Run, streams: list[list[bytes]], loops: int) -> float:
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        t0 = time.perf_counter()
        for _ in range(loops):
            run(streams)
        return (time.perf_counter() - t0) / loops
    finally:
        if gc_was_enabled:
            gc.enable()


def measure(
    cs: list[Contender], cut: dict[str, list[list[bytes]]], repeats: int, target: float
) -> None:
    live = [c for c in cs if c.run is not None]
    for chunking, streams in cut.items():
        for c in live:
            assert c.run is not None
            first = _time_once(c.run, streams, 1)  # also the warm-up
            c.loops[chunking] = max(1, math.ceil(target / max(first, 1e-9)))
            c.times[chunking] = []
        for rep in range(repeats):
            # Round robin, rotated each round: no contender always runs first or after a hog.
            k = rep % len(live) if live else 0
            for c in live[k:] + live[:k]:
                assert c.run is not None
                c.times[chunking].append(_time_once(c.run, streams, c.loops[chunking]))
        print(f"  measured {corpus.CHUNKINGS[chunking]}", file=sys.stderr, flush=True)


# --- report ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for dist in ("sseusage-fast", "anthropic", "httpx", "httpx-sse", "sseclient-py"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "-"
    return out


def results(
    cs: list[Contender], nbytes: int, nchunks: dict[str, int]
) -> dict[str, dict[str, dict[str, float]]]:
    out: dict[str, dict[str, dict[str, float]]] = {}
    for c in cs:
        if c.run is None:
            continue
        out[c.key] = {}
        for chunking, ts in c.times.items():
            best, median = min(ts), statistics.median(ts)
            out[c.key][chunking] = {
                "best_s": best,
                "median_s": median,
                "mb_per_s": nbytes / best / 1e6,
                "ns_per_chunk": best / nchunks[chunking] * 1e9,
                "loops": c.loops[chunking],
                "repeats": len(ts),
            }
    return out


# (label, numerator, denominator, chunking, target)
RATIOS: tuple[tuple[str, str, str, str, float], ...] = (
    ("native UsageParser / tuned pure-Python, 16 KiB", "native_parser", "tuned", "16k", 15),
    ("native UsageParser / tuned pure-Python, per event", "native_parser", "tuned", "event", 8),
    (
        "native UsageParser / anthropic SDK + json, 16 KiB",
        "native_parser",
        "anthropic_sdk",
        "16k",
        100,
    ),
    (
        "native SSEDecoder / httpx-sse events, 16 KiB",
        "native_decoder",
        "httpx_sse_events",
        "16k",
        5,
    ),
    (
        "native SSEDecoder / httpx-sse events, per event",
        "native_decoder",
        "httpx_sse_events",
        "event",
        5,
    ),
    ("native SSEDecoder / httpx-sse events, 64 B", "native_decoder", "httpx_sse_events", "64", 5),
)


def ratios(res: dict[str, dict[str, dict[str, float]]]) -> list[dict[str, Any]]:
    out = []
    for label, num, den, chunking, target in RATIOS:
        value = None
        if num in res and den in res:
            # Same bytes on both sides: the throughput ratio is the inverse time ratio.
            value = res[den][chunking]["best_s"] / res[num][chunking]["best_s"]
        out.append(
            {
                "ratio": label,
                "value": value,
                "target": target,
                "met": None if value is None else value >= target,
            }
        )
    return out


def print_report(
    cs: list[Contender],
    res: dict[str, dict[str, dict[str, float]]],
    rat: list[dict[str, Any]],
    info: dict[str, Any],
) -> None:
    m = info["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['python']}")
    print(f"date:    {m['date']}")
    print(
        f"corpus:  {info['streams']} streams, {info['bytes'] / 1e6:.2f} MB "
        f"(seed {info['seed']}; {info['providers']}); chunks: "
        + ", ".join(f"{corpus.CHUNKINGS[k]} {n}" for k, n in info["chunks"].items())
    )
    print(f"timing:  best of {info['repeats']} interleaved repeats, GC off while timing")
    print()
    chunkings = list(corpus.CHUNKINGS)
    name_w = max(len(c.label) for c in cs)
    head = f"| {'contender':<{name_w}} |" + "".join(
        f" {corpus.CHUNKINGS[k] + ' MB/s':>15} | {'ns/chunk':>10} |" for k in chunkings
    )
    print(head)
    print("|" + "-" * (name_w + 2) + "|" + "-----------------:|-----------:|" * len(chunkings))
    for c in cs:
        row = f"| {c.label:<{name_w}} |"
        if c.key not in res:
            note = "not built" if c.missing == "not built" else "n/a (below)"
            row += "".join(f" {note:>15} | {'':>10} |" for _ in chunkings)
        else:
            for k in chunkings:
                r = res[c.key][k]
                row += f" {r['mb_per_s']:>15,.1f} | {r['ns_per_chunk']:>10,.0f} |"
        print(row)
    for c in cs:
        if c.key not in res and c.missing != "not built":
            print(f"  {c.label}: {c.missing}")
    print()
    print("ratios (throughput, best times):")
    for r in rat:
        if r["value"] is None:
            print(f"  {r['ratio']:<52} {'n/a':>8}   (target >= {r['target']:g}x)")
        else:
            mark = "met" if r["met"] else "NOT met"
            print(f"  {r['ratio']:<52} {r['value']:>7.1f}x   (target >= {r['target']:g}x: {mark})")


# --- layouts -----------------------------------------------------------------------------------

# Floors (native / tuned, 16 KiB and per event): every layout, and the layouts an API writes.
LAYOUT_FLOORS = {"16k": 10.0, "event": 6.0}
API_LAYOUT_FLOORS = {"16k": 15.0, "event": 8.0}
LAYOUT_CHUNKINGS = ("16k", "event")


def measure_layouts(seed: int, mib: float, repeats: int, target: float) -> list[dict[str, Any]]:
    """Per layout: native UsageParser and the tuned extractor on the same re-serialised bytes."""
    native, why = load_backend("native")
    if native is None:
        print(f"layouts: native backend {why}", file=sys.stderr)
        return []
    target_bytes = int(mib * corpus.MIB)
    classes = [
        (
            layout.key,
            layout.label,
            layout.api,
            layouts.layout_corpus(layout, seed, target_bytes),
            peers.tuned,
        )
        for layout in layouts.LAYOUTS
    ]
    real = layouts.capture_corpus(target_bytes)
    if real:
        label = f"real recorded streams ({len({s.name for s in real})} captures, repeated)"
        classes.append(("captures", label, False, real, peers.tuned))
    gemini = layouts.capture_corpus(target_bytes, layouts.GEMINI_CAPTURES)
    if gemini:
        label = (
            f"Gemini recorded streams ({len({s.name for s in gemini})} captures, repeated; "
            "the tuned extractor's Gemini variant)"
        )
        classes.append(("gemini_captures", label, False, gemini, peers.tuned_gemini))
    rows = []
    for key, label, api, streams, tuned in classes:
        nbytes = sum(len(s.body) for s in streams)
        cut = {k: corpus.cut_corpus(streams, k) for k in LAYOUT_CHUNKINGS}
        cs = [
            Contender("native_parser", "native UsageParser", parser_run(native)),
            Contender("tuned", "tuned pure-Python extractor", peer_run(tuned)),
            Contender(
                "native_feed", "native UsageParser, no finish()", parser_run(native, finish=False)
            ),
        ]
        print(f"layout {key}:", file=sys.stderr, flush=True)
        measure(cs, cut, repeats, target)
        nchunks = {k: sum(map(len, v)) for k, v in cut.items()}
        res = results(cs, nbytes, nchunks)
        floors = API_LAYOUT_FLOORS if api else LAYOUT_FLOORS
        row: dict[str, Any] = {"layout": key, "label": label, "bytes": nbytes}
        for k in LAYOUT_CHUNKINGS:
            ratio = res["tuned"][k]["best_s"] / res["native_parser"][k]["best_s"]
            whole, fed = res["native_parser"][k]["best_s"], res["native_feed"][k]["best_s"]
            row[k] = {
                # The record and what the estimator learns from it, once per stream: the share
                # of the native time that no faster reading of the bytes can take off.
                "finish_share": max(0.0, 1 - fed / whole),
                "native_mb_per_s": res["native_parser"][k]["mb_per_s"],
                "tuned_mb_per_s": res["tuned"][k]["mb_per_s"],
                "ratio": ratio,
                "floor": floors[k],
                "met": ratio >= floors[k],
            }
        rows.append(row)
    return rows


def print_layouts(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    print()
    print("layouts (native UsageParser / tuned pure-Python extractor, same bytes, same run):")
    print()
    w = max(len(r["label"]) for r in rows)
    print(
        f"| {'layout':<{w}} | native 16 KiB MB/s | tuned 16 KiB MB/s | x tuned (floor) "
        "| finish() share | native per event MB/s | tuned per event MB/s | x tuned (floor) "
        "| finish() share |"
    )
    print("|" + "-" * (w + 2) + "|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = []
        for k in LAYOUT_CHUNKINGS:
            c = r[k]
            mark = "" if c["met"] else " NOT met"
            cells += [
                f"{c['native_mb_per_s']:,.0f}",
                f"{c['tuned_mb_per_s']:,.1f}",
                f"{c['ratio']:.1f}x ({c['floor']:g}x){mark}",
                f"{c['finish_share']:.0%}",
            ]
        print(f"| {r['label']:<{w}} | " + " | ".join(cells) + " |")


# --- memory -------------------------------------------------------------------------------------


def rss_bytes() -> int:
    """Resident set size now, from /proc (Linux); ru_maxrss elsewhere (a peak, in KiB or bytes)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def memory_check(
    backend: str = "native", total: int = 256 * corpus.MIB, chunk: int = 64 * corpus.KIB
) -> dict[str, Any]:
    """Feed a `total`-byte stream in `chunk` reads to one UsageParser; report the RSS growth.

    RSS is sampled every 64 reads, so the figure is the peak during the stream, not just the end.
    """
    mod, why = load_backend(backend)
    if mod is None:
        return {"backend": backend, "error": why}
    chunks = corpus.long_stream_chunks(total, chunk)
    first = next(chunks)  # the generator's own buffers exist before the baseline
    gc.collect()
    parser = mod.UsageParser()
    start = peak = rss_bytes()
    fed = 0
    t0 = time.perf_counter()
    parser.feed(first)
    fed += len(first)
    for i, c in enumerate(chunks, 1):
        parser.feed(c)
        fed += len(c)
        if i % 64 == 0:
            peak = max(peak, rss_bytes())
    record = parser.finish()
    elapsed = time.perf_counter() - t0
    peak = max(peak, rss_bytes())
    return {
        "backend": backend,
        "fed_bytes": fed,
        "chunk": chunk,
        "seconds": elapsed,
        "rss_start": start,
        "rss_peak": peak,
        "growth": peak - start,
        "status": record.status,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
    }


def print_memory(m: dict[str, Any], limit: int = 24 * corpus.MIB) -> None:
    if "error" in m:
        print(f"memory ({m['backend']}): {m['error']}")
        return
    verdict = "ok" if m["growth"] < limit else "OVER"
    print(
        f"memory ({m['backend']} UsageParser): {m['fed_bytes'] / corpus.MIB:.0f} MiB in "
        f"{m['chunk'] // corpus.KIB} KiB reads, {m['seconds']:.1f} s; RSS "
        f"{m['rss_start'] / corpus.MIB:.1f} -> peak {m['rss_peak'] / corpus.MIB:.1f} MiB, growth "
        f"{m['growth'] / corpus.MIB:.1f} MiB (limit {limit // corpus.MIB} MiB: {verdict}); "
        f"record: {m['status']}, input {m['input_tokens']}, output {m['output_tokens']}"
    )


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 MiB corpus, 3 repeats")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument("--repeats", type=int, help="interleaved repeats (default 7, quick 3)")
    ap.add_argument("--target", type=float, help="seconds per measurement (default 0.1)")
    ap.add_argument("--mib", type=float, help="corpus size in MiB (default 4, quick 1)")
    ap.add_argument("--seed", type=int, default=20261128)
    ap.add_argument(
        "--providers", default="anthropic,openai", help="corpus mix: anthropic, openai or both"
    )
    ap.add_argument("--memory", action="store_true", help="run only the RSS check")
    ap.add_argument("--backend", default="native", help="backend for --memory (native|pure)")
    ap.add_argument("--layouts", action="store_true", help="run only the layouts table")
    ap.add_argument("--no-layouts", action="store_true", help="leave the layouts table out")
    ap.add_argument(
        "--layout-mib", type=float, help="corpus size per layout in MiB (default 1, quick 0.25)"
    )
    args = ap.parse_args(argv)

    if args.memory:
        m = memory_check(args.backend)
        print_memory(m)
        if args.json:
            Path(args.json).write_text(json.dumps({"memory": m}, indent=2) + "\n")
        return 0 if "error" not in m and m["growth"] < 24 * corpus.MIB else 1

    repeats = args.repeats or (3 if args.quick else 7)
    target = args.target or (0.03 if args.quick else 0.1)
    mib = args.mib or (1.0 if args.quick else 4.0)
    providers = tuple(p.strip() for p in args.providers.split(",") if p.strip())
    layout_mib = args.layout_mib or (0.25 if args.quick else 1.0)
    if args.layouts:
        rows = measure_layouts(args.seed, layout_mib, repeats, target)
        print_layouts(rows)
        if args.json:
            Path(args.json).write_text(json.dumps({"layouts": rows}, indent=2) + "\n")
        return 0
    streams = corpus.build_corpus(args.seed, int(mib * corpus.MIB), providers)
    nbytes = sum(len(s.body) for s in streams)
    cut = {k: corpus.cut_corpus(streams, k) for k in corpus.CHUNKINGS}
    nchunks = {k: sum(map(len, v)) for k, v in cut.items()}

    cs = contenders()
    measure(cs, cut, repeats, target)
    res = results(cs, nbytes, nchunks)
    rat = ratios(res)
    info = {
        "machine": machine(),
        "versions": versions(),
        "seed": args.seed,
        "providers": "+".join(providers),
        "streams": len(streams),
        "bytes": nbytes,
        "chunks": nchunks,
        "repeats": repeats,
        "target_s": target,
        "statistic": "best",
    }
    print_report(cs, res, rat, info)
    rows = [] if args.no_layouts else measure_layouts(args.seed, layout_mib, repeats, target)
    print_layouts(rows)
    if args.json:
        missing = {c.key: c.missing for c in cs if c.run is None}
        doc = {**info, "results": res, "ratios": rat, "missing": missing, "layouts": rows}
        Path(args.json).write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
