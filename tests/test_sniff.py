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


BOM = b"\xef\xbb\xbf"
ANTHROPIC_BODY = (
    b'{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":'
    b'[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":9,'
    b'"output_tokens":2}}'
)
SSE_BODY = (
    b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    b'"usage":{"input_tokens":9,"output_tokens":2}}\n\n'
)
BOM_CASES = {
    "json": (BOM + ANTHROPIC_BODY, "complete"),
    "json_after_space": (BOM + b" \r\n" + ANTHROPIC_BODY, "complete"),
    "sse": (BOM + SSE_BODY, "complete"),
    # Only the first BOM is one; a second is content, which no field name starts with.
    "two_boms_sse": (BOM + BOM + SSE_BODY, "complete"),
    "two_boms_json": (BOM + BOM + ANTHROPIC_BODY, "not_sse"),
    "bom_after_space": (b" " + BOM + ANTHROPIC_BODY, "not_sse"),
    "bom_only": (BOM, "no_usage"),
}


@pytest.mark.parametrize("case", sorted(BOM_CASES))
def test_leading_byte_order_mark_at_every_split(
    both: tuple[ModuleType, ModuleType], case: str
) -> None:
    body, status = BOM_CASES[case]
    native, pure = both
    whole = native.parse_usage(body)
    assert whole == pure.parse_usage(body)
    assert whole.status == status, whole
    if status == "complete":
        assert (whole.input_tokens, whole.output_tokens) == (9, 2)
    for backend in both:
        for i in range(len(body) + 1):
            parser = backend.UsageParser()
            parser.feed(body[:i])
            parser.feed(body[i:])
            assert parser.finish() == whole, (backend.__name__, i)
        parser = backend.UsageParser()
        for i in range(len(body)):
            parser.feed(body[i : i + 1])
        assert parser.finish() == whole
