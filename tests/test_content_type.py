"""`content_type=`: the response's Content-Type as a framing hint, where the first bytes leave the
choice open; the bytes win where they decide. Both backends, whole, one byte at a time and in
random chunks."""

from __future__ import annotations

import gzip
import json
import random
import struct
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sseusage_fast.record import UsageRecord

OLLAMA = [
    {
        "model": "llama3.2",
        "created_at": "2026-01-01T00:00:00Z",
        "message": {"role": "assistant", "content": "Hi"},
        "done": False,
    },
    {
        "model": "llama3.2",
        "created_at": "2026-01-01T00:00:01Z",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 26,
        "eval_count": 290,
    },
]
NDJSON = b"".join(json.dumps(v).encode() + b"\n" for v in OLLAMA)
# A first line that is not a whole object: alone, the bytes cannot tell NDJSON from a JSON body.
BROKEN_FIRST = b'{"model": "llama3.2", "message": {"content": "cut\n' + NDJSON

START = {
    "type": "message_start",
    "message": {"id": "m", "model": "claude-sonnet-4-5", "usage": {"input_tokens": 11}},
}
END = {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}
SSE = b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in (START, END))
BODY = (Path(__file__).resolve().parent.parent / "examples" / "anthropic_message.json").read_bytes()

GEMINI_ARRAY = json.dumps(
    [
        {
            "candidates": [{"content": {"parts": [{"text": "a"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 9},
            "modelVersion": "gemini-2.5-flash",
        }
    ]
).encode()


def read(
    both: tuple[ModuleType, ModuleType],
    body: bytes,
    provider: str = "auto",
    content_type: str | None = None,
    **kwargs: Any,
) -> UsageRecord:
    """The record, the same whole, byte by byte and in random chunks, on both backends."""
    rng = random.Random(len(body))
    splits = [[body], [body[i : i + 1] for i in range(len(body))]]
    for _ in range(3):
        cuts = sorted(rng.sample(range(1, len(body)), min(6, len(body) - 1)))
        splits.append([body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)])
    want = None
    for module in both:
        one = module.parse_usage(body, provider, content_type=content_type, **kwargs)
        want = want or one.to_dict()
        assert one.to_dict() == want
        for chunks in splits:
            parser = module.UsageParser(provider, content_type=content_type, **kwargs)
            for chunk in chunks:
                parser.feed(chunk)
            assert parser.finish().to_dict() == want
    return one  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "ctype", ["application/x-ndjson", "Application/X-NDJSON; charset=utf-8", "application/jsonl"]
)
def test_ndjson_label_reads_lines_from_the_first(
    both: tuple[ModuleType, ModuleType], ctype: str
) -> None:
    r = read(both, BROKEN_FIRST, content_type=ctype)
    assert (r.status, r.framing, r.provider) == ("complete", "ndjson", "ollama")
    assert (r.input_tokens, r.output_tokens) == (26, 290)
    assert any("not valid JSON" in n for n in r.notes)
    # Unlabelled, the same bytes are a JSON body that does not parse.
    assert read(both, BROKEN_FIRST).status == "not_sse"
    # A clean NDJSON stream reads the same either way.
    assert read(both, NDJSON, content_type=ctype).to_dict() == read(both, NDJSON).to_dict()


def test_ndjson_label_keeps_what_follows_an_oversized_first_line(
    both: tuple[ModuleType, ModuleType],
) -> None:
    big = json.dumps({"model": "llama3.2", "message": {"content": "x" * 3000}}).encode() + b"\n"
    labelled = read(both, big + NDJSON, content_type="application/x-ndjson", max_event_bytes=1000)
    assert (labelled.error_type, labelled.output_tokens) == ("event_too_large", 290)
    # Unlabelled, the first line is taken for a JSON body over the bound: nothing is read.
    bare = read(both, big + NDJSON, max_event_bytes=1000, estimate=False)
    assert (bare.error_type, bare.output_tokens) == ("event_too_large", None)


@pytest.mark.parametrize(
    ("body", "ctype", "status", "framing"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "application/json", "not_sse", None),
        (b"<html>oops</html>", "text/event-stream", "not_sse", None),
        (gzip.compress(SSE), "text/event-stream", "not_sse", None),
        (BODY, "text/event-stream", "complete", "json"),
        (SSE, "application/json", "complete", "sse"),
        (SSE, "application/x-ndjson", "complete", "sse"),
        (SSE, "application/problem+json", "complete", "sse"),
        (GEMINI_ARRAY, "application/x-ndjson", "complete", "json-array"),
        (GEMINI_ARRAY, "text/event-stream", "complete", "json-array"),
    ],
)
def test_decisive_bytes_win_over_the_label(
    both: tuple[ModuleType, ModuleType],
    body: bytes,
    ctype: str,
    status: str,
    framing: str | None,
) -> None:
    r = read(both, body, content_type=ctype)
    assert (r.status, r.framing) == (status, framing)
    assert r.to_dict() == read(both, body).to_dict()


def aws_event(event_type: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": event_type, ":message-type": "event"}
    block = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
        for k, v in headers.items()
    )
    data = json.dumps(payload).encode()
    prelude = struct.pack(">II", 16 + len(block) + len(data), len(block))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    whole = prelude + block + data
    return whole + struct.pack(">I", zlib.crc32(whole))


CONVERSE = aws_event("messageStart", {"role": "assistant"}) + aws_event(
    "metadata", {"usage": {"inputTokens": 20, "outputTokens": 5}, "metrics": {"latencyMs": 1}}
)


def test_aws_label(both: tuple[ModuleType, ModuleType]) -> None:
    ctype = "application/vnd.amazon.eventstream"
    r = read(both, CONVERSE, content_type=ctype)
    assert (r.status, r.framing, r.output_tokens) == ("complete", "aws-eventstream", 5)
    assert r.to_dict() == read(both, CONVERSE).to_dict()
    # Text under the label: read as the AWS stream it claims to be, which does not check.
    r = read(both, b"hello, this is text", content_type=ctype)
    assert r.status == "not_sse"
    assert r.error_message is not None and "AWS event stream" in r.error_message
    bare = read(both, b"hello, this is text")
    assert bare.status == "not_sse" and "no SSE fields" in (bare.error_message or "")


def test_event_stream_label_under_bedrock(both: tuple[ModuleType, ModuleType]) -> None:
    # Bedrock's default framing is the AWS event stream; a body labelled as an event stream is
    # framed as one.
    r = read(both, SSE, "bedrock", content_type="text/event-stream")
    assert r.framing == "sse"
    assert r.error_type != "invalid_event_stream"
    bare = read(both, SSE, "bedrock")
    assert (bare.framing, bare.error_type) == ("aws-eventstream", "invalid_event_stream")


@pytest.mark.parametrize(
    "ctype", [None, "", "text/plain", "application/octet-stream", "text/event-stream\u212a"]
)
def test_no_hint_reads_as_before(both: tuple[ModuleType, ModuleType], ctype: str | None) -> None:
    for body in (SSE, BODY, NDJSON, CONVERSE, BROKEN_FIRST):
        assert read(both, body, content_type=ctype).to_dict() == read(both, body).to_dict()


def test_content_type_must_be_text(backend: ModuleType) -> None:
    with pytest.raises(TypeError):
        backend.UsageParser(content_type=b"text/event-stream")
    with pytest.raises(TypeError):
        backend.parse_usage(SSE, content_type=3)
    with pytest.raises(TypeError):
        backend.UsageParser("auto", None, "text/event-stream")  # keyword only
