"""`UsageParser.feed`, the per-read call, on both backends: the chunk types it takes (exact
`bytes` read in place by the native backend, the rest through the general path), empty reads,
its errors, and its signature.

Spec: CONTRACT.md ("`.feed(chunk) -> None`, cheap enough to call on every network read";
chunks are bytes, bytearray or memoryview); one parser per stream.
"""

from __future__ import annotations

import inspect
import random
from types import ModuleType

import pytest
from sseusage_fast.estimate import Estimator

STREAM = (
    b"event: message_start\n"
    b'data: {"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5",'
    b'"usage":{"input_tokens":12,"output_tokens":1}}}\n\n'
    b"event: content_block_delta\n"
    b'data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta",'
    b'"text":"Hello \\u00e9 world"}}\n\n'
    b": keep-alive\n\n"
    b"event: message_delta\n"
    b'data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    b'"usage":{"output_tokens":7}}\n\n'
    b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
)


class Bytes(bytes):
    """A `bytes` subclass: not read in place, the same record."""


def record_of(backend: ModuleType, chunks: list[object]) -> object:
    parser = backend.UsageParser(estimator=Estimator())
    for chunk in chunks:
        parser.feed(chunk)
    return parser.finish()


def test_every_chunk_type_and_empty_reads_give_the_one_shot_record(backend: ModuleType) -> None:
    expected = backend.parse_usage(STREAM, estimator=Estimator())
    assert expected.status == "complete" and expected.output_tokens == 7
    rng = random.Random(11)
    kinds = (bytes, bytearray, memoryview, Bytes)
    for _ in range(40):
        cuts = sorted(rng.sample(range(1, len(STREAM)), rng.randrange(0, 12)))
        pieces = [STREAM[a:b] for a, b in zip([0, *cuts], [*cuts, len(STREAM)])]
        chunks: list[object] = []
        for piece in pieces:
            if rng.random() < 0.3:
                chunks.append(rng.choice(kinds)(b""))  # an empty read changes nothing
            chunks.append(rng.choice(kinds)(piece))
        assert record_of(backend, chunks) == expected


def test_empty_reads_first_then_the_stream(backend: ModuleType) -> None:
    expected = backend.parse_usage(STREAM, estimator=Estimator())
    assert record_of(backend, [b"", b"", STREAM[:1], b"", STREAM[1:], b""]) == expected
    # A BOM cut by empty reads is still one BOM.
    bom = b"\xef\xbb\xbf"
    assert record_of(backend, [bom[:1], b"", bom[1:2], b"", bom[2:] + STREAM]) == expected


def test_feed_errors(backend: ModuleType) -> None:
    parser = backend.UsageParser(estimator=Estimator())
    with pytest.raises(TypeError):
        parser.feed("text")
    with pytest.raises(TypeError):
        parser.feed(None)
    with pytest.raises(TypeError):
        parser.feed()
    with pytest.raises(TypeError):
        parser.feed(b"", b"")
    with pytest.raises(TypeError):
        parser.feed(chunk=b"")
    parser.feed(STREAM)
    record = parser.finish()
    assert record.status == "complete"
    for chunk in (b"", b"x", bytearray(b"x")):
        with pytest.raises(RuntimeError, match="after finish"):
            parser.feed(chunk)
    assert parser.finish() is record


def test_feed_is_the_cores_method(backend: ModuleType) -> None:
    """The native `feed` is the core's C method, called without a Python frame; it checks the
    object it is called on."""
    parser = backend.UsageParser()
    assert list(inspect.signature(parser.feed).parameters) == ["chunk"]
    if backend.__name__.endswith("native"):
        with pytest.raises(TypeError):
            type(parser).feed(object(), b"")
        assert "network read" in (type(parser).feed.__doc__ or "")
