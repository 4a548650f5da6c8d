"""Memory stays bounded: nothing accumulates per event, and an oversized event costs at most its
limit. RSS is read from /proc (Linux); the test is skipped elsewhere."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from types import ModuleType

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))
import corpus
from sseusage_fast.estimate import Estimator

MIB = 1 << 20
STATUS = Path("/proc/self/status")
pytestmark = pytest.mark.skipif(not STATUS.exists(), reason="needs /proc/self/status")


def rss() -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_long_stream_grows_rss_by_less_than_24_mib(backend: ModuleType) -> None:
    # 256 MiB on native (the figure); the pure twin is ~40x slower, so 64 MiB there.
    total = 256 * MIB if backend.__name__.endswith("native") else 64 * MIB
    chunks = corpus.long_stream_chunks(total, 64 * 1024)
    parser = backend.UsageParser(estimator=Estimator())
    parser.feed(next(chunks))
    gc.collect()
    base = peak = rss()
    for i, chunk in enumerate(chunks):
        parser.feed(chunk)
        if i % 64 == 0:
            peak = max(peak, rss())
    record = parser.finish()
    assert record.status == "complete"
    assert (record.input_tokens, record.output_tokens) == (1234, 98765)
    assert peak - base < 24 * MIB


def test_oversized_event_is_dropped_with_memory_bounded_by_the_limit(backend: ModuleType) -> None:
    limit = 4 * MIB
    parser = backend.UsageParser(max_event_bytes=limit, estimator=Estimator())
    parser.feed(
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"x",'
        b'"usage":{"input_tokens":42,"output_tokens":1}}}\n\n'
    )
    gc.collect()
    base = peak = rss()
    parser.feed(b'event: content_block_delta\ndata: {"type":"content_block_delta","text":"')
    block = b"a" * MIB
    for _ in range(64):  # 64 MiB in one event, 16 times the limit
        parser.feed(block)
        peak = max(peak, rss())
    parser.feed(b'"}\n\n')
    record = parser.finish()
    assert record.status == "error"
    assert record.error_type == "event_too_large"
    assert record.input_tokens == 42
    assert peak - base < 3 * limit
