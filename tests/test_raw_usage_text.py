"""A usage object that the native reader kept as JSON text (an Anthropic usage object read
without a tree: any value under a name it does not read) becomes its dict straight from the
text, at `finish`. That dict must be the one the tree path makes (`parse_usage_raw` parses the
text into a tree first): same keys in the same order, same values of the same types (int or
float, -0.0, big numbers, escapes), the last of repeated keys, nothing for a text that does not
parse. And equal to the pure twin's, which parses with `json.loads`."""

from __future__ import annotations

import re
from types import ModuleType
from typing import Any

import pytest
from sseusage_fast.record import RAW_FIELDS

RAW_USAGE = RAW_FIELDS.index("raw_usage")

# JSON values of every kind, as a server could write them.
VALUES = [
    "0",
    "7",
    "255",
    "256",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "100000000000000000000000000000",
    "-1",
    "-9223372036854775808",
    "-9223372036854775809",
    "-0",
    "0.0",
    "-0.0",
    "1.5",
    "-2.25",
    "0.1",
    "1e5",
    "1E-7",
    "2.5e+3",
    "-1e-300",
    "123456789.123456789e-5",
    "2.2250738585072011e-308",
    "4.9e-324",
    "1.7976931348623157e308",
    "1e400",
    "true",
    "false",
    "null",
    '""',
    '"standard"',
    '"caf\u00e9 \u5929"',
    r'"a\"b\\c\/d\b\f\n\r\t"',
    r'"\u00e9\u5929\ud83d\ude00"',
    r'"\ud800"',
    "[]",
    "{}",
    '[1, -0, 2.5, "x", null, [true, {}]]',
    '{"b": 1, "a": {"d": [1, 2], "c": -0.0}}',
    '{"k": 1, "k": 2.5, "j": 0}',
    r'{"\u0061": 1, "a": 2, "b\n": 3}',
    r'{"usage": {"input_tokens": 1}, "input_tokens": "\u0031"}',
    '{"z": 1, "é": 2, "天": 3, "Z": 4, "a": 5, "": 6}',
]

# Known differences of the twins, older than the text reader (both native paths agree):
TWINS_DIFFER = {
    # serde_json's float reader (without its float_roundtrip feature) rounds this near-subnormal
    # number to another float than Python's float() does.
    "2.2250738585072011e-308",
    # A lone surrogate escape is invalid JSON to serde_json; the pure twin drops a document
    # only when the surrogate is still in the value it made (here a repeated key replaces it).
    r'"\ud800"',
}

# Where a value goes in the usage object (VALUE stands for it).
PLACES = [
    '{"output_tokens": 42, "extra": VALUE}',
    '{"zz": VALUE, "output_tokens": 42, "aa": VALUE}',
    '{"x": 1, "output_tokens": 42, "x": VALUE}',
    '{"x": VALUE, "output_tokens": 42, "x": 2}',
    '{"cache_creation": {"ephemeral_5m_input_tokens": 3, "other": VALUE}, "output_tokens": 42}',
    '{"input_tokens":5,"output_tokens":42,"server_tool_use":{"web_search_requests":1,"n":VALUE}}',
]


def stream(usage: str) -> bytes:
    events = [
        (
            '{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant",'
            '"content":[],"model":"claude-x","stop_reason":null,'
            '"usage":{"input_tokens":25,"output_tokens":1}}}'
        ),
        '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}',
        '{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":' + usage + "}",
        '{"type":"message_stop"}',
    ]
    out = []
    for data in events:
        kind = re.search(r'"type":"(\w+)"', data)
        assert kind is not None
        out.append(f"event: {kind.group(1)}\ndata: {data}\n\n")
    return "".join(out).encode("utf-8", "surrogatepass")


def sorted_keys(value: Any) -> Any:
    """The value with every dict's items sorted: the pure twin keeps the text's key order."""
    if isinstance(value, dict):
        return [(k, sorted_keys(v)) for k, v in sorted(value.items())]
    if isinstance(value, list):
        return [sorted_keys(v) for v in value]
    return value


@pytest.mark.parametrize("place", range(len(PLACES)))
@pytest.mark.parametrize("value", VALUES)
def test_usage_text_reads_as_its_tree(
    both: tuple[ModuleType, ModuleType], value: str, place: int
) -> None:
    native, pure = both
    from sseusage_fast._native import parse_usage_raw

    body = stream(PLACES[place].replace("VALUE", value))
    parser = native.UsageParser()
    parser.feed(body)
    from_text = parser._finish_raw()[RAW_USAGE]
    from_tree = parse_usage_raw(body)[RAW_USAGE]
    # repr shows the key order, int against float, -0.0 and every character.
    assert repr(from_text) == repr(from_tree)
    assert parser.finish().raw_usage is from_text
    if value in TWINS_DIFFER:
        return
    parser = pure.UsageParser()
    parser.feed(body)
    from_pure = parser._finish_raw()[RAW_USAGE]
    assert repr(sorted_keys(from_pure)) == repr(sorted_keys(from_text))


def test_usage_text_of_the_usual_stream(both: tuple[ModuleType, ModuleType]) -> None:
    # The Anthropic API's own order, which is not sorted.
    usage = (
        '{"input_tokens":25,"cache_creation_input_tokens":3,"cache_read_input_tokens":0,'
        '"cache_creation":{"ephemeral_5m_input_tokens":3,"ephemeral_1h_input_tokens":0},'
        '"output_tokens":42,"service_tier":"standard"}'
    )
    for backend in both:
        parser = backend.UsageParser()
        parser.feed(stream(usage))
        raw_usage = parser.finish().raw_usage
        assert raw_usage == {
            "input_tokens": 25,
            "cache_creation_input_tokens": 3,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 3, "ephemeral_1h_input_tokens": 0},
            "output_tokens": 42,
            "service_tier": "standard",
        }
        if backend is both[0]:
            assert list(raw_usage) == sorted(raw_usage)
