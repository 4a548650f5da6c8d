"""The benchmark corpus is what it claims to be, and every peer really computes the usage.

A benchmark is only as honest as its inputs: the streams must frame per WHATWG into the events
the provider would send, carry the figures the generator recorded, and every peer in the table
must arrive at those same figures (a peer that skipped the work would look fast and be wrong).
Fast: a small corpus, a few seconds in all.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sse_reference import parse_stream

# benches/ is not a package (it runs as scripts): import its modules by path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benches"))
import corpus
import peers

SMALL = 512 * corpus.KIB


@pytest.fixture(scope="module")
def streams() -> list[corpus.Stream]:
    return corpus.build_corpus(seed=1234, target_bytes=SMALL)


@pytest.fixture(scope="module")
def anthropic_streams() -> list[corpus.Stream]:
    return corpus.build_corpus(seed=99, target_bytes=SMALL, providers=("anthropic",))


def pure_parser() -> ModuleType:
    try:
        from sseusage_fast import pure
    except ImportError as exc:  # pragma: no cover - pure is always importable once it exists
        pytest.skip(f"sseusage_fast.pure: {exc}")
    if not hasattr(pure, "UsageParser"):
        pytest.skip("sseusage_fast.pure has no UsageParser yet")
    return pure


def record_fields(record: Any, fields: Iterable[str]) -> dict[str, Any]:
    return {f: getattr(record, f) for f in fields}


# --- the corpus itself ---------------------------------------------------------------------------


def test_deterministic() -> None:
    a = corpus.build_corpus(seed=5, target_bytes=128 * corpus.KIB)
    b = corpus.build_corpus(seed=5, target_bytes=128 * corpus.KIB)
    c = corpus.build_corpus(seed=6, target_bytes=128 * corpus.KIB)
    assert [s.body for s in a] == [s.body for s in b]
    assert [s.body for s in a] != [s.body for s in c]


def test_default_corpus_is_a_few_mb() -> None:
    streams = corpus.build_corpus()
    total = sum(len(s.body) for s in streams)
    assert 4 * corpus.MIB <= total < 6 * corpus.MIB
    assert len(streams) >= 40


@pytest.mark.parametrize("chunking", list(corpus.CHUNKINGS))
def test_chunkings_cover_the_bytes(streams: list[corpus.Stream], chunking: str) -> None:
    for s in streams:
        chunks = corpus.cut(s.body, chunking)
        assert b"".join(chunks) == s.body
        if chunking == "64":
            assert all(len(c) == 64 for c in chunks[:-1])
        elif chunking == "16k":
            assert all(len(c) == 16 * corpus.KIB for c in chunks[:-1])
        else:
            blank = (s.newline * 2).encode()
            assert all(c.endswith(blank) for c in chunks)
            # One chunk per event: the WHATWG reference dispatches exactly that many.
            assert len(chunks) == len(parse_stream(s.body).events)


def test_events_frame_into_provider_json(streams: list[corpus.Stream]) -> None:
    for s in streams:
        events = parse_stream(s.body).events
        assert events, s.name
        for name, data, _id in events:
            if s.provider == "openai":
                assert name == "message"
                if data == "[DONE]":
                    continue
                assert json.loads(data)["object"] == "chat.completion.chunk"
            else:
                # Anthropic: the SSE event name repeats the JSON "type".
                assert json.loads(data)["type"] == name
        name, data, _id = events[-1]
        if s.provider == "openai":
            assert data == "[DONE]"
        else:
            assert name == "message_stop"


def test_corpus_has_every_feature() -> None:
    streams = corpus.build_corpus()
    features = {f for s in streams for f in s.features}
    assert {"text", "thinking", "tool_use", "cjk", "crlf", "no_usage", "tool_call"} <= features
    bodies = b"".join(s.body for s in streams)
    for marker in (
        b'"type":"signature_delta"',
        b'"type":"input_json_delta","partial_json":""',
        b'"ephemeral_1h_input_tokens":',
        b"event: ping",
        b'"usage":null',
        b'"choices":[],"usage":{',
        b"data: [DONE]\n\n",
        "的".encode(),
    ):
        assert marker in bodies, marker
    # Padding before the closing brace, on the events that carry usage too.
    assert re.search(rb'"usage":\{[^\n]*\}  +\}\r?\n', bodies)
    assert sum(s.provider == "openai" for s in streams) >= 5


def test_long_stream_chunks() -> None:
    chunks = list(corpus.long_stream_chunks(3 * corpus.MIB, 64 * corpus.KIB))
    assert all(len(c) == 64 * corpus.KIB for c in chunks[:-1])
    assert 3 * corpus.MIB <= sum(map(len, chunks)) < 5 * corpus.MIB
    assert peers.tuned(chunks) == {
        "input_tokens": 1234,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": 98765,
    }


# --- our parser on the corpus ---------------------------------------------------------------------


@pytest.mark.parametrize("chunking", list(corpus.CHUNKINGS))
def test_pure_parser_reads_what_the_generator_wrote(
    streams: list[corpus.Stream], chunking: str
) -> None:
    pure = pure_parser()
    for s in streams:
        p = pure.UsageParser()
        for chunk in corpus.cut(s.body, chunking):
            p.feed(chunk)
        rec = p.finish()
        assert rec.provider == s.provider, s.name
        assert rec.model == s.model, s.name
        if s.expected is None:
            assert rec.status == "no_usage", s.name
            assert rec.no_usage_data, s.name
        else:
            assert rec.status == "complete", (s.name, rec.status, rec.error_message)
            assert record_fields(rec, s.expected) == s.expected, s.name


def test_pure_parse_usage_whole_body(streams: list[corpus.Stream]) -> None:
    pure = pure_parser()
    for s in streams:
        rec = pure.parse_usage(s.body)
        if s.expected is None:
            assert rec.status == "no_usage", s.name
        else:
            assert rec.status == "complete", s.name
            assert record_fields(rec, s.expected) == s.expected, s.name


# --- the peers compute the same usage --------------------------------------------------------------


def _peer(key: str) -> Callable[[Iterable[bytes]], Any]:
    for k, _label, fn, module in (*peers.USAGE_PEERS, *peers.EVENT_PEERS):
        if k == key:
            if module is not None:
                pytest.importorskip(module)
            return fn
    raise KeyError(key)


@pytest.mark.parametrize("chunking", list(corpus.CHUNKINGS))
@pytest.mark.parametrize("key", [key for key, *_ in peers.USAGE_PEERS])
def test_peer_gets_the_generator_usage(
    streams: list[corpus.Stream], key: str, chunking: str
) -> None:
    fn = _peer(key)
    for s in streams:
        assert fn(corpus.cut(s.body, chunking)) == corpus.core(s.expected), (key, s.name)


@pytest.mark.parametrize("key", [key for key, *_ in peers.USAGE_PEERS])
def test_peer_agrees_with_pure_parser_on_anthropic(
    anthropic_streams: list[corpus.Stream], key: str
) -> None:
    fn = _peer(key)
    pure = pure_parser()
    for s in anthropic_streams:
        chunks = corpus.cut(s.body, "event")
        rec = pure.parse_usage(s.body)
        ours = None if rec.no_usage_data else record_fields(rec, corpus.CORE_FIELDS)
        assert fn(chunks) == ours, (key, s.name)


@pytest.mark.parametrize("chunking", list(corpus.CHUNKINGS))
def test_httpx_sse_events_match_reference(streams: list[corpus.Stream], chunking: str) -> None:
    fn = _peer("httpx_sse_events")
    for s in streams:
        assert fn(corpus.cut(s.body, chunking)) == len(parse_stream(s.body).events), s.name
