"""Hostile input: whatever an upstream (or a broken proxy in between) sends, a record comes out,
its token counts are None or 0 <= n <= 10**12, a rejected value says why (in `notes` or
`error_message`), memory stays bounded, and both backends give the same record.

Covered: token counts that are negative, fractional, strings, `1e309`, beyond u64, booleans,
null, nested objects; JSON nested 10,000 deep; millions of tiny events; NUL bytes; a BOM
mid-stream; invalid UTF-8 in JSON strings, keys, field names and event types; events and bodies
over the size limit; truncated JSON; trailing garbage; duplicate keys; and a hypothesis
differential (native vs pure, one-shot vs chunked) over provider-shaped streams that mix valid
events of every provider with corrupted ones (byte flips, truncations, splices, insertions).

Known bugs are pinned with `xfail(strict=True)` so that the fix turns them into passes.
"""

from __future__ import annotations

import gc
import itertools
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from anthropic_streams import full_stream
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sseusage_fast.estimate import Estimator
from sseusage_fast.record import STATUSES, TOKEN_FIELDS, UsageRecord

MAX_COUNT = 10**12
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PROVIDERS = ("anthropic", "openai", "openai-responses", "gemini")

# ---------------------------------------------------------------------------------------------
# helpers


def assert_sane(record: UsageRecord) -> None:
    """The invariant every record keeps, whatever came in."""
    assert isinstance(record, UsageRecord)
    assert record.status in STATUSES
    for name in TOKEN_FIELDS:
        value = getattr(record, name)
        assert value is None or (type(value) is int and 0 <= value <= MAX_COUNT), (name, value)
    assert set(record.estimated) <= set(TOKEN_FIELDS)
    if record.status in ("error", "not_sse"):
        assert record.error_message, "an error or not_sse record says why"
    json.dumps(record.to_dict())  # plain JSON types only


def parse(
    backend: ModuleType,
    body: bytes,
    provider: str = "auto",
    chunks: list[int] | None = None,
    **kwargs: Any,
) -> UsageRecord:
    """One record, one-shot or fed at the given cut points; a fresh Estimator each time so
    calibration never leaks between calls."""
    kwargs.setdefault("estimator", Estimator())
    if chunks is None:
        record: UsageRecord = backend.parse_usage(body, provider, **kwargs)
    else:
        parser = backend.UsageParser(provider, **kwargs)
        cuts = [0, *sorted(c for c in chunks if 0 < c < len(body)), len(body)]
        for start, end in itertools.pairwise(cuts):
            parser.feed(body[start:end])
        record = parser.finish()
    assert_sane(record)
    return record


def differential(
    both: tuple[ModuleType, ModuleType], body: bytes, provider: str = "auto", **kwargs: Any
) -> UsageRecord:
    """Native and pure give the same sane record; returns the native one."""
    native, pure = both
    got = parse(native, body, provider, **kwargs)
    want = parse(pure, body, provider, **kwargs)
    assert got.to_dict() == want.to_dict()
    return got


def rejected_note(record: UsageRecord) -> bool:
    return any("not a token count" in note for note in record.notes)


def events(backend: ModuleType, body: bytes, **kwargs: Any) -> list[tuple[str, str, str]]:
    decoder = backend.SSEDecoder(**kwargs)
    out = [(e.event, e.data, e.id) for e in decoder.feed(body)]
    out += [(e.event, e.data, e.id) for e in decoder.flush()]
    return out


