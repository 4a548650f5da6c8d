"""An event over `max_event_bytes` that the stream ends inside (no blank line, no newline, no
closing bracket before EOF) says `event_too_large`, exactly as the same event would had it been
finished: status, error type, message and the figures read before it. For every framing, on both
backends, whole, one byte at a time and in random chunks."""

from __future__ import annotations

import json
import random
import struct
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sseusage_fast.record import UsageRecord

MAX = 1000

START = {
    "type": "message_start",
    "message": {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "usage": {"input_tokens": 11, "output_tokens": 1},
    },
}
DELTA = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}}


def sse(name: str, payload: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(payload)}\n\n".encode()


HEAD = sse("message_start", START)


def records(both: tuple[ModuleType, ModuleType], body: bytes, provider: str) -> UsageRecord:
    """The record, the same whole, byte by byte and in random chunks, on both backends."""
    rng = random.Random(len(body))
    splits = [[body], [body[i : i + 1] for i in range(len(body))]]
    for _ in range(3):
        cuts = sorted(rng.sample(range(1, len(body)), 6))
        splits.append([body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)])
    first: dict[str, Any] | None = None
    for module in both:
        one_shot = module.parse_usage(body, provider, max_event_bytes=MAX)
        for chunks in splits:
            parser = module.UsageParser(provider, max_event_bytes=MAX)
            for chunk in chunks:
                parser.feed(chunk)
            got = parser.finish().to_dict()
            assert got == one_shot.to_dict()
            if first is None:
                first = got
            assert got == first
    return one_shot  # type: ignore[no-any-return]


def same_as_finished(cut: UsageRecord, finished: UsageRecord) -> None:
    assert (cut.status, cut.error_type) == ("error", "event_too_large")
    assert cut.error_message and cut.error_message == finished.error_message
    assert (cut.status, cut.error_type) == (finished.status, finished.error_type)
    assert (cut.input_tokens, cut.model) == (finished.input_tokens, finished.model)


BIG = b"x" * 3 * MAX


@pytest.mark.parametrize(
    "tail",
    [
        # One data line over the bound, its line ended, no blank line.
        b"event: content_block_delta\ndata: " + BIG + b"\n",
        # One data line still growing when the stream ends (the framer drops it).
        b"event: content_block_delta\ndata: " + BIG,
        # A line just over the event bound but under the framer's line bound.
        b"data: " + b"y" * (MAX + 10),
        # Many short data lines that add up to more than the bound.
        b"event: content_block_delta\n" + b"data: 0123456789\n" * 200,
        # A comment line over the bound, as the finished case drops it too.
        b": " + BIG,
    ],
    ids=["line-ended", "line-open", "under-line-bound", "many-lines", "comment"],
)
def test_sse_event_cut_after_the_bound(both: tuple[ModuleType, ModuleType], tail: bytes) -> None:
    cut = records(both, HEAD + tail, "auto")
    finished = records(both, HEAD + tail + b"\n\n", "auto")
    same_as_finished(cut, finished)
    assert cut.input_tokens == 11
    assert cut.provider == "anthropic"


def test_sse_event_cut_under_the_bound_is_partial(both: tuple[ModuleType, ModuleType]) -> None:
    # The bound is what decides: the same cut under it stays `partial`, without an error.
    cut = records(both, HEAD + b"event: content_block_delta\ndata: " + b"z" * 100, "auto")
    assert (cut.status, cut.error_type) == ("partial", None)


def test_sse_only_an_oversized_unfinished_line(both: tuple[ModuleType, ModuleType]) -> None:
    # Nothing else arrived: the same record as the finished line gives.
    cut = records(both, b"data: " + BIG, "auto")
    finished = records(both, b"data: " + BIG + b"\n\n", "auto")
    assert cut.to_dict() == finished.to_dict()
    assert cut.error_type == "event_too_large"


OLLAMA = [
    {"model": "llama3.2", "message": {"role": "assistant", "content": "Hi"}, "done": False},
    {
        "model": "llama3.2",
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "stop",
        "prompt_eval_count": 26,
        "eval_count": 290,
    },
]


