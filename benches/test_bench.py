"""pytest-benchmark versions of the hot paths in compare.py, for tracking one path over time.

Not part of the normal test run (pytest's `testpaths` is `tests/`); run on demand:

    PYTHONPATH=python python -m pytest benches/test_bench.py --benchmark-only
    PYTHONPATH=python python -m pytest benches/test_bench.py --benchmark-only \
        --benchmark-group-by=group --benchmark-columns=min,median,ops
    # compare against an earlier run:
    ... --benchmark-autosave  then  --benchmark-compare

Each benchmark processes a 1 MiB corpus (`corpus.build_corpus`, fixed seed), one parser per
stream, cut three ways (16 KiB reads, one chunk per event, 64 B reads). The group is the
chunking, so each group's table compares native, pure and the tuned pure-Python extractor on
the same bytes. Native cases are skipped when the extension is not built. For the side-by-side
table with every peer, run `python benches/compare.py`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

import corpus
import peers
import pytest

CORPUS_BYTES = corpus.MIB
STREAMS = corpus.build_corpus(seed=20261128, target_bytes=CORPUS_BYTES)
NBYTES = sum(len(s.body) for s in STREAMS)
CUT = {k: corpus.cut_corpus(STREAMS, k) for k in corpus.CHUNKINGS}


def backend(name: str) -> ModuleType:
    try:
        mod = importlib.import_module(f"sseusage_fast.{name}")
    except ImportError:
        pytest.skip(f"sseusage_fast.{name} is not built")
    if not hasattr(mod, "UsageParser"):
        pytest.skip(f"sseusage_fast.{name} has no UsageParser yet")
    return mod


def run_parser(cls: Callable[[], Any], streams: list[list[bytes]]) -> None:
    for chunks in streams:
        p = cls()
        feed = p.feed
        for chunk in chunks:
            feed(chunk)
        p.finish()


def run_decoder(cls: Callable[[], Any], streams: list[list[bytes]]) -> None:
    for chunks in streams:
        d = cls()
        feed = d.feed
        for chunk in chunks:
            feed(chunk)
        d.flush()


def run_tuned(streams: list[list[bytes]]) -> None:
    for chunks in streams:
        peers.tuned(chunks)


def run_httpx_sse(streams: list[list[bytes]]) -> None:
    for chunks in streams:
        peers.httpx_sse_events(chunks)


def _label(benchmark: Any, chunking: str) -> None:
    benchmark.group = f"chunks: {corpus.CHUNKINGS[chunking]}"
    streams = CUT[chunking]
    benchmark.extra_info.update(bytes=NBYTES, chunks=sum(map(len, streams)), streams=len(streams))


@pytest.mark.parametrize("chunking", list(corpus.CHUNKINGS))
@pytest.mark.parametrize("name", ["native", "pure"])
def test_usage_parser(benchmark: Any, name: str, chunking: str) -> None:
    mod = backend(name)
    _label(benchmark, chunking)
    benchmark(run_parser, mod.UsageParser, CUT[chunking])


@pytest.mark.parametrize("chunking", list(corpus.CHUNKINGS))
@pytest.mark.parametrize("name", ["native", "pure"])
def test_sse_decoder(benchmark: Any, name: str, chunking: str) -> None:
    mod = backend(name)
    _label(benchmark, chunking)
    benchmark(run_decoder, mod.SSEDecoder, CUT[chunking])


@pytest.mark.parametrize("chunking", list(corpus.CHUNKINGS))
def test_tuned_extractor(benchmark: Any, chunking: str) -> None:
    _label(benchmark, chunking)
    benchmark(run_tuned, CUT[chunking])


@pytest.mark.parametrize("chunking", list(corpus.CHUNKINGS))
def test_httpx_sse_events(benchmark: Any, chunking: str) -> None:
    pytest.importorskip("httpx_sse")
    _label(benchmark, chunking)
    benchmark(run_httpx_sse, CUT[chunking])