# Every token-count position of each provider's stream is `@`.
TEMPLATES: dict[str, str] = {
    "anthropic": (
        'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1",'
        '"type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],'
        '"usage":{"input_tokens":@,"cache_creation_input_tokens":@,'
        '"cache_read_input_tokens":@,"output_tokens":@}}}\n\n'
        'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":'
        '{"type":"text_delta","text":"Hello there"}}\n\n'
        'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
        '"usage":{"output_tokens":@,"server_tool_use":{"web_search_requests":@}}}\n\n'
        'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    ),
    "openai": (
        'data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":'
        '[{"index":0,"delta":{"content":"Hello there"},"finish_reason":"stop"}]}\n\n'
        'data: {"id":"c1","object":"chat.completion.chunk","model":"gpt-4o","choices":[],'
        '"usage":{"prompt_tokens":@,"completion_tokens":@,"total_tokens":@,'
        '"prompt_tokens_details":{"cached_tokens":@},'
        '"completion_tokens_details":{"reasoning_tokens":@}}}\n\n'
        "data: [DONE]\n\n"
    ),
    "openai-responses": (
        "event: response.output_text.delta\n"
        'data: {"type":"response.output_text.delta","sequence_number":1,"item_id":"m",'
        '"output_index":0,"content_index":0,"delta":"Hello there"}\n\n'
        "event: response.completed\n"
        'data: {"type":"response.completed","sequence_number":2,"response":{"id":"resp_1",'
        '"object":"response","model":"o4-mini","status":"completed","usage":'
        '{"input_tokens":@,"input_tokens_details":{"cached_tokens":@},"output_tokens":@,'
        '"output_tokens_details":{"reasoning_tokens":@},"total_tokens":@}}}\n\n'
    ),
    "gemini": (
        'data: {"candidates":[{"content":{"parts":[{"text":"Hello there"}],"role":"model"},'
        '"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":@,'
        '"candidatesTokenCount":@,"totalTokenCount":@,"cachedContentTokenCount":@,'
        '"thoughtsTokenCount":@},"modelVersion":"gemini-2.5-flash","responseId":"r1"}\r\n\r\n'
    ),
}


def fill(provider: str, *values: str) -> bytes:
    """The provider's template with its count positions filled in turn (the last repeats)."""
    template = TEMPLATES[provider]
    queue = list(values)

    def take(_: re.Match[str]) -> str:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return re.sub("@", take, template).encode("utf-8")


# ---------------------------------------------------------------------------------------------
# hostile token counts

DEEP_OBJECT = '{"a":' * 100 + "1" + "}" * 100  # deep but within the JSON depth limit
WIDE_OBJECT = "{" + ",".join(f'"k{i}":{i}' for i in range(10_000)) + "}"

# Values that are valid JSON but not a token count: each is ignored with a note.
REJECTED = [
    "-5",
    "-0",
    "2.5",
    "1.0",
    "1e3",
    '"12"',
    '""',
    "true",
    "false",
    "1000000000001",  # MAX_COUNT + 1
    "18446744073709551615",  # u64::MAX
    "18446744073709551616",  # beyond u64
    "-9223372036854775809",  # below i64
    "[3]",
    "{}",
    '{"input_tokens":5}',
    DEEP_OBJECT,
    WIDE_OBJECT,
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("value", REJECTED, ids=lambda v: v[:24])
def test_rejected_count_is_ignored_with_a_note(
    both: tuple[ModuleType, ModuleType], provider: str, value: str
) -> None:
    body = fill(provider, value)
    for name in (provider, "auto"):
        record = differential(both, body, name, estimate=False)
        for field in TOKEN_FIELDS:
            assert getattr(record, field) is None, field
        assert rejected_note(record), record.notes
        assert record.no_usage_data is True
        assert record.requires_manual_review is True


@pytest.mark.parametrize("provider", PROVIDERS)
def test_null_counts_are_absent_not_rejected(
    both: tuple[ModuleType, ModuleType], provider: str
) -> None:
    record = differential(both, fill(provider, "null"), provider, estimate=False)
    for field in TOKEN_FIELDS:
        assert getattr(record, field) is None
    assert record.notes == ()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_hostile_count_beside_good_ones(both: tuple[ModuleType, ModuleType], provider: str) -> None:
    # The first count position is hostile, the others are sane: only the hostile one goes.
    record = differential(both, fill(provider, "-1", "3"), provider, estimate=False)
    assert rejected_note(record)
    assert record.output_tokens is not None and 0 <= record.output_tokens <= 10


@pytest.mark.parametrize("provider", ["anthropic", "openai", "openai-responses"])
def test_largest_accepted_count_keeps_every_field_in_bounds(
    both: tuple[ModuleType, ModuleType], provider: str
) -> None:
    record = differential(both, fill(provider, str(MAX_COUNT)), provider, estimate=False)
    assert record.notes == ()
    assert record.output_tokens is not None


def test_gemini_sum_of_counts_beyond_the_bound_is_rejected(
    both: tuple[ModuleType, ModuleType],
) -> None:
    # Gemini's output is candidates + thoughts: two maximal counts make no count at all.
    record = differential(both, fill("gemini", str(MAX_COUNT)), "gemini", estimate=False)
    assert record.output_tokens is None
    assert any("candidates + thoughts" in note for note in record.notes)


def test_gemini_sum_of_counts_stays_exact_below_the_bound(
    both: tuple[ModuleType, ModuleType],
) -> None:
    half = str(MAX_COUNT // 2)
    record = differential(both, fill("gemini", "10", half, "0", "0", half), "gemini")
    assert record.output_tokens == MAX_COUNT


@pytest.mark.parametrize("provider", PROVIDERS)
def test_inconsistent_counts_never_go_negative(
    both: tuple[ModuleType, ModuleType], provider: str
) -> None:
    # cached > prompt, reasoning > output, total smaller than its parts.
    record = differential(both, fill(provider, "5", "9", "1", "70", "80"), provider)
    assert record.input_tokens is not None
    if provider in ("openai", "openai-responses"):
        # Cache reads are part of the input count: capped at it, and the record says so.
        assert (record.input_tokens, record.cache_read_input_tokens) == (0, 5)
        assert any(n.startswith("cached_tokens above") for n in record.notes), record.notes


# ---------------------------------------------------------------------------------------------
# events whose data is not JSON: the usage in them is lost, the rest of the stream is kept

INVALID_START = {
    "1e309": '{"type":"message_start","message":{"id":"m","model":"claude-x","usage":'
    '{"input_tokens":1e309,"output_tokens":1}}}',
    "400_digits": '{"type":"message_start","message":{"id":"m","model":"claude-x","usage":'
    '{"input_tokens":' + "9" * 400 + ',"output_tokens":1}}}',
    "NaN": '{"type":"message_start","message":{"id":"m","model":"claude-x","usage":'
    '{"input_tokens":NaN,"output_tokens":1}}}',
    "truncated": '{"type":"message_start","message":{"id":"m","model":"claude-x","usage":'
    '{"input_tokens":25,"outp',
    "trailing_garbage": '{"type":"message_start","message":{"id":"m","model":"claude-x",'
    '"usage":{"input_tokens":25,"output_tokens":1}}} trailing',
    "two_documents": '{"type":"message_start","message":{"id":"m","model":"claude-x",'
    '"usage":{"input_tokens":25,"output_tokens":1}}}{"type":"ping"}',
    "lone_surrogate": '{"type":"message_start","message":{"id":"m\\ud800","model":"claude-x",'
    '"usage":{"input_tokens":25,"output_tokens":1}}}',
}
GOOD_DELTA = (
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    '"usage":{"output_tokens":7}}\n\n'
)


def invalid_start_stream(data: str) -> bytes:
    return f"event: message_start\ndata: {data}\n\n{GOOD_DELTA}".encode()


@pytest.mark.parametrize("case", list(INVALID_START))
def test_invalid_json_event_is_skipped_and_the_rest_kept(
    both: tuple[ModuleType, ModuleType], case: str
) -> None:
    record = differential(both, invalid_start_stream(INVALID_START[case]))
    assert record.input_tokens is None
    assert record.output_tokens == 7
    assert record.requires_manual_review is True


@pytest.mark.parametrize("case", list(INVALID_START))
def test_invalid_json_event_leaves_a_reason(backend: ModuleType, case: str) -> None:
    record = parse(backend, invalid_start_stream(INVALID_START[case]))
    assert record.notes or record.error_message


@pytest.mark.parametrize("cut", [1, 10, 40, 80, -1])
def test_truncated_json_body(both: tuple[ModuleType, ModuleType], cut: int) -> None:
    body = (EXAMPLES / "anthropic_message.json").read_bytes().rstrip()
    record = differential(both, body[:cut])
    assert record.status == "not_sse"
    assert "JSON" in (record.error_message or "")


def test_json_body_with_trailing_garbage(both: tuple[ModuleType, ModuleType]) -> None:
    body = (EXAMPLES / "anthropic_message.json").read_bytes() + b"\n<html>oops</html>"
    record = differential(both, body)
    assert record.status == "not_sse"
    assert record.error_message


# ---------------------------------------------------------------------------------------------
# deep nesting: no stack overflow, a record comes out

DEPTH = 10_000


@pytest.mark.parametrize(
    "data",
    [
        "[" * DEPTH + "]" * DEPTH,
        '{"a":' * DEPTH + "1" + "}" * DEPTH,
        "[" * DEPTH,
        '{"type":"message_start","message":{"usage":{"input_tokens":'
        + "[" * DEPTH
        + "]" * DEPTH
        + "}}}",
        '{"type":"message_delta","usage":' + '{"x":' * DEPTH + "1" + "}" * DEPTH + "}",
    ],
    ids=["arrays", "objects", "unclosed", "as_count", "as_usage"],
)
def test_deeply_nested_event(both: tuple[ModuleType, ModuleType], data: str) -> None:
    body = f"event: message_start\ndata: {data}\n\n{GOOD_DELTA}".encode()
    record = differential(both, body)
    assert record.output_tokens == 7
    for provider in PROVIDERS:
        differential(both, body, provider)


@pytest.mark.parametrize("depth", [DEPTH, 200_000])
def test_deeply_nested_body(both: tuple[ModuleType, ModuleType], depth: int) -> None:
    body = ("[" * depth + "]" * depth).encode()
    record = differential(both, body)
    assert record.status == "not_sse"
    body = ('{"usage":' * depth + "1" + "}" * depth).encode()
    for provider in ("auto", *PROVIDERS):
        assert differential(both, body, provider).status == "not_sse"


# ---------------------------------------------------------------------------------------------
# millions of tiny events: a record comes out, memory bounded

TINY = b"data: x\n\n"
FINAL = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"c",'
    b'"usage":{"input_tokens":11,"output_tokens":1}}}\n\n' + GOOD_DELTA.encode()
)


def tiny_stream_chunks(events_count: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """`events_count` tiny events, then a usage pair, cut into `chunk`-byte reads (cuts land
    anywhere inside events) without building the whole stream."""
    period = len(TINY)
    window = TINY * (chunk // period + 2)
    total = events_count * period
    pos = 0
    while pos < total:
        n = min(chunk, total - pos)
        start = pos % period
        yield window[start : start + n]
        pos += n
    yield FINAL


def rss() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def test_millions_of_tiny_events(backend: ModuleType) -> None:
    # Native: the full two million (18 MB); pure: 200,000 to keep the run short.
    count = 2_000_000 if backend.__name__.endswith("native") else 200_000
    parser = backend.UsageParser(estimator=Estimator())
    chunks = tiny_stream_chunks(count)
    parser.feed(next(chunks))
    gc.collect()
    base = peak = rss()
    for i, chunk in enumerate(chunks):
        parser.feed(chunk)
        if base is not None and i % 16 == 0:
            peak = max(peak or 0, rss() or 0)
    record = parser.finish()
    assert_sane(record)
    assert record.status == "complete"
    assert (record.input_tokens, record.output_tokens) == (11, 7)
    if base is not None and peak is not None:
        assert peak - base < 16 << 20


def test_millions_of_tiny_events_decoder(both: tuple[ModuleType, ModuleType]) -> None:
    native, pure = both
    count = 300_000
    for backend in (native, pure):
        decoder = backend.SSEDecoder()
        seen = 0
        for chunk in tiny_stream_chunks(count if backend is native else count // 10):
            batch = decoder.feed(chunk)
            seen += len(batch)
            assert all(e.data == "x" for e in batch[:-2])
        assert seen == (count if backend is native else count // 10) + 2


# ---------------------------------------------------------------------------------------------
# NUL bytes, a BOM mid-stream, invalid UTF-8


NUL_STREAMS = [
    b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n",  # id with NUL: ignored, id stays 1
    b"event: x\x00y\ndata: a\x00b\n\n",
    b"data\x00: a\n\n\x00\n\ndata: \x00\n\n",
    (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"m\\u0000",'
        b'"model":"c\\u0000","usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
    ),
    (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"m\x00",'
        b'"model":"c","usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
    ),
    b"event: message_\x00start\n" + GOOD_DELTA.encode()[len(b"event: message_delta\n") :],
]


@pytest.mark.parametrize("body", NUL_STREAMS)
def test_nul_bytes(both: tuple[ModuleType, ModuleType], body: bytes) -> None:
    native, pure = both
    assert events(native, body) == events(pure, body)
    for provider in ("auto", *PROVIDERS):
        differential(both, body, provider)


def test_nul_in_id_is_ignored(backend: ModuleType) -> None:
    assert events(backend, NUL_STREAMS[0]) == [("message", "a", "1"), ("message", "b", "1")]


BOM = b"\xef\xbb\xbf"


@pytest.mark.parametrize(
    "body",
    [
        b"data: a\n\n" + BOM + b"data: b\n\n",
        BOM + b"data: a\n\n" + BOM + b"data: b\n\n",
        BOM + BOM + b"data: a\n\n",
        b"data: a" + BOM + b"\n\n",
        b"data: a\n\n" + BOM + b"\n" + FINAL,
        b"data: a\n\n" + BOM + FINAL,
        BOM + (EXAMPLES / "anthropic_message.json").read_bytes(),
        b"\n" + BOM + FINAL,
    ],
)
def test_bom_mid_stream(both: tuple[ModuleType, ModuleType], body: bytes) -> None:
    native, pure = both
    assert events(native, body) == events(pure, body)
    for provider in ("auto", *PROVIDERS):
        differential(both, body, provider)
        for cut in range(0, len(body), max(1, len(body) // 16)):
            differential(both, body, provider, chunks=[cut, cut + 1, cut + 2])


def test_bom_mid_stream_is_not_stripped(backend: ModuleType) -> None:
    # Only one leading BOM is stripped; later ones make the next field name unknown.
    assert events(backend, b"data: a\n\n" + BOM + b"data: b\n\n") == [("message", "a", "")]
    # The `event:` line after the BOM is an unknown field, so that event's type is "message";
    # its data still says "type":"message_start", and that is what the reader goes by.
    record = parse(backend, b"data: a\n\n" + BOM + FINAL)
    assert (record.input_tokens, record.output_tokens) == (11, 7)


INVALID_UTF8 = [
    # in a JSON string (model, id, text)
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"m\xff",'
    b'"model":"claude-\xc3","usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
    b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":'
    b'{"type":"text_delta","text":"h\xe2\x82i \xf0\x9f\x99"}}\n\n' + GOOD_DELTA.encode(),
    # in a key
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"m",'
    b'"usage":{"input_\xfftokens":3,"output_tokens":1}}}\n\n' + GOOD_DELTA.encode(),
    # in field names
    b"da\xffta: x\n\nev\xc3ent: message_start\n" + FINAL,
    # in event types
    b"event: message_\xffstart\n" + FINAL[len(b"event: message_start\n") :],
    # outside strings, in place of a number, in place of the whole data
    b'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":\xff}}\n\n',
    b"data: \xff\xfe\xfd\n\n" + FINAL,
    # in ids and retry
    b"id: \xff\nretry: 1\xff0\ndata: x\n\n",
    # invalid UTF-8 first: not a JSON body, not SSE
    b"\xff\xfe\x00\x01" * 64,
    # overlong encodings, surrogates encoded in UTF-8, truncated sequences at chunk ends
    (
        b'data: {"type":"message_start","message":{"model":"\xc0\xaf\xed\xa0\x80",'
        b'"usage":{"input_tokens":3}}}\n\n'
    ),
    b"data: \xe2\x82\n\ndata: \xf0\x9f\x99\n\n",
]


@pytest.mark.parametrize("body", INVALID_UTF8)
def test_invalid_utf8_everywhere(both: tuple[ModuleType, ModuleType], body: bytes) -> None:
    native, pure = both
    assert events(native, body) == events(pure, body)
    for provider in ("auto", *PROVIDERS):
        differential(both, body, provider)
        for cut in range(1, len(body), 7):
            differential(both, body, provider, chunks=[cut])


def test_invalid_utf8_is_replaced_not_raised(backend: ModuleType) -> None:
    record = parse(backend, INVALID_UTF8[0])
    assert record.model == "claude-\ufffd"
    assert record.message_id == "m\ufffd"
    assert record.input_tokens == 3
    assert record.output_tokens == 7


# ---------------------------------------------------------------------------------------------
# size limits


def test_event_over_the_limit(both: tuple[ModuleType, ModuleType]) -> None:
    big = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":'
    big += b'{"type":"text_delta","text":"' + b"a" * 5000 + b'"}}\n\n'
    body = FINAL[: FINAL.index(b"event: message_delta")] + big + GOOD_DELTA.encode()
    record = differential(both, body, max_event_bytes=1024)
    assert record.status == "error"
    assert record.error_type == "event_too_large"
    assert record.error_message
    assert (record.input_tokens, record.output_tokens) == (11, 7)


def test_line_over_the_limit_never_ends(both: tuple[ModuleType, ModuleType]) -> None:
    body = FINAL + b"data: " + b"z" * 50_000
    record = differential(both, body, max_event_bytes=1024)
    assert (record.input_tokens, record.output_tokens) == (11, 7)
    record = differential(both, body, max_event_bytes=1024, chunks=list(range(0, 60_000, 999)))
    assert (record.input_tokens, record.output_tokens) == (11, 7)


def test_many_lines_make_an_oversized_event(both: tuple[ModuleType, ModuleType]) -> None:
    body = b"event: message_start\n" + b"data: 0123456789\n" * 500 + b"\n" + GOOD_DELTA.encode()
    record = differential(both, body, max_event_bytes=1024)
    assert record.error_type == "event_too_large"
    assert record.output_tokens == 7


def test_json_body_over_the_limit(both: tuple[ModuleType, ModuleType]) -> None:
    body = (EXAMPLES / "anthropic_message.json").read_bytes()
    record = differential(both, body, max_event_bytes=len(body) - 1)
    assert record.error_type == "event_too_large"
    assert record.error_message
    assert record.input_tokens is None


# ---------------------------------------------------------------------------------------------
# duplicate keys: the last one wins, on both backends (as serde_json and json.loads agree)


DUPLICATES = [
    ('"input_tokens":5,"input_tokens":-1', None),
    ('"input_tokens":-1,"input_tokens":5', 5),
    ('"input_tokens":5,"input_tokens":6', 6),
    ('"input_tokens":5,"input_tokens":null', None),
]


@pytest.mark.parametrize(("usage", "expected"), DUPLICATES)
def test_duplicate_count_keys(
    both: tuple[ModuleType, ModuleType], usage: str, expected: int | None
) -> None:
    body = (
        'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"c",'
        '"usage":{' + usage + ',"output_tokens":1}}}\n\n' + GOOD_DELTA
    ).encode()
    record = differential(both, body, estimate=False)
    assert record.input_tokens == expected


@pytest.mark.parametrize(
    "data",
    [
        (
            '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"aa"},'
            '"delta":{"type":"text_delta","text":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}'
        ),
        (
            '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a",'
            '"text":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}}'
        ),
        '{"type":"content_block_delta","type":"message_delta","usage":{"output_tokens":99}}',
        '{"type":"message_delta","usage":{"output_tokens":1},"usage":{"output_tokens":99}}',
        '{"type":"message_delta","usage":{"output_tokens":99},"type":"ping"}',
    ],
)
def test_duplicate_structural_keys(both: tuple[ModuleType, ModuleType], data: str) -> None:
    body = f"event: x\ndata: {data}\n\n".encode()
    for provider in ("auto", *PROVIDERS):
        differential(both, body, provider)


# ---------------------------------------------------------------------------------------------
# known native/pure divergence: the native fast path for content_block_delta


FAST_PATH_INVALID = {
    # Not JSON (a leading zero), yet the native fast path counts the text.
    "leading_zero_index": b'{"type":"content_block_delta","index":01,"delta":'
    b'{"type":"text_delta","text":"hello world"}}',
    # The delta type holds an escaped quote: the document is not JSON.
    "escaped_quote_in_type": b'{"type":"content_block_delta","index":0,"delta":'
    b'{"type":"a\\","text":"hello world"}}',
    # A raw control character in the delta type: not JSON.
    "control_char_in_type": b'{"type":"content_block_delta","index":0,"delta":'
    b'{"type":"a\x01b","text":"hello world"}}',
}


@pytest.mark.parametrize("case", list(FAST_PATH_INVALID))
def test_fast_path_agrees_on_invalid_json(both: tuple[ModuleType, ModuleType], case: str) -> None:
    body = b"event: content_block_delta\ndata: " + FAST_PATH_INVALID[case] + b"\n\n"
    differential(both, body)


# ---------------------------------------------------------------------------------------------
# hypothesis differential over provider-shaped streams with corruption


def _pool() -> list[bytes]:
    """Valid events and bodies of every provider, one block each."""
    blocks: list[bytes] = []
    streams = [full_stream()]
    streams += [fill(p, "3", "17", "20", "2", "1") for p in PROVIDERS]
    streams += [path.read_bytes() for path in sorted(EXAMPLES.glob("*.sse"))]
    for stream in streams:
        for block in re.split(rb"(?<=\n\n)|(?<=\r\n\r\n)", stream):
            if block.strip():
                blocks.append(block)
    return blocks


POOL = _pool()
BODIES = [
    (EXAMPLES / "anthropic_message.json").read_bytes(),
    (EXAMPLES / "error_page.html").read_bytes(),
]


@st.composite
def corrupted_stream(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        body = draw(st.sampled_from(BODIES))
    else:
        blocks = draw(st.lists(st.sampled_from(POOL), min_size=1, max_size=12))
        body = b"".join(blocks)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["flip", "truncate", "splice", "insert", "delete", "dup"]))
        if not body:
            break
        at = draw(st.integers(0, len(body) - 1))
        if op == "flip":
            body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
        elif op == "truncate":
            body = body[:at]
        elif op == "splice":
            other = draw(st.sampled_from(POOL))
            i = draw(st.integers(0, len(other)))
            j = draw(st.integers(i, len(other)))
            body = body[:at] + other[i:j] + body[at:]
        elif op == "insert":
            junk = draw(
                st.one_of(
                    st.binary(max_size=8),
                    st.sampled_from(
                        [
                            b"\n",
                            b"\r",
                            b"\r\n",
                            b"\n\n",
                            b"\x00",
                            BOM,
                            b"\xff",
                            b":",
                            b'"',
                            b"}",
                            b"-",
                            b"1e309",
                            b"99999999999999999999",
                            b"data: ",
                            b"[DONE]",
                        ]
                    ),
                )
            )
            body = body[:at] + junk + body[at:]
        elif op == "delete":
            body = body[:at] + body[at + draw(st.integers(1, 64)) :]
        else:
            body = body + body[at:]
    return body


@settings(
    # HOSTILE_EXAMPLES=20000 for a long run by hand.
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "400")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(
    body=corrupted_stream(),
    provider=st.sampled_from(("auto", *PROVIDERS)),
    cuts=st.lists(st.integers(0, 4096), max_size=8),
    estimate=st.booleans(),
)
def test_differential_corrupted_streams(
    both: tuple[ModuleType, ModuleType],
    body: bytes,
    provider: str,
    cuts: list[int],
    estimate: bool,
) -> None:
    native, pure = both
    note(repr(body))
    one_shot = parse(native, body, provider, estimate=estimate)
    chunked = parse(native, body, provider, chunks=cuts, estimate=estimate)
    twin = parse(pure, body, provider, chunks=cuts, estimate=estimate)
    assert one_shot.to_dict() == chunked.to_dict()
    assert one_shot.to_dict() == twin.to_dict()


@pytest.mark.parametrize("tail", [b"\x0b", b"x", b" \t", b"}"])
def test_a_ping_with_bytes_after_it_is_read_as_the_native_parser_reads_it(tail: bytes) -> None:
    # Found by the differential test: the pure twin skipped anything that began as a ping.
    from sseusage_fast import native, pure

    body = b'event: ping\ndata: {"type": "ping"}' + tail + b"\n\n"
    assert native.parse_usage(body).to_dict() == pure.parse_usage(body).to_dict()
