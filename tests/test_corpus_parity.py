"""Native == pure on the whole benchmark corpus (text, thinking, tool use, CJK, CRLF, padded
JSON, streams without usage), at every chunking the benchmarks use: the fast paths that make
the native numbers must not change a single record."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))
import corpus
from sseusage_fast.estimate import Estimator

STREAMS = corpus.build_corpus()


def record(backend: ModuleType, chunks: list[bytes]) -> dict[str, object]:
    parser = backend.UsageParser(estimator=Estimator())
    for chunk in chunks:
        parser.feed(chunk)
    result: dict[str, object] = parser.finish().to_dict()
    return result


@pytest.mark.parametrize("chunking", list(corpus.CHUNKINGS))
def test_native_equals_pure_on_the_corpus(
    both: tuple[ModuleType, ModuleType], chunking: str
) -> None:
    native, pure = both
    for stream in STREAMS:
        chunks = corpus.cut(stream.body, chunking)
        got = record(native, chunks)
        assert got == record(pure, chunks), stream.name
        assert got == record(native, [stream.body]), stream.name