def test_ndjson_line_cut_after_the_bound(both: tuple[ModuleType, ModuleType]) -> None:
    lines = b"".join(json.dumps(v).encode() + b"\n" for v in OLLAMA)
    big = json.dumps({"model": "llama3.2", "message": {"content": "x" * 3 * MAX}}).encode()
    cut = records(both, lines + big[: 2 * MAX], "ollama")
    finished = records(both, lines + big + b"\n", "ollama")
    same_as_finished(cut, finished)
    assert cut.output_tokens == 290


def test_ndjson_told_apart_whatever_the_reads_when_the_body_is_over_the_bound(
    both: tuple[ModuleType, ModuleType],
) -> None:
    # Sniffed, not named: the body is kept as one JSON body until its second line starts. A
    # body longer than the bound whose first line and the start of the second are within it is
    # NDJSON whether it came in one read or a byte at a time (found by the fuzz target).
    lines = b"".join(json.dumps(v).encode() + b"\n" for v in [OLLAMA[0]] * 30 + OLLAMA[1:])
    assert lines.index(b"\n") + 2 < MAX < len(lines)
    record = records(both, lines, "auto")
    assert (record.framing, record.error_type) == ("ndjson", None)
    # The second line starts past the bound: one JSON body over it, however it is read.
    long_first = json.dumps({"model": "x", "pad": "p" * MAX}).encode() + b"\n"
    record = records(both, long_first + lines, "auto")
    assert record.error_type == "event_too_large"


CAPTURES = Path(__file__).parent / "captures"


@pytest.mark.parametrize(
    "name", ["chat_stream.ndjson", "async_chat_stream.ndjson", "generate_stream.ndjson"]
)
def test_real_ndjson_streams_over_the_bound_are_read_whatever_the_reads(
    both: tuple[ModuleType, ModuleType], name: str
) -> None:
    # Recorded Ollama streams (tests/captures/ollama, 6-8 KB), sniffed without a content type
    # under a bound their lines fit and the whole body does not: the record of the default
    # bound, whole, bytewise and chunked.
    body = (CAPTURES / "ollama" / name).read_bytes()
    assert body.index(b"\n") < MAX < len(body)
    record = records(both, body, "auto")
    unbounded = both[0].parse_usage(body, "auto")
    assert (record.provider, record.framing, record.status) == ("ollama", "ndjson", "complete")
    assert record.to_dict() == unbounded.to_dict()


def test_json_array_element_cut_after_the_bound(both: tuple[ModuleType, ModuleType]) -> None:
    usage = {"promptTokenCount": 4, "candidatesTokenCount": 9, "totalTokenCount": 13}
    small = {"candidates": [{"content": {"parts": [{"text": "a"}]}}], "usageMetadata": usage}
    big = json.dumps({"candidates": [{"content": {"parts": [{"text": "y" * 3 * MAX}]}}]})
    head = "[" + json.dumps(small) + ","
    cut = records(both, (head + big[: 2 * MAX]).encode(), "gemini")
    finished = records(both, (head + big + "]").encode(), "gemini")
    same_as_finished(cut, finished)
    assert cut.output_tokens == 9


def aws_event(event_type: str, payload: bytes) -> bytes:
    headers = {":event-type": event_type, ":message-type": "event"}
    block = b"".join(
        bytes([len(k)]) + k.encode() + b"\x07" + struct.pack(">H", len(v)) + v.encode()
        for k, v in headers.items()
    )
    prelude = struct.pack(">II", 16 + len(block) + len(payload), len(block))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + block + payload
    return body + struct.pack(">I", zlib.crc32(body))


def test_aws_message_cut_after_the_bound(both: tuple[ModuleType, ModuleType]) -> None:
    usage = {"usage": {"inputTokens": 20, "outputTokens": 5}, "metrics": {"latencyMs": 1}}
    head = aws_event("messageStart", b'{"role":"assistant"}')
    big = aws_event("contentBlockDelta", json.dumps({"delta": {"text": "x" * 3 * MAX}}).encode())
    cut = records(both, head + big[: 2 * MAX], "bedrock")
    finished = records(
        both, head + big + aws_event("metadata", json.dumps(usage).encode()), "bedrock"
    )
    same_as_finished(cut, finished)
    # Cut inside the prelude, the size is not known yet: a truncated stream, as before.
    short = records(both, head + big[:8], "bedrock")
    assert (short.status, short.error_type) == ("error", "truncated_event_stream")
