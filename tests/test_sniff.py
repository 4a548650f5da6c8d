"""What a body is (event stream, JSON, HTML, gzip, zstd, garbage) is decided from its first
significant bytes; the answer must not depend on where the reads end (found by fuzzing: a body
starting "(" split after its first byte was once called zstd)."""

from __future__ import annotations

from types import ModuleType

import pytest

CASES = {
    b"(": "no SSE fields",
    b"(\xb5/": "no SSE fields",
    b"(X": "no SSE fields",
    b"(\xb5/\xfd": "zstd",
    b"  \n(\xb5/\xfd\x00\x01": "zstd",
    b"\x1f\x8b\x08\x00": "gzip",
    b"\n <!doctype html><p>502</p>": "HTML",
    b"garbage without fields": "no SSE fields",
}


@pytest.mark.parametrize("body", list(CASES), ids=repr)
def test_diagnosis_does_not_depend_on_reads(backend: ModuleType, body: bytes) -> None:
    whole = backend.parse_usage(body)
    assert whole.status == "not_sse"
    assert CASES[body] in (whole.error_message or "")
    splits = [[body[:i], body[i:]] for i in range(len(body) + 1)]
    splits.append([body[i : i + 1] for i in range(len(body))])
    for chunks in splits:
        parser = backend.UsageParser()
        for chunk in chunks:
            parser.feed(chunk)
        assert parser.finish() == whole, chunks
